"""Calendar feeds through the API on moto, read as calendar apps read them: parsed with `icalendar` and
expanded with `recurring-ical-events`, and held against the API's own listing of the same window.

The clock fixture says 2027-03-01T08:00Z; series occurrences are events 30 days ahead, bookings beyond.
Europe/London changes its clocks on 2027-03-28, America/New_York on 2027-03-14.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import recurring_ical_events
from icalendar import Calendar

from tests.conftest import OPERATOR_KEY, Api, Clock

WINDOW = (datetime(2027, 1, 30, 8, tzinfo=UTC), datetime(2028, 2, 29, 8, tzinfo=UTC))  # now -30 d, +365 d


def channel(api: Api, name: str = "Room 101", zone: str = "Europe/London", key: str | None = None) -> str:
    response = api.post("/v1/channels", {"name": name, "timezone": zone}, key=key)
    assert response.status_code == 201, response.data
    return response.data["id"]


def event(api: Api, ch: str, start: str, minutes: int = 50, key: str | None = None, **extra: Any) -> dict:
    body = {"title": extra.pop("title", "Talk"), "channel_id": ch, "start": start, "duration": minutes * 60}
    response = api.post("/v1/events", {**body, **extra}, key=key)
    assert response.status_code == 201, response.data
    return response.data


def series(api: Api, ch: str, start: str, recurrence: dict[str, Any], **extra: Any) -> dict:
    body = {"title": extra.pop("title", "Lecture"), "channel_id": ch, "start": start, "duration": 3000}
    response = api.post("/v1/schedules", {**body, "recurrence": recurrence, **extra})
    assert response.status_code == 201, response.data
    return response.data


def feed(api: Api, channel_ids: list[str] | None = None, key: str | None = None, **headers: str) -> dict:
    response = api.post("/v1/feeds", {"name": "Rooms", "channel_ids": channel_ids}, key=key, headers=headers)
    assert response.status_code == 201, response.data
    return response.data


def fetch(api: Api, url: str, **headers: str) -> Any:
    """GET a feed URL as a calendar app does: no key."""
    return api.http.get(urlsplit(url).path, headers=headers)


def calendar(api: Api, url: str) -> Calendar:
    response = fetch(api, url)
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.body)


def vevents(cal: Calendar) -> dict[str, Any]:
    """The calendar's bookings in the feed's window as a calendar app expands them, by event id."""
    found = recurring_ical_events.of(cal).between(*WINDOW)
    by_id = {str(e["UID"]).removesuffix("@onair"): e for e in found}
    assert len(by_id) == len(found), "every UID is unique"
    return by_id


def utc(value: Any) -> str:
    return value.dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def listing(api: Api, schedule_ids: list[str]) -> dict[str, tuple[str, str, str]]:
    """What the API says is booked in the feed's window: every event (any state), and each series'
    occurrences that are not events yet (named by the id their event will have), by id."""
    from chalicelib.domain.schedules import event_id_for
    from chalicelib.domain.time import parse_instant

    frm, to = (t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in WINDOW)
    found: dict[str, tuple[str, str, str]] = {}
    cursor = None
    while True:
        page = api.get(f"/v1/events?from={frm}&to={to}&limit=500" + (f"&cursor={cursor}" if cursor else ""))
        found |= {e["id"]: (e["start"], e["end"], e["state"]) for e in page.data["items"]}
        if not (cursor := page.data["next_cursor"]):
            break
    for schedule_id in schedule_ids:
        items = api.get(f"/v1/schedules/{schedule_id}/occurrences?from={frm}&to={to}").data["items"]
        for occ in items:
            if occ["event_id"] is None:
                uid = event_id_for(schedule_id, parse_instant(occ["occurrence_start"]))
                found[uid] = (occ["start"], occ["end"], "planned")
    return found


def shown(by_id: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """The calendar's bookings in the listing's terms (state from the description)."""
    out = {}
    for uid, e in by_id.items():
        state = str(e["DESCRIPTION"]).split("\n")[0].removeprefix("State: ").split(" ")[0]
        out[uid] = (utc(e["DTSTART"]), utc(e["DTEND"]), state)
    return out


# -- what a feed holds ---------------------------------------------------------------------------------


def test_a_feed_holds_what_the_api_lists_for_its_window_across_dst_changes(api: Api) -> None:
    london = channel(api, "Room 101", "Europe/London")
    new_york = channel(api, "Studio B", "America/New_York")
    # Daily at 09:00 London from 20 March: events until the horizon (31 March), planned after it; the
    # clocks go forward on 28 March, so 09:00 is 09:00Z before and 08:00Z after.
    daily = series(api, london, "2027-03-20T09:00:00", {"frequency": "daily", "count": 20})
    # Weekly on Mondays at 18:00 New York across its own change (14 March), and a year ahead, endless.
    weekly = series(api, new_york, "2027-03-08T18:00:00", {"frequency": "weekly", "days": ["MON"]})
    one_off = event(api, london, "2027-03-28T13:00:00Z", title="Open day")
    dropped = event(api, new_york, "2027-03-10T15:00:00Z", title="Cancelled rehearsal")
    assert api.post(f"/v1/events/{dropped['id']}/actions", {"action": "cancel"}).status_code == 200
    url = feed(api)["url"]

    cal = calendar(api, url)
    by_id = vevents(cal)
    assert shown(by_id) == listing(api, [daily["id"], weekly["id"]])
    assert len(by_id) == 20 + 52 + 2, "20 daily, a year of Mondays, the one-off and the cancelled one"

    london_times = sorted((e["DTSTART"].dt, e) for e in by_id.values() if e.get("LOCATION") == "Room 101")
    for start, e in london_times:
        if str(e["SUMMARY"]) == "Lecture":
            assert e["DTSTART"].params["TZID"] == "Europe/London", "times are in the channel's zone"
            assert (start.hour, start.minute) == (9, 0), "09:00 local on both sides of the change"
    assert {utc(by_id[u]["DTSTART"]) for u in by_id if str(by_id[u]["SUMMARY"]) == "Lecture"} >= {
        "2027-03-27T09:00:00Z",
        "2027-03-28T08:00:00Z",
    }
    mondays = [
        e for e in by_id.values() if str(e["SUMMARY"]) == "Lecture" and e.get("LOCATION") == "Studio B"
    ]
    assert {(e["DTSTART"].dt.hour, e["DTSTART"].params["TZID"]) for e in mondays} == {
        (18, "America/New_York")
    }
    zones = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert zones == {"Europe/London", "America/New_York"}, "a VTIMEZONE for each zone used"

    states = {uid: state for uid, (_, _, state) in shown(by_id).items()}
    assert states[one_off["id"]] == "scheduled" and by_id[one_off["id"]]["STATUS"] == "CONFIRMED"
    assert by_id[dropped["id"]]["STATUS"] == "CANCELLED", "a cancelled event shows as cancelled"
    planned = [uid for uid, state in states.items() if state == "planned"]
    assert len(planned) > 50, "occurrences beyond the horizon are in the feed though not events yet"
    assert {str(by_id[uid]["STATUS"]) for uid in planned} == {"CONFIRMED"}


def test_a_feeds_confirmed_bookings_are_the_channels_bookings_as_overlap_checks_count_them(
    api: Api, services: Any
) -> None:
    """The feed reads through `ChannelBookings`: what it shows as CONFIRMED is exactly `window()`'s live
    events and pending occurrences; cancelled ones are shown too, as CANCELLED, and nothing else."""
    ch = channel(api)
    weekly = series(api, ch, "2027-03-03T09:00:00", {"frequency": "weekly", "count": 10})
    occurrences = f"/v1/schedules/{weekly['id']}/occurrences"
    skipped = api.delete(f"{occurrences}/2027-03-10T09%3A00%3A00Z")  # an event already: it is cancelled
    assert skipped.status_code in (200, 204)
    moved = api.patch(f"{occurrences}/2027-04-21T08%3A00%3A00Z", {"start": "2027-04-21T11:00:00Z"})
    assert moved.status_code == 200, moved.data  # beyond the horizon: it becomes an event now
    event(api, ch, "2027-03-03T09:30:00Z", title="Overlap", allow_conflict=True)
    dropped = event(api, ch, "2027-03-04T09:00:00Z", title="Dropped")
    assert api.post(f"/v1/events/{dropped['id']}/actions", {"action": "cancel"}).status_code == 200
    gone = event(api, ch, "2027-03-05T09:00:00Z", title="Deleted")
    assert api.delete(f"/v1/events/{gone['id']}").status_code == 204

    by_id = vevents(calendar(api, feed(api, [ch])["url"]))
    room = services.events.channels.get("default", ch)
    counted = services.feeds.bookings.window(room, *WINDOW)
    confirmed = {
        u: (utc(e["DTSTART"]), utc(e["DTEND"])) for u, e in by_id.items() if e["STATUS"] == "CONFIRMED"
    }
    assert confirmed == {
        b.event_id: tuple(t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in (b.start, b.end)) for b in counted
    }
    assert len(confirmed) == 10 - 1 + 1, "the series less its skipped occurrence, and the overlap"
    cancelled = {u for u, e in by_id.items() if e["STATUS"] == "CANCELLED"}
    assert dropped["id"] in cancelled and len(cancelled) == 2, "the cancelled event and the skipped one"
    assert gone["id"] not in by_id, "a deleted event is not a booking"


def test_each_booking_says_its_state_and_room_and_links_to_the_console(api: Api) -> None:
    ch = channel(api)
    talk = event(api, ch, "2027-03-02T09:00:00Z")
    behind_a_proxy = {"Host": "onair.example", "X-Forwarded-Proto": "https"}
    url = feed(api, [ch], **behind_a_proxy)["url"]
    assert url.startswith("https://onair.example/v1/feeds/ics_") and url.endswith(".ics")
    response = fetch(api, url, **behind_a_proxy)
    cal = Calendar.from_ical(response.body)
    (vevent,) = cal.walk("VEVENT")
    link = f"https://onair.example/#/week/2027-03-02/{ch}"
    assert str(vevent["URL"]) == link
    assert str(vevent["DESCRIPTION"]).splitlines() == [
        "State: scheduled",
        f"Open in the onair console: {link}",
    ]
    assert str(vevent["UID"]) == f"{talk['id']}@onair"
    assert str(vevent["LOCATION"]) == "Room 101"
    assert vevent["LAST-MODIFIED"].dt == vevent["DTSTAMP"].dt == datetime(2027, 3, 1, 8, tzinfo=UTC)
    assert str(cal["X-WR-CALNAME"]) == "Rooms"
    assert str(cal["REFRESH-INTERVAL"].to_ical().decode()) == "PT15M"


def test_an_occurrence_and_its_event_share_a_uid_and_the_sequence_never_goes_down(
    api: Api, services: Any, clock: Clock
) -> None:
    ch = channel(api)
    weekly = series(api, ch, "2027-04-19T09:00:00", {"frequency": "weekly", "days": ["MON"], "count": 4})
    url = feed(api, [ch])["url"]

    def sequences() -> dict[str, tuple[int, str]]:
        found = vevents(calendar(api, url))
        return {uid: (int(e["SEQUENCE"]), str(e["STATUS"])) for uid, e in found.items()}

    history = [sequences()]  # all four planned (19 April is beyond the 30-day horizon)
    clock.advance(seconds=1)
    assert api.patch(f"/v1/schedules/{weekly['id']}", {"title": "Algorithms"}).status_code == 200
    history.append(sequences())
    clock.advance(days=27)  # 19 and 26 April come within the horizon
    services.materialiser.tick(clock())
    history.append(sequences())
    events = {e["id"]: e for e in api.get(f"/v1/events?schedule_id={weekly['id']}").data["items"]}
    assert len(events) == 2 and set(events) <= set(history[0]), "the events have the occurrences' UIDs"
    first = min(events.values(), key=lambda e: e["start"])
    assert api.patch(f"/v1/events/{first['id']}", {"title": "Guest lecture"}).status_code == 200
    history.append(sequences())
    assert api.patch(f"/v1/events/{first['id']}", {"title": "Guest lecture II"}).status_code == 200
    history.append(sequences())  # the same second: the version still moves it
    clock.advance(hours=1)
    assert api.delete(f"/v1/schedules/{weekly['id']}").status_code == 204
    history.append(sequences())

    assert set(history[0]) == set(history[2]), "the same four UIDs before and after two became events"
    for uid in history[0]:
        numbers = [h[uid][0] for h in history if uid in h]
        assert numbers == sorted(numbers), f"{uid}: SEQUENCE went down: {numbers}"
    assert history[1][first["id"]][0] > history[0][first["id"]][0], "a series edit raises its occurrences'"
    assert history[4][first["id"]][0] > history[3][first["id"]][0] > history[2][first["id"]][0]
    assert history[5][first["id"]][1] == "CANCELLED", "deleting the series cancels its events"
    assert history[5][first["id"]][0] > history[4][first["id"]][0]


def test_etag_and_if_none_match_answer_304_until_something_changes(api: Api) -> None:
    ch = channel(api)
    talk = event(api, ch, "2027-03-02T09:00:00Z")
    url = feed(api, [ch])["url"]
    first = fetch(api, url)
    tag = first.headers["ETag"]
    assert fetch(api, url).headers["ETag"] == tag, "the same bookings give the same ETag"
    unchanged = fetch(api, url, **{"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.body == b""
    assert unchanged.headers["ETag"] == tag
    assert fetch(api, url, **{"If-None-Match": f'"other", W/{tag}'}).status_code == 304, "weak compare"
    assert first.headers["Cache-Control"] == "private, no-cache", "apps revalidate; no shared cache"
    assert api.patch(f"/v1/events/{talk['id']}", {"title": "Renamed"}).status_code == 200
    changed = fetch(api, url, **{"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert "Renamed" in changed.body.decode()


# -- the secret URL ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/v1/feeds/ics_not-a-real-token.ics", id="an unknown token"),
        pytest.param("/v1/feeds/not-a-token.ics", id="no token prefix"),
        pytest.param("/v1/feeds/.ics", id="an empty token"),
        pytest.param("/v1/feeds/ics_" + "x" * 900 + ".ics", id="a very long token"),
        pytest.param("/v1/feeds/ics_%00%ff.ics", id="encoded junk"),
    ],
)
def test_an_unknown_feed_url_is_a_404_problem(api: Api, path: str) -> None:
    feed(api)
    response = api.http.get(path)
    assert response.status_code == 404, response.body
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_revoked_feed_url_stops_working_at_once(api: Api) -> None:
    ch = channel(api)
    created = feed(api, [ch])
    assert fetch(api, created["url"]).status_code == 200
    current = api.get(f"/v1/feeds/{created['id']}")
    assert api.delete(f"/v1/feeds/{created['id']}", headers={"If-Match": '"9"'}).status_code == 412
    assert fetch(api, created["url"]).status_code == 200, "a refused revoke changes nothing"
    revoked = api.delete(f"/v1/feeds/{created['id']}", headers={"If-Match": current.headers["ETag"]})
    assert revoked.status_code == 204
    gone = fetch(api, created["url"])
    assert gone.status_code == 404 and gone.headers["Content-Type"] == "application/problem+json"
    assert api.get(f"/v1/feeds/{created['id']}").status_code == 404
    assert api.delete(f"/v1/feeds/{created['id']}").status_code == 404
    assert created["id"] not in [f["id"] for f in api.get("/v1/feeds").data["items"]]


def test_creating_and_revoking_a_feed_are_audited_and_announced_without_its_secret(
    api: Api, bus: Any, clock: Clock
) -> None:
    ch = channel(api)
    bus()  # what the channel announced
    created = feed(api, [ch])
    token = urlsplit(created["url"]).path.removeprefix("/v1/feeds/").removesuffix(".ics")
    assert fetch(api, created["url"]).status_code == 200
    clock.advance(minutes=1)
    assert api.delete(f"/v1/feeds/{created['id']}").status_code == 204

    operator = {"type": "key", "id": "key_operator", "name": "operator"}
    trail = api.get(f"/v1/audit?resource_id={created['id']}").data["items"]
    assert [(i["resource_type"], i["action"], i["actor"]) for i in trail] == [
        ("feed", "deleted", operator),
        ("feed", "created", operator),
    ], "newest first; reading the calendar is not a change"
    assert all(i["request_id"] for i in trail)
    assert trail[1]["changes"]["channel_ids"] == {"from": None, "to": [ch]}
    assert trail[1]["changes"]["prefix"] == {"from": None, "to": token[:8]}
    notes = bus()
    assert [(n["detail-type"], n["id"], n["actor"]) for n in notes] == [
        ("Feed Created", created["id"], operator),
        ("Feed Deleted", created["id"], operator),
    ]
    from chalicelib.services.auth import hash_key

    for text in (json.dumps(trail), json.dumps(notes)):
        assert token not in text and hash_key(token) not in text, "neither the token nor its hash"


def test_a_feed_token_opens_only_its_own_tenants_channels(api: Api) -> None:
    ours = channel(api, "Our room")
    event(api, ours, "2027-03-02T09:00:00Z", title="Ours")
    theirs_key = api.post("/v1/tenants", {"name": "Other"}).data["admin_key"]
    theirs = channel(api, "Their room", key=theirs_key)
    event(api, theirs, "2027-03-02T09:00:00Z", key=theirs_key, title="Theirs")

    their_feed = feed(api, None, key=theirs_key)
    titles = {str(e["SUMMARY"]) for e in calendar(api, their_feed["url"]).walk("VEVENT")}
    assert titles == {"Theirs"}, "an all-channels feed is all of its own tenant's channels"
    ours_feed = feed(api, None)
    assert {str(e["SUMMARY"]) for e in calendar(api, ours_feed["url"]).walk("VEVENT")} == {"Ours"}

    naming_ours = api.post("/v1/feeds", {"name": "Sneaky", "channel_ids": [theirs, ours]}, key=theirs_key)
    assert naming_ours.status_code == 422
    assert naming_ours.data["errors"] == [{"pointer": "/channel_ids/1", "detail": "no such channel"}]
    assert api.get(f"/v1/feeds/{ours_feed['id']}", key=theirs_key).status_code == 404
    assert api.delete(f"/v1/feeds/{ours_feed['id']}", key=theirs_key).status_code == 404
    assert [f["id"] for f in api.get("/v1/feeds", key=theirs_key).data["items"]] == [their_feed["id"]]
    assert fetch(api, ours_feed["url"]).status_code == 200, "untouched"


# -- managing feeds ------------------------------------------------------------------------------------


def test_a_feed_is_shown_without_its_secret_and_a_replay_does_not_repeat_it(api: Api) -> None:
    ch = channel(api)
    headers = {"Idempotency-Key": "feed-1"}
    body = {"name": "Room 101 for the front desk", "channel_ids": [ch]}
    created = api.post("/v1/feeds", body, headers=headers)
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    token = urlsplit(created.data["url"]).path.removeprefix("/v1/feeds/").removesuffix(".ics")
    assert created.data["prefix"] == token[:8] and token.startswith("ics_") and len(token) > 40
    replay = api.post("/v1/feeds", body, headers=headers)
    assert replay.status_code == 201 and replay.data["id"] == created.data["id"]
    assert replay.data["url"] is None, "the secret URL is shown once"
    record = api.get(f"/v1/feeds/{created.data['id']}")
    assert record.headers["ETag"] == '"1"'
    assert record.data == {k: v for k, v in created.data.items() if k != "url"}
    assert "url" not in record.data and token not in record.body.decode()
    listed = api.get("/v1/feeds").data
    assert listed == {"items": [record.data], "next_cursor": None}


@pytest.mark.parametrize(
    "body, pointer",
    [
        pytest.param({"channel_ids": None}, "/name", id="a name is required"),
        pytest.param({"name": "  ", "channel_ids": None}, "/name", id="a blank name"),
        pytest.param({"name": "x" * 201}, "/name", id="a name over 200 characters"),
        pytest.param({"name": "A", "channel_ids": []}, "/channel_ids", id="an empty list (null means all)"),
        pytest.param({"name": "A", "channel_ids": ["c"] * 51}, "/channel_ids", id="more than 50 channels"),
        pytest.param({"name": "A", "channel_ids": "{ch}"}, "/channel_ids", id="a string, not a list"),
        pytest.param({"name": "A", "channel_ids": [7]}, "/channel_ids/0", id="an id that is not a string"),
        pytest.param({"name": "A", "channel_ids": ["{ch}", "{ch}"]}, "/channel_ids", id="a channel twice"),
        pytest.param(
            {"name": "A", "channel_ids": ["{ch}", "ch_nope"]}, "/channel_ids/1", id="no such channel"
        ),
        pytest.param({"name": "A", "url": "x"}, "/url", id="an unknown field"),
    ],
)
def test_bad_feed_bodies_are_422_with_a_pointer(api: Api, body: dict[str, Any], pointer: str) -> None:
    ch = channel(api)
    filled = {
        k: ([i.format(ch=ch) if isinstance(i, str) else i for i in v] if isinstance(v, list) else v)
        for k, v in body.items()
    }
    response = api.post("/v1/feeds", filled)
    assert response.status_code == 422, response.data
    assert [e["pointer"] for e in response.data["errors"]] == [pointer]
    assert api.get("/v1/feeds").data["items"] == [], "nothing was created"


@pytest.mark.parametrize("scopes", [["read"], ["read", "write"]])
def test_feeds_need_an_admin_key_but_their_calendars_need_none(api: Api, scopes: list[str]) -> None:
    created = feed(api)
    key = api.post("/v1/keys", {"name": "tool", "scopes": scopes}).data["key"]
    assert api.post("/v1/feeds", {"name": "A"}, key=key).status_code == 403
    assert api.get("/v1/feeds", key=key).status_code == 403
    assert api.get(f"/v1/feeds/{created['id']}", key=key).status_code == 403
    assert api.delete(f"/v1/feeds/{created['id']}", key=key).status_code == 403
    assert api.http.get(f"/v1/feeds/{created['id']}").status_code == 401, "a record still needs a key"
    assert fetch(api, created["url"]).status_code == 200
    wrong_key = fetch(api, created["url"], Authorization="Bearer onair_nope")
    assert wrong_key.status_code == 200, "a calendar ignores headers: its token is the credential"


# -- limits and cost -----------------------------------------------------------------------------------


def test_an_all_channels_feed_reads_at_most_its_channel_limit(api: Api, services: Any) -> None:
    services.feeds.max_channels = 2
    rooms = [channel(api, f"Room {n}") for n in range(3)]
    for n, room in enumerate(rooms):
        event(api, room, f"2027-03-0{n + 2}T09:00:00Z", title=f"In room {n}")
    cal = calendar(api, feed(api)["url"])
    first_two = sorted(rooms)[:2]  # ids sort by creation time (here all made in one frozen millisecond)
    expected = {f"In room {rooms.index(room)}" for room in first_two}
    assert {str(e["SUMMARY"]) for e in cal.walk("VEVENT")} == expected, "the first two channels"
    assert "Only the tenant's first 2 channels are shown." in str(cal["X-WR-CALDESC"])


@pytest.mark.parametrize(
    "limit, shown",
    [
        pytest.param(3, ["B 2 Mar", "A daily", "A daily"], id="the first bookings from now on"),
        pytest.param(
            6,
            ["B 27 Feb", "B 2 Mar", "A daily", "A daily", "B 3 Mar", "A daily"],
            id="every one ahead, then the nearest behind",
        ),
    ],
)
def test_a_feed_holds_at_most_its_booking_limit_nearest_to_now_first(
    api: Api, services: Any, clock: Clock, limit: int, shown: list[str]
) -> None:
    services.feeds.max_entries = limit
    a, b = channel(api, "A"), channel(api, "B")
    now = clock.now
    clock.now = datetime(2027, 2, 20, tzinfo=UTC)  # book two that are past by now
    event(api, a, "2027-02-25T09:00:00Z", title="A 25 Feb")
    event(api, b, "2027-02-27T09:00:00Z", title="B 27 Feb")
    clock.now = now
    series(api, a, "2027-03-02T10:00:00", {"frequency": "daily", "count": 3}, title="A daily")
    event(api, b, "2027-03-02T09:00:00Z", title="B 2 Mar")
    event(api, b, "2027-03-03T12:00:00Z", title="B 3 Mar")
    cal = calendar(api, feed(api)["url"])
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == shown, "in calendar order"
    assert f"Only the {limit} bookings nearest to now are shown." in str(cal["X-WR-CALDESC"])


def test_a_feed_outlives_a_deleted_channel(api: Api) -> None:
    kept, dropped = channel(api, "Kept"), channel(api, "Dropped")
    event(api, kept, "2027-03-02T09:00:00Z", title="Still here")
    url = feed(api, [dropped, kept])["url"]
    assert api.delete(f"/v1/channels/{dropped}").status_code == 204
    assert [str(e["SUMMARY"]) for e in calendar(api, url).walk("VEVENT")] == ["Still here"]


def test_a_calendar_is_read_with_gets_and_queries_only_a_few_per_channel(api: Api) -> None:
    from chalicelib.adapters import aws

    rooms = [channel(api, f"Room {n}") for n in range(3)]
    series(api, rooms[0], "2027-03-02T10:00:00", {"frequency": "daily"})
    for room in rooms:
        event(api, room, "2027-03-01T12:00:00Z")
    urls = {"listed": feed(api, rooms)["url"], "all": feed(api)["url"]}
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = aws.client("dynamodb").meta.events
    events.register("before-call.dynamodb", record)
    try:
        for how, url in urls.items():
            calls.clear()
            assert fetch(api, url).status_code == 200
            lookup = "BatchGetItem" if how == "listed" else "Query"
            # The token (GetItem), the channels (one read), the series of the channel that has some
            # (Query), each channel's events from now on and from now back (a Query each).
            assert sorted(calls) == sorted(["GetItem", lookup, *["Query"] * (1 + 2 * 3)]), how
    finally:
        events.unregister("before-call.dynamodb", record)


def test_the_operator_key_is_not_a_feed_token(api: Api) -> None:
    assert api.http.get(f"/v1/feeds/{OPERATOR_KEY}.ics").status_code == 404


def test_the_feed_benchmark_runs_at_a_tiny_size() -> None:
    """bench/feeds.py at two channels, so the benchmark cannot rot (no timing is asserted)."""
    from bench.feeds import feed_poll

    found = feed_poll(channels=2, events_per_channel=3)
    assert found["by_operation"] == ["GetItem", "Query"] and found["vevents"] > 2 * 3
    assert set(found["writing"]) == {"first", "kept"}
