"""The functions' IAM policy, proven against the code: every AWS call the suite saw the code make is allowed,
and every allowed action is used (least privilege).

The calls are recorded across the whole session (tests/policy_plugin.py) and judged here, last, against
the policies in the packaged template (`make package`: infra/template.yaml's AppPolicy merged with
.chalice/policy-prod.json). A second layer runs the API on moto with IAM enforcement and a principal that
holds only the function's actions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.policy import RUNTIME_ACTIONS, Statement, function_policy, iam_requests, judge
from tests.policy_plugin import RECORDER

pytestmark = pytest.mark.timeout(180)


def test_the_packaged_policy_allows_exactly_what_the_code_does(
    sam_template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Runs last in the session (the plugin orders it), after every test that calls AWS."""
    record = tmp_path_factory.getbasetemp() / "aws-calls.json"
    record.write_text(
        json.dumps(
            [
                {"action": a, "resource": r, "tests": sorted(t)[:3]}
                for (a, r), t in sorted(RECORDER.calls.items())
            ],
            indent=1,
        )
    )
    assert RECORDER.operations > 0 and RECORDER.calls, (
        "no AWS call was recorded: the recorder is not installed, so the policy cannot be judged"
    )
    statements = function_policy(sam_template)
    verdict = judge(statements, RECORDER.calls, check_unused=RECORDER.whole_suite)
    assert verdict.missing == [], (
        "the code calls AWS with actions the packaged policy does not allow (infra/template.yaml AppPolicy); "
        f"calls in {record}: "
        + "; ".join(f"{a} on {r} (e.g. {sorted(RECORDER.calls[(a, r)])[0]})" for a, r in verdict.missing)
    )
    if not RECORDER.whole_suite:
        pytest.skip(
            f"every action the code used is allowed; whether any allowed action is unused is judged only "
            f"when the whole suite runs ({len(RECORDER.ran_files)} of {len(RECORDER.test_files)} test files)"
        )
    assert verdict.unused == [], f"the policy allows actions the code never used: {verdict.unused}"


# -- the checker itself ---------------------------------------------------------------------------------


def test_iam_requests_map_each_call_to_what_aws_authorises() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/onair-test-main"
    transact = {
        "TransactItems": [
            {"Put": {"TableName": "onair-test-main"}},
            {"Update": {"TableName": "onair-test-main"}},
            {"Delete": {"TableName": "onair-test-main"}},
            {"ConditionCheck": {"TableName": "onair-test-main"}},
        ]
    }
    assert iam_requests("dynamodb", "TransactWriteItems", transact) == [
        ("dynamodb:PutItem", table),
        ("dynamodb:UpdateItem", table),
        ("dynamodb:DeleteItem", table),
        ("dynamodb:ConditionCheckItem", table),
    ], "a transaction is authorised per item"
    batch = {"RequestItems": {"onair-test-main": {"Keys": []}}}
    assert iam_requests("dynamodb", "BatchGetItem", batch) == [("dynamodb:BatchGetItem", table)]
    query = {"TableName": "onair-test-main", "IndexName": "by_start"}
    assert iam_requests("dynamodb", "Query", query) == [("dynamodb:Query", table + "/index/by_start")]
    assert iam_requests("medialive", "StartChannel", {"ChannelId": "42"}) == [
        ("medialive:StartChannel", "arn:aws:medialive:us-east-1:123456789012:channel:42")
    ]
    upload = {"Bucket": "onair-prod-recordings", "Key": "t_1/evt_1/track.webm"}
    assert iam_requests("s3", "PutObject", upload) == [
        ("s3:PutObject", "arn:aws:s3:::onair-prod-recordings/t_1/evt_1/track.webm")
    ]
    assert iam_requests("s3", "HeadObject", upload) == [
        ("s3:GetObject", "arn:aws:s3:::onair-prod-recordings/t_1/evt_1/track.webm")
    ], "a HEAD (and a pre-signed GET) needs s3:GetObject"


def test_a_policy_missing_an_action_the_code_uses_fails(sam_template: dict[str, Any]) -> None:
    """What CI does when an action is taken out of AppPolicy: here BatchGetItem, the known gap."""
    statements = function_policy(sam_template)
    without = [
        Statement(s.sid, tuple(a for a in s.actions if a != "dynamodb:BatchGetItem"), s.resources)
        for s in statements
    ]
    call = ("dynamodb:BatchGetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/onair-test-main")
    assert judge(statements, [call], check_unused=False).missing == []
    assert judge(without, [call], check_unused=False).missing == [call]


def test_a_policy_allowing_an_action_nothing_uses_fails(sam_template: dict[str, Any]) -> None:
    statements = function_policy(sam_template)
    used = [
        (action, resource.replace("*", "x"))
        for s in statements
        for action in s.actions
        for resource in s.resources
    ]
    assert judge(statements, used).unused == []
    extra = [*statements, Statement("Extra", ("dynamodb:Scan",), statements[-1].resources)]
    assert judge(extra, used).unused == [("Extra", "dynamodb:Scan")]


