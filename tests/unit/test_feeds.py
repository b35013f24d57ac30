"""The pure rules of calendar feeds: SEQUENCE, STATUS, and the iCalendar text read back with `icalendar`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from chalicelib.domain.conflicts import Booking
from chalicelib.domain.feeds import (
    CANCELLED,
    CONFIRMED,
    PLANNED,
    Entry,
    event_entry,
    occurrence_entry,
    sequence,
    window,
)
from chalicelib.domain.ical import Header, Room, calendar, etag
from chalicelib.domain.models import Event, EventState
from chalicelib.domain.schedules import Schedule

NOW = datetime(2027, 3, 1, 8, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def room(zone: str = "Europe/London", location: str | None = None) -> Room:
    return Room("ch_1", "Room 101", zone, location)


def entry(start: str, minutes: int = 50, **extra: object) -> Entry:
    fields = {
        "uid": "evt_1",
        "channel_id": "ch_1",
        "title": "Lecture",
        "start": at(start),
        "end": at(start) + timedelta(minutes=minutes),
        "state": "scheduled",
        "status": CONFIRMED,
        "sequence": 1,
        "modified": NOW,
        **extra,
    }
    return Entry(**fields)  # type: ignore[arg-type]


def parsed(entries: list[Entry], channel: Room) -> Calendar:
    header = Header("Rooms", "All rooms", "https://onair.example/api/", window(NOW), timedelta(days=30))
    return Calendar.from_ical(calendar(header, entries, {channel.id: channel}))


# -- SEQUENCE ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "earlier, later, rises, message",
    [
        ((NOW, 0), (NOW, 1), True, "an occurrence that becomes an event in the same second rises"),
        ((NOW, 0), (NOW + timedelta(seconds=1), 0), True, "a series edit a second later rises"),
        ((NOW, 1), (NOW, 2), True, "two changes of an event in one second still rise (its version)"),
        ((NOW, 7), (NOW + timedelta(days=400), 8), True, "a change a year later rises"),
        ((NOW, 3), (NOW - timedelta(seconds=1), 4), False, "a writer whose clock is a second behind: level"),
    ],
)
def test_sequence_never_goes_down(earlier: tuple, later: tuple, rises: bool, message: str) -> None:
    assert sequence(*later) >= sequence(*earlier), message
    assert (sequence(*later) > sequence(*earlier)) == rises, message


def test_sequence_fits_a_32_bit_integer_until_2092() -> None:
    assert sequence(datetime(2092, 1, 1, tzinfo=UTC), 1000) < 2**31 - 1
    assert sequence(datetime(2020, 1, 1, tzinfo=UTC), 3) == 3, "before the epoch: the version alone"


# -- STATUS --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, status",
    [
        (EventState.SCHEDULED, CONFIRMED),
        (EventState.PROVISIONING, CONFIRMED),
        (EventState.READY, CONFIRMED),
        (EventState.LIVE, CONFIRMED),
        (EventState.STOPPED, CONFIRMED),
        (EventState.COMPLETED, CONFIRMED),
        (EventState.CANCELLED, CANCELLED),
        (EventState.FAILED, CANCELLED),  # it no longer holds its slot: the room is free (availability agrees)
    ],
)
def test_an_events_status_says_whether_it_still_holds_its_slot(state: EventState, status: str) -> None:
    event = Event(
        id="evt_1",
        tenant_id="t",
        created_at=NOW,
        updated_at=NOW + timedelta(hours=1),
        version=4,
        title="Talk",
        channel_id="ch_1",
        start=NOW,
        end=NOW + timedelta(hours=1),
        state=state,
    )
    made = event_entry(event)
    assert (made.status, made.state, made.is_event) == (status, state.value, True)
    assert made.sequence == sequence(NOW + timedelta(hours=1), 4)


def test_a_planned_occurrence_is_confirmed_and_named_by_its_future_event() -> None:
    schedule = Schedule(
        id="sch_1",
        tenant_id="t",
        created_at=NOW,
        updated_at=NOW + timedelta(minutes=5),
        version=3,
        title="Algorithms",
        channel_id="ch_1",
        start="2027-05-03T09:00:00",
        timezone="Europe/London",
        duration=3000,
        recurrence={"frequency": "weekly"},
    )
    booking = Booking("evt_future", at("2027-05-03T08:00:00Z"), at("2027-05-03T08:50:00Z"), "", "sch_1")
    made = occurrence_entry(booking, schedule)
    assert (made.uid, made.status, made.state, made.is_event) == ("evt_future", CONFIRMED, PLANNED, False)
    assert (made.title, made.schedule_id, made.modified) == ("Algorithms", "sch_1", schedule.updated_at)
    assert made.sequence == sequence(schedule.updated_at, 0)


# -- the iCalendar text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, start, local, message",
    [
        ("Europe/London", "2027-03-27T09:00:00Z", "2027-03-27 09:00", "GMT, the day before the change"),
        ("Europe/London", "2027-03-28T08:00:00Z", "2027-03-28 09:00", "BST, the day of the change"),
        ("Europe/London", "2027-10-31T09:00:00Z", "2027-10-31 09:00", "GMT again in the autumn"),
        ("America/New_York", "2027-03-15T22:00:00Z", "2027-03-15 18:00", "EDT after New York's change"),
        ("Australia/Lord_Howe", "2027-04-04T01:00:00Z", "2027-04-04 11:30", "a half-hour DST zone"),
    ],
)
def test_times_are_written_in_the_channels_zone_with_its_vtimezone(
    zone: str, start: str, local: str, message: str
) -> None:
    cal = parsed([entry(start)], room(zone))
    (vevent,) = cal.walk("VEVENT")
    assert vevent["DTSTART"].params["TZID"] == zone, message
    assert vevent["DTSTART"].dt.strftime("%Y-%m-%d %H:%M") == local, message
    assert vevent["DTSTART"].dt.astimezone(UTC) == at(start), message
    assert vevent["DTEND"].dt - vevent["DTSTART"].dt == timedelta(minutes=50), message
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == [zone], message


def test_a_utc_channel_writes_utc_times_and_needs_no_vtimezone() -> None:
    text = calendar(
        Header("Rooms", "", "https://x/", window(NOW), timedelta(days=30)),
        [entry("2027-03-02T09:00:00Z")],
        {"ch_1": room("UTC")},
    )
    assert "DTSTART:20270302T090000Z" in text.splitlines()
    assert "VTIMEZONE" not in text


def test_text_that_needs_escaping_comes_back_as_written() -> None:
    title = 'Maths, part 2; "limits"\nand more \\ backslash'
    cal = parsed([entry("2027-03-02T09:00:00Z", title=title)], room(location="Main building, floor 2"))
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == title
    assert str(vevent["LOCATION"]) == "Room 101, Main building, floor 2"


def test_a_planned_occurrence_says_so_and_links_to_its_week_in_the_console() -> None:
    planned = entry("2027-05-03T08:00:00Z", uid="evt_future", state=PLANNED, schedule_id="sch_1")
    (vevent,) = parsed([planned], room()).walk("VEVENT")
    link = "https://onair.example/api/#/week/2027-05-03/ch_1"
    assert str(vevent["DESCRIPTION"]).splitlines() == [
        "State: planned (a series occurrence; it becomes an event 30 days before it starts)",
        "Series: sch_1",
        f"Open in the onair console: {link}",
    ]
    assert (str(vevent["URL"]), str(vevent["UID"]), str(vevent["STATUS"])) == (
        link,
        "evt_future@onair",
        "CONFIRMED",
    )


def test_the_console_link_uses_the_local_date_not_the_utc_one() -> None:
    late = entry("2027-03-02T23:30:00Z", minutes=30)  # 2 March in London, 3 March in Auckland
    (vevent,) = parsed([late], room("Pacific/Auckland")).walk("VEVENT")
    assert str(vevent["URL"]).endswith("#/week/2027-03-03/ch_1")


def test_the_etag_follows_what_the_text_shows_and_nothing_else() -> None:
    entries = [entry("2027-03-02T09:00:00Z"), entry("2027-06-02T09:00:00Z", uid="evt_2")]
    header = Header("Rooms", "All", "https://x/", window(NOW), timedelta(days=30))
    rooms = {"ch_1": room()}
    text, tag = calendar(header, entries, rooms), etag(header, entries, rooms)
    later = Header("Rooms", "All", "https://x/", window(NOW + timedelta(hours=5)), timedelta(days=30))
    assert (calendar(later, entries, rooms), etag(later, entries, rooms)) == (text, tag), (
        "the same bookings an hour later: the same text and ETag"
    )
    for changed, message in [
        (
            (header, [*entries[:1], entry("2027-06-02T09:00:00Z", uid="evt_2", sequence=2)], rooms),
            "a booking",
        ),
        ((header, entries, {"ch_1": room(location="Annex")}), "the room"),
        ((Header("Other", "All", "https://x/", window(NOW), timedelta(days=30)), entries, rooms), "the name"),
        ((header, entries[:1], rooms), "one booking fewer"),
    ]:
        assert calendar(*changed) != text and etag(*changed) != tag, message


def test_importing_the_app_and_its_services_does_not_load_icalendar() -> None:
    probe = (
        "import json, sys, app\n"
        "from chalicelib.services import feeds\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('icalendar'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [], "icalendar costs ~0.1 s to import: only a feed request pays for it"


# -- series occurrences, a stretch at a time -----------------------------------------------------------


def series(rule: dict, start: str = "2027-03-01T09:00:00", duration: int = 3000) -> Schedule:
    return Schedule(
        id="sch_1",
        tenant_id="t",
        created_at=NOW,
        updated_at=NOW,
        title="Lecture",
        channel_id="ch_1",
        start=start,
        timezone="Europe/London",
        duration=duration,
        recurrence=rule,
    )


@pytest.mark.parametrize(
    "schedule, message",
    [
        (series({"frequency": "daily"}), "daily, across London's change and many stretches"),
        (series({"rrule": "FREQ=HOURLY;INTERVAL=2"}, duration=3600), "every other hour: thousands"),
        (series({"frequency": "weekly"}, duration=3 * 24 * 3600), "three days long: across stretch edges"),
        (series({"frequency": "daily", "count": 3}), "three only"),
        (series({"frequency": "daily"}, start="2028-06-01T09:00:00"), "after the window"),
    ],
)
def test_occurrences_read_a_stretch_at_a_time_are_all_of_them_once_in_order(
    schedule: Schedule, message: str
) -> None:
    from chalicelib.domain.schedules import pending_bookings
    from chalicelib.services.feeds import order, pending

    start, end = NOW + timedelta(days=2, hours=5), NOW + timedelta(days=365)
    whole = sorted(
        (occurrence_entry(b, schedule) for b in pending_bookings(schedule, [(start, end)])), key=order
    )
    assert list(pending([schedule], start, end)) == whole, message
    assert list(pending([schedule], start, end, back=True)) == whole[::-1], message
    assert all(e.end > start and e.start < end for e in whole), message
