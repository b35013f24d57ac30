"""The local stack keeps its data across restarts and crashes, and gives lifecycle runs back to events.

Each test runs `python -m local` (as `make run` does) on a data directory of its own, stops it (SIGTERM) or
kills it (SIGKILL, a crash), starts it again on the same directory, and looks at what is there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from local import process as local_process
from tests.e2e.test_local_stack import Http, free_port

KEY = "onair_e2e-restart-key-0123456789"


class Stacks:
    """Starts stacks on one data directory; makes sure none outlives the test."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.running: list[local_process.StackProcess] = []

    def start(self, **env: str) -> tuple[local_process.StackProcess, Http]:
        stack = local_process.start(KEY, env={"ONAIR_DATA_DIR": str(self.data_dir), **env})
        self.running.append(stack)
        return stack, Http(stack.url, KEY)

    def close(self) -> None:
        for stack in self.running:
            if stack.process.poll() is None:
                stack.kill()


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[Stacks]:
    found = Stacks(tmp_path / "data")
    yield found
    found.close()


def instant(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(channel: str, title: str, start: float, duration: int) -> dict[str, Any]:
    return {"title": title, "channel_id": channel, "start": instant(start), "duration": duration}


def test_data_survives_a_stop_and_a_crash_and_fresh_starts_empty(stacks: Stacks) -> None:
    stack, http = stacks.start()
    status, _, channel = http("POST", "/v1/channels", {"name": "Kept"})
    assert status == 201
    status, _, tenant = http("POST", "/v1/tenants", {"name": "Kept tenant"})
    assert status == 201
    status, _, before_stop = http("POST", "/v1/events", event_body(channel["id"], "Before stop", 1.9e9, 600))
    assert status == 201
    assert stack.terminate() == 0

    stack, http = stacks.start()
    assert "restored" in stack.banner
    assert http("GET", f"/v1/events/{before_stop['id']}")[2]["title"] == "Before stop"
    status, _, other = http("POST", "/v1/channels", {"name": "Tenant room"}, key=tenant["admin_key"])
    assert status == 201, "the tenant's admin key still works"
    status, _, before_crash = http(
        "POST", "/v1/events", event_body(channel["id"], "Before crash", 1.9e9 + 3600, 60)
    )
    assert status == 201
    status, _, _ = http("PATCH", f"/v1/events/{before_stop['id']}", {"title": "Renamed before crash"})
    assert status == 200
    stack.kill()  # acknowledged above, then the process dies without a chance to save anything

    stack, http = stacks.start()
    assert http("GET", f"/v1/events/{before_crash['id']}")[0] == 200, "a write acknowledged before a crash"
    assert http("GET", f"/v1/events/{before_stop['id']}")[2]["title"] == "Renamed before crash"
    assert http("GET", f"/v1/channels/{other['id']}", key=tenant["admin_key"])[0] == 200
    status, _, page = http("GET", f"/v1/events?channel_id={channel['id']}")
    assert [e["title"] for e in page["items"]] == ["Renamed before crash", "Before crash"], "nothing twice"
    assert stack.terminate() == 0

    stack, http = stacks.start(ONAIR_FRESH="1")
    assert http("GET", f"/v1/events/{before_crash['id']}")[0] == 404, "ONAIR_FRESH=1 starts empty"
    assert http("GET", "/v1/health")[0] == 200, "with the same operator key"


def state_of(http: Http, event_id: str) -> str:
    return http("GET", f"/v1/events/{event_id}")[2]["state"]


def wait_for(http: Http, event_id: str, states: set[str], timeout: float) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = state_of(http, event_id)
        if state in states:
            return state
        time.sleep(0.2)
    return state_of(http, event_id)


def transitions(http: Http, event_id: str) -> dict[str, float]:
    """When the event entered each state (from its history), as epoch seconds."""
    entries = http("GET", f"/v1/events/{event_id}/history")[2]["items"]
    return {e["to"]: datetime.fromisoformat(e["at"].replace("Z", "+00:00")).timestamp() for e in entries}


def test_runs_pending_or_live_when_the_stack_dies_carry_on_after_it_restarts(stacks: Stacks) -> None:
    stack, http = stacks.start()
    channels = [
        http("POST", "/v1/channels", {"name": f"Room {n}", "teardown_delay_seconds": 1})[2]["id"]
        for n in range(3)
    ]
    t0 = time.time()
    # Goes live before the crash and its end passes while the stack is down: stopped and torn down on start.
    ended = http("POST", "/v1/events", event_body(channels[0], "Ends while down", t0 + 4, 5))[2]["id"]
    # Goes live before the crash and is still on air after the restart: stopped at its end, as planned.
    on_air = http("POST", "/v1/events", event_body(channels[1], "On air", t0 + 4, 40))[2]["id"]
    # Its run waits in a Wait state when the stack dies: it still goes live at its start.
    pending = http("POST", "/v1/events", event_body(channels[2], "Pending", t0 + 30, 3))[2]["id"]
    assert wait_for(http, ended, {"live"}, 20) == "live"
    assert wait_for(http, on_air, {"live"}, 20) == "live"
    stack.kill()
    time.sleep(max(0.0, t0 + 10 - time.time()))  # `ended` is over while nothing runs

    restarted = time.time()
    stack, http = stacks.start()
    assert "resumed 3 runs" in stack.banner, stack.banner
    assert wait_for(http, ended, {"completed"}, 20) == "completed"
    states = transitions(http, ended)
    assert states["stopped"] >= restarted - 1, "stopped after the restart (its run died with the stack)"

    assert state_of(http, on_air) == "live", "still on air after the restart"
    assert wait_for(http, pending, {"live", "stopped", "completed"}, t0 + 60 - time.time()) != "scheduled"
    assert transitions(http, pending)["live"] == pytest.approx(t0 + 30, abs=2.5), "on time"
    assert wait_for(http, on_air, {"completed"}, t0 + 70 - time.time()) == "completed"
    assert transitions(http, on_air)["stopped"] == pytest.approx(t0 + 44, abs=2.5), "stopped at its end"
    entries = http("GET", f"/v1/events/{on_air}/history")[2]["items"]
    assert [e["to"] for e in entries].count("live") == 1, "it did not go live twice"


def test_the_emulator_listens_on_the_port_it_is_given(stacks: Stacks) -> None:
    port = free_port()
    stack, _ = stacks.start(ONAIR_EMULATOR_PORT=str(port))
    assert stack.emulator_url == f"http://127.0.0.1:{port}"
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.emulator_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    assert "onair-local-main" in client.list_tables()["TableNames"]


def test_a_second_stack_on_the_same_port_or_data_says_so_in_one_line(stacks: Stacks) -> None:
    stack, _ = stacks.start()
    api_port = int(stack.url.rsplit(":", 1)[1])
    for port, data_dir, expected in (
        (api_port, "", f"port {api_port} is already in use"),
        (0, str(stacks.data_dir), "is in use by another onair"),
    ):
        with pytest.raises(local_process.StackFailed) as failed:
            local_process.start(KEY, port, env={"ONAIR_DATA_DIR": data_dir}, timeout=60)
        output = str(failed.value).split("\n", 1)[1].strip()
        assert expected in output
        assert len(output.splitlines()) == 1 and "Traceback" not in output, output