def test_the_policy_scopes_every_action_to_onairs_resources(sam_template: dict[str, Any]) -> None:
    for statement in function_policy(sam_template):
        for resource in statement.resources:
            assert resource != "*" or set(statement.actions) <= RUNTIME_ACTIONS, statement


def test_medialive_actions_need_a_channel_marked_for_onair(sam_template: dict[str, Any]) -> None:
    (medialive,) = [
        s for s in function_policy(sam_template) if any(a.startswith("medialive:") for a in s.actions)
    ]
    assert set(medialive.actions) == {
        "medialive:DescribeChannel",
        "medialive:StartChannel",
        "medialive:StopChannel",
    }
    assert medialive.condition == {"Null": {"aws:ResourceTag/onair:tenant": "false"}}


# -- a second layer: moto enforcing IAM for a principal holding the function's actions --------------------


def moto_policy(statements: list[Statement], drop: str | None = None) -> dict[str, Any]:
    """The function's policy as moto can enforce it: moto checks the action only (every resource is "*" to
    it, conditions are not evaluated), names a transaction `dynamodb:TransactWriteItems`, and an invocation
    `lambda:Invoke` (IAM's action is `lambda:InvokeFunction`)."""
    actions = {a for s in statements for a in s.actions if a != drop}
    if {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    } <= actions:
        actions.add("dynamodb:TransactWriteItems")
    if "lambda:InvokeFunction" in actions:
        actions.add("lambda:Invoke")
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": sorted(actions), "Resource": "*"}],
    }


