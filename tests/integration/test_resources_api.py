"""What a user of channels, sources and events notices when things work: CRUD, lists, filters, patches,
soft delete, clone, upsert by external_id, write-only secrets, and the self-describing docs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urljoin

import pytest

from tests.conftest import Api, Clock

PROBLEM = "application/problem+json"
INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
def aws(emptied_tables: None) -> None:
    """The module's tables, emptied before each test (tests/integration/conftest.py), not a new moto."""


# -- helpers ------------------------------------------------------------------------------------------


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.data}"
    return response.data


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.data}"
    assert response.headers.get("Content-Type") == PROBLEM
    assert {"type", "title", "status", "detail"} <= set(response.data)
    return response.data


def make_channel(api: Api, **fields: Any) -> dict[str, Any]:
    return ok(api.post("/v1/channels", {"name": "Studio A", **fields}), 201)


def make_source(api: Api, **fields: Any) -> dict[str, Any]:
    return ok(api.post("/v1/sources", {"name": "Camera 1", **fields}), 201)


def make_event(api: Api, channel_id: str, /, **fields: Any) -> dict[str, Any]:
    body = {"title": "Show", "channel_id": channel_id, "start": "2027-03-02T10:00:00Z"}
    if "end" not in fields:
        body["duration"] = 3600
    return ok(api.post("/v1/events", {**body, **fields}), 201)


