"""RFC 5545 recurrence: parse the API's `recurrence` object and expand it in an IANA time zone.

A rule is evaluated in naive local wall time with dateutil (so 09:00 stays 09:00 across DST), and
each local time then becomes a UTC instant by RFC 5545 §3.3.5: a local time in a spring-forward gap
is read with the offset before the gap (it moves forward by the gap), and an ambiguous fall-back time
means its first instance. Expansion windows are half-open: `after <= occurrence < before`.
"""

from __future__ import annotations

import calendar
import heapq
import re
import time as time_module
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from math import gcd
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from dateutil.rrule import DAILY, HOURLY, MINUTELY, MONTHLY, WEEKLY, YEARLY, rrule, rruleset, weekday

from chalicelib.domain.errors import FieldError, ValidationFailed

# How far apart two UTC offsets of one zone can be (+14:00 vs -12:00, plus historic date-line
# jumps): local order and UTC order of occurrences never disagree by more than this.
_MAX_SHIFT = timedelta(hours=48)

_FREQ_BY_NAME = {
    "YEARLY": YEARLY,
    "MONTHLY": MONTHLY,
    "WEEKLY": WEEKLY,
    "DAILY": DAILY,
    "HOURLY": HOURLY,
    "MINUTELY": MINUTELY,
}
_FREQ_NAME = {value: name for name, value in _FREQ_BY_NAME.items()}
_SIMPLE_FREQS = ("daily", "weekly", "monthly", "yearly")

# Index = dateutil weekday number (Monday = 0).
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FULL_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
# The simple form's day names: MO, MON and MONDAY, in any case.
_DAY_NAMES = {name: i for i, full in enumerate(_FULL_DAYS) for name in (full[:2], full[:3], full)}

# Numeric rule parts: (lowest, highest, negatives allowed), ranges from RFC 5545 §3.3.10.
_INT_PARTS: dict[str, tuple[int, int, bool]] = {
    "BYMONTH": (1, 12, False),
    "BYWEEKNO": (1, 53, True),
    "BYYEARDAY": (1, 366, True),
    "BYMONTHDAY": (1, 31, True),
    "BYHOUR": (0, 23, False),
    "BYMINUTE": (0, 59, False),
    "BYSECOND": (0, 59, False),  # no leap seconds: Python datetimes cannot hold second 60
    "BYSETPOS": (1, 366, True),
}
_BEFORE_BYDAY = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY")
_AFTER_BYDAY = ("BYHOUR", "BYMINUTE", "BYSECOND", "BYSETPOS")
_KNOWN_PARTS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "WKST", *_INT_PARTS})

_INT_RE = re.compile(r"[+-]?\d{1,3}")
_POSITIVE_RE = re.compile(r"\d{1,9}")
_BYDAY_RE = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?")

_RRULE_KEYS = frozenset({"rrule", "exdates", "rdates"})
_SIMPLE_KEYS = frozenset({"frequency", "interval", "days", "count", "until", "exdates", "rdates"})
# Keys of the IANA database that name the host's setting rather than a zone.
_NOT_ZONES = frozenset({"localtime", "posixrules"})

# Instants end in the year 2999 (chalicelib.domain.time): no occurrence is listed at or after this.
LAST_INSTANT = datetime(3000, 1, 1, tzinfo=UTC)
# The most local times one expansion may generate, wherever they fall: a request's recurrence work is
# bounded whatever the rule (a rule that needs more is refused with 422 at /recurrence).
MAX_STEPS = 50_000
MAX_CPU_SECONDS = 1.5

# Whole periods a rule repeats by, for skipping ahead to a window without changing the rule.
_PERIOD = {
    WEEKLY: timedelta(weeks=1),
    DAILY: timedelta(days=1),
    HOURLY: timedelta(hours=1),
    MINUTELY: timedelta(minutes=1),
}


@dataclass(frozen=True)
class Recurrence:
    """A validated rule: an RFC 5545 RRULE value (no DTSTART) plus RDATE/EXDATE as naive local wall times."""

    rrule: str
    rdates: tuple[datetime, ...] = ()
    exdates: tuple[datetime, ...] = ()
    # RFC 5545 makes DTSTART the first occurrence even off-rule; the simple form's `start` only
    # anchors the first day and the time of day, so it sets this to False.
    start_is_occurrence: bool = True