@pytest.fixture
def as_the_function(aws: None, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app on moto, its AWS calls signed by an IAM user; `enforce(policy)` turns enforcement on."""
    import boto3
    from moto.core import set_initial_no_auth_action_count

    from chalicelib import bootstrap
    from chalicelib.adapters import aws as clients
    from chalicelib.config import Settings
    from local.resources import create_lifecycle
    from tests.conftest import OPERATOR_KEY

    iam = boto3.client("iam")
    machine = create_lifecycle("test", iam, clients.client("lambda"), clients.client("stepfunctions"))
    built = bootstrap.build(
        Settings.from_env({"ONAIR_STAGE": "test", "ONAIR_STATE_MACHINE_ARN": machine["state_machine_arn"]}),
        clock,
    )
    built.tenancy.bootstrap_operator(OPERATOR_KEY, clock())
    bootstrap.override(built)

    def enforce(policy: dict[str, Any], name: str) -> Any:
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="onair-app", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        clients.reset()
        return set_initial_no_auth_action_count(0)

    yield enforce
    bootstrap.override(None)
    clients.reset()


def drive(api: Any) -> list[int]:
    """A day in the API's life: create, read (the second read rides a BatchGetItem), list, patch, act."""
    statuses = []
    channel = api.post("/v1/channels", {"name": "Room"})
    statuses.append(channel.status_code)
    event = api.post(
        "/v1/events",
        {"title": "Show", "channel_id": channel.data["id"], "start": "2027-03-01T09:00:00Z", "duration": 600},
    )
    statuses.append(event.status_code)
    if event.status_code != 201:
        return statuses
    path = f"/v1/events/{event.data['id']}"
    for response in (
        api.get(path),
        api.get(path),
        api.get(f"/v1/events?channel_id={channel.data['id']}"),
        api.patch(path, {"title": "Renamed"}),
        api.post(f"{path}/actions", {"action": "provision"}),
        api.post(f"{path}/actions", {"action": "cancel"}),
    ):
        statuses.append(response.status_code)
    return statuses


def test_moto_enforcing_the_functions_actions_lets_the_api_work(
    sam_template: dict[str, Any], as_the_function: Any
) -> None:
    from chalice.test import Client

    from app import app
    from tests.conftest import OPERATOR_KEY, Api

    enforced = as_the_function(moto_policy(function_policy(sam_template)), "onair-function")
    with Client(app) as client:
        statuses = enforced(drive)(Api(client.http, OPERATOR_KEY))
    assert statuses == [201, 201, 200, 200, 200, 200, 200, 200]


def test_moto_enforcing_the_functions_actions_without_batchgetitem_breaks_reads(
    sam_template: dict[str, Any], as_the_function: Any
) -> None:
    """The deployed stack's failure the review found, reproduced: a known key's read rides a BatchGetItem."""
    from chalice.test import Client

    from app import app
    from tests.conftest import OPERATOR_KEY, Api

    policy = moto_policy(function_policy(sam_template), drop="dynamodb:BatchGetItem")
    enforced = as_the_function(policy, "onair-function-without-batchgetitem")
    with Client(app) as client:
        statuses = enforced(drive)(Api(client.http, OPERATOR_KEY))
    assert statuses[0] == 201, "the first request checks the key on its own (GetItem)"
    assert 500 in statuses[1:], "later requests read the key in a BatchGetItem, which IAM refuses"


def test_moto_enforcing_the_functions_actions_lets_calendar_feeds_work(
    sam_template: dict[str, Any], as_the_function: Any
) -> None:
    """A feed's paths under the function's policy: created, its calendar read with no key (its channels by
    BatchGetItem, the others by Query), revoked."""
    from urllib.parse import urlsplit

    from chalice.test import Client

    from app import app
    from tests.conftest import OPERATOR_KEY, Api

    def feeds(api: Any) -> list[int]:
        room = api.post("/v1/channels", {"name": "Room"}).data["id"]
        listed = api.post("/v1/feeds", {"name": "One room", "channel_ids": [room]})
        every = api.post("/v1/feeds", {"name": "All rooms", "channel_ids": None})
        calendars = [api.http.get(urlsplit(f.data["url"]).path) for f in (listed, every)]
        revoked = api.delete(f"/v1/feeds/{listed.data['id']}")
        after = api.http.get(urlsplit(listed.data["url"]).path)
        return [r.status_code for r in (listed, every, *calendars, revoked, after)]

    enforced = as_the_function(moto_policy(function_policy(sam_template)), "onair-function-feeds")
    with Client(app) as client:
        statuses = enforced(feeds)(Api(client.http, OPERATOR_KEY))
    assert statuses == [201, 201, 200, 200, 204, 404]


def test_the_record_can_be_read(tmp_path: Path) -> None:
    """The recorder is installed in every session (a session without it fails the check, never passes)."""
    from chalicelib.adapters import aws

    assert any(handler is RECORDER for _, handler in aws._hooks)


def test_moto_enforcing_the_functions_actions_lets_an_uploaded_import_run_in_its_lambda(
    sam_template: dict[str, Any], as_the_function: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import paths under the function's policy: a pre-signed upload URL (the PUT is authorised by the
    signer's policy), the asynchronous invocation of the import Lambda, and that Lambda's reads and writes
    (the file, the table, the bus). The recorder sees them too, so the packaged policy is proven for them."""
    import requests
    from chalice.test import Client
    from moto.core.config import default_user_config

    from app import app
    from chalicelib import bootstrap
    from chalicelib.adapters import aws as clients
    from chalicelib.jobs import imports
    from local import lambda_bridge
    from local.resources import create_import_function, create_imports_bucket
    from tests.conftest import OPERATOR_KEY, Api

    # As on the local stack (local/emulator.py): moto's Lambda without Docker, whose invoke the bridge routes.
    monkeypatch.setitem(
        default_user_config, "lambda", {**default_user_config.get("lambda", {}), "use_docker": False}
    )
    built = bootstrap.services()
    create_imports_bucket(built.settings.imports_bucket, clients.client("s3"))
    function = create_import_function("test", clients.client("iam"), clients.client("lambda"))
    monkeypatch.setenv("ONAIR_IMPORT_FUNCTION", function)  # the import Lambda's own settings read it
    settings = type(built.settings).from_env({"ONAIR_STAGE": "test", "ONAIR_IMPORT_FUNCTION": function})
    bootstrap.override(bootstrap.build(settings, built.clock))
    enforced = as_the_function(moto_policy(function_policy(sam_template)), "onair-import-function")

    csv = "external_id,title,channel,start,duration\nA1,Lecture,Room 1,2027-03-02T09:00:00Z,3600\n"

    def ask_for_upload(api: Api) -> dict[str, Any]:
        assert api.post("/v1/channels", {"name": "Room 1"}).status_code == 201
        created = api.post("/v1/imports", {"source": "tt", "format": "csv", "upload": True})
        assert created.status_code == 202, created.data
        return created.data

    def start(api: Api, import_id: str) -> dict[str, Any]:
        started = api.post(f"/v1/imports/{import_id}/start")
        assert started.status_code == 202, started.data
        return api.get(f"/v1/imports/{import_id}").data

    with lambda_bridge.routed({function: imports.handle}), Client(app) as client:
        api = Api(client.http, OPERATOR_KEY)
        created = enforced(ask_for_upload)(api)
        # moto checks only header-signed requests; the URL's signing was recorded for the proof above.
        put = requests.put(created["upload_url"], data=csv.encode(), timeout=10)
        assert put.status_code == 200, put.text
        record = as_the_function(moto_policy(function_policy(sam_template)), "onair-import-run")(start)(
            api, created["id"]
        )
    assert record["status"] == "applied", record
    assert record["counts"]["create"] == 1 and record["results"][0]["event_id"]
