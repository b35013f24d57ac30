"""Retries that cannot lie: a transaction whose answer is lost is retried and reports its first outcome.

Faults are injected between botocore and moto: the write reaches moto (it lands), then the client sees a
read timeout or a dropped connection, and botocore retries it as it would against DynamoDB. Every
TransactWriteItems carries a ClientRequestToken, which the emulator (like DynamoDB) honours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import botocore.exceptions
import pytest

from chalicelib.adapters import aws as clients
from chalicelib.adapters.dynamo import request_token
from tests.conftest import OPERATOR_KEY, Api


class LoseAnswers:
    """A botocore `before-send` hook: the first `times` TransactWriteItems land, then their answer is lost."""

    def __init__(self, error: Callable[[Any], Exception], times: int = 1, strip_token: bool = False) -> None:
        self.error = error
        self.times = times
        self.strip_token = strip_token  # to show what happened before every transaction carried one
        self.tokens: list[str] = []
        self.sent = 0

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        from moto.core.models import botocore_stubber

        self.sent += 1
        body = json.loads(request.body)
        self.tokens.append(body["ClientRequestToken"])
        if self.strip_token:
            del body["ClientRequestToken"]
            request.body = json.dumps(body).encode()
            request.headers["Content-Length"] = str(len(request.body))
        if self.times <= 0:
            return None  # let moto answer as usual
        self.times -= 1
        botocore_stubber(event_name=kwargs["event_name"], request=request)  # the write lands in moto...
        raise self.error(request)  # ...and its answer never arrives


def read_timeout(request: Any) -> Exception:
    return botocore.exceptions.ReadTimeoutError(endpoint_url=request.url)


def connection_dropped(request: Any) -> Exception:
    return botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)


@pytest.fixture
def machine(aws: None) -> str:
    from local.resources import create_lifecycle

    return create_lifecycle(
        "test", clients.client("iam"), clients.client("lambda"), clients.client("stepfunctions")
    )["state_machine_arn"]


@pytest.fixture
def http(aws: None, machine: str, clock: Any) -> Iterator[tuple[Api, list[tuple[str, dict[str, Any]]]]]:
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    built = bootstrap.build(
        Settings.from_env({"ONAIR_STAGE": "test", "ONAIR_STATE_MACHINE_ARN": machine}), clock
    )
    built.tenancy.bootstrap_operator(OPERATOR_KEY, clock())
    notes: list[tuple[str, dict[str, Any]]] = []
    built.notifier.put = lambda kind, detail: notes.append((kind, detail))
    bootstrap.override(built)
    with Client(app) as client:
        yield Api(client.http, OPERATOR_KEY), notes
    bootstrap.override(None)


@pytest.fixture
def lose() -> Iterator[Callable[..., LoseAnswers]]:
    installed: list[LoseAnswers] = []

    def install(error: Callable[[Any], Exception], times: int = 1, strip_token: bool = False) -> LoseAnswers:
        hook = LoseAnswers(error, times, strip_token)
        clients.add_hook("before-send.dynamodb.TransactWriteItems", hook)
        installed.append(hook)
        return hook

    yield install
    for hook in installed:
        clients.remove_hook("before-send.dynamodb.TransactWriteItems", hook)


def executions(machine: str) -> list[str]:
    listed = clients.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    return [e["name"] for e in listed]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(read_timeout, id="the answer stalls past the read timeout"),
        pytest.param(connection_dropped, id="the connection drops before the answer"),
    ],
)
def test_a_create_whose_answer_was_lost_answers_201_once_with_its_run(
    http: tuple[Api, list[Any]], lose: Callable[..., LoseAnswers], machine: str, error: Any
) -> None:
    api, notes = http
    channel = api.post("/v1/channels", {"name": "Room"}).data["id"]
    hook = lose(error)

    created = api.post(
        "/v1/events",
        {"title": "Lecture", "channel_id": channel, "start": "2027-03-01T09:00:00Z", "duration": 3600},
    )

    assert created.status_code == 201, created.data
    assert hook.sent == 2, "botocore retried the transaction once"
    assert hook.tokens[0] == hook.tokens[1], "the retry carried the first attempt's token"
    listed = api.get(f"/v1/events?channel_id={channel}").data["items"]
    assert [e["id"] for e in listed] == [created.data["id"]], "the event exists once"
    assert [n for n, d in notes if n == "Event Created"] == ["Event Created"], "announced once"
    assert [name for name in executions(machine) if name.startswith(created.data["id"])], "it has its run"


def test_a_retry_without_the_token_finds_its_own_event_and_still_succeeds(
    http: tuple[Api, list[Any]], lose: Callable[..., LoseAnswers], machine: str
) -> None:
    """The second line: a lost answer retried *without* a token fails its own conditions (the 409 "an
    event with this id exists" of the old bug); the repository recognises its own item (same id, same
    content), so the create still answers 201 and its run still starts."""
    api, notes = http
    channel = api.post("/v1/channels", {"name": "Room"}).data["id"]
    hook = lose(read_timeout, strip_token=True)

    created = api.post(
        "/v1/events",
        {"title": "Lecture", "channel_id": channel, "start": "2027-03-01T09:00:00Z", "duration": 3600},
    )

    assert hook.sent == 2
    assert created.status_code == 201, created.data
    assert [n for n, d in notes if n == "Event Created"] == ["Event Created"]
    assert len(api.get(f"/v1/events?channel_id={channel}").data["items"]) == 1
    assert [name for name in executions(machine) if name.startswith(created.data["id"])]


def test_a_lost_answer_of_a_lifecycle_transition_is_not_a_stale_write(
    http: tuple[Api, list[Any]], lose: Callable[..., LoseAnswers]
) -> None:
    api, _ = http
    channel = api.post("/v1/channels", {"name": "Room"}).data["id"]
    event = api.post(
        "/v1/events",
        {"title": "Lecture", "channel_id": channel, "start": "2027-03-01T09:00:00Z", "duration": 3600},
    ).data
    lose(read_timeout)

    provisioned = api.post(f"/v1/events/{event['id']}/actions", {"action": "provision"})

    assert provisioned.status_code == 200, provisioned.data
    history = api.get(f"/v1/events/{event['id']}/history").data["items"]
    assert [(h["from"], h["to"]) for h in history] == [
        ("scheduled", "provisioning"),
        ("provisioning", "ready"),
    ]


def test_the_same_token_with_other_items_is_refused_as_dynamodb_does(aws: None) -> None:
    db = clients.client("dynamodb")
    put = {"Put": {"TableName": "onair-test-main", "Item": {"pk": {"S": "T#x"}, "sk": {"S": "a"}}}}
    other = {"Put": {"TableName": "onair-test-main", "Item": {"pk": {"S": "T#x"}, "sk": {"S": "b"}}}}
    db.transact_write_items(TransactItems=[put], ClientRequestToken="same-token")
    db.delete_item(TableName="onair-test-main", Key={"pk": {"S": "T#x"}, "sk": {"S": "a"}})

    db.transact_write_items(TransactItems=[put], ClientRequestToken="same-token")
    assert "Item" not in db.get_item(TableName="onair-test-main", Key=put["Put"]["Item"]), (
        "a repeat within 10 minutes answers success and applies nothing"
    )
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        db.transact_write_items(TransactItems=[other], ClientRequestToken="same-token")
    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def test_every_transaction_call_has_its_own_token() -> None:
    """botocore reuses a call's token for its retries; two calls never share one, even with the same items
    in the same request (a request that makes the same write twice means both)."""
    from chalicelib import logs

    items = [{"Put": {"Item": {"pk": {"S": "a"}}}}]
    with logs.scope(request_id="r-1"):
        tokens = {request_token(items), request_token(items), request_token([{"Put": {}}])}
    tokens.add(request_token(items))
    assert len(tokens) == 4
    assert all(0 < len(token) <= 36 for token in tokens), "DynamoDB's limit"


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The local stack's emulator (moto's server over HTTP) with onair's tables; environment restored."""
    import os

    from local.emulator import Emulator
    from local.resources import create_all

    saved = dict(os.environ)
    server = Emulator()
    url = server.start()
    try:
        clients.reset()
        create_all("test", clients.client("dynamodb"), clients.client("events"))
        yield url
    finally:
        server.stop()
        os.environ.clear()
        os.environ.update(saved)
        clients.reset()


