"""Term calendars, pure: terms with numbered teaching weeks, closures, and what they do to a series.

- A term starts on a date and has `weeks` teaching weeks: week 1 is the 7 days from its start. Weeks are
  numbered on across the calendar's terms in order (a 12-week autumn term makes spring's first week 13),
  as timetabling systems number an academic year's weeks.
- `weeks: "1-5,7-11"` names teaching weeks; a series with a calendar keeps only the occurrences whose
  original start falls in one of them (none named: every week of every term). Weeks are measured in the
  calendar's time zone, each `[first day 00:00, eighth day 00:00)`: starts inclusive, ends exclusive.
- A closure is `[start, end)` in the calendar's time zone: a date `start` means that day's 00:00, a date
  `end` means the *end* of that day (dates are inclusive, as people write holidays), a date-time `end` is
  exclusive. It closes every channel, or only `channel_ids`. An occurrence is closed when its
  `[start, end)` overlaps the closure's.

No clock, no I/O: every instant is UTC and `now` is passed in.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, StringConstraints, field_validator, model_validator

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.inputs import Int, Label, Name, Strict, TimeZone
from chalicelib.domain.models import Model, Record

MAX_TERMS = 12
MAX_WEEKS = 53  # in one term
MAX_CLOSURES = 200
_WEEKS_TEXT = re.compile(r"\s*\d{1,3}\s*(-\s*\d{1,3}\s*)?(,\s*\d{1,3}\s*(-\s*\d{1,3}\s*)?)*")
WeeksText = Annotated[str, StringConstraints(max_length=400)]


class Term(Model):
    name: str
    start: date
    weeks: int


class Closure(Model):
    """A stored closure: `start`/`end` are local wall times in the calendar's zone, `[start, end)`."""

    id: str
    name: str
    start: str
    end: str
    channel_ids: list[str] | None = None


class Calendar(Record):
    name: str
    timezone: str
    terms: list[Term] = Field(default_factory=list)
    closures: list[Closure] = Field(default_factory=list)

    def closure(self, closure_id: str) -> Closure | None:
        return next((c for c in self.closures if c.id == closure_id), None)


# -- input ---------------------------------------------------------------------------------------------


class TermIn(Strict):
    name: Name
    start: date = Field(description="the first day of teaching week 1 (YYYY-MM-DD)")
    weeks: Annotated[Int, Field(ge=1, le=MAX_WEEKS)] = Field(description="how many teaching weeks it has")


class ClosureIn(Strict):
    name: Name
    start: str = Field(description="local date (that day's 00:00) or local date-time, calendar's zone")
    end: str = Field(description="local date (inclusive: to the end of that day) or date-time (exclusive)")
    channel_ids: list[Label] | None = Field(
        default=None, max_length=500, description="the channels it closes; none: every channel"
    )


class CalendarIn(Strict):
    name: Name
    timezone: TimeZone = "UTC"
    terms: list[TermIn] = Field(default_factory=list, max_length=MAX_TERMS)
    closures: list[ClosureIn] = Field(default_factory=list, max_length=MAX_CLOSURES)

    @field_validator("terms")
    @classmethod
    def _ordered_terms(cls, terms: list[TermIn]) -> list[TermIn]:
        for index, (earlier, later) in enumerate(pairwise(terms), start=1):
            if later.start < earlier.start + timedelta(weeks=earlier.weeks):
                raise ValidationFailed.one(
                    f"/terms/{index}/start", "must be after the previous term's last teaching week"
                )
        return terms

    @model_validator(mode="after")
    def _closures(self) -> CalendarIn:
        errors: list[FieldError] = []
        for index, closure in enumerate(self.closures):
            try:
                closure_bounds(closure.start, closure.end, f"/closures/{index}")
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationFailed(errors)
        return self


def closure_bounds(start: str, end: str, pointer: str = "") -> tuple[datetime, datetime]:
    """A closure's local `[start, end)` as naive wall times (the docstring of this module says how)."""
    errors: list[FieldError] = []
    begin = _local(start, f"{pointer}/start", errors, end_of_day=False)
    finish = _local(end, f"{pointer}/end", errors, end_of_day=True)
    if errors:
        raise ValidationFailed(errors)
    assert begin is not None and finish is not None
    if finish <= begin:
        raise ValidationFailed.one(f"{pointer}/end", "must be after `start`")
    if finish - begin > timedelta(days=366):
        raise ValidationFailed.one(f"{pointer}/end", "a closure may last at most 366 days")
    return begin, finish


def _local(text: Any, pointer: str, errors: list[FieldError], end_of_day: bool) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        errors.append(FieldError(pointer, "must be a date (YYYY-MM-DD) or a local date-time"))
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1) if end_of_day else day, time())
        parsed = datetime.fromisoformat(value.replace("t", "T"))
    except (ValueError, OverflowError):
        errors.append(FieldError(pointer, "must be a date (YYYY-MM-DD) or a local date-time"))
        return None
    if parsed.tzinfo is not None:
        errors.append(FieldError(pointer, "is local to the calendar's time zone: leave out the offset"))
        return None
    if not 1970 <= parsed.year <= 2998:
        errors.append(FieldError(pointer, "must be between 1970 and 2998"))
        return None
    return parsed.replace(microsecond=0)