def walk(api: Api, path: str, limit: int) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following `next_cursor` until it is null."""
    pages = []
    cursor = None
    separator = "&" if "?" in path else "?"
    for _ in range(200):
        url = f"{path}{separator}limit={limit}" + (f"&cursor={quote(cursor)}" if cursor else "")
        page = ok(api.get(url))
        assert set(page) >= {"items", "next_cursor"}
        assert len(page["items"]) <= limit, "a page never holds more than `limit` items"
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert isinstance(cursor, str) and cursor, "next_cursor is an opaque string or null"
    raise AssertionError("the listing never ended")


def listed(api: Api, query: str = "") -> list[str]:
    """Titles of one (large) page of GET /v1/events with this query."""
    separator = "&" if query else ""
    return [e["title"] for e in ok(api.get(f"/v1/events?limit=500{separator}{query}"))["items"]]


# -- channels -----------------------------------------------------------------------------------------


def test_channel_crud(api: Api, clock: Clock) -> None:
    from chalicelib.adapters import aws as clients

    encoder = clients.client("medialive").create_channel(  # handed to tenant `default` by its tag
        Name="studio-b", RoleArn="arn:aws:iam::123456789012:role/ml", Tags={"onair:tenant": "default"}
    )["Channel"]["Id"]
    created = api.post(
        "/v1/channels",
        {
            "name": "Studio B",
            "description": "The big one",
            "location": "Floor 2",
            "timezone": "Europe/Berlin",
            "changeover_seconds": 300,
            "provision_lead_seconds": 120,
            "teardown_delay_seconds": 60,
            "driver": {"type": "medialive", "channel_id": encoder},
        },
    )
    channel = ok(created, 201)
    assert created.headers.get("Content-Type") == "application/json"
    assert created.headers.get("ETag")
    assert channel["id"] and INSTANT.match(channel["created_at"]) and INSTANT.match(channel["updated_at"])
    assert channel["created_at"] == "2027-03-01T08:00:00Z", "timestamps come from the clock, in UTC with Z"
    assert channel["timezone"] == "Europe/Berlin" and channel["changeover_seconds"] == 300
    assert channel["driver"] == {"type": "medialive", "channel_id": encoder}

    path = f"/v1/channels/{channel['id']}"
    assert ok(api.get(path)) == channel, "GET returns what POST returned"
    assert [c["id"] for c in ok(api.get("/v1/channels"))["items"]] == [channel["id"]]

    clock.advance(minutes=5)
    patched = ok(api.patch(path, {"name": "Studio B2", "description": None}, headers=MERGE))
    assert patched["name"] == "Studio B2"
    assert patched["description"] is None, "null in a merge patch removes an optional field"
    assert patched["location"] == "Floor 2", "fields the patch leaves out are kept"
    assert patched["created_at"] == channel["created_at"]
    assert patched["updated_at"] == "2027-03-01T08:05:00Z", "updated_at moves on a write"
    assert ok(api.get(path)) == patched

    deleted = api.delete(path)
    assert deleted.status_code == 204 and not deleted.body, "204 has no body"
    assert_problem(api.get(path), 404)
    assert ok(api.get("/v1/channels"))["items"] == []


def test_channel_defaults(api: Api) -> None:
    channel = make_channel(api)
    assert channel["timezone"] == "UTC"
    assert channel["changeover_seconds"] == channel["provision_lead_seconds"] == 0
    assert channel["teardown_delay_seconds"] == 0
    assert channel["driver"] == {"type": "noop"}
    assert channel["description"] is None and channel["location"] is None


def test_a_webhook_secret_is_write_only_and_kept_when_a_patch_omits_it(api: Api, services: Any) -> None:
    secret = "s3cret-signing-key-0123456789"
    created = api.post(
        "/v1/channels",
        {"name": "Hooked", "driver": {"type": "webhook", "url": "https://example.com/h", "secret": secret}},
    )
    channel = ok(created, 201)
    assert channel["driver"] == {"type": "webhook", "url": "https://example.com/h", "secret_set": True}
    path = f"/v1/channels/{channel['id']}"

    def stored_secret() -> str | None:
        return services.channels.store.get("default", channel["id"]).driver.secret

    for response in (created, api.get(path), api.get("/v1/channels")):
        assert secret not in json.dumps(response.data), "the secret is never returned"
    assert ok(api.get(path))["driver"]["secret_set"] is True

    renamed = ok(api.patch(path, {"name": "Renamed"}))
    assert renamed["driver"]["secret_set"] is True, "a PATCH that does not touch the driver keeps the secret"
    moved = ok(api.patch(path, {"driver": {"type": "webhook", "url": "https://example.com/new"}}))
    assert moved["driver"] == {"type": "webhook", "url": "https://example.com/new", "secret_set": True}
    assert stored_secret() == secret, "a driver PATCH without `secret` keeps the stored one"

    ops = [{"op": "replace", "path": "/driver/url", "value": "https://example.com/json-patch"}]
    ok(api.patch(path, ops, headers=JSON_PATCH))
    assert stored_secret() == secret, "a JSON Patch of the url keeps the secret too"

    rotated = ok(api.patch(path, {"driver": {"secret": "another-secret-0123456789"}}))
    assert rotated["driver"]["secret_set"] is True
    assert stored_secret() == "another-secret-0123456789", "a new secret replaces the old one"
    assert "another-secret" not in json.dumps(rotated)

    unsigned = ok(
        api.post("/v1/channels", {"name": "Plain", "driver": {"type": "webhook", "url": "http://h.example"}}),
        201,
    )
    assert unsigned["driver"]["secret_set"] is False

    back_to_noop = ok(api.patch(path, {"driver": {"type": "noop", "url": None, "secret": None}}))
    assert back_to_noop["driver"] == {"type": "noop"}


def test_deleting_a_channel_with_a_future_event_is_409(api: Api, clock: Clock) -> None:
    channel = make_channel(api)
    event = make_event(api, channel["id"], start="2027-03-02T10:00:00Z", duration=3600)
    path = f"/v1/channels/{channel['id']}"
    assert_problem(api.delete(path), 409)
    assert ok(api.get(path))["id"] == channel["id"], "a refused delete keeps the channel"

    clock.advance(days=2)  # the event is now over
    assert api.delete(path).status_code == 204, "a channel whose events are all past can be deleted"
    assert ok(api.get(f"/v1/events/{event['id']}"))["id"] == event["id"], "past events are kept"


def test_a_series_with_occurrences_ahead_keeps_its_channel(api: Api, clock: Clock) -> None:
    """Occurrences beyond the materialised horizon are future events too: the channel stays (409)."""
    channel = make_channel(api, name="Lecture hall")
    path = f"/v1/channels/{channel['id']}"

    def series(start: str, rrule: str, **more: Any) -> dict[str, Any]:
        body = {"title": "Seminar", "channel_id": channel["id"], "timezone": "UTC", "duration": 3600}
        return ok(
            api.post("/v1/schedules", {**body, "start": start, "recurrence": {"rrule": rrule}, **more}), 201
        )

    # Starts 90 days out: nothing is materialised yet, so only the series itself holds the channel.
    later = series("2027-05-30T10:00:00", "FREQ=WEEKLY")
    assert ok(api.get(f"/v1/events?channel_id={channel['id']}"))["items"] == []
    paused = series("2027-06-01T10:00:00", "FREQ=WEEKLY", active=False)
    done = series("2027-03-02T10:00:00", "FREQ=DAILY;COUNT=3")
    clock.advance(days=10)  # the daily series has run its three occurrences
    refused = assert_problem(api.delete(path), 409)
    assert sorted(refused["schedule_ids"]) == sorted([later["id"], paused["id"]]), (
        "an ended series holds nothing"
    )
    assert ok(api.get(path))["id"] == channel["id"]

    assert api.delete(f"/v1/schedules/{later['id']}").status_code == 204
    assert api.delete(f"/v1/schedules/{paused['id']}").status_code == 204
    assert api.delete(path).status_code == 204, done["id"] + " ended before now: it does not keep the channel"


def test_a_channel_without_future_events_can_be_deleted(api: Api) -> None:
    empty = make_channel(api, name="Empty")
    assert api.delete(f"/v1/channels/{empty['id']}").status_code == 204

    busy = make_channel(api, name="Busy")
    event = make_event(api, busy["id"])
    assert_problem(api.delete(f"/v1/channels/{busy['id']}"), 409)
    assert api.delete(f"/v1/events/{event['id']}?hard=true").status_code == 204
    assert api.delete(f"/v1/channels/{busy['id']}").status_code == 204


def test_a_soft_deleted_event_does_not_keep_its_channel_busy(api: Api) -> None:
    channel = make_channel(api)
    event = make_event(api, channel["id"])
    assert api.delete(f"/v1/events/{event['id']}").status_code == 204
    assert api.delete(f"/v1/channels/{channel['id']}").status_code == 204


# -- sources ------------------------------------------------------------------------------------------


def test_source_crud(api: Api) -> None:
    body = {"name": "Cam 1", "description": "Left", "type": "SRT", "host": "10.0.0.5", "port": 9000}
    source = ok(api.post("/v1/sources", {**body, "url": "srt://10.0.0.5:9000"}), 201)
    assert {k: source[k] for k in body} == body
    assert source["id"] and INSTANT.match(source["created_at"])
    path = f"/v1/sources/{source['id']}"
    assert ok(api.get(path)) == source

    patched = ok(api.patch(path, {"port": None, "url": None, "type": "RTMP"}))
    assert patched["port"] is None and patched["url"] is None, "null removes optional fields"
    assert patched["type"] == "RTMP" and patched["host"] == "10.0.0.5"

    ops = [{"op": "replace", "path": "/name", "value": "Cam One"}, {"op": "add", "path": "/port", "value": 1}]
    patched = ok(api.patch(path, ops, headers=JSON_PATCH))
    assert (patched["name"], patched["port"]) == ("Cam One", 1)

    assert api.delete(path).status_code == 204
    assert_problem(api.get(path), 404)


def test_a_source_that_events_to_come_use_cannot_be_deleted(api: Api, clock: Clock) -> None:
    channel = make_channel(api)["id"]
    camera = make_source(api, name="Cam 1")["id"]
    spare = make_source(api, name="Cam 2")["id"]
    path = f"/v1/sources/{camera}"
    marathon = make_event(
        api, channel, title="Marathon", start="2027-03-01T09:00:00Z", duration=3 * 86400, source_ids=[camera]
    )
    show = make_event(api, channel, title="Show", start="2027-03-05T10:00:00Z", source_ids=[camera, spare])
    cancelled = make_event(api, channel, title="Off", start="2027-03-06T10:00:00Z", source_ids=[camera])
    ok(api.post(f"/v1/events/{cancelled['id']}/actions", {"action": "cancel"}))

    clock.advance(days=2)  # the marathon began two days ago and is still on
    refused = assert_problem(api.delete(path), 409)
    assert refused["event_ids"] == [marathon["id"], show["id"]], "a cancelled event holds nothing"
    assert ok(api.get(path))["id"] == camera, "a refused delete keeps the source"

    clock.advance(days=5)  # both are over
    assert api.delete(path).status_code == 204
    assert ok(api.get(f"/v1/events/{show['id']}"))["source_ids"] == [camera, spare], "history is kept"


@pytest.mark.parametrize("kind", ["UDP", "RTP", "RTMP", "RTMPS", "SRT", "RTSP", "HLS", "NDI", "SDI", "HDMI"])
def test_every_source_type_is_accepted(api: Api, kind: str) -> None:
    assert make_source(api, type=kind, port=65535)["type"] == kind


# -- pagination ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, count, limit",
    [
        pytest.param("/v1/channels", 7, 3, id="channels in pages of 3"),
        pytest.param("/v1/sources", 5, 5, id="sources: exactly one full page, then an empty end"),
        pytest.param("/v1/sources", 4, 1, id="sources one at a time"),
        pytest.param("/v1/events", 11, 4, id="events in pages of 4"),
        pytest.param("/v1/events?order=desc", 6, 4, id="events newest first in pages of 4"),
        pytest.param("/v1/events?from=2027-03-01T00:00:00Z", 6, 4, id="events in a window, pages of 4"),
        pytest.param("/v1/events?channel_id={channel}", 6, 2, id="one channel's events in pages of 2"),
        pytest.param(
            "/v1/events?channel_id={channel}&from=2027-03-01T00:00:00Z&to=2027-04-01T00:00:00Z",
            6,
            5,
            id="one channel's window in pages of 5",
        ),
    ],
)
def test_walking_every_page_finds_each_record_once(api: Api, path: str, count: int, limit: int) -> None:
    channel = make_channel(api, name="Paged")["id"]
    created = []
    for n in range(count):
        if path.startswith("/v1/channels"):
            created.append(make_channel(api, name=f"ch {n}")["id"])
        elif path.startswith("/v1/sources"):
            created.append(make_source(api, name=f"src {n}")["id"])
        else:
            start = f"2027-03-{2 + n:02d}T10:00:00Z"
            created.append(make_event(api, channel, title=f"ev {n}", start=start)["id"])
    if path.startswith("/v1/channels"):
        created.insert(0, channel)
    pages = walk(api, path.format(channel=channel), limit)
    seen = [item["id"] for page in pages for item in page]
    assert len(seen) == len(set(seen)), "no record appears on two pages"
    assert sorted(seen) == sorted(created), "no record is missing"
    if path.startswith("/v1/events"):
        starts = [item["start"] for page in pages for item in page]
        descending = "order=desc" in path
        assert starts == sorted(starts, reverse=descending), "pages continue each other in start order"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("from=2027-03-05T00:00:00Z", id="from"),
        pytest.param("from=2027-03-05T00:00:00Z&to=2027-03-06T00:00:00Z", id="from and to"),
        pytest.param("to=2027-03-06T00:00:00Z", id="to"),
        pytest.param("", id="no window"),
    ],
)
def test_window_pages_follow_start_order_when_events_overlap(api: Api, query: str) -> None:
    """`order=asc` is by start (API.md), across pages too, even for overlapping events on other channels."""
    spans = [
        ("Long", "10:00", "20:00"),
        ("Short", "11:00", "12:00"),
        ("Mid", "12:00", "15:00"),
        ("Tiny", "13:00", "13:05"),
    ]
    for title, start, end in spans:
        channel = make_channel(api, name=title)["id"]
        make_event(api, channel, title=title, start=f"2027-03-05T{start}:00Z", end=f"2027-03-05T{end}:00Z")
    walked = [
        item["title"]
        for page in walk(api, f"/v1/events?{query}" if query else "/v1/events", 1)
        for item in page
    ]
    assert walked == ["Long", "Short", "Mid", "Tiny"]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_channel_window_walked_page_by_page_keeps_a_long_event_that_began_before_it(
    api: Api, order: str
) -> None:
    """Later pages skip the longest-booking read; what they return must not change because of it."""
    channel = make_channel(api, name="Festival")["id"]
    spans = [
        ("Before", "2027-03-01T08:00:00Z", "2027-03-01T09:00:00Z"),  # ended before the window
        ("Marathon", "2027-03-01T10:00:00Z", "2027-03-04T10:00:00Z"),  # three days, into the window
        ("Morning", "2027-03-04T11:00:00Z", "2027-03-04T12:00:00Z"),
        ("Noon", "2027-03-04T12:00:00Z", "2027-03-04T13:00:00Z"),
        ("Evening", "2027-03-04T18:00:00Z", "2027-03-04T19:00:00Z"),
        ("After", "2027-03-05T08:00:00Z", "2027-03-05T09:00:00Z"),  # starts after the window
    ]
    for title, start, end in spans:
        make_event(api, channel, title=title, start=start, end=end)
    path = f"/v1/events?channel_id={channel}&from=2027-03-04T00:00:00Z&to=2027-03-05T00:00:00Z&order={order}"
    walked = [item["title"] for page in walk(api, path, 1) for item in page]
    expected = ["Marathon", "Morning", "Noon", "Evening"]
    assert walked == (expected if order == "asc" else expected[::-1])


def test_the_default_page_is_50_and_the_maximum_500(api: Api) -> None:
    for n in range(55):
        ok(api.post("/v1/sources", {"name": f"s{n}"}), 201)
    first = ok(api.get("/v1/sources"))
    assert len(first["items"]) == 50 and first["next_cursor"], "the default limit is 50"
    everything = ok(api.get("/v1/sources?limit=500"))
    assert len(everything["items"]) == 55 and everything["next_cursor"] is None


def test_a_filtered_walk_still_finds_everything(api: Api) -> None:
    channel = make_channel(api)["id"]
    tagged = []
    for n in range(9):
        tags = ["keep"] if n % 3 == 0 else ["other"]
        event = make_event(api, channel, title=f"ev {n}", start=f"2027-03-{2 + n:02d}T10:00:00Z", tags=tags)
        if n % 3 == 0:
            tagged.append(event["id"])
    seen = [item["id"] for page in walk(api, "/v1/events?tag=keep", 2) for item in page]
    assert seen == tagged, "pages may be short when a filter drops items, but the walk finds them all"


# -- event lists: filters -----------------------------------------------------------------------------


@pytest.fixture
def schedule_of_events(api: Api) -> dict[str, str]:
    """A small programme on three channels; returns channel ids by letter."""
    a = make_channel(api, name="A")["id"]
    b = make_channel(api, name="B")["id"]
    c = make_channel(api, name="C")["id"]
    make_event(
        api,
        a,
        title="Morning News",
        start="2027-03-02T10:00:00Z",
        end="2027-03-02T11:00:00Z",
        tags=["news"],
        ref_id="r1",
    )
    make_event(
        api,
        a,
        title="Midday Sport",
        start="2027-03-02T11:00:00Z",
        duration=3600,
        tags=["sport"],
        external_id="ext-a2",
        category="sport",
    )
    make_event(
        api,
        a,
        title="Afternoon news special",
        start="2027-03-02T14:00:00Z",
        duration=7200,
        tags=["news", "live"],
    )
    make_event(api, b, title="Breakfast", start="2027-03-02T09:00:00Z", duration=5400, ref_id="r1")
    make_event(
        api, b, title="Tomorrow's Headlines", start="2027-03-03T10:00:00Z", duration=3600, tags=["news"]
    )
    deleted = make_event(
        api,
        b,
        title="Deleted thing",
        start="2027-03-02T12:00:00Z",
        duration=3600,
        tags=["news"],
        external_id="ext-del",
    )
    assert api.delete(f"/v1/events/{deleted['id']}").status_code == 204
    # 36 hours: starts long before most windows and must still be found by them.
    make_event(api, c, title="Marathon", start="2027-03-01T20:00:00Z", end="2027-03-03T08:00:00Z")
    return {"A": a, "B": b, "C": c}


ALL_LIVE = [
    "Marathon",
    "Breakfast",
    "Morning News",
    "Midday Sport",
    "Afternoon news special",
    "Tomorrow's Headlines",
]


@pytest.mark.parametrize(
    "query, expected",
    [
        pytest.param("", ALL_LIVE, id="no filter: every live event, by start, soft-deleted ones left out"),
        pytest.param(
            "from=2027-03-02T11:00:00Z&to=2027-03-02T14:00:00Z",
            ["Marathon", "Midday Sport"],
            id="window: ending exactly at `from` or starting exactly at `to` is out (half-open)",
        ),
        pytest.param(
            "from=2027-03-02T10:30:00Z",
            ["Marathon", "Morning News", "Midday Sport", "Afternoon news special", "Tomorrow's Headlines"],
            id="from only: Breakfast ends exactly at 10:30 and is out",
        ),
        pytest.param(
            "to=2027-03-02T10:00:00Z", ["Marathon", "Breakfast"], id="to only: Morning News starts at `to`"
        ),
        pytest.param(
            "from=2027-03-02T10:59:59Z&to=2027-03-02T11:00:01Z",
            ["Marathon", "Morning News", "Midday Sport"],
            id="a two-second window straddling a changeover catches both neighbours",
        ),
        pytest.param(
            "from=2027-03-02T12:00:00%2B01:00&to=2027-03-02T14:00:00Z",
            ["Marathon", "Midday Sport"],
            id="a window bound with an offset is the same instant in UTC",
        ),
        pytest.param(
            "from=1803985200&to=1803996000",
            ["Marathon", "Midday Sport"],
            id="window bounds as epoch seconds",
        ),
        pytest.param(
            "from=2027-03-02T09:00:00Z&to=2027-03-02T09:00:01Z",
            ["Marathon", "Breakfast"],
            id="a long event that began the day before is found by a later window",
        ),
        pytest.param("from=2027-03-04T00:00:00Z", [], id="a window after everything is empty"),
        pytest.param(
            "channel_id={A}", ["Morning News", "Midday Sport", "Afternoon news special"], id="channel_id"
        ),
        pytest.param(
            "channel_id={A}&from=2027-03-02T11:00:00Z&to=2027-03-02T15:00:00Z",
            ["Midday Sport", "Afternoon news special"],
            id="channel_id with a window",
        ),
        pytest.param(
            "channel_id={C}&from=2027-03-02T12:00:00Z&to=2027-03-02T13:00:00Z",
            ["Marathon"],
            id="a channel window finds the booking that started long before it",
        ),
        pytest.param("channel_id=ch_unknown", [], id="an unknown channel_id lists nothing"),
        pytest.param("state=scheduled", ALL_LIVE, id="state"),
        pytest.param("state=live", [], id="a state nothing is in"),
        pytest.param("state=live,scheduled", ALL_LIVE, id="state as a comma list"),
        pytest.param("state=cancelled,failed", [], id="a comma list of states nothing is in"),
        pytest.param(
            "tag=news",
            ["Morning News", "Afternoon news special", "Tomorrow's Headlines"],
            id="tag (soft-deleted ones left out)",
        ),
        pytest.param("tag=live", ["Afternoon news special"], id="tag among several"),
        pytest.param("ref_id=r1", ["Breakfast", "Morning News"], id="ref_id"),
        pytest.param("ref_id=r1&channel_id={B}", ["Breakfast"], id="ref_id and channel_id"),
        pytest.param("external_id=ext-a2", ["Midday Sport"], id="external_id"),
        pytest.param("external_id=nope", [], id="an unknown external_id"),
        pytest.param("schedule_id=sch_none", [], id="schedule_id with no materialised events"),
        pytest.param("q=NEWS", ["Morning News", "Afternoon news special"], id="q is case-insensitive"),
        pytest.param("q=news%20sp", ["Afternoon news special"], id="q matches inside the title"),
        pytest.param("q=headlines&tag=news", ["Tomorrow's Headlines"], id="q and tag together"),
        pytest.param("deleted=true", ["Deleted thing"], id="deleted=true lists only soft-deleted events"),
        pytest.param("deleted=false", ALL_LIVE, id="deleted=false is the default"),
        pytest.param("deleted=true&channel_id={B}", ["Deleted thing"], id="deleted=true on its channel"),
        pytest.param("deleted=true&channel_id={A}", [], id="deleted=true on another channel"),
        pytest.param("deleted=true&tag=news", ["Deleted thing"], id="deleted=true with a tag"),
        pytest.param(
            "deleted=true&from=2027-03-02T12:30:00Z&to=2027-03-02T14:00:00Z",
            ["Deleted thing"],
            id="deleted=true with a window",
        ),
        pytest.param(
            "deleted=true&from=2027-03-02T13:00:00Z", [], id="deleted=true: ending exactly at from is out"
        ),
        pytest.param("external_id=ext-del", [], id="external_id of a soft-deleted event lists nothing"),
        pytest.param("deleted=true&external_id=ext-del", ["Deleted thing"], id="unless deleted=true"),
        pytest.param("q=tomorrow's", ["Tomorrow's Headlines"], id="q with an apostrophe"),
        pytest.param("q=%25", [], id="q with a percent sign is literal"),
        pytest.param("order=desc", list(reversed(ALL_LIVE)), id="order=desc by start"),
        pytest.param(
            "order=desc&channel_id={A}",
            ["Afternoon news special", "Midday Sport", "Morning News"],
            id="order=desc on one channel",
        ),
        pytest.param(
            "order=desc&from=2027-03-02T10:30:00Z&to=2027-03-02T14:30:00Z",
            ["Afternoon news special", "Midday Sport", "Morning News", "Marathon"],
            id="order=desc with a window",
        ),
        pytest.param(
            "order=asc&tag=news&channel_id={A}", ["Morning News", "Afternoon news special"], id="asc"
        ),
    ],
)
def test_event_list_filters(
    api: Api, schedule_of_events: dict[str, str], query: str, expected: list[str]
) -> None:
    assert listed(api, query.format(**schedule_of_events)) == expected


# -- events: CRUD and times ---------------------------------------------------------------------------


def test_event_crud_and_defaults(api: Api, clock: Clock) -> None:
    channel = make_channel(api)["id"]
    source = make_source(api)["id"]
    created = api.post(
        "/v1/events",
        {
            "title": "Launch",
            "channel_id": channel,
            "start": "2027-03-02T12:00:00+02:00",
            "duration": 5400,
            "source_ids": [source],
            "metadata": {"a": "x", "n": 2, "f": 1.5, "b": True},
            "settings": [{"key": "lang", "values": {"en": "English", "de": "Deutsch"}}],
            "share": {"users": ["u1"], "groups": ["g1"]},
            "category": "launches",
        },
    )
    event = ok(created, 201)
    assert created.headers.get("ETag")
    assert event["start"] == "2027-03-02T10:00:00Z", "an offset input comes back as UTC with Z"
    assert event["end"] == "2027-03-02T11:30:00Z" and event["duration"] == 5400
    assert event["source_ids"] == [source]
    assert event["metadata"] == {"a": "x", "n": 2, "f": 1.5, "b": True}
    assert event["settings"] == [{"key": "lang", "values": {"en": "English", "de": "Deutsch"}}]
    assert event["share"] == {"users": ["u1"], "groups": ["g1"]}
    defaults = {
        "state": "scheduled",
        "start_mode": "auto",
        "end_mode": "auto",
        "record": True,
        "publish": "none",
        "published": False,
        "vod": "none",
        "tags": [],
        "ref_id": None,
        "external_id": None,
        "schedule_id": None,
        "occurrence_start": None,
        "deleted_at": None,
    }
    assert {k: event[k] for k in defaults} == defaults
    path = f"/v1/events/{event['id']}"
    assert ok(api.get(path)) == event
    assert [e["id"] for e in ok(api.get("/v1/events"))["items"]] == [event["id"]]
    assert api.delete(f"{path}?hard=true").status_code == 204
    assert_problem(api.get(path), 404)


@pytest.mark.parametrize(
    "times, start, end, duration",
    [
        pytest.param(
            {"end": "2027-03-02T11:00:00Z"},
            "2027-03-02T10:00:00Z",
            "2027-03-02T11:00:00Z",
            3600,
            id="end gives the duration",
        ),
        pytest.param(
            {"duration": 90}, "2027-03-02T10:00:00Z", "2027-03-02T10:01:30Z", 90, id="duration gives end"
        ),
        pytest.param(
            {"end": "2027-03-02T11:00:00Z", "duration": 3600},
            "2027-03-02T10:00:00Z",
            "2027-03-02T11:00:00Z",
            3600,
            id="both, agreeing",
        ),
        pytest.param(
            {"start": 1803981600, "duration": 60},
            "2027-03-02T10:00:00Z",
            "2027-03-02T10:01:00Z",
            60,
            id="epoch seconds as start",
        ),
        pytest.param(
            {"start": "2027-03-02T10:00:00.900Z", "duration": 60},
            "2027-03-02T10:00:00Z",
            "2027-03-02T10:01:00Z",
            60,
            id="fractions of a second are dropped",
        ),
        pytest.param(
            {"start": "2027-03-02T05:00:00-05:00", "end": "2027-03-02T12:00:00+01:00"},
            "2027-03-02T10:00:00Z",
            "2027-03-02T11:00:00Z",
            3600,
            id="mixed offsets",
        ),
    ],
)
def test_event_times(api: Api, times: dict[str, Any], start: str, end: str, duration: int) -> None:
    channel = make_channel(api)["id"]
    body = {"title": "T", "channel_id": channel, "start": "2027-03-02T10:00:00Z", **times}
    event = ok(api.post("/v1/events", body), 201)
    assert (event["start"], event["end"], event["duration"]) == (start, end, duration)


# -- events: merge patch and JSON Patch ---------------------------------------------------------------


@pytest.fixture
def event(api: Api) -> dict[str, Any]:
    channel = make_channel(api)["id"]
    return make_event(
        api,
        channel,
        title="Original",
        start="2027-03-02T10:00:00Z",
        duration=3600,
        ref_id="ref-1",
        category="news",
        tags=["a", "b"],
        metadata={"keep": 1, "drop": "x"},
    )


@pytest.mark.parametrize(
    "patch, expected",
    [
        pytest.param({"ref_id": None}, {"ref_id": None}, id="null removes an optional field"),
        pytest.param({"category": None, "title": "New"}, {"category": None, "title": "New"}, id="two fields"),
        pytest.param(
            {"start": "2027-03-02T12:00:00Z"},
            {"start": "2027-03-02T12:00:00Z", "end": "2027-03-02T13:00:00Z", "duration": 3600},
            id="moving start keeps the duration",
        ),
        pytest.param(
            {"end": "2027-03-02T12:30:00Z"},
            {"start": "2027-03-02T10:00:00Z", "end": "2027-03-02T12:30:00Z", "duration": 9000},
            id="changing end changes the duration",
        ),
        pytest.param(
            {"duration": 60},
            {"start": "2027-03-02T10:00:00Z", "end": "2027-03-02T10:01:00Z", "duration": 60},
            id="changing duration moves end",
        ),
        pytest.param(
            {"start": "2027-03-02T09:00:00Z", "end": "2027-03-02T09:30:00Z"},
            {"start": "2027-03-02T09:00:00Z", "end": "2027-03-02T09:30:00Z", "duration": 1800},
            id="start and end together",
        ),
        pytest.param(
            {"start": "2027-03-02T11:00:00Z", "duration": 120},
            {"start": "2027-03-02T11:00:00Z", "end": "2027-03-02T11:02:00Z", "duration": 120},
            id="start and duration together",
        ),
        pytest.param(
            {"metadata": {"drop": None, "new": True}},
            {"metadata": {"keep": 1, "new": True}},
            id="objects merge recursively; null removes a key",
        ),
        pytest.param({"tags": ["c"]}, {"tags": ["c"]}, id="arrays are replaced whole"),
        pytest.param({"tags": None}, {"tags": []}, id="null on a list field empties it"),
        pytest.param(
            {"record": False, "publish": "public"}, {"record": False, "publish": "public"}, id="flags"
        ),
    ],
)
def test_merge_patch(
    api: Api, event: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    path = f"/v1/events/{event['id']}"
    patched = ok(api.patch(path, patch, headers=MERGE))
    assert {k: patched[k] for k in expected} == expected
    untouched = set(event) - set(expected) - {"updated_at", "end", "duration", "start"}
    assert {k: patched[k] for k in untouched} == {k: event[k] for k in untouched}, "other fields are kept"
    assert ok(api.get(path)) == patched, "GET shows the patched event"


def test_merge_patch_as_application_json(api: Api, event: dict[str, Any]) -> None:
    patched = ok(api.patch(f"/v1/events/{event['id']}", {"title": "Plain JSON"}))
    assert patched["title"] == "Plain JSON"


def test_a_patch_that_changes_nothing_keeps_the_etag(api: Api, event: dict[str, Any]) -> None:
    path = f"/v1/events/{event['id']}"
    etag = api.get(path).headers["ETag"]
    same = api.patch(path, {"title": event["title"]})
    assert ok(same) == event
    assert same.headers["ETag"] == etag


@pytest.mark.parametrize(
    "ops, expected",
    [
        pytest.param(
            [{"op": "replace", "path": "/title", "value": "Replaced"}], {"title": "Replaced"}, id="replace"
        ),
        pytest.param(
            [{"op": "add", "path": "/tags/-", "value": "c"}], {"tags": ["a", "b", "c"]}, id="add to a list"
        ),
        pytest.param(
            [{"op": "add", "path": "/tags/0", "value": "z"}], {"tags": ["z", "a", "b"]}, id="insert"
        ),
        pytest.param([{"op": "remove", "path": "/tags/0"}], {"tags": ["b"]}, id="remove from a list"),
        pytest.param([{"op": "remove", "path": "/ref_id"}], {"ref_id": None}, id="remove an optional field"),
        pytest.param(
            [{"op": "add", "path": "/metadata/extra", "value": 3.5}],
            {"metadata": {"keep": 1, "drop": "x", "extra": 3.5}},
            id="add a metadata key",
        ),
        pytest.param(
            [
                {"op": "test", "path": "/title", "value": "Original"},
                {"op": "replace", "path": "/title", "value": "Tested"},
            ],
            {"title": "Tested"},
            id="test then replace",
        ),
        pytest.param(
            [{"op": "replace", "path": "/start", "value": "2027-03-02T15:00:00Z"}],
            {"start": "2027-03-02T15:00:00Z", "end": "2027-03-02T16:00:00Z", "duration": 3600},
            id="replacing start keeps the duration",
        ),
        pytest.param(
            [{"op": "replace", "path": "/end", "value": "2027-03-02T10:30:00Z"}],
            {"end": "2027-03-02T10:30:00Z", "duration": 1800},
            id="replacing end changes the duration",
        ),
        pytest.param(
            [{"op": "copy", "from": "/category", "path": "/ref_id"}],
            {"ref_id": "news", "category": "news"},
            id="copy",
        ),
        pytest.param(
            [{"op": "move", "from": "/category", "path": "/ref_id"}],
            {"ref_id": "news", "category": None},
            id="move",
        ),
    ],
)
def test_json_patch(
    api: Api, event: dict[str, Any], ops: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    path = f"/v1/events/{event['id']}"
    patched = ok(api.patch(path, ops, headers=JSON_PATCH))
    assert {k: patched[k] for k in expected} == expected
    assert ok(api.get(path)) == patched


def test_patching_a_channel_and_source_of_an_event(api: Api, event: dict[str, Any]) -> None:
    other = make_channel(api, name="Other")["id"]
    source = make_source(api)["id"]
    patched = ok(api.patch(f"/v1/events/{event['id']}", {"channel_id": other, "source_ids": [source]}))
    assert (patched["channel_id"], patched["source_ids"]) == (other, [source])
    assert listed(api, f"channel_id={other}") == ["Original"], "the channel listing follows the move"
    assert listed(api, f"channel_id={event['channel_id']}") == []


def test_patched_fields_are_found_by_filters(api: Api, event: dict[str, Any]) -> None:
    ok(
        api.patch(
            f"/v1/events/{event['id']}", {"title": "Renamed Show", "tags": ["fresh"], "ref_id": "ref-2"}
        )
    )
    assert listed(api, "q=renamed") == ["Renamed Show"]
    assert listed(api, "tag=fresh") == ["Renamed Show"]
    assert listed(api, "tag=a") == []
    assert listed(api, "ref_id=ref-2") == ["Renamed Show"]
    assert listed(api, "ref_id=ref-1") == [], "the old ref_id no longer finds it"


# -- soft delete, restore, hard delete ---------------------------------------------------------------


def test_soft_delete_and_restore(api: Api, event: dict[str, Any], clock: Clock) -> None:
    path = f"/v1/events/{event['id']}"
    clock.advance(minutes=1)
    assert api.delete(path).status_code == 204
    deleted = ok(api.get(path))
    assert deleted["deleted_at"] == "2027-03-01T08:01:00Z", "GET still shows it, with deleted_at"
    assert listed(api) == [], "the default list leaves it out"
    assert listed(api, "from=2027-03-01T00:00:00Z") == []
    assert listed(api, f"channel_id={event['channel_id']}") == []
    assert listed(api, "deleted=true") == ["Original"]
    assert api.delete(path).status_code == 204, "deleting again is harmless"

    restored = api.post(f"{path}/restore")
    body = ok(restored)
    assert body["deleted_at"] is None
    assert {k: body[k] for k in ("title", "start", "end", "tags")} == {
        k: event[k] for k in ("title", "start", "end", "tags")
    }
    assert restored.headers.get("ETag")
    assert listed(api) == ["Original"], "a restored event is listed again"
    assert listed(api, "deleted=true") == []
    assert listed(api, f"channel_id={event['channel_id']}&from=2027-03-02T00:00:00Z") == ["Original"]


def test_hard_delete(api: Api, event: dict[str, Any]) -> None:
    path = f"/v1/events/{event['id']}"
    assert api.delete(f"{path}?hard=true").status_code == 204
    assert_problem(api.get(path), 404)
    assert listed(api) == [] and listed(api, "deleted=true") == []
    assert_problem(api.post(f"{path}/restore"), 404)


def test_hard_delete_of_a_soft_deleted_event(api: Api, event: dict[str, Any]) -> None:
    path = f"/v1/events/{event['id']}"
    assert api.delete(path).status_code == 204
    assert api.delete(f"{path}?hard=true").status_code == 204
    assert_problem(api.get(path), 404)
    assert listed(api, "deleted=true") == []


# -- clone --------------------------------------------------------------------------------------------


def test_clone_with_a_new_start(api: Api) -> None:
    channel = make_channel(api)["id"]
    source = make_source(api)["id"]
    original = make_event(
        api,
        channel,
        title="Weekly",
        duration=5400,
        external_id="ext-original",
        ref_id="series-1",
        tags=["weekly"],
        metadata={"k": "v"},
        source_ids=[source],
        settings=[{"key": "lang", "values": {"en": "x"}}],
    )
    response = api.post(f"/v1/events/{original['id']}/clone", {"start": "2027-03-09T10:00:00Z"})
    clone = ok(response, 201)
    assert response.headers.get("ETag")
    assert clone["id"] != original["id"]
    assert clone["start"] == "2027-03-09T10:00:00Z"
    assert clone["end"] == "2027-03-09T11:30:00Z" and clone["duration"] == 5400, "the copy keeps the length"
    assert clone["external_id"] is None, "external_id is unique, so it is not copied"
    same = ("title", "channel_id", "ref_id", "tags", "metadata", "source_ids", "settings", "share", "record")
    assert {k: clone[k] for k in same} == {k: original[k] for k in same}
    assert clone["state"] == "scheduled" and clone["deleted_at"] is None
    assert ok(api.get(f"/v1/events/{original['id']}")) == original, "the original is unchanged"
    assert [e["title"] for e in ok(api.get("/v1/events"))["items"]] == ["Weekly", "Weekly"]


def test_clone_overrides_any_field(api: Api) -> None:
    channel = make_channel(api)["id"]
    other = make_channel(api, name="Other")["id"]
    original = make_event(api, channel, title="Source", tags=["x"])
    clone = ok(
        api.post(
            f"/v1/events/{original['id']}/clone",
            {"title": "Copy", "channel_id": other, "tags": ["y"], "external_id": "ext-copy", "duration": 60},
        ),
        201,
    )
    assert (clone["title"], clone["channel_id"], clone["tags"]) == ("Copy", other, ["y"])
    assert clone["external_id"] == "ext-copy", "an external_id given for the copy is used"
    assert (clone["start"], clone["duration"]) == (original["start"], 60)


# -- upsert by external_id ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "segment, external_id",
    [
        pytest.param("valt-1001", "valt-1001", id="a plain external id"),
        pytest.param("a%2Fb", "a/b", id="a percent-encoded slash"),
        pytest.param("caf%C3%A9%20%231", "café #1", id="percent-encoded UTF-8, space and hash"),
        pytest.param("x%3Ay%3Az", "x:y:z", id="encoded colons"),
    ],
)
def test_put_by_external_id_creates_then_updates(api: Api, segment: str, external_id: str) -> None:
    channel = make_channel(api)["id"]
    body = {"title": "From VALT", "channel_id": channel, "start": "2027-03-02T10:00:00Z", "duration": 3600}
    path = f"/v1/events/external/{segment}"
    first = api.put(path, body)
    created = ok(first, 201)
    assert created["external_id"] == external_id, "the path's external id is decoded"
    assert first.headers.get("ETag")

    second = api.put(path, {**body, "title": "Renamed in VALT", "duration": 1800})
    updated = ok(second, 200)
    assert updated["id"] == created["id"], "the same event is updated"
    assert (updated["title"], updated["duration"]) == ("Renamed in VALT", 1800)
    assert second.headers["ETag"] != first.headers["ETag"]

    found = ok(api.get(f"/v1/events?external_id={quote(external_id, safe='')}"))["items"]
    assert [e["id"] for e in found] == [created["id"]], "exactly one event has the external id"
    assert ok(api.get(f"/v1/events/{created['id']}")) == updated


def test_put_by_external_id_replaces_fields_left_out(api: Api) -> None:
    channel = make_channel(api)["id"]
    body = {"title": "T", "channel_id": channel, "start": "2027-03-02T10:00:00Z", "duration": 60}
    ok(api.put("/v1/events/external/rep", {**body, "tags": ["x"], "category": "c"}), 201)
    replaced = ok(api.put("/v1/events/external/rep", body))
    assert (replaced["tags"], replaced["category"]) == ([], None), "PUT replaces: omitted fields get defaults"


def test_put_by_external_id_updates_an_event_created_by_post(api: Api) -> None:
    channel = make_channel(api)["id"]
    posted = make_event(api, channel, external_id="posted-1")
    body = {"title": "Upserted", "channel_id": channel, "start": "2027-03-02T10:00:00Z", "duration": 3600}
    updated = ok(api.put("/v1/events/external/posted-1", body))
    assert updated["id"] == posted["id"] and updated["title"] == "Upserted"


# -- tenants, keys, health --------------------------------------------------------------------------


def test_health(api: Api) -> None:
    response = api.http.get("/v1/health")
    assert response.status_code == 200
    assert json.loads(response.body) == {"status": "ok"}


def test_tenants_and_their_first_admin_key(api: Api) -> None:
    created = ok(api.post("/v1/tenants", {"name": "Acme"}), 201)
    assert {"id", "name", "admin_key", "created_at", "updated_at"} <= set(created)
    assert created["name"] == "Acme"
    assert created["id"] in [t["id"] for t in ok(api.get("/v1/tenants"))["items"]]
    assert "admin_key" not in json.dumps(ok(api.get("/v1/tenants"))), "the admin key is shown once"
    acme = Api(api.http, created["admin_key"])
    assert ok(acme.get("/v1/channels"))["items"] == [], "a new tenant starts empty"
    channel = ok(acme.post("/v1/channels", {"name": "Acme 1"}), 201)
    key = ok(acme.post("/v1/keys", {"name": "reader", "scopes": ["read"]}), 201)
    assert ok(Api(api.http, key["key"]).get(f"/v1/channels/{channel['id']}"))["name"] == "Acme 1"


def _stored_text() -> str:
    """Everything in the DynamoDB tables, as text."""
    from chalicelib.adapters import aws as aws_clients

    db = aws_clients.client("dynamodb")
    items = []
    for name in db.list_tables()["TableNames"]:
        for page in db.get_paginator("scan").paginate(TableName=name):
            items += page["Items"]
    return json.dumps(items)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="plain POST"),
        pytest.param({"Idempotency-Key": "secret-1"}, id="with an Idempotency-Key"),
    ],
)
def test_api_keys_are_stored_only_as_hashes(api: Api, headers: dict[str, str]) -> None:
    key = ok(api.post("/v1/keys", {"name": "k", "scopes": ["read"]}, headers=headers), 201)["key"]
    other = {name: value + "-tenant" for name, value in headers.items()}
    tenant_key = ok(api.post("/v1/tenants", {"name": "T"}, headers=other), 201)["admin_key"]
    stored = _stored_text()
    assert key not in stored, "an API key is stored only as a hash (API.md, keys)"
    assert tenant_key not in stored, "a tenant's admin key is stored only as a hash"


def test_an_idempotent_retry_of_a_key_creation_creates_one_key(api: Api) -> None:
    body = {"name": "retry", "scopes": ["read"]}
    first = ok(api.post("/v1/keys", body, headers={"Idempotency-Key": "mint-1"}), 201)
    again = ok(api.post("/v1/keys", body, headers={"Idempotency-Key": "mint-1"}), 201)
    assert again["id"] == first["id"], "the retry answers with the first key"
    assert [k["name"] for k in ok(api.get("/v1/keys"))["items"]].count("retry") == 1, "and creates no other"
    assert ok(Api(api.http, first["key"]).get("/v1/channels"))["items"] == [], "the first key works"


def test_an_idempotent_retry_of_a_clone_creates_one_copy(api: Api) -> None:
    channel = make_channel(api)["id"]
    original = make_event(api, channel, title="Cloned")
    body = {"start": "2027-03-09T10:00:00Z"}
    first = ok(api.post(f"/v1/events/{original['id']}/clone", body, headers={"Idempotency-Key": "c-1"}), 201)
    again = ok(api.post(f"/v1/events/{original['id']}/clone", body, headers={"Idempotency-Key": "c-1"}), 201)
    assert again == first
    assert listed(api) == ["Cloned", "Cloned"], "one original and one copy"


def test_keys_are_created_listed_and_revoked(api: Api) -> None:
    created = ok(api.post("/v1/keys", {"name": "ci", "scopes": ["read", "write"]}), 201)
    assert created["key"] and created["scopes"] == ["read", "write"] and created["name"] == "ci"
    keys = {k["id"]: k for k in ok(api.get("/v1/keys"))["items"]}
    assert created["id"] in keys and keys[created["id"]]["scopes"] == ["read", "write"]
    for key in keys.values():
        assert INSTANT.match(key["created_at"]) and INSTANT.match(key["updated_at"]), "every record has both"
        assert "key" not in key and "key_hash" not in key, "neither the key nor its hash is listed"
    assert api.delete(f"/v1/keys/{created['id']}").status_code == 204
    assert created["id"] not in [k["id"] for k in ok(api.get("/v1/keys"))["items"]]


# -- OpenAPI and docs ------------------------------------------------------------------------------------


def _registered_routes() -> set[tuple[str, str]]:
    from app import app

    return {
        (path, method.lower())
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if not entry.view_name.startswith("not_allowed_")
    }


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_openapi_document_describes_every_route(api: Api) -> None:
    response = api.http.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers.get("Content-Type", "").startswith("application/json")
    doc = json.loads(response.body)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    registered = _registered_routes()
    assert registered - documented == set(), "every route the app serves is documented"
    assert documented - registered == set(), "the document describes no route the app lacks"

    schemas = doc["components"]["schemas"]
    assert schemas, "component schemas are present"
    for name, schema in schemas.items():
        assert isinstance(schema, dict) and schema, f"schema {name} is not empty"
    for ref in set(_refs(doc)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"{ref} resolves"
    for name in ("ChannelIn", "EventIn", "SourceIn", "EventOut", "Problem"):
        assert name in schemas, f"the {name} schema is described"
    assert {"title", "channel_id", "start"} <= set(schemas["EventIn"]["required"])

    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("responses"), f"{method.upper()} {path} documents its responses"
            assert op.get("summary"), f"{method.upper()} {path} has a summary"
    public = {("/v1/health", "get"), ("/v1/openapi.json", "get"), ("/v1/docs", "get")}
    for path, method in public:
        assert doc["paths"][path][method].get("security") == [], f"{path} needs no key"
    assert doc["paths"]["/v1/channels"]["post"].get("security") != [], "other routes need a key"


def test_the_docs_page_and_its_assets_are_served(api: Api) -> None:
    page = api.http.get("/v1/docs")
    assert page.status_code == 200
    assert page.headers.get("Content-Type", "").startswith("text/html")
    html = page.body.decode()
    assert "<html" in html.lower()
    # Inline references (a `data:` favicon) load nothing from the app; every other link must exist.
    references = [r for r in re.findall(r'(?:src|href)="([^"]+)"', html) if not r.startswith("data:")]
    assets = [urljoin("http://host/v1/docs", ref).removeprefix("http://host") for ref in references]
    asset_paths = [a for a in assets if a.startswith("/v1/docs/assets/")]
    assert {"/v1/docs/assets/docs.js", "/v1/docs/assets/docs.css"} <= set(asset_paths), references
    for path in asset_paths:
        asset = api.http.get(path)
        assert asset.status_code == 200, path
        assert asset.body, f"{path} is not empty"
        expected = "text/css" if path.endswith(".css") else "javascript"
        assert expected in asset.headers.get("Content-Type", ""), (
            f"{path}: {asset.headers.get('Content-Type')}"
        )
    for other in (a for a in assets if not a.startswith("/v1/docs/assets/")):
        assert api.http.get(other).status_code == 200, f"the page links to {other}, which must exist"


@pytest.mark.parametrize("name", ["nope.js", "index.html", "..%2F..%2Fapp.py", "docs.css.map"])
def test_unknown_docs_assets_are_404(api: Api, name: str) -> None:
    response = api.http.get(f"/v1/docs/assets/{name}")
    assert response.status_code == 404
    assert response.headers.get("Content-Type") == PROBLEM
