"""Term calendars, pure: teaching weeks, closures, and what a calendar does to a series."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.calendars import (
    Calendar,
    CalendarIn,
    Closure,
    Term,
    closing,
    closure_bounds,
    parse_weeks,
    teaching_windows,
)
from chalicelib.domain.closures import effect, with_calendar
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.schedules import OccurrenceException, Schedule, occurrences
from chalicelib.domain.time import format_instant
from chalicelib.domain.validation import validate

T0 = datetime(2027, 3, 1, tzinfo=UTC)


def calendar(
    *closures: Closure, terms: tuple[Term, ...] | None = None, zone: str = "Europe/London"
) -> Calendar:
    return Calendar(
        id="cal_1",
        tenant_id="t",
        created_at=T0,
        updated_at=T0,
        name="Year",
        timezone=zone,
        terms=list(terms or (Term(name="Autumn", start=date(2027, 9, 27), weeks=12),)),
        closures=list(closures),
    )


def closure(start: str, end: str, channel_ids: list[str] | None = None, closure_id: str = "clo_1") -> Closure:
    begin, finish = closure_bounds(start, end)
    return Closure(
        id=closure_id, name="Closed", start=begin.isoformat(), end=finish.isoformat(), channel_ids=channel_ids
    )


def series(weeks: str | None = "1-5,7-12", channel_id: str = "ch_1", **fields: object) -> Schedule:
    return Schedule(
        id="sch_1",
        tenant_id="t",
        created_at=T0,
        updated_at=T0,
        title="Algorithms",
        channel_id=channel_id,
        start="2027-09-27T09:00:00",
        timezone="Europe/London",
        duration=3000,
        recurrence={"frequency": "weekly"},
        calendar_id="cal_1",
        weeks=weeks,
        **fields,
    )


def starts(schedule: Schedule) -> list[str]:
    return [format_instant(o.occurrence_start) for o in occurrences(schedule, None, None)[0]]


@pytest.mark.parametrize(
    "text, total, expected",
    [
        ("1-5,7-11", 12, (1, 2, 3, 4, 5, 7, 8, 9, 10, 11)),
        (" 3 , 1-2 ", 12, (1, 2, 3)),  # spaces and any order: the weeks, sorted
        ("12", 12, (12,)),
        (None, 3, (1, 2, 3)),  # none named: every week
        ("", 2, (1, 2)),
    ],
)
def test_weeks_name_teaching_weeks(text: str | None, total: int, expected: tuple[int, ...]) -> None:
    assert parse_weeks(text, total) == expected


@pytest.mark.parametrize(
    "text, detail",
    [
        ("0-3", "the calendar has teaching weeks 1-12; 0-3 is not"),
        ("11-13", "the calendar has teaching weeks 1-12; 11-13 is not"),
        ("5-3", "range 5-3 runs backwards"),
        ("1-3,2", "names a week twice"),
        ("weeks 1-3", 'must list week numbers and ranges, e.g. "1-5,7-11"'),
        ("1-3,", 'must list week numbers and ranges, e.g. "1-5,7-11"'),
    ],
)
def test_weeks_that_cannot_be_taught_say_why(text: str, detail: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_weeks(text, 12)
    assert [(e.pointer, e.detail) for e in caught.value.errors] == [("/weeks", detail)]


def test_weeks_count_on_across_terms_and_windows_are_local_midnights() -> None:
    two = calendar(
        terms=(
            Term(name="Autumn", start=date(2027, 9, 27), weeks=2),
            Term(name="Spring", start=date(2028, 1, 10), weeks=2),
        )
    )
    windows = teaching_windows(two, "2-3")
    # Week 2 ends on a Monday in BST, week 3 (spring's first) starts in GMT: not adjacent, so two windows.
    assert [(format_instant(a), format_instant(b)) for a, b in windows] == [
        ("2027-10-03T23:00:00Z", "2027-10-10T23:00:00Z"),
        ("2028-01-10T00:00:00Z", "2028-01-17T00:00:00Z"),
    ]


def test_adjacent_weeks_merge_into_one_window_across_a_dst_change() -> None:
    (window,) = teaching_windows(calendar(), "5-6")  # the clocks go back on 2027-10-31, in week 5
    assert (format_instant(window[0]), format_instant(window[1])) == (
        "2027-10-24T23:00:00Z",
        "2027-11-08T00:00:00Z",
    )


@pytest.mark.parametrize(
    "start, end, local",
    [
        ("2027-10-25", "2027-10-29", ("2027-10-25T00:00:00", "2027-10-30T00:00:00")),  # dates: the whole days
        ("2027-10-25", "2027-10-25", ("2027-10-25T00:00:00", "2027-10-26T00:00:00")),  # one day
        (
            "2027-10-25T12:00",
            "2027-10-25T14:00",
            ("2027-10-25T12:00:00", "2027-10-25T14:00:00"),
        ),  # exclusive end
        ("2027-10-25T12:00", "2027-10-26", ("2027-10-25T12:00:00", "2027-10-27T00:00:00")),
    ],
)
def test_closure_dates_are_inclusive_and_date_times_exclusive(
    start: str, end: str, local: tuple[str, str]
) -> None:
    begin, finish = closure_bounds(start, end)
    assert (begin.isoformat(), finish.isoformat()) == local


@pytest.mark.parametrize(
    "start, end, pointer, detail",
    [
        ("2027-10-26", "2027-10-25", "/end", "must be after `start`"),
        ("2027-10-25T10:00", "2027-10-25T10:00", "/end", "must be after `start`"),
        (
            "2027-10-25T10:00Z",
            "2027-10-26",
            "/start",
            "is local to the calendar's time zone: leave out the offset",
        ),
        ("yesterday", "2027-10-26", "/start", "must be a date (YYYY-MM-DD) or a local date-time"),
        ("2027-01-01", "2028-06-01", "/end", "a closure may last at most 366 days"),
    ],
)
def test_closures_that_make_no_sense_are_refused(start: str, end: str, pointer: str, detail: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        closure_bounds(start, end)
    assert (caught.value.errors[0].pointer, caught.value.errors[0].detail) == (pointer, detail)


def test_a_calendars_terms_must_not_overlap_and_closures_point_at_their_index() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate(
            CalendarIn,
            {
                "name": "Year",
                "terms": [
                    {"name": "A", "start": "2027-09-27", "weeks": 12},
                    {"name": "B", "start": "2027-12-13", "weeks": 2},
                ],
            },
        )
    assert caught.value.errors[0].pointer == "/terms/1/start"
    with pytest.raises(ValidationFailed) as caught:
        validate(
            CalendarIn,
            {"name": "Year", "closures": [{"name": "x", "start": "2027-10-02", "end": "2027-10-01"}]},
        )
    assert caught.value.errors[0].pointer == "/closures/0/end"


@pytest.mark.parametrize(
    "slot, closed",
    [
        (("2027-10-24T22:00:00Z", "2027-10-24T23:00:00Z"), False),  # ends as the closure begins (00:00 BST)
        (("2027-10-24T22:30:00Z", "2027-10-24T23:30:00Z"), True),  # runs into it
        (("2027-10-29T22:00:00Z", "2027-10-29T23:00:00Z"), True),  # the last day, 23:00 BST
        (
            ("2027-10-30T00:00:00Z", "2027-10-30T01:00:00Z"),
            False,
        ),  # begins as it ends (Saturday 00:00 BST = 23:00Z)
    ],
)
def test_an_occurrence_is_closed_when_it_overlaps_the_closure(slot: tuple[str, str], closed: bool) -> None:
    with_closure = calendar(closure("2027-10-25", "2027-10-29"))
    start, end = (datetime.fromisoformat(s.replace("Z", "+00:00")) for s in slot)
    assert bool(closing(with_closure, "ch_1", [("k", start, end)])) == closed


def test_a_closure_for_some_channels_leaves_the_others_open() -> None:
    some = calendar(closure("2027-10-25", "2027-10-29", channel_ids=["ch_2"]))
    start = datetime(2027, 10, 25, 9, tzinfo=UTC)
    assert closing(some, "ch_1", [("k", start, start.replace(hour=10))]) == {}
    assert closing(some, "ch_2", [("k", start, start.replace(hour=10))]) == {"k": "clo_1"}


def test_a_series_keeps_only_its_teaching_weeks() -> None:
    followed = with_calendar(series(), calendar(), T0)
    found = starts(followed)
    assert len(found) == 11 and "2027-11-01T09:00:00Z" not in found  # week 6 (1 November) is not taught
    assert found[0] == "2027-09-27T08:00:00Z" and found[-1] == "2027-12-13T09:00:00Z"  # BST, then GMT


def test_closure_skips_are_marked_and_leave_peoples_skips_and_changes_alone() -> None:
    reading_week = calendar(
        closure("2027-10-04", "2027-10-08"), closure("2027-10-11", "2027-10-11", closure_id="clo_2")
    )
    mine = series(
        exceptions={
            "2027-10-04T08:00:00Z": OccurrenceException(skipped=True),  # a person skipped it first
            "2027-10-11T08:00:00Z": OccurrenceException(
                overrides={"title": "Guest lecture"}, event_id="evt_x"
            ),
        }
    )
    followed = with_calendar(mine, reading_week, T0)
    assert followed.exceptions["2027-10-04T08:00:00Z"].closure_id is None
    assert followed.exceptions["2027-10-11T08:00:00Z"].overrides == {"title": "Guest lecture"}
    assert {k: e.closure_id for k, e in followed.exceptions.items() if e.closure_id} == {}
    closed = with_calendar(series(), reading_week, T0)
    assert {k: e.closure_id for k, e in closed.exceptions.items()} == {
        "2027-10-04T08:00:00Z": "clo_1",
        "2027-10-11T08:00:00Z": "clo_2",
    }


def test_removing_a_closure_restores_exactly_its_skips_and_the_past_stays() -> None:
    closed = with_calendar(series(), calendar(closure("2027-10-04", "2027-10-15")), T0)
    later = datetime(2027, 10, 6, tzinfo=UTC)  # the first closed Monday has passed
    reopened = with_calendar(closed, calendar(), later)
    change = effect(closed, reopened, later)
    assert [format_instant(o.occurrence_start) for o in change.restored] == ["2027-10-11T08:00:00Z"]
    assert change.skipped == [] and change.added == [] and change.removed == []
    assert "2027-10-04T08:00:00Z" in reopened.exceptions, "a skip in the past is history"


def test_new_teaching_weeks_add_and_remove_occurrences() -> None:
    before = with_calendar(series("1-5"), calendar(), T0)
    after = with_calendar(series("2-6"), calendar(), T0)
    change = effect(before, after, T0)
    assert [format_instant(o.occurrence_start) for o in change.removed] == ["2027-09-27T08:00:00Z"]
    assert [format_instant(o.occurrence_start) for o in change.added] == ["2027-11-01T09:00:00Z"]
