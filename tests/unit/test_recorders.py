"""What recorders send and receive, checked as they read it: the calendar (icalendar and pyCA's own
parser), the attachments, mediapackages, forms, and how their reports move the lifecycle."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.api.forms import parse_form
from chalicelib.domain import opencast, recorders
from chalicelib.domain.errors import MalformedRequest
from chalicelib.domain.models import Event, EventState

S = EventState
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def event(event_id: str = "evt_1", title: str = "Algorithms, lecture 1", **fields) -> Event:
    base = {
        "id": event_id,
        "tenant_id": "t1",
        "created_at": T0 - timedelta(days=1),
        "updated_at": T0 - timedelta(hours=1),
        "title": title,
        "channel_id": "ch_1",
        "start": T0,
        "end": T0 + timedelta(minutes=50),
    }
    return Event.model_validate({**base, **fields})


# -- the lifecycle table ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, report, target, why",
    [
        (S.SCHEDULED, "capturing", S.LIVE, "capturing goes live"),
        (S.READY, "capturing", S.LIVE, "also from ready (a manual provision)"),
        (S.LIVE, "capturing", None, "a repeated report changes nothing"),
        (S.LIVE, "capture_finished", S.STOPPED, "capture_finished stops"),
        (S.LIVE, "uploading", S.STOPPED, "uploading stops too (capture_finished may be lost)"),
        (S.STOPPED, "uploading", None, "already stopped"),
        (S.STOPPED, "upload_finished", S.COMPLETED, "upload_finished completes"),
        (S.LIVE, "upload_finished", S.COMPLETED, "lost reports in between do not block completion"),
        (S.LIVE, "capture_error", S.FAILED, "a capture error fails the event"),
        (S.STOPPED, "upload_error", S.FAILED, "an upload error fails it"),
        (S.SCHEDULED, recorders.NOT_STARTED, S.FAILED, "onair's deadline: the agent never started"),
        (S.LIVE, recorders.NOT_STARTED, None, "a live event did start"),
        (S.COMPLETED, "capture_error", None, "terminal states never move"),
        (S.FAILED, "capturing", None, "a late capturing after the deadline changes nothing"),
        (S.CANCELLED, "capturing", None, "a cancelled booking is not revived"),
        (S.LIVE, "manifest", None, "states that say nothing about the lifecycle"),
        (S.LIVE, "bogus", None, "unknown reports"),
    ],
)
def test_a_report_moves_the_event_as_the_table_says(state, report, target, why) -> None:
    moved = recorders.move(state, report)
    assert (moved.target if moved else None) == target, why
    if moved is not None and target in (S.STOPPED, S.COMPLETED, S.FAILED):
        assert moved.published is False, "leaving the air unpublishes"


def test_a_recorder_is_an_agent_actor_and_its_reasons_name_it() -> None:
    from chalicelib.domain.messages import Actor

    assert Actor.agent("room1").to_json() == {"type": "agent", "id": "room1", "name": "room1"}
    assert Actor.from_json("agent:room1") == Actor.agent("room1"), "history written before actor objects"
    assert "did not start" in recorders.reason("room1", recorders.NOT_STARTED)


# -- the calendar ----------------------------------------------------------------------------------------


def test_icalendar_reads_every_booking_with_its_uid_times_and_attachments() -> None:
    from icalendar import Calendar

    events = [event("evt_2", start=T0 + timedelta(days=1), end=T0 + timedelta(days=1, hours=1)), event()]
    text = opencast.calendar(events, "room1")
    parsed = Calendar.from_ical(text)
    vevents = parsed.walk("VEVENT")
    assert [str(v["UID"]) for v in vevents] == ["evt_1", "evt_2"], "ordered by start"
    first = vevents[0]
    assert first.decoded("DTSTART") == T0 and first.decoded("DTEND") == T0 + timedelta(minutes=50)
    assert str(first["SUMMARY"]) == "Algorithms, lecture 1", "commas are escaped and read back"
    assert str(first["LOCATION"]) == "room1"
    attachments = {a.params["X-APPLE-FILENAME"]: a for a in first["ATTACH"]}
    assert set(attachments) == {"episode.xml", opencast.PROPERTIES_NAME}
    episode = base64.b64decode(attachments["episode.xml"].to_ical()).decode()
    assert opencast.dublin_core_identifier(episode) == "evt_1"
    assert opencast.DUBLIN_CORE_NS in episode, "pyCA recognises Dublin Core by this namespace"
    properties = base64.b64decode(attachments[opencast.PROPERTIES_NAME].to_ical()).decode()
    assert "event.title=Algorithms, lecture 1" in properties
    assert "org.opencastproject.workflow.definition=schedule-and-upload" in properties


def test_pycas_own_parser_reads_it_as_it_reads_opencasts() -> None:
    from pyca.schedule import parse_ical

    unicode_title = "Vorlesung: Größen & Maße " + "x" * 80  # long and multi-byte: folded lines
    text = opencast.calendar([event(title=unicode_title, metadata={"lang": "de"})], "room1")
    (parsed,) = parse_ical(text)
    assert parsed["uid"] == "evt_1"
    assert parsed["dtstart"] == int(T0.timestamp()) and parsed["dtend"] == int(T0.timestamp()) + 3000
    files = {a["x-apple-filename"]: a["data"] for a in parsed["attach"]}
    assert "<dcterms:identifier>evt_1</dcterms:identifier>" in files["episode.xml"]
    assert "org.opencastproject.workflow.config.lang=de" in files[opencast.PROPERTIES_NAME]


def test_lines_are_crlf_and_folded_at_75_octets_without_splitting_characters() -> None:
    text = opencast.calendar([event(title="é" * 200)], "room1")
    lines = text.split("\r\n")
    assert text.endswith("END:VCALENDAR\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "é" * 200 in text.replace("\r\n ", ""), "unfolding restores the title"


def test_an_empty_calendar_is_still_a_calendar_and_etags_follow_content() -> None:
    empty = opencast.calendar([], "room1")
    assert empty.startswith("BEGIN:VCALENDAR") and "VEVENT" not in empty
    assert opencast.calendar_etag(empty) == opencast.calendar_etag(opencast.calendar([], "room1"))
    assert opencast.calendar_etag(empty) != opencast.calendar_etag(opencast.calendar([event()], "room1"))


# -- mediapackages and configuration ---------------------------------------------------------------------


def test_a_mediapackage_keeps_its_id_and_collects_elements() -> None:
    xml = opencast.new_mediapackage("evt_1", T0)
    element = opencast.Element("track", "el_1", "presenter/source", "video/webm", "s3://b/k", 42)
    xml = opencast.with_element(xml, element)
    assert opencast.mediapackage_id(xml) == "evt_1"
    assert 'type="presenter/source"' in xml and "<size>42</size>" in xml
    assert opencast.mediapackage_id(opencast.with_id(xml, "evt_2")) == "evt_2"


@pytest.mark.parametrize(
    "text, why",
    [
        ("not xml", "not XML"),
        ("<other id='x'/>", "not a mediapackage"),
        ('<!DOCTYPE m [<!ENTITY a "aaaa">]><mediapackage id="x"/>', "entities are refused"),
        ("<mediapackage/>", "no id"),
    ],
)
def test_a_bad_mediapackage_is_a_400(text: str, why: str) -> None:
    with pytest.raises(MalformedRequest):
        opencast.mediapackage_id(text)


@pytest.mark.parametrize(
    "text, kind, entries",
    [
        ('{"capture.device.names": "cam"}', "json", {"capture.device.names": "cam"}),
        (
            '<?xml version="1.0"?><properties><entry key="a">1</entry><entry key="b">x</entry></properties>',
            "xml",
            {"a": "1", "b": "x"},
        ),
    ],
)
def test_configuration_is_json_or_properties_xml(text: str, kind: str, entries: dict) -> None:
    assert opencast.parse_configuration(text) == (entries, kind)
    assert opencast.parse_configuration(opencast.configuration_xml(entries))[0] == entries


def test_the_service_registry_points_each_service_type_at_its_base() -> None:
    doc = opencast.services_document("org.opencastproject.ingest", "http://a", "http://ingest")
    assert doc["services"]["service"]["host"] == "http://ingest"
    assert doc["services"]["service"]["path"] == "/ingest"
    assert opencast.services_document("org.opencastproject.unknown", "http://a", "http://a") == {
        "services": {"service": []}
    }


# -- forms -----------------------------------------------------------------------------------------------

BOUNDARY = "------------------------abc123"


def multipart(*parts: tuple[str, bytes, str | None]) -> bytes:
    chunks = []
    for name, data, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        head += "Content-Type: application/octet-stream\r\n" if filename else ""
        chunks.append(head.encode() + b"\r\n" + data + b"\r\n")
    return b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()


def test_multipart_fields_and_files_keep_their_bytes() -> None:
    payload = bytes(range(256)) * 10 + b"\r\n--not-the-boundary\r\n"
    body = multipart(("mediaPackage", b"<mp/>", None), ("BODY1", payload, "a/b/rec.webm"))
    form = parse_form(body, f"multipart/form-data; boundary={BOUNDARY}")
    assert form["mediaPackage"].text == "<mp/>"
    assert form["BODY1"].data == payload and form["BODY1"].filename == "a/b/rec.webm"


@pytest.mark.parametrize(
    "body, content_type, why",
    [
        (b"state=idle", "text/plain", "an undeclared type"),
        (b"x", "multipart/form-data", "no boundary"),
        (b"garbage", f"multipart/form-data; boundary={BOUNDARY}", "no boundary in the body"),
        (
            f"--{BOUNDARY}\r\nno-headers".encode(),
            f"multipart/form-data; boundary={BOUNDARY}",
            "a part with no end",
        ),
        (b"state=%ff", "application/x-www-form-urlencoded", "not UTF-8"),
    ],
)
def test_malformed_forms_are_400s_not_crashes(body: bytes, content_type: str, why: str) -> None:
    with pytest.raises(MalformedRequest):
        form = parse_form(body, content_type)
        [part.text for part in form.values()]


def test_urlencoded_forms_as_some_agents_send_them() -> None:
    form = parse_form(b"state=capturing&address=http%3A%2F%2Fca", "application/x-www-form-urlencoded")
    assert form["state"].text == "capturing" and form["address"].text == "http://ca"
