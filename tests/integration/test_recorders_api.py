"""Room recorders through the app (chalice's test client, moto): digest auth, the calendar, walls, states,
ingest into S3 and the deadlines job. pyCA itself runs against the real local stack in tests/e2e."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar

from tests.conftest import Api

ROOM1 = {"type": "agent", "id": "room1", "name": "room1"}

PASSWORD = "room-one-password"


class DigestAgent:
    """A recorder as curl behaves: ask, get the 401 challenge, answer it (MD5, qop=auth)."""

    def __init__(self, http: Any, name: str, password: str) -> None:
        self.http, self.name, self.password = http, name, password
        self.last_authorization = ""

    def authorization(self, method: str, uri: str, challenge: str) -> str:
        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
        cnonce = secrets.token_hex(8)
        ha1 = hashlib.md5(f"{self.name}:{fields['realm']}:{self.password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
        response = hashlib.md5(f"{ha1}:{fields['nonce']}:00000001:{cnonce}:auth:{ha2}".encode()).hexdigest()
        return (
            f'Digest username="{self.name}", realm="{fields["realm"]}", nonce="{fields["nonce"]}", '
            f'uri="{uri}", response="{response}", qop=auth, nc=00000001, cnonce="{cnonce}"'
        )

    def __call__(
        self, method: str, uri: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        send = getattr(self.http, method.lower())
        first = send(uri, headers=dict(headers or {}), body=body)
        if first.status_code != 401:
            return first
        self.last_authorization = self.authorization(method, uri, first.headers["WWW-Authenticate"])
        return send(uri, headers={**(headers or {}), "Authorization": self.last_authorization}, body=body)

    def form(self, uri: str, **fields: str) -> Any:
        body = "&".join(f"{k}={v}" for k, v in fields.items())
        return self("POST", uri, body, {"Content-Type": "application/x-www-form-urlencoded"})


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "----onairtest" + secrets.token_hex(8)
    chunks = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        chunks.append(head.encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def bucket(services: Any) -> Iterator[None]:
    from chalicelib.adapters import aws
    from local.resources import create_recordings_bucket

    create_recordings_bucket(services.settings.recordings_bucket, aws.client("s3"))
    yield


@pytest.fixture
def published(services: Any) -> list[tuple[str, dict[str, Any]]]:
    """What the recorder side puts on EventBridge (a fake publisher keeping the recorders' detail-types)."""
    seen: list[tuple[str, dict[str, Any]]] = []
    kinds = {"Capture At Risk", "Recording Ingested"}
    services.notifier.put = lambda kind, detail: seen.append((kind, detail)) if kind in kinds else None
    return seen


def channel(api: Api, agent: str = "room1", password: str | None = PASSWORD, **extra: Any) -> Any:
    driver = {"type": "opencast_agent", "agent": agent}
    if password is not None:
        driver["password"] = password
    return api.post("/v1/channels", {"name": f"Room {agent}", "driver": driver, **extra})


def booking(api: Api, channel_id: str, start: Any, minutes: int = 50, **extra: Any) -> dict[str, Any]:
    body = {
        "title": "Lecture",
        "channel_id": channel_id,
        "start": start.isoformat(),
        "duration": minutes * 60,
    }
    created = api.post("/v1/events", {**body, **extra})
    assert created.status_code == 201, created.data
    return created.data


@pytest.fixture
def room(api: Api, clock: Any) -> dict[str, Any]:
    created = channel(api)
    assert created.status_code == 201, created.data
    return {"channel": created.data, "agent": DigestAgent(api.http, "room1", PASSWORD)}


# -- the driver on a channel ------------------------------------------------------------------------------


def test_the_password_is_write_only_and_an_agent_name_belongs_to_one_channel(api: Api) -> None:
    first = channel(api)
    assert first.status_code == 201
    assert first.data["driver"] == {"type": "opencast_agent", "agent": "room1", "password_set": True}
    assert PASSWORD not in json.dumps(first.data) and "digest" not in json.dumps(first.data)

    taken = channel(api)
    assert taken.status_code == 409
    assert taken.data["errors"] == [
        {"pointer": "/driver/agent", "detail": "is already used by another channel"}
    ]
    other_tenant = api.post("/v1/tenants", {"name": "Other"}).data["admin_key"]
    assert (
        api.post(
            "/v1/channels",
            {"name": "Theirs", "driver": {"type": "opencast_agent", "agent": "room1", "password": PASSWORD}},
            key=other_tenant,
        ).status_code
        == 409
    ), "agents do not know tenants: a name is unique in the whole deployment"

    missing = channel(api, agent="room2", password=None)
    assert missing.status_code == 422 and missing.data["errors"][0]["pointer"] == "/driver/password"
    bad_name = channel(api, agent="room 2:x")
    assert bad_name.status_code == 422 and bad_name.data["errors"][0]["pointer"] == "/driver/agent"

    path = f"/v1/channels/{first.data['id']}"
    assert api.patch(path, {"name": "Renamed"}).status_code == 200, "a patch without a password keeps it"
    rename = api.patch(path, {"driver": {"type": "opencast_agent", "agent": "room1b"}})
    assert rename.status_code == 422, "HA1 hashes the name: a new name needs the password"
    renamed = api.patch(path, {"driver": {"type": "opencast_agent", "agent": "room1b", "password": PASSWORD}})
    assert renamed.status_code == 200 and renamed.data["driver"]["agent"] == "room1b"
    assert channel(api).status_code == 201, "the old name is free again"
    assert api.delete(path).status_code == 204
    assert channel(api, agent="room1b").status_code == 201, "deleting the channel freed its name"


# -- digest authentication ---------------------------------------------------------------------------------


def test_wrong_or_missing_credentials_get_a_digest_challenge(api: Api, room: dict[str, Any]) -> None:
    anonymous = api.http.get("/recordings/calendars?agentid=room1")
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"] == "application/problem+json"
    challenge = anonymous.headers["WWW-Authenticate"]
    assert re.fullmatch(r'Digest realm="Opencast", qop="auth", nonce="[^"]+", algorithm=MD5', challenge)

    wrong = DigestAgent(api.http, "room1", "not-the-password")("GET", "/recordings/calendars?agentid=room1")
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Digest ")
    unknown = DigestAgent(api.http, "nobody", PASSWORD)("GET", "/recordings/calendars")
    assert unknown.status_code == 401

    agent = room["agent"]
    assert agent("GET", "/recordings/calendars?agentid=room1").status_code == 200
    replay = api.http.get(
        "/recordings/calendars?agentid=room1", headers={"Authorization": agent.last_authorization}
    )
    assert replay.status_code == 401, "an Authorization header works once"
    other_uri = api.http.get(
        "/recordings/calendars?agentid=x", headers={"Authorization": agent.last_authorization}
    )
    assert other_uri.status_code == 401


def test_an_expired_nonce_is_stale_and_the_fresh_challenge_works(
    api: Api, room: dict[str, Any], clock
) -> None:
    agent = room["agent"]
    challenge = api.http.get("/recordings/calendars").headers["WWW-Authenticate"]
    clock.advance(seconds=301)
    late = api.http.get(
        "/recordings/calendars",
        headers={"Authorization": agent.authorization("GET", "/recordings/calendars", challenge)},
    )
    assert late.status_code == 401 and late.headers["WWW-Authenticate"].endswith("stale=true")
    retried = api.http.get(
        "/recordings/calendars",
        headers={
            "Authorization": agent.authorization(
                "GET", "/recordings/calendars", late.headers["WWW-Authenticate"]
            )
        },
    )
    assert retried.status_code == 200


def test_the_service_registry_points_agents_back_at_this_deployment(api: Api, room: dict[str, Any]) -> None:
    found = room["agent"](
        "GET",
        "/services/available.json?serviceType=org.opencastproject.scheduler",
        headers={"Host": "rec.example.org"},
    )
    assert found.status_code == 200
    service = json.loads(found.body)["services"]["service"]
    assert (service["host"], service["path"], service["online"]) == (
        "http://rec.example.org",
        "/recordings",
        True,
    )


# -- the calendar and its walls -----------------------------------------------------------------------------


def test_the_calendar_lists_the_agents_own_bookings_with_an_etag(
    api: Api, room: dict[str, Any], clock
) -> None:
    mine = booking(api, room["channel"]["id"], clock.now + timedelta(hours=2))
    far = booking(api, room["channel"]["id"], clock.now + timedelta(days=20))
    cancelled = booking(api, room["channel"]["id"], clock.now + timedelta(hours=4))
    assert api.post(f"/v1/events/{cancelled['id']}/actions", {"action": "cancel"}).status_code == 200
    elsewhere = api.post("/v1/channels", {"name": "Studio"}).data
    booking(api, elsewhere["id"], clock.now + timedelta(hours=2))

    cutoff = int((clock.now + timedelta(days=7)).timestamp() * 1000)
    response = room["agent"]("GET", f"/recordings/calendars?agentid=room1&cutoff={cutoff}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    uids = [str(v["UID"]) for v in Calendar.from_ical(response.body).walk("VEVENT")]
    assert uids == [mine["id"]], "only this channel's live bookings before the cutoff"
    assert far["id"] not in uids

    etag = response.headers["ETag"]
    again = room["agent"](
        "GET", f"/recordings/calendars?agentid=room1&cutoff={cutoff}", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.body
    api.patch(f"/v1/events/{mine['id']}", {"title": "Moved"})
    changed = room["agent"](
        "GET", f"/recordings/calendars?agentid=room1&cutoff={cutoff}", headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200 and "SUMMARY:Moved" in changed.body.decode()

    assert room["agent"]("GET", "/recordings/calendars?agentid=room2").status_code == 404
    assert room["agent"]("GET", "/recordings/calendars?cutoff=soon").status_code == 400


def test_another_agent_sees_and_changes_nothing_of_this_room(api: Api, room: dict[str, Any], clock) -> None:
    event = booking(api, room["channel"]["id"], clock.now + timedelta(minutes=5))
    other_key = api.post("/v1/tenants", {"name": "Other"}).data["admin_key"]
    assert channel(api, agent="room9").status_code == 201  # another room of the same tenant
    intruder = DigestAgent(api.http, "room9", PASSWORD)
    calendar = Calendar.from_ical(intruder("GET", "/recordings/calendars?agentid=room9").body)
    assert calendar.walk("VEVENT") == [], "its own (empty) schedule, nothing of room1's"
    assert intruder("GET", "/recordings/calendars?agentid=room1").status_code == 404
    assert intruder.form(f"/capture-admin/recordings/{event['id']}", state="capturing").status_code == 404
    assert intruder("GET", f"/capture-admin/recordings/{event['id']}").status_code == 404
    assert intruder.form("/capture-admin/agents/room1", state="idle").status_code == 404
    assert api.get(f"/v1/events/{event['id']}").data["state"] == "scheduled"
    assert api.get(f"/v1/events/{event['id']}", key=other_key).status_code == 404


# -- states drive the lifecycle ----------------------------------------------------------------------------


def test_recording_states_move_the_event_and_history_names_the_agent(
    api: Api, room: dict[str, Any], clock
) -> None:
    agent = room["agent"]
    event = booking(api, room["channel"]["id"], clock.now + timedelta(minutes=1))
    recording = f"/capture-admin/recordings/{event['id']}"
    assert (
        agent.form("/capture-admin/agents/room1", state="capturing", address="http://ca:5000").status_code
        == 200
    )
    clock.advance(minutes=1)
    answered = agent.form(recording, state="capturing")
    assert answered.status_code == 200 and answered.body.decode() == f"{event['id']} set to capturing"
    assert api.get(f"/v1/events/{event['id']}").data["state"] == "live"
    assert api.get(f"/v1/channels/{room['channel']['id']}/live").data["id"] == event["id"]
    status = json.loads(agent("GET", f"{recording}.json").body)["recording-state-update"]
    assert status["state"] == "capturing"
    shown = api.get(f"/v1/channels/{room['channel']['id']}").data["agent"]
    assert shown == {"state": "capturing", "last_seen": "2027-03-01T08:01:00Z"}

    for state in ("capture_finished", "uploading", "upload_finished"):
        assert agent.form(recording, state=state).status_code == 200
    assert api.get(f"/v1/events/{event['id']}").data["state"] == "completed"
    history = api.get(f"/v1/events/{event['id']}/history").data["items"]
    assert [(h["from"], h["to"], h["actor"]) for h in history] == [
        ("scheduled", "live", ROOM1),
        ("live", "stopped", ROOM1),
        ("stopped", "completed", ROOM1),
    ]
    assert agent.form(recording, state="recording-ish").status_code == 400


def test_a_capture_error_fails_the_event_with_the_agents_reason(
    api: Api, room: dict[str, Any], clock
) -> None:
    event = booking(api, room["channel"]["id"], clock.now)
    room["agent"].form(f"/capture-admin/recordings/{event['id']}", state="capturing")
    room["agent"].form(f"/capture-admin/recordings/{event['id']}", state="capture_error")
    assert api.get(f"/v1/events/{event['id']}").data["state"] == "failed"
    last = api.get(f"/v1/events/{event['id']}/history").data["items"][-1]
    assert (last["to"], last["actor"], last["reason"]) == (
        "failed",
        ROOM1,
        "room1 reported capture_error",
    )
    assert api.get(f"/v1/channels/{room['channel']['id']}/live").status_code == 204, "the room is free again"


def test_the_state_machine_leaves_an_agent_channels_event_to_its_agent(
    services: Any, room: dict, api: Api, clock
) -> None:
    from chalicelib.services.lifecycle import run_id

    event = booking(api, room["channel"]["id"], clock.now)
    stored = services.events.store.get("default", event["id"])
    channel_record = services.events.channels.get(stored.tenant_id, stored.channel_id)
    payload = {
        "tenant_id": stored.tenant_id,
        "event_id": stored.id,
        "version": run_id(stored, channel_record),
    }
    for step in ("provision", "provisioned", "start", "stop", "teardown"):
        result = services.lifecycle.steps.handle({**payload, "step": step})
        assert result["skipped"] == "the recorder drives this event", step
    assert api.get(f"/v1/events/{event['id']}").data["state"] == "scheduled"


# -- ingest ----------------------------------------------------------------------------------------------


def test_a_recording_lands_in_s3_under_tenant_and_event(
    api: Api, room: dict[str, Any], clock, bucket, published
) -> None:
    agent = room["agent"]
    event = booking(api, room["channel"]["id"], clock.now)
    recording = f"/capture-admin/recordings/{event['id']}"
    for state in ("capturing", "capture_finished", "uploading"):
        agent.form(recording, state=state)
    created = agent("GET", "/ingest/createMediaPackage")
    assert created.status_code == 200 and f'id="{event["id"]}"' in created.body.decode()

    track = secrets.token_bytes(1_500_000)  # more than 1 MB, binary
    body, content_type = multipart(
        {"mediaPackage": created.body.decode(), "flavor": "presenter/source"},
        {"BODY1": ("lecture.webm", track)},
    )
    added = agent("POST", "/ingest/addTrack", body, {"Content-Type": content_type})
    assert added.status_code == 200, added.body
    assert 'type="presenter/source"' in added.body.decode()
    closed = agent.form("/ingest/ingest", mediaPackage=added.body.decode(), workflowInstanceId=event["id"])
    assert closed.status_code == 200
    assert published[-1][0] == "Recording Ingested" and published[-1][1]["bytes"] == len(track)

    (item,) = api.get(f"/v1/events/{event['id']}/recordings").data["items"]
    assert item["key"].startswith(f"default/{event['id']}/") and item["key"].endswith("/lecture.webm")
    assert (item["size"], item["content_type"], item["flavor"]) == (
        len(track),
        "video/webm",
        "presenter/source",
    )
    assert item["url"].startswith("https://") and "X-Amz-Signature=" in item["url"]

    from chalicelib.adapters import aws

    stored = aws.client("s3").get_object(Bucket=api_settings(api).recordings_bucket, Key=item["key"])
    assert stored["Body"].read() == track and stored["ServerSideEncryption"] == "AES256"


def api_settings(api: Api) -> Any:
    from chalicelib import bootstrap

    return bootstrap.services().settings


def test_a_package_for_no_booking_or_someone_elses_is_refused(
    api: Api, room: dict[str, Any], clock, bucket
) -> None:
    agent = room["agent"]
    unbound = agent("GET", "/ingest/createMediaPackage").body.decode()
    assert 'id="mp_' in unbound, "nothing reported as uploading: an unbound package"
    body, content_type = multipart(
        {"mediaPackage": unbound, "flavor": "presenter/source"}, {"BODY": ("a.webm", b"x")}
    )
    refused = agent("POST", "/ingest/addTrack", body, {"Content-Type": content_type})
    assert refused.status_code == 409

    event = booking(api, room["channel"]["id"], clock.now)
    assert channel(api, agent="room9").status_code == 201
    intruder = DigestAgent(api.http, "room9", PASSWORD)
    theirs = unbound.replace(re.search(r'id="(mp_[^"]+)"', unbound).group(1), event["id"])
    body, content_type = multipart(
        {"mediaPackage": theirs, "flavor": "presenter/source"}, {"BODY": ("a.webm", b"x")}
    )
    assert intruder("POST", "/ingest/addTrack", body, {"Content-Type": content_type}).status_code == 404
    assert api.get(f"/v1/events/{event['id']}/recordings").data["items"] == []


# -- deadlines -------------------------------------------------------------------------------------------


def test_a_silent_agent_is_at_risk_once_and_a_booking_it_never_starts_fails(
    api: Api, services: Any, room: dict[str, Any], clock, published
) -> None:
    soon = booking(api, room["channel"]["id"], clock.now + timedelta(minutes=10))
    later = booking(api, room["channel"]["id"], clock.now + timedelta(hours=3))
    result = services.jobs["agent_deadlines"](clock.now)
    assert result == {"agents": 1, "at_risk": 1, "not_started": 0}
    kind, detail = published[-1]
    assert kind == "Capture At Risk" and detail["id"] == soon["id"] and detail["agent"] == "room1"
    assert services.jobs["agent_deadlines"](clock.now)["at_risk"] == 0, "each warning goes out once"

    clock.advance(minutes=10 + 5)  # the start, plus the grace period
    assert services.jobs["agent_deadlines"](clock.now)["not_started"] == 1
    failed = api.get(f"/v1/events/{soon['id']}").data
    assert failed["state"] == "failed"
    last = api.get(f"/v1/events/{soon['id']}/history").data["items"][-1]
    assert last["actor"]["type"] == "system" and last["reason"].startswith("agent did not start")
    assert api.get(f"/v1/events/{later['id']}").data["state"] == "scheduled"


def test_an_agent_that_keeps_reporting_is_not_at_risk(
    api: Api, services: Any, room: dict, clock, published
) -> None:
    booking(api, room["channel"]["id"], clock.now + timedelta(minutes=10))
    assert room["agent"].form("/capture-admin/agents/room1", state="idle").status_code == 200
    assert services.jobs["agent_deadlines"](clock.now)["at_risk"] == 0
    assert published == []
