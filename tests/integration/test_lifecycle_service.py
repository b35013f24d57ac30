"""The lifecycle on moto: actions over the API, the channel lock, history, notifications, and the steps the
state machine drives (called here directly, as the task Lambda would be; the e2e tests run the real ASL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters import aws as clients
from chalicelib.adapters.drivers import DriverError
from chalicelib.adapters.lock import ChannelLocks
from chalicelib.domain.models import EventState
from chalicelib.domain.time import format_instant
from chalicelib.services.lifecycle import RunSuperseded, run_id, run_name
from tests.conftest import OPERATOR_KEY, Api

SYSTEM = {"type": "system", "id": "scheduler", "name": "scheduler"}


class Notes(list):
    """A fake publisher: keeps (detail_type, detail) pairs."""

    def __call__(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.append((detail_type, json.loads(json.dumps(detail, default=str))))

    def states(self, event_id: str) -> list[tuple[str, str]]:
        return [(d["from"], d["to"]) for t, d in self if t == "Event State Changed" and d["id"] == event_id]


@pytest.fixture
def machine(aws: None) -> str:
    """The lifecycle state machine in moto (not executed in-process: executions just stay RUNNING)."""
    from chalicelib.adapters import aws as clients
    from local.resources import create_lifecycle

    return create_lifecycle(
        "test", clients.client("iam"), clients.client("lambda"), clients.client("stepfunctions")
    )["state_machine_arn"]


@pytest.fixture
def life(aws: None, machine: str, clock: Any) -> Iterator[Any]:
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    settings = {
        "ONAIR_STAGE": "test",
        "ONAIR_STATE_MACHINE_ARN": machine,
        "ONAIR_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    built = bootstrap.build(Settings.from_env(settings), clock)
    built.tenancy.bootstrap_operator(OPERATOR_KEY, clock())
    notes = Notes()
    built.notifier.put = notes
    built.notes = notes
    bootstrap.override(built)
    yield built
    bootstrap.override(None)


@pytest.fixture
def http(life: Any) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        api = Api(client.http, OPERATOR_KEY)
        key = api.post("/v1/keys", {"name": "control-room", "scopes": ["read", "write"]}).data["key"]
        yield Api(client.http, key)


def make_channel(http: Api, **fields: Any) -> str:
    response = http.post("/v1/channels", {"name": "Room", **fields})
    assert response.status_code == 201, response.data
    return response.data["id"]


def make_event(http: Api, channel_id: str, start: str, duration: int = 3600, **fields: Any) -> dict[str, Any]:
    body = {"title": "Lecture", "channel_id": channel_id, "start": start, "duration": duration, **fields}
    response = http.post("/v1/events", body)
    assert response.status_code == 201, response.data
    return response.data


def act(http: Api, event_id: str, action: str, **more: Any) -> Any:
    return http.post(f"/v1/events/{event_id}/actions", {"action": action, **more})


def execution(life: Any, name: str) -> str:
    sfn = clients.client("stepfunctions")
    return sfn.describe_execution(executionArn=life.lifecycle.runs.runs.execution_arn(name))["status"]


def current_run(life: Any, event_id: str) -> tuple[Any, str]:
    event = life.events.store.get("default", event_id)
    channel = life.events.channels.get("default", event.channel_id)
    return event, run_id(event, channel)


def step(life: Any, event_id: str, name: str, **more: Any) -> dict[str, Any]:
    _, run = current_run(life, event_id)
    payload = {"step": name, "tenant_id": "default", "event_id": event_id, "version": run, **more}
    return life.lifecycle.steps.handle(payload)


# -- actions, the lock, history ----------------------------------------------------------------------


def test_actions_move_the_event_and_the_lock_allows_one_live_event(http: Api, life: Any) -> None:
    channel_id = make_channel(http)
    a = make_event(http, channel_id, "2027-03-01T09:00:00Z", start_mode="manual")
    b = make_event(http, channel_id, "2027-03-01T09:00:00Z", start_mode="manual", allow_conflict=True)

    refused = act(http, a["id"], "start")
    assert refused.status_code == 409 and "scheduled" in refused.data["detail"]
    assert refused.data["state"] == "scheduled" and "provision" in refused.data["allowed_actions"]
    assert act(http, a["id"], "provision").data["state"] == "ready"
    assert act(http, b["id"], "provision").data["state"] == "ready"
    assert http.get(f"/v1/channels/{channel_id}/live").status_code == 204

    started = act(http, a["id"], "start", reason="on cue")
    assert started.status_code == 200 and started.data["state"] == "live"
    assert started.headers["ETag"] == f'"{life.events.store.get("default", a["id"]).version}"'
    live = http.get(f"/v1/channels/{channel_id}/live")
    assert live.status_code == 200 and live.data["id"] == a["id"]
    busy = act(http, b["id"], "start")
    assert busy.status_code == 409 and busy.data["live_event_id"] == a["id"]

    assert act(http, a["id"], "publish").data["published"] is True
    stopped = act(http, a["id"], "stop")
    assert stopped.data["state"] == "stopped" and stopped.data["published"] is False
    assert act(http, b["id"], "start").data["state"] == "live", "stop released the lock"

    items = http.get(f"/v1/events/{a['id']}/history").data["items"]
    assert [(i["from"], i["to"], i["actor"]["name"]) for i in items] == [
        ("scheduled", "provisioning", "control-room"),
        ("provisioning", "ready", "control-room"),
        ("ready", "live", "control-room"),
        ("live", "stopped", "control-room"),
    ]
    assert items[2]["reason"] == "on cue" and items[2]["at"] == "2027-03-01T08:00:00Z"
    assert life.notes.states(a["id"]) == [
        ("scheduled", "provisioning"),
        ("provisioning", "ready"),
        ("ready", "live"),
        ("live", "stopped"),
    ]
    note = next(d for t, d in life.notes if t == "Event State Changed" and d["to"] == "live")
    assert {k: note[k] for k in ("tenant_id", "id", "reason")} == {
        "tenant_id": "default",
        "id": a["id"],
        "reason": "on cue",
    }
    assert note["actor"]["type"] == "key" and note["actor"]["name"] == "control-room"
    assert execution(life, run_name(*current_run(life, a["id"]), teardown=True)) == "RUNNING"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        pytest.param({"action": "dance"}, "/action", id="unknown action"),
        pytest.param({"action": "teardown"}, "/action", id="internal step is not an action"),
        pytest.param({"action": "extend"}, "/seconds", id="extend needs seconds"),
        pytest.param({"action": "extend", "seconds": 0}, "/seconds", id="extend by zero"),
        pytest.param({"action": "publish", "colour": "red"}, "/colour", id="unknown field"),
    ],
)
def test_invalid_actions_are_422(http: Api, body: dict[str, Any], pointer: str) -> None:
    event = make_event(http, make_channel(http), "2027-03-01T09:00:00Z")
    response = http.post(f"/v1/events/{event['id']}/actions", body)
    assert response.status_code == 422, response.data
    assert [e["pointer"] for e in response.data["errors"]] == [pointer]


def test_set_vod_needs_a_stopped_event_and_a_visibility(http: Api) -> None:
    event = make_event(http, make_channel(http), "2027-03-01T09:00:00Z", publish="private")
    assert act(http, event["id"], "set_vod", visibility="public").status_code == 409
    act(http, event["id"], "provision")
    act(http, event["id"], "start")
    stopped = act(http, event["id"], "stop").data
    assert stopped["vod"] == "private", "the event's publish field becomes the recording's visibility"
    assert act(http, event["id"], "set_vod").data["errors"][0]["pointer"] == "/visibility"
    assert act(http, event["id"], "set_vod", visibility="public").data["vod"] == "public"


def test_actions_honour_if_match_and_tenancy(http: Api) -> None:
    event = make_event(http, make_channel(http), "2027-03-01T09:00:00Z")
    stale = http.post(
        f"/v1/events/{event['id']}/actions", {"action": "provision"}, headers={"If-Match": '"999"'}
    )
    assert stale.status_code == 412
    assert http.post("/v1/events/evt_nope/actions", {"action": "provision"}).status_code == 404
    assert http.get("/v1/events/evt_nope/history").status_code == 404
    assert http.get("/v1/channels/ch_nope/live").status_code == 404


def test_force_stop_clears_a_stuck_lock(http: Api, life: Any) -> None:
    channel_id = make_channel(http)
    stuck = make_event(http, channel_id, "2027-03-01T09:00:00Z")
    other = make_event(http, channel_id, "2027-03-01T09:00:00Z", allow_conflict=True)
    for event in (stuck, other):
        act(http, event["id"], "provision")
    act(http, stuck["id"], "start")
    # Out of step: the event says stopped, but the channel still names it live (a crash between writes).
    current = life.events.store.get("default", stuck["id"])
    life.lifecycle.transitions.locks.write(
        current.model_copy(update={"state": EventState.STOPPED, "version": current.version + 1}),
        current,
        None,
    )
    assert ChannelLocks(life.lifecycle.transitions.locks.table).holder("default", channel_id) == stuck["id"]
    assert act(http, other["id"], "start").status_code == 409

    forced = act(http, stuck["id"], "force_stop", reason="stuck encoder")
    assert forced.status_code == 200 and forced.data["state"] == "stopped"
    assert http.get(f"/v1/channels/{channel_id}/live").status_code == 204
    assert act(http, other["id"], "start").data["state"] == "live"
    last = http.get(f"/v1/events/{stuck['id']}/history").data["items"][-1]
    assert (last["from"], last["to"], last["reason"]) == ("stopped", "stopped", "stuck encoder")


def test_extend_rechecks_conflicts_and_moves_the_run(http: Api, life: Any) -> None:
    channel_id = make_channel(http)
    event = make_event(http, channel_id, "2027-03-01T09:00:00Z", duration=3600)
    make_event(http, channel_id, "2027-03-01T10:30:00Z", duration=3600)
    before, old_run = current_run(life, event["id"])
    assert execution(life, run_name(before, old_run)) == "RUNNING"

    clash = act(http, event["id"], "extend", seconds=3600)
    assert clash.status_code == 409 and clash.data["conflicts"], clash.data
    extended = act(http, event["id"], "extend", seconds=1800)
    assert extended.status_code == 200 and extended.data["end"] == "2027-03-01T10:30:00Z"

    after, new_run = current_run(life, event["id"])
    assert new_run != old_run
    assert execution(life, run_name(before, old_run)) == "ABORTED", "the old run (and its stop) is gone"
    assert execution(life, run_name(after, new_run)) == "RUNNING"
    updated = [d for t, d in life.notes if t == "Event Updated" and d["id"] == event["id"]]
    assert [d["changes"] for d in updated] == [{"end": "2027-03-01T10:30:00Z"}], "announced once"


# -- runs follow bookings ----------------------------------------------------------------------------


def test_edits_deletes_and_restores_restart_or_stop_the_run(http: Api, life: Any) -> None:
    channel_id = make_channel(http)
    event = make_event(http, channel_id, "2027-03-01T09:00:00Z")
    first, run1 = current_run(life, event["id"])
    assert execution(life, run_name(first, run1)) == "RUNNING"

    http.patch(f"/v1/events/{event['id']}", {"title": "Renamed"})
    assert current_run(life, event["id"])[1] == run1, "a title edit keeps the run"
    http.patch(f"/v1/events/{event['id']}", {"start": "2027-03-01T09:30:00Z"})
    moved, run2 = current_run(life, event["id"])
    assert execution(life, run_name(first, run1)) == "ABORTED"
    assert execution(life, run_name(moved, run2)) == "RUNNING"

    assert http.delete(f"/v1/events/{event['id']}").status_code == 204
    assert execution(life, run_name(moved, run2)) == "ABORTED"
    with pytest.raises(RunSuperseded):
        life.lifecycle.steps.handle(
            {"step": "provision", "tenant_id": "default", "event_id": event["id"], "version": run2}
        )

    assert http.post(f"/v1/events/{event['id']}/restore").status_code == 200
    # The same identity again: its first execution name is taken (stopped), so the run takes the next one.
    assert execution(life, run_name(moved, run2) + "-2") == "RUNNING"


def test_far_events_wait_for_the_run_window(http: Api, life: Any, clock: Any) -> None:
    event = make_event(http, make_channel(http, provision_lead_seconds=600), "2027-04-01T09:00:00Z")
    current, run = current_run(life, event["id"])
    with pytest.raises(Exception, match="ExecutionDoesNotExist"):
        execution(life, run_name(current, run))
    assert life.jobs["lifecycle_runs"](clock()) == {"started": 0}
    clock.advance(days=24, hours=1)  # provision at 08:50 on April 1st: now within 7 days
    assert life.jobs["lifecycle_runs"](clock()) == {"started": 1}
    assert execution(life, run_name(current, run)) == "RUNNING"
    assert life.jobs["lifecycle_runs"](clock()) == {"started": 0}, "the marker is gone"


def test_a_far_event_that_goes_away_leaves_no_run_to_start(http: Api, life: Any, clock: Any) -> None:
    channel_id = make_channel(http)
    # Refused in its own transaction (no such source): its run marker was never written either.
    refused = http.post(
        "/v1/events",
        {
            "title": "Lecture",
            "channel_id": channel_id,
            "start": "2027-05-01T09:00:00Z",
            "duration": 3600,
            "source_ids": ["src_missing"],
        },
    )
    assert refused.status_code == 422, refused.data
    deleted = make_event(http, channel_id, "2027-05-01T11:00:00Z")
    assert http.delete(f"/v1/events/{deleted['id']}?hard=true").status_code == 204
    moved = make_event(http, channel_id, "2027-05-01T13:00:00Z")
    assert http.patch(f"/v1/events/{moved['id']}", {"start": "2027-05-02T13:00:00Z"}).status_code == 200

    clock.advance(days=59)  # April 29th: all of May 1st and 2nd is within the run window
    assert life.jobs["lifecycle_runs"](clock()) == {"started": 1}, "only the moved event's run"
    current, run = current_run(life, moved["id"])
    assert current.start.isoformat() == "2027-05-02T13:00:00+00:00"
    assert execution(life, run_name(current, run)) == "RUNNING"


# -- the steps the state machine drives -----------------------------------------------------------


def test_steps_run_an_auto_event_to_completed(http: Api, life: Any, clock: Any) -> None:
    channel_id = make_channel(http, teardown_delay_seconds=60)
    event = make_event(http, channel_id, "2027-03-01T09:00:00Z", publish="public")
    clock.advance(hours=1)
    assert step(life, event["id"], "provision") == {"step": "provision", "done": True}
    assert step(life, event["id"], "provision")["skipped"] == "provisioning", "a retry is harmless"
    step(life, event["id"], "provisioned")
    step(life, event["id"], "start")
    assert http.get(f"/v1/channels/{channel_id}/live").data["id"] == event["id"]
    clock.advance(hours=1)
    step(life, event["id"], "stop")
    clock.advance(minutes=1)
    step(life, event["id"], "teardown")

    final = http.get(f"/v1/events/{event['id']}").data
    assert (final["state"], final["vod"]) == ("completed", "public")
    items = http.get(f"/v1/events/{event['id']}/history").data["items"]
    assert [(i["to"], i["at"], i["actor"]) for i in items] == [  # the system, never a key's name
        ("provisioning", "2027-03-01T09:00:00Z", SYSTEM),
        ("ready", "2027-03-01T09:00:00Z", SYSTEM),
        ("live", "2027-03-01T09:00:00Z", SYSTEM),
        ("stopped", "2027-03-01T10:00:00Z", SYSTEM),
        ("completed", "2027-03-01T10:01:00Z", SYSTEM),
    ]
    assert http.get(f"/v1/channels/{channel_id}/live").status_code == 204


def test_a_failing_driver_ends_in_failed_with_the_reason_and_a_notification(http: Api, life: Any) -> None:
    channel_id = make_channel(
        http, driver={"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"}
    )
    event = make_event(http, channel_id, "2027-03-01T09:00:00Z")
    with pytest.raises(DriverError, match="refused the connection") as raised:
        step(life, event["id"], "provision")
    assert http.get(f"/v1/events/{event['id']}").data["state"] == "scheduled", "nothing recorded on failure"
    reason = str(raised.value)
    assert reason == "webhook provision: 127.0.0.1:9 refused the connection"

    cause = json.dumps({"errorType": "DriverError", "errorMessage": reason})
    step(life, event["id"], "fail", error="DriverError", cause=cause)
    assert http.get(f"/v1/events/{event['id']}").data["state"] == "failed"
    last = http.get(f"/v1/events/{event['id']}/history").data["items"][-1]
    assert last["to"] == "failed" and last["reason"] == reason
    note = next(d for t, d in life.notes if t == "Event State Changed" and d["to"] == "failed")
    assert note["reason"] == reason and note["from"] == "scheduled"
    # A stale run's failure never fails an event that has moved on.
    other = make_event(http, make_channel(http), "2027-03-01T09:00:00Z")
    life.lifecycle.steps.handle(
        {"step": "fail", "tenant_id": "default", "event_id": other["id"], "version": "stale"}
    )
    assert http.get(f"/v1/events/{other['id']}").data["state"] == "scheduled"


def test_a_superseded_run_heals_a_channel_edit(http: Api, life: Any) -> None:
    channel_id = make_channel(http)
    event = make_event(http, channel_id, "2027-03-01T09:00:00Z")
    _, old = current_run(life, event["id"])
    http.patch(f"/v1/channels/{channel_id}", {"provision_lead_seconds": 300})
    after, new = current_run(life, event["id"])
    assert new != old
    with pytest.raises(RunSuperseded):
        life.lifecycle.steps.handle(
            {"step": "provision", "tenant_id": "default", "event_id": event["id"], "version": old}
        )
    assert execution(life, run_name(after, new)) == "RUNNING", "the old run started the current one"
    described = clients.client("stepfunctions").describe_execution(
        executionArn=life.lifecycle.runs.runs.execution_arn(run_name(after, new))
    )
    provision_at = json.loads(described["input"])["provision_at"]
    assert provision_at == format_instant(after.start - timedelta(seconds=300))