@dataclass(frozen=True)
class _Rule:
    """A parsed RRULE; `until` is a UTC instant (inclusive)."""

    freq: int
    interval: int = 1
    count: int | None = None
    until: datetime | None = None
    ints: dict[str, tuple[int, ...]] = field(default_factory=dict)
    byday: tuple[tuple[int, int], ...] = ()  # (ordinal or 0, weekday with Monday = 0)
    wkst: int = 0

    def text(self) -> str:
        """The rule in canonical part order, UNTIL in UTC."""
        parts = [f"FREQ={_FREQ_NAME[self.freq]}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        parts += [f"{name}={_join(self.ints[name])}" for name in _BEFORE_BYDAY if name in self.ints]
        if self.byday:
            parts.append("BYDAY=" + ",".join(f"{n or ''}{_WEEKDAYS[wd]}" for n, wd in self.byday))
        parts += [f"{name}={_join(self.ints[name])}" for name in _AFTER_BYDAY if name in self.ints]
        if self.wkst:
            parts.append(f"WKST={_WEEKDAYS[self.wkst]}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            u = self.until
            parts.append(
                f"UNTIL={u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}Z"
            )
        return ";".join(parts)

    def build(self, dtstart: datetime, count: int | None, until: datetime | None) -> rrule:
        """The dateutil rule over naive local times."""
        kwargs: dict[str, Any] = {name.lower(): values for name, values in self.ints.items()}
        if self.byday:
            kwargs["byweekday"] = [weekday(wd, n or None) for n, wd in self._dateutil_byday()]
        return rrule(
            self.freq,
            dtstart=dtstart,
            interval=self.interval,
            wkst=self.wkst,
            count=count,
            until=until,
            **kwargs,
        )

    def _dateutil_byday(self) -> tuple[tuple[int, int], ...]:
        """BYDAY as dateutil should read it.

        RFC 5545 §3.3.10 makes each BYDAY value an alternative, so `FREQ=MONTHLY;BYDAY=1MO,TU` is the
        first Monday *and* every Tuesday. dateutil intersects plain and numbered days instead (it then
        finds nothing), so a plain day in a mixed list becomes every numbered instance of that day in
        the period: 1..5 in a month (MONTHLY, or YEARLY with BYMONTH), 1..53 in a year.
        """
        numbered = [entry for entry in self.byday if entry[0]]
        if not numbered or len(numbered) == len(self.byday):
            return self.byday
        most = 5 if self.freq == MONTHLY or "BYMONTH" in self.ints else 53
        expanded = list(numbered)
        for n, wd in self.byday:
            if not n:
                expanded += [(i, wd) for i in range(1, most + 1) if (i, wd) not in expanded]
        return tuple(expanded)

    def times(self, dtstart: datetime, count: int | None, until: datetime | None) -> Iterator[datetime]:
        """The local times the RRULE itself generates from `dtstart` (at most `count`, none after `until`).

        RFC 5545 applies BYSETPOS to whole periods; dateutil starts a WEEKLY rule's first week at DTSTART,
        so a position would count from a partial week. Such a rule runs from the start of DTSTART's week
        (WKST) and drops what falls before DTSTART, counting only what is left (RFC 5545 §3.3.10: "the
        BYSETPOS rule part ... specifies ... within the set of recurrence instances" of each period).
        """
        start = dtstart
        if self.freq == WEEKLY and "BYSETPOS" in self.ints:
            start = dtstart - timedelta(days=(dtstart.weekday() - self.wkst) % 7)
        produced = 0
        # COUNT is applied here rather than by dateutil, which refuses COUNT together with UNTIL (the
        # search bound is passed as UNTIL).
        for local in self.build(start, None, until):
            if local < dtstart:
                continue
            if count is not None and produced == count:
                return
            produced += 1
            yield local


def load_zone(name: str, pointer: str = "/timezone") -> ZoneInfo:
    """The IANA zone called `name`; an unknown or malformed name is a ValidationFailed at `pointer`."""
    if not isinstance(name, str) or name in _NOT_ZONES or name not in _zone_names():
        raise ValidationFailed.one(pointer, "must be an IANA time zone name such as Europe/London")
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # Checking membership first keeps odd keys ("../x", "zone.tab") away from ZoneInfo's file loader.
    return frozenset(available_timezones())


def to_local_naive(value: datetime, zone: ZoneInfo) -> datetime:
    """An aware datetime as the zone's naive wall time; a naive one is already local and comes back as is."""
    if value.tzinfo is None:
        return value
    # fold=0: a wall time read back later means its first instance, as the DST policy says.
    return value.astimezone(zone).replace(tzinfo=None, fold=0)


def occurrence_local(start_utc: datetime, zone: ZoneInfo) -> datetime:
    """The wall time to use as EXDATE/RDATE for an occurrence returned by `expand` (its UTC start)."""
    return to_local_naive(start_utc, zone)


def parse_local_datetime(value: Any, zone: ZoneInfo, pointer: str) -> datetime:
    """A local date-time (naive ISO), an instant (ISO with Z/offset) or epoch seconds, as naive local time."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationFailed.one(pointer, "must be a date-time string or integer epoch seconds")
    try:
        if isinstance(value, int):
            parsed = datetime.fromtimestamp(value, UTC)
        else:
            text = value.strip().upper()
            if "T" not in text and " " not in text:
                raise ValidationFailed.one(pointer, "needs a time of day, e.g. 2027-01-05T09:00:00")
            parsed = datetime.fromisoformat(text)
        return to_local_naive(parsed, zone).replace(microsecond=0)
    except (OverflowError, OSError):
        raise ValidationFailed.one(pointer, "is out of range") from None
    except ValueError:
        raise ValidationFailed.one(pointer, "is not an RFC 3339 date-time") from None


def parse_recurrence(raw: dict[str, Any], zone: ZoneInfo, pointer_prefix: str = "") -> Recurrence:
    """Validate the API's `recurrence` object (RRULE form or simple form) into a `Recurrence`."""
    base = f"{pointer_prefix}/recurrence"
    if not isinstance(raw, dict):
        raise ValidationFailed.one(base, "must be an object")
    has_rrule = raw.get("rrule") is not None
    if has_rrule == (raw.get("frequency") is not None):
        raise ValidationFailed.one(base, "needs exactly one of `rrule` or `frequency`")
    errors: list[FieldError] = []
    allowed = _RRULE_KEYS if has_rrule else _SIMPLE_KEYS
    for key in raw:
        if key not in allowed:
            detail = (
                "is not allowed with `rrule`; put it in the RRULE"
                if has_rrule and key in _SIMPLE_KEYS
                else "is not a recurrence field"
            )
            errors.append(FieldError(f"{base}/{_escape(key)}", detail))
    text = ""
    try:
        text = (
            _parse_rrule(raw["rrule"], zone, f"{base}/rrule").text()
            if has_rrule
            else simple_to_rrule(raw, zone, base)
        )
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    rdates = _parse_dates(raw.get("rdates"), zone, f"{base}/rdates", errors)
    exdates = _parse_dates(raw.get("exdates"), zone, f"{base}/exdates", errors)
    if errors:
        raise ValidationFailed(errors)
    return Recurrence(text, rdates, exdates, start_is_occurrence=has_rrule)


def simple_to_rrule(raw: dict[str, Any], zone: ZoneInfo, pointer: str = "/recurrence") -> str:
    """The RRULE for the simple form's frequency, interval, days, count and until (not exdates/rdates)."""
    errors: list[FieldError] = []
    freq = raw.get("frequency")
    if not isinstance(freq, str) or freq.lower() not in _SIMPLE_FREQS:
        errors.append(FieldError(f"{pointer}/frequency", "must be one of " + ", ".join(_SIMPLE_FREQS)))
    interval = _positive(raw.get("interval", 1), f"{pointer}/interval", errors)
    count = _positive(raw.get("count"), f"{pointer}/count", errors)
    byday = _simple_days(raw.get("days"), f"{pointer}/days", errors)
    until = None
    if raw.get("until") is not None:
        if raw.get("count") is not None:
            errors.append(FieldError(f"{pointer}/until", "cannot be combined with `count`"))
        else:
            try:
                until = _simple_until(raw["until"], zone, f"{pointer}/until")
            except ValidationFailed as exc:
                errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    # Listing days makes them the only days (BYDAY) whatever the frequency.
    return _Rule(_FREQ_BY_NAME[freq.upper()], interval or 1, count, until, {}, byday).text()


def expand(
    start: datetime,
    zone: ZoneInfo,
    rec: Recurrence,
    *,
    after: datetime | None = None,
    before: datetime | None = None,
    limit: int = 100,
) -> tuple[list[datetime], bool]:
    """UTC occurrence starts, ascending, with `after <= t < before`, at most `limit`; True if `limit` cut any.

    `start` is DTSTART as naive local wall time. COUNT counts what the RRULE generates (DTSTART
    included, as RFC 5545 says); EXDATE then removes, and RDATE adds, occurrences.
    """
    for name, bound in (("after", after), ("before", before)):
        if bound is not None and bound.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
    if limit < 0:
        raise ValueError("limit must not be negative")
    before = LAST_INSTANT if before is None else min(before, LAST_INSTANT)
    rule = _parse_rrule(rec.rrule, zone, "/recurrence/rrule")
    dtstart = to_local_naive(start, zone).replace(microsecond=0, fold=0)
    explicit = set(rec.rdates)
    count = rule.count
    at_start = _at_start(rule, dtstart)
    possible = at_start is not None
    if rec.start_is_occurrence:
        explicit.add(dtstart)
        # dateutil drops an off-rule DTSTART; RFC 5545 keeps it and counts it toward COUNT.
        if count is not None and at_start != [dtstart]:
            count -= 1
    until_local = None
    if rule.until is not None:
        # A little past the instant's wall time; the exact cut is made in UTC below.
        until_local = _add_clamped(_wall_clamped(rule.until, zone), _MAX_SHIFT)
    # Without COUNT nothing depends on the occurrences before `after`, so the rule may start later.
    rule_start = dtstart if count is not None or after is None else _skip_ahead(rule, dtstart, after, zone)
    # dateutil searches without yielding while a rule matches nothing; a bound keeps that search short.
    until_local = _search_bound(until_local, before, zone)
    rset = rruleset()
    if possible and count != 0:
        rset.rrule(rule.times(rule_start, count, until_local))  # type: ignore[arg-type]
    for local in explicit:
        rset.rdate(local)
    for local in rec.exdates:
        rset.exdate(local)
    excluded = {u for u in (_to_utc(local, zone) for local in rec.exdates) if u is not None}

    found: list[datetime] = []
    for instant in _instants(_budgeted(rset), zone, explicit, rule.until, excluded):
        if instant >= before:
            return found, False
        if after is not None and instant < after:
            continue
        if len(found) == limit:
            return found, True
        found.append(instant)
    return found, False


def _budgeted(local_times: Iterable[datetime], steps: int = MAX_STEPS) -> Iterator[datetime]:
    """The local times, refusing (422 at /recurrence) once more than `steps` were generated, or once the
    expansion has used MAX_CPU_SECONDS of this thread's CPU.

    Steps bound what a rule yields; the CPU budget bounds what dateutil does between two yields, which
    for some rules is large (a BYSETPOS list over a year of candidate days and times is sorted for
    every period). It is a resource guard, not a clock: no answer ever depends on the time of day.
    """
    began = time_module.thread_time()
    for taken, local in enumerate(local_times):
        if taken == steps or (taken % 64 == 0 and time_module.thread_time() - began > MAX_CPU_SECONDS):
            raise ValidationFailed.one(
                "/recurrence",
                "needs too much work to expand (more than "
                f"{steps} steps or {MAX_CPU_SECONDS:g} s); use a simpler rule or a narrower window",
            )
        yield local


def _search_bound(until_local: datetime | None, before: datetime, zone: ZoneInfo) -> datetime:
    """The last local time worth generating: UNTIL, or just past `before` (RRULE wall times lag UTC by at
    most _MAX_SHIFT), whichever is first."""
    bound = _add_clamped(_wall_clamped(before, zone), _MAX_SHIFT)
    return bound if until_local is None else min(until_local, bound)


def _instants(
    local_times: Iterable[datetime],
    zone: ZoneInfo,
    explicit: set[datetime],
    until: datetime | None,
    excluded: set[datetime],
) -> Iterator[datetime]:
    """Local occurrences as sorted, distinct UTC instants, lazily."""
    # Local order is not UTC order next to a gap (02:30 read before the gap is later than 03:00
    # after it), and two local times can meet at one instant; a heap that holds back anything
    # within _MAX_SHIFT of the newest instant restores order, and equal neighbours are dropped.
    pending: list[datetime] = []
    last: datetime | None = None
    for local in local_times:
        instant = _to_utc(local, zone)
        if instant is None or instant in excluded:
            continue
        # UNTIL bounds only what the RRULE generates; RDATEs and DTSTART stand.
        if until is not None and instant > until and local not in explicit:
            continue
        heapq.heappush(pending, instant)
        try:
            horizon = instant - _MAX_SHIFT
        except OverflowError:
            continue
        while pending and pending[0] < horizon:
            ready = heapq.heappop(pending)
            if ready != last:
                last = ready
                yield ready
    while pending:
        ready = heapq.heappop(pending)
        if ready != last:
            last = ready
            yield ready


def _skip_ahead(rule: _Rule, dtstart: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """A later DTSTART, whole periods on, that yields the same occurrences from `after` onwards."""
    period = _PERIOD.get(rule.freq)
    if period is None:
        return dtstart
    try:
        target = to_local_naive(after, zone) - _MAX_SHIFT
        step = period * rule.interval
    except OverflowError:
        return dtstart
    if target <= dtstart:
        return dtstart
    return dtstart + ((target - dtstart) // step) * step


def _at_start(rule: _Rule, dtstart: datetime) -> list[datetime] | None:
    """`[dtstart]` if the rule itself produces DTSTART, `[]` if not, None if it can never produce anything."""
    if _never_matches(rule, dtstart) or _out_of_phase(rule, dtstart):
        return None
    try:
        # dateutil refuses rules that this start's phase empties (BYHOUR=1 every 2 hours from
        # 00:00): when built, or on its first step (every 120 minutes), so run up to one step.
        return list(rule.times(dtstart, None, dtstart))
    except ValueError:
        return None


def _never_matches(rule: _Rule, dtstart: datetime | None) -> bool:
    """True when no day satisfies the rule's day filters together (30 February, 1 January as day 2 of
    the year), or BYSETPOS asks for more than any period holds (the second of one time a day).

    dateutil would search such a rule up to year 9999 before giving up, which takes seconds.
    """
    months = set(rule.ints.get("BYMONTH", ()))
    monthdays = set(rule.ints.get("BYMONTHDAY", ()))
    yeardays = set(rule.ints.get("BYYEARDAY", ()))
    # Ordinals (1MO) only narrow further; the plain weekday is enough to prove a rule empty.
    weekdays = {wd for _, wd in rule.byday}
    defaults = not (monthdays or weekdays or yeardays or "BYWEEKNO" in rule.ints)
    if dtstart is not None and defaults and rule.freq in (MONTHLY, YEARLY):
        # dateutil's defaults: the start's day of the month, and for YEARLY its month too.
        monthdays = {dtstart.day}
        if rule.freq == YEARLY and not months:
            months = {dtstart.month}
    if sum(map(bool, (months, monthdays, yeardays, weekdays))) >= 2 and not any(
        (not months or month in months)
        and (not monthdays or day in monthdays or day_from_end in monthdays)
        and (not yeardays or yearday in yeardays or yearday_from_end in yeardays)
        and (not weekdays or wd in weekdays)
        for month, day, day_from_end, yearday, yearday_from_end, wd in _calendar_days()
    ):
        return True
    setpos = rule.ints.get("BYSETPOS")
    if setpos and rule.freq in (WEEKLY, DAILY, HOURLY, MINUTELY):
        # Each period's set: the finer time parts multiply; a week adds up to its listed days.
        finer = {
            WEEKLY: _AFTER_BYDAY[:3],
            DAILY: _AFTER_BYDAY[:3],
            HOURLY: _AFTER_BYDAY[1:3],
            MINUTELY: _AFTER_BYDAY[2:3],
        }[rule.freq]
        size = (len(weekdays) or 1) if rule.freq == WEEKLY else 1
        for name in finer:
            size *= len(rule.ints.get(name, ())) or 1
        return min(abs(pos) for pos in setpos) > size
    return False


_MINUTES = {DAILY: 24 * 60, HOURLY: 60, MINUTELY: 1}
_WEEK_MINUTES = 7 * 24 * 60


def _out_of_phase(rule: _Rule, dtstart: datetime) -> bool:
    """True when the rule's steps from DTSTART never land on a day (and hour, minute) its filters allow.

    `FREQ=DAILY;INTERVAL=7;BYDAY=MO` from a Tuesday only ever visits Tuesdays; dateutil would step to
    the year 9999 looking for a Monday. Steps of whole minutes revisit the same weekday and time of day
    after at most one week's worth of distinct positions, so walking those positions decides it.
    """
    if rule.freq not in _MINUTES:
        return False
    weekdays = {wd for _, wd in rule.byday}
    # Finer parts expand inside each step (a DAILY step's BYHOUR); only coarser ones filter the steps.
    hours = set(rule.ints.get("BYHOUR", ())) if rule.freq in (HOURLY, MINUTELY) else set()
    minutes = set(rule.ints.get("BYMINUTE", ())) if rule.freq == MINUTELY else set()
    if not (weekdays or hours or minutes):
        return False
    step = _MINUTES[rule.freq] * rule.interval
    position = dtstart.weekday() * 24 * 60 + dtstart.hour * 60 + dtstart.minute
    for _ in range(_WEEK_MINUTES // gcd(step, _WEEK_MINUTES)):
        day, minute_of_day = divmod(position, 24 * 60)
        hour, minute = divmod(minute_of_day, 60)
        if (
            (not weekdays or day in weekdays)
            and (not hours or hour in hours)
            and (not minutes or minute in minutes)
        ):
            return False
        position = (position + step) % _WEEK_MINUTES
    return True


@lru_cache(maxsize=1)
def _calendar_days() -> tuple[tuple[int, int, int, int, int, int], ...]:
    """Every day of 14 years, one per (leap year, weekday of 1 January): all the kinds of year there are.

    Each day is (month, day, day counted from the month's end (-1 = last), day of the year,
    day of the year from its end, weekday).
    """
    kinds: dict[tuple[bool, int], int] = {}
    for year in range(2001, 2029):  # one 28-year solar cycle holds every kind
        kinds.setdefault((calendar.isleap(year), date(year, 1, 1).weekday()), year)
    days = []
    for year in kinds.values():
        first = date(year, 1, 1)
        length = 366 if calendar.isleap(year) else 365
        for index in range(length):
            day = first + timedelta(days=index)
            from_end = day.day - calendar.monthrange(year, day.month)[1] - 1
            days.append((day.month, day.day, from_end, index + 1, index - length, day.weekday()))
    return tuple(days)


def _parse_rrule(value: Any, zone: ZoneInfo, pointer: str) -> _Rule:
    """Parse and validate an RRULE value by RFC 5545 §3.3.10."""

    def fail(detail: str) -> ValidationFailed:
        return ValidationFailed.one(pointer, detail)

    if not isinstance(value, str):
        raise fail("must be an RRULE string such as FREQ=WEEKLY;BYDAY=MO,WE")
    text = value.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper():
        raise fail("must not contain DTSTART; the schedule's `start` is the first occurrence")
    if not text:
        raise fail("must not be empty")
    if any(char in text for char in ":\r\n"):
        raise fail("must be a single RRULE value")
    parts: dict[str, str] = {}
    for item in text.split(";"):
        name, sep, part = item.partition("=")
        name = name.strip().upper()
        if not sep or not name or not part.strip():
            raise fail(f"has a part that is not NAME=VALUE: {item!r}")
        if name not in _KNOWN_PARTS:
            raise fail(f"has an unsupported part {name}")
        if name in parts:
            raise fail(f"repeats {name}")
        parts[name] = part.strip().upper()

    if "FREQ" not in parts:
        raise fail("needs FREQ")
    if parts["FREQ"] == "SECONDLY":
        raise fail("FREQ=SECONDLY is too fine; the finest supported is MINUTELY")
    if parts["FREQ"] not in _FREQ_BY_NAME:
        raise fail("FREQ must be one of " + ", ".join(_FREQ_BY_NAME))
    freq = _FREQ_BY_NAME[parts["FREQ"]]
    if "COUNT" in parts and "UNTIL" in parts:
        raise fail("cannot have both COUNT and UNTIL")
    numbers: dict[str, int] = {}
    for name in ("INTERVAL", "COUNT"):
        if name in parts:
            if not _POSITIVE_RE.fullmatch(parts[name]) or int(parts[name]) < 1:
                raise fail(f"{name} must be a whole number from 1 to 999999999")
            numbers[name] = int(parts[name])
    until = _rrule_until(parts["UNTIL"], zone, fail) if "UNTIL" in parts else None

    ints: dict[str, tuple[int, ...]] = {}
    for name, (low, high, signed) in _INT_PARTS.items():
        if name not in parts:
            continue
        values: list[int] = []
        for item in parts[name].split(","):
            number = int(item) if _INT_RE.fullmatch(item) else None
            if number is None or not (low <= number <= high or (signed and -high <= number <= -low)):
                span = f"{low} to {high}" + (f" or -{high} to -{low}" if signed else "")
                raise fail(f"{name} values must be whole numbers from {span}")
            if number not in values:
                values.append(number)
        ints[name] = tuple(values)
    byday: list[tuple[int, int]] = []
    for item in parts["BYDAY"].split(",") if "BYDAY" in parts else ():
        match = _BYDAY_RE.fullmatch(item)
        ordinal = int(match.group(1)) if match and match.group(1) else 0
        if not match or (match.group(1) and not 1 <= abs(ordinal) <= 53):
            raise fail(f"BYDAY has an invalid day {item!r}; use MO..SU with an optional ordinal such as -1FR")
        if (ordinal, _WEEKDAYS.index(match.group(2))) not in byday:
            byday.append((ordinal, _WEEKDAYS.index(match.group(2))))
    wkst = 0
    if "WKST" in parts:
        if parts["WKST"] not in _WEEKDAYS:
            raise fail("WKST must be one of " + ",".join(_WEEKDAYS))
        wkst = _WEEKDAYS.index(parts["WKST"])

    # Combinations RFC 5545 §3.3.10 forbids; dateutil would quietly ignore or reinterpret them.
    if any(n for n, _ in byday) and (freq not in (MONTHLY, YEARLY) or "BYWEEKNO" in ints):
        raise fail("BYDAY ordinals (e.g. 1MO) need FREQ=MONTHLY or FREQ=YEARLY without BYWEEKNO")
    if "BYWEEKNO" in ints and freq != YEARLY:
        raise fail("BYWEEKNO needs FREQ=YEARLY")
    if "BYYEARDAY" in ints and freq in (DAILY, WEEKLY, MONTHLY):
        raise fail("BYYEARDAY cannot be used with FREQ=DAILY, WEEKLY or MONTHLY")
    # Hour- and minute-steps that skip whole days by a day-of-month or day-of-year filter make dateutil walk
    # every skipped day in slow steps (seconds per decade); such rules are written with FREQ=DAILY and
    # BYHOUR/BYMINUTE instead, which onair expands quickly.
    if freq in (HOURLY, MINUTELY) and ("BYMONTHDAY" in ints or "BYYEARDAY" in ints):
        raise fail(
            "FREQ=HOURLY and FREQ=MINUTELY cannot use BYMONTHDAY or BYYEARDAY; use FREQ=DAILY with BYHOUR"
        )
    if "BYMONTHDAY" in ints and freq == WEEKLY:
        raise fail("BYMONTHDAY cannot be used with FREQ=WEEKLY")
    if "BYSETPOS" in ints and not (byday or len(ints) > 1):
        raise fail("BYSETPOS needs another BYxxx part")
    rule = _Rule(freq, numbers.get("INTERVAL", 1), numbers.get("COUNT"), until, ints, tuple(byday), wkst)
    if _never_matches(rule, None):
        raise fail("can never occur: no day satisfies its BYxxx parts together")
    # Whatever else dateutil refuses; the probe starts on the rule's own first hour, minute and
    # second, since a start off its phase can empty a valid rule (BYHOUR=1 every 2 hours).
    probe = datetime(2000, 1, 1, *(ints.get(name, (0,))[0] for name in ("BYHOUR", "BYMINUTE", "BYSECOND")))
    try:
        rule.build(probe, 1, None)
    except (ValueError, TypeError) as exc:
        raise fail(f"is not a valid RRULE: {exc}") from None
    return rule


def _rrule_until(value: str, zone: ZoneInfo, fail: Any) -> datetime:
    """UNTIL as a UTC instant: `...Z` is one, a floating date-time is local, a bare date is its day's end."""
    match = _UNTIL_RE.fullmatch(value)
    try:
        if not match:
            raise ValueError(value)
        year, month, day, hour, minute, second, utc = match.groups()
        if hour is None:
            return _end_of_local_day(date(int(year), int(month), int(day)), zone)
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        if utc:
            return moment.replace(tzinfo=UTC)
        return _to_utc_or_fail(moment, zone)
    except (ValueError, OverflowError):
        raise fail(
            "UNTIL must be a date (19971224), a local date-time (19971224T090000) "
            "or a UTC date-time (19971224T000000Z)"
        ) from None


def _simple_until(value: Any, zone: ZoneInfo, pointer: str) -> datetime:
    """The simple form's `until` as a UTC instant; a bare date means the end of that local day."""
    if isinstance(value, str) and "T" not in value.upper() and " " not in value:
        try:
            return _end_of_local_day(date.fromisoformat(value), zone)
        except (ValueError, OverflowError):
            raise ValidationFailed.one(pointer, "must be a date (2027-06-30) or a date-time") from None
    local = parse_local_datetime(value, zone, pointer)
    try:
        return _to_utc_or_fail(local, zone)
    except OverflowError:
        raise ValidationFailed.one(pointer, "is out of range") from None


def _end_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """The last second of a local day, as a UTC instant."""
    try:
        # The next midnight's first instance (a midnight in a gap reads as the transition moment).
        return _to_utc_or_fail(datetime.combine(day + timedelta(days=1), time()), zone) - timedelta(seconds=1)
    except OverflowError:
        return _to_utc_or_fail(datetime.combine(day, time(23, 59, 59)), zone)


def _simple_days(value: Any, pointer: str, errors: list[FieldError]) -> tuple[tuple[int, int], ...]:
    """The simple form's `days` as BYDAY entries, Monday first; 0-6 count from Sunday."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        errors.append(FieldError(pointer, 'must be a non-empty list of days such as ["MON", "WED"]'))
        return ()
    found: set[int] = set()
    for i, item in enumerate(value):
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
            found.add((item - 1) % 7)  # 0 = Sunday -> dateutil's 6
        elif isinstance(item, str) and item.strip().upper() in _DAY_NAMES:
            found.add(_DAY_NAMES[item.strip().upper()])
        else:
            errors.append(FieldError(f"{pointer}/{i}", "must be a day (MON, MONDAY) or 0-6 with 0 = Sunday"))
    return tuple((0, wd) for wd in sorted(found))


def _positive(value: Any, pointer: str, errors: list[FieldError]) -> int | None:
    """A whole number >= 1, or None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 999_999_999:
        errors.append(FieldError(pointer, "must be a whole number from 1 to 999999999"))
        return None
    return value


def _parse_dates(value: Any, zone: ZoneInfo, pointer: str, errors: list[FieldError]) -> tuple[datetime, ...]:
    """An EXDATE/RDATE list as sorted, distinct naive local times."""
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.append(FieldError(pointer, "must be a list of date-times"))
        return ()
    found: set[datetime] = set()
    for i, item in enumerate(value):
        try:
            found.add(parse_local_datetime(item, zone, f"{pointer}/{i}"))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    return tuple(sorted(found))


def _to_utc(local: datetime, zone: ZoneInfo) -> datetime | None:
    """A wall time as UTC by the DST policy (fold=0: a gap uses the earlier offset, an overlap its first)."""
    try:
        return local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    except OverflowError:  # within hours of year 1 or 9999
        return None


def to_utc(local: datetime, zone: ZoneInfo, pointer: str = "/start") -> datetime:
    """A local wall time as the UTC instant the DST policy gives it; 422 at `pointer` if out of range."""
    instant = _to_utc(local, zone)
    if instant is None:
        raise ValidationFailed.one(pointer, "is out of range")
    return instant


def _to_utc_or_fail(local: datetime, zone: ZoneInfo) -> datetime:
    instant = _to_utc(local, zone)
    if instant is None:
        raise OverflowError(local)
    return instant


def _wall_clamped(instant: datetime, zone: ZoneInfo) -> datetime:
    try:
        return to_local_naive(instant, zone)
    except OverflowError:
        return datetime.max


def _add_clamped(value: datetime, delta: timedelta) -> datetime:
    try:
        return value + delta
    except OverflowError:
        return datetime.max


def _join(values: Iterable[int]) -> str:
    return ",".join(str(v) for v in values)


def _escape(key: Any) -> str:
    """A JSON Pointer reference token (RFC 6901)."""
    return str(key).replace("~", "~0").replace("/", "~1")
