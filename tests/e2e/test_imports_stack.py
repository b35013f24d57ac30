"""End to end on `python -m local`: a timetable uploaded through its pre-signed URL is planned and applied
by the import Lambda (routed through the emulator, invoked asynchronously), and GET shows it progress."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bench.semester import semester
from tests.e2e.test_local_stack import KEY, Http, free_port, start_stack

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    port = free_port()
    process, _ = start_stack(port, {"ONAIR_TICK_SECONDS": "60"})
    try:
        yield Http(f"http://127.0.0.1:{port}", KEY)
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for(http: Http, import_id: str, statuses: set[str], seconds: float = 120) -> dict[str, Any]:
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, _, record = http("GET", f"/v1/imports/{import_id}?limit=500")
        assert status == 200, record
        seen.append((record["status"], record["progress"]["done"]))
        if record["status"] in statuses:
            record["seen"] = seen
            return record
        time.sleep(0.2)
    pytest.fail(f"the import never reached {statuses}: {seen[-5:]}")


def test_an_uploaded_timetable_is_applied_in_the_background(http: Http) -> None:
    term = semester(courses=30, rooms=6, series=False)  # 330 sessions, one row each
    for room in term.rooms:
        assert http("POST", "/v1/channels", room)[0] == 201
    status, _, created = http("POST", "/v1/imports", {"source": "e2e", "format": "csv", "upload": True})
    assert status == 202 and created["status"] == "awaiting_upload", created
    # As `curl -T timetable.csv "$upload_url"` does (urllib would otherwise label the body as a form).
    upload = urllib.request.Request(
        created["upload_url"], data=term.csv().encode(), method="PUT", headers={"Content-Type": "text/csv"}
    )
    with urllib.request.urlopen(upload, timeout=30) as response:
        assert response.status == 200, "the pre-signed URL takes the file"
    status, _, started = http("POST", f"/v1/imports/{created['id']}/start")
    assert status == 202 and started["status"] in ("queued", "planning", "applying"), (
        "the answer does not wait"
    )
    record = wait_for(http, created["id"], {"applied", "failed"})
    assert record["status"] == "applied", record["errors"]
    assert {k: v for k, v in record["counts"].items() if v} == {"create": 330}
    assert record["progress"] == {"done": 330, "total": 330}
    assert len(record["results"]) == 330 and all(r["event_id"] for r in record["results"])
    # The same file inline, planned again: nothing to do.
    status, _, again = http("POST", "/v1/imports", {"source": "e2e", "format": "csv", "content": term.csv()})
    assert status == 202
    done = wait_for(http, again["id"], {"applied", "failed"})
    assert {k: v for k, v in done["counts"].items() if v} == {"unchanged": 330}
