"""End to end: start `python -m local` (what `make run` runs) on a free port and talk HTTP to it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest

from local import process as local_process

KEY = "onair_e2e-operator-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.key = key

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {key or self.key}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, head, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, head, raw = error.code, dict(error.headers), error.read()
        text = raw.decode()
        is_json = head.get("Content-Type", "").split(";")[0].endswith("json")
        return status, head, json.loads(text) if text and is_json else text


def start_stack(
    port: int, extra_env: dict[str, str] | None = None, key: str = KEY
) -> tuple[subprocess.Popen, str]:
    """Start `python -m local` on `port` with an operator key; returns it once it printed its whole banner.

    The process's stdout is left to the caller (`communicate()` reads what it prints after the banner).
    """
    try:
        started = local_process.start(key, port, extra_env, drain=False)
    except local_process.StackFailed as failed:
        pytest.fail(str(failed))
    return started.process, started.banner


@pytest.fixture(scope="module")
def stack():
    port = free_port()
    process, banner = start_stack(port)
    yield {
        "process": process,
        "banner": banner,
        "http": Http(f"http://127.0.0.1:{port}", KEY),
        "port": port,
    }
    if process.poll() is None:
        process.kill()


def test_banner_prints_url_and_key(stack):
    assert f"http://127.0.0.1:{stack['port']}" in stack["banner"]
    assert KEY in stack["banner"]


def test_a_tenant_books_and_lists_events_over_http(stack):
    http = stack["http"]
    assert http("GET", "/v1/health")[2] == {"status": "ok"}
    status, _, tenant = http("POST", "/v1/tenants", {"name": "e2e"})
    assert status == 201
    admin = tenant["admin_key"]
    status, _, channel = http("POST", "/v1/channels", {"name": "Room 1"}, key=admin)
    assert status == 201
    status, head, event = http(
        "POST",
        "/v1/events",
        {
            "title": "Lecture",
            "channel_id": channel["id"],
            "start": "2030-01-07T09:00:00+01:00",
            "duration": 3600,
        },
        key=admin,
    )
    assert status == 201 and event["start"] == "2030-01-07T08:00:00Z" and event["state"] == "scheduled"
    status, _, page = http(
        "GET",
        f"/v1/events?channel_id={channel['id']}&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z",
        key=admin,
    )
    assert [e["id"] for e in page["items"]] == [event["id"]]
    status, _, _ = http("GET", f"/v1/events/{event['id']}")  # the operator's tenant is `default`
    assert status == 404, "another tenant's event is invisible"
    status, _, patched = http(
        "PATCH",
        f"/v1/events/{event['id']}",
        {"title": "Moved"},
        key=admin,
        headers={"If-Match": head["ETag"]},
    )
    assert status == 200 and patched["title"] == "Moved"


def test_idempotent_retry_replays_the_first_response(stack):
    http = stack["http"]
    _, _, channel = http("POST", "/v1/channels", {"name": "Idempotent room"})
    body = {"title": "Once", "channel_id": channel["id"], "start": "2031-01-01T09:00:00Z", "duration": 60}
    first = http("POST", "/v1/events", body, headers={"Idempotency-Key": "e2e-once"})
    again = http("POST", "/v1/events", body, headers={"Idempotency-Key": "e2e-once"})
    assert first[0] == again[0] == 201
    assert again[2]["id"] == first[2]["id"]
    assert again[1].get("Idempotent-Replayed") == "true"
    listed = http("GET", f"/v1/events?channel_id={channel['id']}")[2]["items"]
    assert len(listed) == 1, "the retry created nothing"
    other = http("POST", "/v1/events", {**body, "title": "Twice"}, headers={"Idempotency-Key": "e2e-once"})
    assert other[0] == 422


def test_unknown_path_is_a_404_problem(stack):
    status, head, body = stack["http"]("GET", "/v1/nowhere")
    assert status == 404
    assert head["Content-Type"] == "application/problem+json"
    assert body["status"] == 404


def test_docs_page_and_its_assets_are_served_offline(stack):
    http = stack["http"]
    status, head, page = http("GET", "/v1/docs")
    assert status == 200 and head["Content-Type"].startswith("text/html") and "docs.js" in page
    for asset in ("docs.js", "docs.css"):
        assert http("GET", f"/v1/docs/assets/{asset}")[0] == 200
    status, _, spec = http("GET", "/v1/openapi.json")
    assert spec["openapi"] == "3.1.0"


def test_sigterm_stops_cleanly(stack):
    process = stack["process"]
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "stopped" in out