def test_a_write_that_stalls_past_the_read_timeout_on_the_emulator_answers_201_once(
    emulator: str, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finding as it was seen: the emulator applies the transaction but answers after the client's
    read timeout; botocore retries over HTTP, and the retry reports the first outcome."""
    import time

    from botocore.config import Config
    from chalice.test import Client
    from moto.dynamodb.responses import DynamoHandler

    from app import app
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    monkeypatch.setattr(
        clients, "_CONFIG", Config(retries={"total_max_attempts": 3, "mode": "standard"}, read_timeout=1)
    )
    clients.reset()
    stalls: list[float] = []
    answered = DynamoHandler.transact_write_items

    def stalling(self: Any) -> Any:
        result = answered(self)  # applied...
        if stalls:
            time.sleep(stalls.pop())  # ...and answered only after the client gave up on it
        return result

    monkeypatch.setattr(DynamoHandler, "transact_write_items", stalling)
    built = bootstrap.build(Settings.from_env({"ONAIR_STAGE": "test"}), clock)
    built.tenancy.bootstrap_operator(OPERATOR_KEY, clock())
    bootstrap.override(built)
    try:
        with Client(app) as client:
            api = Api(client.http, OPERATOR_KEY)
            channel = api.post("/v1/channels", {"name": "Room"}).data["id"]
            stalls.append(1.6)  # the create's transaction
            created = api.post(
                "/v1/events",
                {
                    "title": "Lecture",
                    "channel_id": channel,
                    "start": "2027-03-01T09:00:00Z",
                    "duration": 3600,
                },
            )
            assert created.status_code == 201, created.data
            assert not stalls, "the create's transaction stalled past the read timeout"
            listed = api.get(f"/v1/events?channel_id={channel}").data["items"]
            assert [e["id"] for e in listed] == [created.data["id"]]
    finally:
        bootstrap.override(None)


def test_another_create_of_an_identical_event_is_still_refused(http: tuple[Api, list[Any]]) -> None:
    """Only a call's own landed write counts as success: a second create of the very same event (as a
    materialiser re-running with deterministic ids would make) is refused as before."""
    from chalicelib import bootstrap
    from chalicelib.domain.errors import AlreadyExists

    api, _ = http
    channel = api.post("/v1/channels", {"name": "Room"}).data["id"]
    created = api.post(
        "/v1/events",
        {"title": "Lecture", "channel_id": channel, "start": "2027-03-01T09:00:00Z", "duration": 3600},
    ).data
    store = bootstrap.services().events.store
    event = store.get("default", created["id"])
    assert event is not None
    with pytest.raises(AlreadyExists):
        store.create(event)
