"""End to end on the real local stack: events run their lifecycle on time through the state machine.

Short times throughout; `ONAIR_LOCAL_RETRY=1,1,1` shrinks the driver-error backoff to one retry after
a second, so the failure path takes seconds (see docs/lifecycle.md).
"""

from __future__ import annotations

import json
import socket
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.e2e.test_local_stack import Http, free_port, start_stack

KEY = "onair_e2e-lifecycle-key-0123456789"
LATENESS: list[float] = []


@pytest.fixture(scope="module")
def stack():
    port = free_port()
    process, banner = start_stack(port, {"ONAIR_LOCAL_RETRY": "1,1,1"}, key=KEY)
    emulator = next(line.rsplit(" ", 1)[1].strip() for line in banner.splitlines() if "AWS emulator" in line)
    yield {"http": Http(f"http://127.0.0.1:{port}", KEY), "emulator": emulator}
    process.terminate()
    process.communicate(timeout=30)
    if LATENESS:
        rounded = [round(x, 3) for x in LATENESS]
        print(f"\nwent live after start: {rounded} (median {statistics.median(LATENESS):.3f}s)")


def instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_seconds_from_now(seconds: int) -> int:
    return int(time.time()) + seconds


def watch(http: Http, event_id: str, until: Callable[[str], bool], timeout: float) -> list[tuple[float, str]]:
    """Poll the event's state; returns (wall time, state) at each change until `until(state)`."""
    seen: list[tuple[float, str]] = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = http("GET", f"/v1/events/{event_id}")[2]["state"]
        if not seen or seen[-1][1] != state:
            seen.append((time.time(), state))
        if until(state):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"event {event_id} stuck; states seen: {seen}")


def channel(http: Http, **fields: Any) -> str:
    status, _, body = http("POST", "/v1/channels", {"name": "Room", **fields})
    assert status == 201, body
    return body["id"]


def event(http: Http, channel_id: str, start: int, duration: int, **fields: Any) -> dict[str, Any]:
    body = {"title": "Lecture", "channel_id": channel_id, "start": instant(start), "duration": duration}
    status, _, created = http("POST", "/v1/events", {**body, **fields})
    assert status == 201, created
    return created


def history(http: Http, event_id: str) -> list[tuple[str, str, str]]:
    items = http("GET", f"/v1/events/{event_id}/history")[2]["items"]
    return [(item["from"], item["to"], item["actor"]) for item in items]


@pytest.mark.parametrize("lead", [0, 1])
def test_an_auto_event_goes_live_on_time_and_runs_to_completed(stack, lead):
    http = stack["http"]
    channel_id = channel(http, provision_lead_seconds=lead, teardown_delay_seconds=1)
    start = whole_seconds_from_now(3)
    created = event(http, channel_id, start, 3)

    seen = watch(http, created["id"], lambda s: s == "completed", timeout=15)

    states = [state for _, state in seen]
    assert states[0] == "scheduled" and states[-1] == "completed"
    live_at = next(at for at, state in seen if state == "live")
    LATENESS.append(live_at - start)
    assert -0.05 <= live_at - start <= 1.0, f"went live {live_at - start:+.3f}s after its start"
    stopped_at = next(at for at, state in seen if state == "stopped")
    assert -0.05 <= stopped_at - (start + 3) <= 1.0
    assert history(http, created["id"]) == [
        ("scheduled", "provisioning", "scheduler"),
        ("provisioning", "ready", "scheduler"),
        ("ready", "live", "scheduler"),
        ("live", "stopped", "scheduler"),
        ("stopped", "completed", "scheduler"),
    ]
    items = http("GET", f"/v1/events/{created['id']}/history")[2]["items"]
    assert items[2]["at"] == instant(start), "recorded at its start, never before"


