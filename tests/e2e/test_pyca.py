"""The proof: pyCA, the open-source Opencast capture agent, installed from PyPI, runs against the local stack.

It is configured as its docs say (a pyca.conf pointing `server.url` at onair, digest auth) and started with
`pyca run` (its schedule, capture, ingest and agentstate services). A booking a minute ahead is fetched,
recorded on time by a capture command that writes 1.5 MB, reported and uploaded; onair's history shows the
agent driving the event to `completed` and the file downloads from S3 through its pre-signed URL.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from icalendar import Calendar
from requests.auth import HTTPDigestAuth

from tests.e2e.test_local_stack import Http, free_port, start_stack

pytestmark = pytest.mark.timeout(300)

KEY = "onair_e2e-pyca-key-0123456789abcdef"
AGENT, PASSWORD = "pyca-room-101", "pyca-room-101-secret"
LEAD_SECONDS, DURATION = 60, 20
TRACK_BYTES = 1_500_000

CONFIG = """\
[agent]
name = {agent}
update_frequency = 5
cal_lookahead = 1
database = sqlite:///{dir}/pyca.db

[capture]
directory = {dir}/recordings
command = 'sh -c "head -c {size} /dev/urandom > {{{{dir}}}}/{{{{name}}}}.webm; sleep {{{{time}}}}"'
flavors = presenter/source
files = {{{{dir}}}}/{{{{name}}}}.webm
preview_dir = {dir}/recordings

[server]
url = {url}
auth_method = digest
username = {agent}
password = {password}

[logging]
level = info
"""


def instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def created(response: tuple[int, dict[str, str], Any]) -> Any:
    status, _, body = response
    assert status == 201, body
    return body


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_pyca_from_pypi_records_a_booking_from_onair(tmp_path: Path) -> None:
    port = free_port()
    stack, _ = start_stack(port, {"ONAIR_TICK_SECONDS": "2"}, key=KEY)
    base = f"http://127.0.0.1:{port}"
    http = Http(base, KEY)
    pyca = None
    try:
        driver = {"type": "opencast_agent", "agent": AGENT, "password": PASSWORD}
        room = created(http("POST", "/v1/channels", {"name": "Room 101", "driver": driver}))
        start = int(time.time()) + LEAD_SECONDS
        booking = {"title": "Algorithms, lecture 1", "channel_id": room["id"], "start": instant(start)}
        event = created(http("POST", "/v1/events", {**booking, "duration": DURATION}))

        config = tmp_path / "pyca.conf"
        (tmp_path / "recordings").mkdir()
        config.write_text(
            CONFIG.format(agent=AGENT, password=PASSWORD, url=base, dir=tmp_path, size=TRACK_BYTES)
        )
        log = (tmp_path / "pyca.log").open("w")
        pyca = subprocess.Popen(
            [str(Path(sys.executable).parent / "pyca"), "-c", str(config), "run"],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def state() -> str:
            return http("GET", f"/v1/events/{event['id']}")[2]["state"]

        wait_for(lambda: state() in ("completed", "failed"), LEAD_SECONDS + DURATION + 90, "the upload")
        pyca_log = (tmp_path / "pyca.log").read_text()
        assert state() == "completed", pyca_log[-3000:]

        # pyCA fetched its calendar and knew the booking ahead of time.
        assert "Next scheduled recording" in pyca_log and AGENT in pyca_log
        # It started on time and reported every state; the history names it.
        history = http("GET", f"/v1/events/{event['id']}/history")[2]["items"]
        assert [(h["from"], h["to"], h["actor"]) for h in history] == [
            ("scheduled", "live", {"type": "agent", "id": AGENT, "name": AGENT}),
            ("live", "stopped", {"type": "agent", "id": AGENT, "name": AGENT}),
            ("stopped", "completed", {"type": "agent", "id": AGENT, "name": AGENT}),
        ], pyca_log[-3000:]
        went_live = datetime.fromisoformat(history[0]["at"].replace("Z", "+00:00")).timestamp()
        assert start <= went_live <= start + 3, f"live at {history[0]['at']}, booked for {instant(start)}"
        agent = http("GET", f"/v1/channels/{room['id']}")[2]["agent"]
        assert agent["state"] == "idle" and agent["last_seen"], agent

        # The recording is in S3 under the tenant and event, and downloads through its pre-signed URL.
        (recording,) = http("GET", f"/v1/events/{event['id']}/recordings")[2]["items"]
        assert recording["key"].startswith(f"default/{event['id']}/") and recording["size"] == TRACK_BYTES
        (written,) = (tmp_path / "recordings").rglob("*.webm")
        with urllib.request.urlopen(recording["url"], timeout=30) as response:
            downloaded = response.read()
        assert hashlib.sha256(downloaded).digest() == hashlib.sha256(written.read_bytes()).digest()

        # A second calendar fetch with the ETag is a 304.
        calendar_url = f"{base}/recordings/calendars?agentid={AGENT}"
        first = requests.get(calendar_url, auth=HTTPDigestAuth(AGENT, PASSWORD), timeout=30)
        assert first.status_code == 200 and first.headers["ETag"]
        again = requests.get(
            calendar_url,
            auth=HTTPDigestAuth(AGENT, PASSWORD),
            headers={"If-None-Match": first.headers["ETag"]},
            timeout=30,
        )
        assert again.status_code == 304 and not again.content

        # Another tenant's agent sees nothing of this room.
        other = created(http("POST", "/v1/tenants", {"name": "Another faculty"}))["admin_key"]
        their_driver = {"type": "opencast_agent", "agent": "their-room", "password": "their-room-secret"}
        created(http("POST", "/v1/channels", {"name": "Their room", "driver": their_driver}, key=other))
        theirs = HTTPDigestAuth("their-room", "their-room-secret")
        own = requests.get(f"{base}/recordings/calendars?agentid=their-room", auth=theirs, timeout=30)
        assert own.status_code == 200 and Calendar.from_ical(own.text).walk("VEVENT") == []
        for path in (
            f"/recordings/calendars?agentid={AGENT}",
            f"/capture-admin/recordings/{event['id']}",
            f"/capture-admin/agents/{AGENT}",
        ):
            assert requests.get(base + path, auth=theirs, timeout=30).status_code == 404, path
        wrong = requests.get(calendar_url, auth=HTTPDigestAuth(AGENT, "wrong"), timeout=30)
        assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith(
            'Digest realm="Opencast"'
        )
    finally:
        if pyca is not None:
            pyca.terminate()
            pyca.wait(timeout=30)
        stack.terminate()
        stack.communicate(timeout=30)