def stored_closure(closure_id: str, body: ClosureIn) -> Closure:
    """The stored form of a closure input: both ends as local ISO date-times."""
    start, end = closure_bounds(body.start, body.end)
    return Closure(
        id=closure_id,
        name=body.name,
        start=start.isoformat(),
        end=end.isoformat(),
        channel_ids=sorted(set(body.channel_ids)) if body.channel_ids is not None else None,
    )


def stored_terms(terms: Iterable[TermIn]) -> list[Term]:
    return [Term(name=t.name, start=t.start, weeks=t.weeks) for t in terms]


# -- teaching weeks ------------------------------------------------------------------------------------


def total_weeks(calendar: Calendar) -> int:
    return sum(term.weeks for term in calendar.terms)


def parse_weeks(text: str | None, total: int, pointer: str = "/weeks") -> tuple[int, ...]:
    """`"1-5,7-11"` as the sorted week numbers it names (each 1..total); None or blank: every week.

    Ranges are inclusive and ascending; a week named twice is an error (it is almost always a typo).
    """
    if text is None or not text.strip():
        return tuple(range(1, total + 1))
    if not _WEEKS_TEXT.fullmatch(text):
        raise ValidationFailed.one(pointer, 'must list week numbers and ranges, e.g. "1-5,7-11"')
    found: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if last < first:
            raise ValidationFailed.one(pointer, f"range {part.strip()} runs backwards")
        if first < 1 or last > total:
            raise ValidationFailed.one(
                pointer, f"the calendar has teaching weeks 1-{total}; {part.strip()} is not"
            )
        found.extend(range(first, last + 1))
    if len(set(found)) != len(found):
        raise ValidationFailed.one(pointer, "names a week twice")
    return tuple(sorted(found))


def week_starts(calendar: Calendar) -> list[date]:
    """The first day of each teaching week, numbered from 1 across the terms (index 0 is week 1)."""
    return [term.start + timedelta(weeks=i) for term in calendar.terms for i in range(term.weeks)]


def teaching_windows(
    calendar: Calendar, weeks: str | None, pointer: str = "/weeks"
) -> list[tuple[datetime, datetime]]:
    """The UTC windows `[start, end)` of the named teaching weeks, adjacent weeks merged, ascending."""
    starts = week_starts(calendar)
    if not starts:
        raise ValidationFailed.one(pointer, "the calendar has no terms, so no teaching weeks")
    zone = ZoneInfo(calendar.timezone)
    windows: list[tuple[datetime, datetime]] = []
    for number in parse_weeks(weeks, len(starts), pointer):
        first = starts[number - 1]
        start, end = _midnight(first, zone), _midnight(first + timedelta(weeks=1), zone)
        if windows and windows[-1][1] >= start:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    # fold=0: a midnight inside a DST gap is read with the offset before it (moves forward by the gap).
    return datetime.combine(day, time()).replace(tzinfo=zone).astimezone(UTC)


def in_windows(instant: datetime, windows: Sequence[tuple[datetime, datetime]]) -> bool:
    """Whether `instant` lies in one of the ascending, disjoint half-open `windows`."""
    index = bisect_right([w[0] for w in windows], instant) - 1
    return index >= 0 and instant < windows[index][1]


# -- closures ------------------------------------------------------------------------------------------


def closure_interval(closure: Closure, timezone: str) -> tuple[datetime, datetime]:
    """A stored closure as UTC instants `[start, end)`."""
    zone = ZoneInfo(timezone)
    start = datetime.fromisoformat(closure.start).replace(tzinfo=zone).astimezone(UTC)
    end = datetime.fromisoformat(closure.end).replace(tzinfo=zone).astimezone(UTC)
    return start, end


def closes(closure: Closure, channel_id: str) -> bool:
    """Whether the closure applies to the channel."""
    return closure.channel_ids is None or channel_id in closure.channel_ids


def closing(
    calendar: Calendar, channel_id: str, slots: Iterable[tuple[str, datetime, datetime]]
) -> dict[str, str]:
    """Which closure closes each slot `(key, start, end)`: {key: closure id}, the earliest closure winning.

    A slot `[a, b)` is closed by `[s, e)` when `a < e and s < b` (half-open: an occurrence ending as the
    closure begins is not closed).
    """
    intervals = sorted(
        (*closure_interval(c, calendar.timezone), c.id) for c in calendar.closures if closes(c, channel_id)
    )
    found: dict[str, str] = {}
    if not intervals:
        return found
    for key, start, end in slots:
        for closed_from, closed_until, closure_id in intervals:
            if closed_from >= end:
                break
            if start < closed_until:
                found[key] = closure_id
                break
    return found