def test_manual_actions_and_the_channel_lock(stack):
    http = stack["http"]
    status, _, key = http("POST", "/v1/keys", {"name": "control-room", "scopes": ["read", "write"]})
    assert status == 201
    operator = key["key"]
    channel_id = channel(http)
    later = whole_seconds_from_now(3600)
    manual = {"start_mode": "manual", "end_mode": "manual"}
    first = event(http, channel_id, later, 600, **manual)
    second = event(http, channel_id, later, 600, allow_conflict=True, **manual)

    def act(event_id: str, action: str, **more: Any) -> tuple[int, Any]:
        status, _, body = http(
            "POST", f"/v1/events/{event_id}/actions", {"action": action, **more}, key=operator
        )
        return status, body

    status, body = act(first["id"], "start")
    assert status == 409 and "scheduled" in body["detail"], "start needs ready"
    assert act(first["id"], "dance")[0] == 422
    assert act(first["id"], "provision")[1]["state"] == "ready"
    assert act(second["id"], "provision")[1]["state"] == "ready"
    assert http("GET", f"/v1/channels/{channel_id}/live")[0] == 204

    status, body = act(first["id"], "start")
    assert status == 200 and body["state"] == "live"
    status, _, live = http("GET", f"/v1/channels/{channel_id}/live")
    assert status == 200 and live["id"] == first["id"]
    status, body = act(second["id"], "start")
    assert status == 409 and body["live_event_id"] == first["id"], "one live event per channel"

    assert act(first["id"], "publish")[1]["published"] is True
    status, body = act(first["id"], "stop", reason="lecturer left early")
    assert status == 200 and body["state"] == "stopped" and body["published"] is False
    assert http("GET", f"/v1/channels/{channel_id}/live")[0] == 204
    assert act(second["id"], "start")[1]["state"] == "live", "the lock was released by stop"
    assert act(second["id"], "force_stop")[1]["state"] == "stopped"

    watch(http, first["id"], lambda s: s == "completed", timeout=5)  # the teardown run after a manual stop
    items = http("GET", f"/v1/events/{first['id']}/history")[2]["items"]
    assert [(i["to"], i["actor"]) for i in items] == [
        ("provisioning", "control-room"),
        ("ready", "control-room"),
        ("live", "control-room"),
        ("stopped", "control-room"),
        ("completed", "scheduler"),
    ]
    assert items[3]["reason"] == "lecturer left early"


def test_reschedule_delete_and_cancel_reach_the_run(stack):
    http = stack["http"]
    channel_id = channel(http)
    start = whole_seconds_from_now(3)
    moved = event(http, channel_id, start, 2)
    deleted = event(http, channel(http), start, 2)
    cancelled = event(http, channel(http), start, 2)
    new_start = start + 4
    status, _, patched = http("PATCH", f"/v1/events/{moved['id']}", {"start": instant(new_start)})
    assert status == 200 and patched["end"] == instant(new_start + 2)
    assert http("DELETE", f"/v1/events/{deleted['id']}")[0] == 204
    status, _, body = http("POST", f"/v1/events/{cancelled['id']}/actions", {"action": "cancel"})
    assert status == 200 and body["state"] == "cancelled"

    seen = watch(http, moved["id"], lambda s: s == "live", timeout=12)
    live_at = seen[-1][0]
    assert -0.05 <= live_at - new_start <= 1.0, "live at the new start, not the old one"
    LATENESS.append(live_at - new_start)
    assert http("GET", f"/v1/events/{deleted['id']}")[2]["state"] == "scheduled", (
        "the deleted event never ran"
    )
    assert history(http, deleted["id"]) == []
    assert [(h[0], h[1]) for h in history(http, cancelled["id"])] == [("scheduled", "cancelled")]
    assert http("GET", f"/v1/events/{cancelled['id']}")[2]["state"] == "cancelled"


def test_an_unreachable_webhook_ends_in_failed_with_a_notification(stack):
    http = stack["http"]
    aws = {
        "endpoint_url": stack["emulator"],
        "region_name": "us-east-1",
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    sqs, events = boto3.client("sqs", **aws), boto3.client("events", **aws)
    queue_url = sqs.create_queue(QueueName="onair-e2e-notifications")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="onair-e2e-state",
        EventBusName="onair-local",
        EventPattern=json.dumps({"source": ["onair"], "detail-type": ["Event State Changed"]}),
    )
    events.put_targets(
        Rule="onair-e2e-state", EventBusName="onair-local", Targets=[{"Id": "q", "Arn": queue_arn}]
    )

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    channel_id = channel(
        http,
        driver={
            "type": "webhook",
            "url": f"http://127.0.0.1:{closed}/hook",
            "secret": "e2e-signing-secret-0123",
        },
    )
    created = event(http, channel_id, whole_seconds_from_now(1), 30)

    watch(http, created["id"], lambda s: s == "failed", timeout=12)
    items = http("GET", f"/v1/events/{created['id']}/history")[2]["items"]
    assert items[-1]["to"] == "failed"
    assert items[-1]["reason"] == f"webhook provision: 127.0.0.1:{closed} refused the connection"

    notes: list[dict[str, Any]] = []
    deadline = time.time() + 5
    while time.time() < deadline and not any(n["to"] == "failed" for n in notes):
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(message["Body"])
            if body["detail"]["id"] == created["id"]:
                notes.append(body["detail"])
    failed = [n for n in notes if n["to"] == "failed"]
    assert failed, f"no failed notification among {notes}"
    assert (
        failed[0]["tenant_id"]
        and "refused the connection" in failed[0]["reason"]
        and failed[0]["actor"]["type"] == "system"
    )
