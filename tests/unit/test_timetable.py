"""Timetables in, pure: CSV, iCalendar and JSON rows, and the bookings they ask for."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.calendars import Calendar, Term
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.models import Channel
from chalicelib.domain.timetable import ics_duration, parse
from chalicelib.domain.timetable_rows import Catalog, Desired, Invalid, desired

T0 = datetime(2027, 3, 1, tzinfo=UTC)
LONDON = Channel(
    id="ch_lon", tenant_id="t", created_at=T0, updated_at=T0, name="Room 101", timezone="Europe/London"
)
NEW_YORK = Channel(
    id="ch_ny", tenant_id="t", created_at=T0, updated_at=T0, name="Hall", timezone="America/New_York"
)
TWIN_A = Channel(id="ch_a", tenant_id="t", created_at=T0, updated_at=T0, name="Twin", timezone="UTC")
TWIN_B = Channel(id="ch_b", tenant_id="t", created_at=T0, updated_at=T0, name="twin", timezone="UTC")
YEAR = Calendar(
    id="cal_1",
    tenant_id="t",
    created_at=T0,
    updated_at=T0,
    name="Year",
    timezone="Europe/London",
    terms=[Term(name="Summer", start=date(2027, 4, 5), weeks=12)],
)
CATALOG = Catalog([LONDON, NEW_YORK, TWIN_A, TWIN_B], [YEAR])


def one(fields: dict) -> Desired | Invalid:
    (raw,) = parse("json", [fields])
    return desired(raw, CATALOG)


def errors(fields: dict) -> list[tuple[str, str]]:
    found = one(fields)
    assert isinstance(found, Invalid), found
    return [(e.pointer, e.detail) for e in found.errors]


# -- reading the formats -----------------------------------------------------------------------------------


def test_csv_rows_are_numbered_from_the_first_data_row_and_keep_their_line() -> None:
    text = (
        "\ufeffExternal ID,Title,Channel,Start,Duration,meta.Lecturer\n"
        '"L1","Algorithms, part 1",Room 101,2027-04-05T09:00,3000,Dr Who\n'
        "\n"
        'L2,"Two\nlines",Room 101,2027-04-06T09:00,3000,\n'
    )
    rows = parse("csv", text)
    assert [(r.row, r.line) for r in rows] == [(1, 2), (2, 4)]
    assert rows[0].fields == {
        "external_id": "L1",
        "title": "Algorithms, part 1",
        "channel": "Room 101",
        "start": "2027-04-05T09:00",
        "duration": "3000",
        "meta.Lecturer": "Dr Who",
    }
    assert rows[1].fields["title"] == "Two\nlines" and "meta.Lecturer" not in rows[1].fields


def test_csv_from_a_spreadsheet_set_up_with_semicolons_reads_the_same() -> None:
    rows = parse(
        "csv", "external_id;title;channel;start;duration\nL1;Algorithms;Room 101;2027-04-05T09:00;3000\n"
    )
    assert rows[0].fields["title"] == "Algorithms"


@pytest.mark.parametrize(
    "text, detail",
    [
        ("", "is empty: the first line must name the columns"),
        (
            "external_id,title,channel,start,room\n",
            "`room` is not a column onair knows (keep extra data as `meta.<key>`)",
        ),
        ("external_id,title,start\n", "the required columns channel are missing"),
        ("external_id,title,channel,start,title\n", "column `title` appears twice"),
    ],
)
def test_a_csv_file_that_cannot_be_read_says_why(text: str, detail: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse("csv", text)
    assert ("/content", detail) in [(e.pointer, e.detail) for e in caught.value.errors]


def test_a_csv_row_with_more_cells_than_columns_is_that_rows_error() -> None:
    rows = parse("csv", "external_id,title,channel,start\nL1,A,Room 101,2027-04-05T09:00,extra\n")
    assert [(e.pointer, e.detail) for e in rows[0].errors] == [("", "has 5 cells; the header names 4")]


ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/London",
        "BEGIN:STANDARD",
        "DTSTART:19701025T020000",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:alg-lec",
        "SUMMARY:Algorithms\\, lecture",
        "LOCATION:Room 101",
        "DTSTART;TZID=Europe/London:20270405T090000",
        "DTEND;TZID=Europe/London:20270405T095000",
        "RRULE:FREQ=WEEKLY;COUNT=10",
        "EXDATE;TZID=Europe/London:20270419T090000",
        "CATEGORIES:year1,cs",
        "DESCRIPTION:A long description that is folded over",
        "  two lines",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:alg-lec",
        "RECURRENCE-ID;TZID=Europe/London:20270412T090000",
        "DTSTART;TZID=Europe/London:20270412T140000",
        "DURATION:PT50M",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:alg-lec",
        "RECURRENCE-ID;TZID=Europe/London:20270426T090000",
        "STATUS:CANCELLED",
        "DTSTART;TZID=Europe/London:20270426T090000",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:exam",
        "SUMMARY:Exam",
        "X-ONAIR-CHANNEL:Hall",
        "LOCATION:The big hall\\, ground floor",
        "DTSTART:20270601T130000Z",
        "DURATION:PT2H",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:holiday",
        "SUMMARY:All day",
        "LOCATION:Room 101",
        "DTSTART;VALUE=DATE:20270602",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def test_icalendar_events_become_rows_and_changed_instances_leave_their_series() -> None:
    rows = {r.fields["external_id"]: r for r in parse("ics", ICS)}
    assert set(rows) == {"alg-lec", "alg-lec#20270412T090000", "exam", "holiday"}
    series = rows["alg-lec"].fields
    assert series["title"] == "Algorithms, lecture" and series["timezone"] == "Europe/London"
    assert series["start"] == "2027-04-05T09:00:00" and series["rrule"] == "FREQ=WEEKLY;COUNT=10"
    # EXDATE, the moved instance and the cancelled one all leave the series.
    assert series["exdates"] == ["2027-04-19T09:00:00", "2027-04-12T09:00:00", "2027-04-26T09:00:00"]
    assert series["tags"] == ["year1", "cs"]
    moved = rows["alg-lec#20270412T090000"].fields
    assert (moved["start"], moved["duration"], moved["title"], moved["channel"]) == (
        "2027-04-12T14:00:00",
        "3000",
        "Algorithms, lecture",
        "Room 101",
    )
    assert rows["exam"].fields["channel"] == "Hall" and rows["exam"].fields["start"] == "2027-06-01T13:00:00Z"
    assert [(e.pointer, e.detail) for e in rows["holiday"].errors] == [
        ("/start", "is a whole day; a booking needs a time of day")
    ]
    assert [r.row for r in parse("ics", ICS)] == [1, 2, 4, 5], "rows are numbered by VEVENT"


@pytest.mark.parametrize(
    "text, detail",
    [
        ("BEGIN:VEVENT\r\nEND:VEVENT\r\n", "is not iCalendar: it must begin with BEGIN:VCALENDAR"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n", "line 3: END:VCALENDAR closes nothing open"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", "ends inside VEVENT (END:VEVENT is missing)"),
        ("BEGIN:VCALENDAR\r\nno colon here\r\nEND:VCALENDAR\r\n", "line 2 is not an iCalendar content line"),
    ],
)
def test_an_icalendar_file_that_cannot_be_read_says_where(text: str, detail: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse("ics", text)
    assert [(e.pointer, e.detail) for e in caught.value.errors] == [("/content", detail)]


@pytest.mark.parametrize(
    "value, seconds",
    [("PT50M", 3000), ("PT1H30M", 5400), ("P1D", 86400), ("P1DT2H", 93600), ("P1W", 604800), ("PT45S", 45)],
)
def test_icalendar_durations(value: str, seconds: int) -> None:
    assert ics_duration(value) == seconds


@pytest.mark.parametrize("value", ["P", "PT", "1H", "-PT1H", "PT0S"])
def test_icalendar_durations_that_are_not(value: str) -> None:
    with pytest.raises(ValueError):
        ics_duration(value)


def test_json_rows_may_be_an_array_or_an_object_with_rows_and_unknown_keys_are_row_errors() -> None:
    assert parse("json", '{"rows": [{"external_id": "a"}]}')[0].fields == {"external_id": "a"}
    (row,) = parse("json", [{"external_id": "a", "room": "x"}])
    assert [(e.pointer, e.detail) for e in row.errors] == [("/room", "is not a known field")]
    with pytest.raises(ValidationFailed):
        parse("json", '{"items": []}')


# -- the booking a row asks for ---------------------------------------------------------------------------


def test_a_session_row_is_an_event_in_its_channels_time_zone() -> None:
    found = one(
        {
            "external_id": "S1",
            "title": "Seminar",
            "channel": "room 101",
            "start": "2027-04-05 09:00",
            "end": "10:30",
        }
    )
    assert isinstance(found, Desired) and found.kind == "event"
    assert found.body["start"] == "2027-04-05T08:00:00Z" and found.body["end"] == "2027-04-05T09:30:00Z"
    assert found.channel_id == "ch_lon"


@pytest.mark.parametrize(
    "start, zone, expected",
    [
        ("2027-03-28T01:30", "Europe/London", "2027-03-28T01:30:00Z"),  # in the spring-forward gap: moved on
        ("2027-10-31T01:30", "Europe/London", "2027-10-31T00:30:00Z"),  # ambiguous: its first instance
        ("2027-04-05T09:00:00-04:00", "Europe/London", "2027-04-05T13:00:00Z"),  # an offset wins
        ("2027-04-05T09:00", "America/New_York", "2027-04-05T13:00:00Z"),  # the row's zone wins
    ],
)
def test_local_times_follow_the_dst_policy(start: str, zone: str, expected: str) -> None:
    found = one(
        {
            "external_id": "S",
            "title": "T",
            "channel": "Room 101",
            "start": start,
            "duration": 600,
            "timezone": zone,
        }
    )
    assert isinstance(found, Desired) and found.body["start"] == expected


def test_a_row_with_weeks_is_a_weekly_series_in_that_calendars_teaching_weeks() -> None:
    found = one(
        {
            "external_id": "L1",
            "title": "Algorithms",
            "channel": "Hall",
            "start": "2027-04-05T09:00",
            "end": "2027-04-05T09:50",
            "calendar": "year",
            "weeks": "1-5,7-12",
            "tags": "year1;cs",
            "record": "no",
            "meta.module": "CS101",
        }
    )
    assert isinstance(found, Desired) and found.kind == "series"
    body = found.body
    assert (body["start"], body["timezone"], body["duration"]) == (
        "2027-04-05T09:00:00",
        "America/New_York",
        3000,
    )
    assert body["recurrence"] == {"frequency": "weekly"} and (body["calendar_id"], body["weeks"]) == (
        "cal_1",
        "1-5,7-12",
    )
    assert (
        body["tags"] == ["year1", "cs"]
        and body["record"] is False
        and body["metadata"] == {"module": "CS101"}
    )


BASE = {"external_id": "x", "title": "T", "channel": "Room 101", "start": "2027-04-05T09:00"}
ONE = {**BASE, "duration": 60}
BAD_ROWS = [
    ({**ONE, "external_id": None}, "/external_id", "is required: it is how the row is found again next time"),
    ({**ONE, "title": None}, "/title", "is required"),
    ({**BASE, "channel": "Nowhere"}, "/channel", "no channel has this id or name"),
    ({**BASE, "channel": "twin"}, "/channel", "2 channels are named 'twin'; give the id"),
    (
        {**BASE, "timezone": "Mars/Olympus"},
        "/timezone",
        "must be an IANA time zone name such as Europe/London",
    ),
    ({**BASE, "duration": "an hour"}, "/duration", "must be a whole number"),
    ({**BASE, "end": "08:00"}, "/end", "must be after `start`"),
    ({**ONE, "weeks": "1-3"}, "/calendar", "is needed with `weeks`: the calendar numbers the weeks"),
    (
        {**ONE, "calendar": "Year", "weeks": "1-13"},
        "/weeks",
        "the calendar has teaching weeks 1-12; 1-13 is not",
    ),
    ({**ONE, "days": "MO,XX"}, "/days", "must be a day (MON, MONDAY) or 0-6 with 0 = Sunday"),
    (
        {**ONE, "rrule": "FREQ=WEEKLY", "count": 3},
        "/count",
        "cannot be combined with `rrule`; put it in the RRULE",
    ),
    (
        {**ONE, "exdates": "2027-04-12T09:00"},
        "/exdates",
        "belongs to a series: give a rule (frequency or rrule) too",
    ),
    ({**ONE, "record": "maybe"}, "/record", "must be true or false (yes/no, 1/0)"),
]


@pytest.mark.parametrize("fields, pointer, detail", BAD_ROWS)
def test_a_bad_row_names_each_bad_field(fields: dict, pointer: str, detail: str) -> None:
    assert errors({k: v for k, v in fields.items() if v is not None}) == [(pointer, detail)]
