"""Recurring series: the stored schedule and the pure rules that turn it into occurrences.

An occurrence is named by its original start (`occurrence_start`, a UTC instant). Exceptions are kept
per occurrence: `skipped` (like EXDATE) or `overrides` (a detached, modified occurrence).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field

from chalicelib.domain.calendars import in_windows
from chalicelib.domain.conflicts import Booking
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.ids import b32
from chalicelib.domain.inputs import TEMPLATE_FIELDS, ScheduleIn
from chalicelib.domain.models import Model, Record
from chalicelib.domain.recurrence import (
    MAX_STEPS,
    Recurrence,
    expand,
    load_zone,
    parse_local_datetime,
    parse_recurrence,
)
from chalicelib.domain.time import LATEST, Instant, format_instant, parse_instant


class OccurrenceException(Model):
    """How one occurrence departs from its series."""

    skipped: bool = False
    overrides: dict[str, Any] = Field(default_factory=dict)
    event_id: str | None = None
    # Set on a skip a term calendar's closure made (restored when the closure goes; docs/calendars.md).
    closure_id: str | None = None


class Schedule(Record):
    title: str
    channel_id: str
    start: str  # DTSTART: naive local wall time, ISO format, in `timezone`
    timezone: str
    duration: int
    recurrence: dict[str, Any]
    active: bool = True
    source_ids: list[str] = Field(default_factory=list)
    start_mode: Literal["auto", "manual"] = "auto"
    end_mode: Literal["auto", "manual"] = "auto"
    record: bool = True
    publish: Literal["none", "private", "public"] = "none"
    tags: list[str] = Field(default_factory=list)
    category: str | None = None
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)
    settings: list[dict[str, Any]] = Field(default_factory=list)
    share: dict[str, Any] = Field(default_factory=lambda: {"users": [], "groups": []})
    exceptions: dict[str, OccurrenceException] = Field(default_factory=dict)
    # Occurrences at or after this instant belong to another schedule (set by a split).
    series_end: Instant | None = None
    conflicting_schedule_ids: list[str] = Field(default_factory=list)
    blocked_schedule_ids: list[str] = Field(default_factory=list)
    # Kept outside the document (written by the materialiser): how far events exist, and why the last
    # attempt to materialise failed ({"reason", "at"}; None once it works again).
    materialised_until: Instant | None = None
    failure: dict[str, str] | None = None
    # A term calendar (docs/calendars.md): occurrences only in its teaching `weeks`, resolved into UTC
    # windows `teaching` from the calendar at `calendar_version` when the schedule was written.
    calendar_id: str | None = None
    weeks: str | None = None
    teaching: list[tuple[Instant, Instant]] = Field(default_factory=list)
    calendar_version: int | None = None

    def local_start(self) -> datetime:
        return datetime.fromisoformat(self.start)

    def rule(self) -> Recurrence:
        """The parsed recurrence (stored already validated; parsed once per process and rule)."""
        return _parsed_rule(json.dumps(self.recurrence, sort_keys=True), self.timezone)

    def template(self) -> dict[str, Any]:
        """The fields copied to every materialised event."""
        return {name: getattr(self, name) for name in TEMPLATE_FIELDS}

    def status(self, next_occurrence: datetime | None) -> str:
        """`paused` when inactive, `ended` when nothing is left to run, `failing` when the materialiser
        cannot make its events (see `failure`), else `active`."""
        if not self.active:
            return "paused"
        if next_occurrence is None:
            return "ended"
        return "failing" if self.failure is not None else "active"


@lru_cache(maxsize=512)
def _parsed_rule(recurrence: str, timezone: str) -> Recurrence:
    return parse_recurrence(json.loads(recurrence), load_zone(timezone))


@dataclass(frozen=True)
class Occurrence:
    """One occurrence: its name (original start) and where it actually is."""

    occurrence_start: datetime
    start: datetime
    end: datetime
    modified: bool
    event_id: str


def normalise(body: ScheduleIn, default_zone: str) -> dict[str, Any]:
    """Validate the time fields of a schedule input and return the stored form of all its fields."""
    zone_name = body.timezone or default_zone
    zone = load_zone(zone_name)
    start = parse_local_datetime(body.start, zone, "/start")
    parse_recurrence(body.recurrence, zone)  # validates; raises with pointers under /recurrence
    fields = body.model_dump(exclude={"allow_conflict"})
    fields.update(timezone=zone_name, start=start.isoformat())
    return fields


def event_id_for(schedule_id: str, occurrence_start: datetime) -> str:
    """The deterministic event id of an occurrence: materialising twice can never create two events."""
    digest = hashlib.sha256(f"{schedule_id}|{format_instant(occurrence_start)}".encode()).digest()
    return "evt_" + b32(int.from_bytes(digest[:17], "big"), 26)


def occurrences(
    schedule: Schedule, after: datetime | None, before: datetime | None, limit: int = 10_000
) -> tuple[list[Occurrence], bool]:
    """The schedule's occurrences whose original start is in [after, before), skips left out.

    Modified occurrences carry their overridden times. Returns (occurrences, truncated).
    """
    zone = load_zone(schedule.timezone)
    if schedule.series_end is not None:
        before = schedule.series_end if before is None else min(before, schedule.series_end)
    if schedule.teaching:
        starts, truncated = _in_teaching_weeks(schedule, zone, after, before, limit)
    else:
        starts, truncated = expand(
            schedule.local_start(), zone, schedule.rule(), after=after, before=before, limit=limit
        )
    found = []
    for occ in starts:
        exception = schedule.exceptions.get(format_instant(occ))
        if exception is not None and exception.skipped:
            continue
        start, end = occ, occ + timedelta(seconds=schedule.duration)
        if end > LATEST:
            break  # instants end with the year 2999: so do series
        if exception is not None and exception.overrides:
            start, end = override_times(start, end, exception.overrides)
        found.append(
            Occurrence(
                occ,
                start,
                end,
                bool(exception and exception.overrides),
                (exception.event_id if exception else None) or event_id_for(schedule.id, occ),
            )
        )
    return found, truncated


def _in_teaching_weeks(
    schedule: Schedule, zone: Any, after: datetime | None, before: datetime | None, limit: int
) -> tuple[list[datetime], bool]:
    """The rule's starts within the schedule's teaching windows (a term is short: expand it whole)."""
    windows = schedule.teaching
    low = windows[0][0] if after is None else max(after, windows[0][0])
    high = windows[-1][1] if before is None else min(before, windows[-1][1])
    if low >= high:
        return [], False
    starts, _ = expand(schedule.local_start(), zone, schedule.rule(), after=low, before=high, limit=MAX_STEPS)
    kept = [start for start in starts if in_windows(start, windows)]
    return kept[:limit], len(kept) > limit


def merge_windows(
    windows: Iterable[tuple[datetime, datetime]], gap: timedelta = timedelta(days=1)
) -> list[tuple[datetime, datetime]]:
    """Half-open windows sorted and merged where they overlap or lie closer than `gap`."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def pending_bookings(schedule: Schedule, windows: Iterable[tuple[datetime, datetime]]) -> list[Booking]:
    """The schedule's occurrences that are bookings but not events yet, overlapping any of `windows`.

    Not events yet: the original start is at or after `materialised_until`, and the occurrence is not
    individually modified (a modified occurrence always has its event). Nearby windows are expanded
    together, so the cost follows the windows, never the distance from the series' start.
    """
    length = timedelta(seconds=schedule.duration)
    floor = schedule.materialised_until
    found: dict[str, Booking] = {}
    for start, end in merge_windows(windows):
        after = start - length if floor is None else max(start - length, floor)
        if after >= end:
            continue
        for occ in occurrences(schedule, after=after, before=end)[0]:
            if not occ.modified and occ.end > start:
                found[occ.event_id] = Booking(
                    occ.event_id, occ.start, occ.end, schedule.title, schedule.id, occ.occurrence_start, False
                )
    return list(found.values())


def override_times(start: datetime, end: datetime, overrides: dict[str, Any]) -> tuple[datetime, datetime]:
    """Apply an occurrence's `start`/`end` overrides (stored as RFC 3339 strings)."""
    new_start = parse_instant(overrides["start"]) if "start" in overrides else start
    new_end = parse_instant(overrides["end"]) if "end" in overrides else new_start + (end - start)
    return new_start, new_end


_COUNT = re.compile(r"(?<![A-Z])COUNT=\d+")


def with_count(recurrence: dict[str, Any], count: int) -> dict[str, Any]:
    """The same recurrence with COUNT replaced (for the remainder of a split series)."""
    updated = dict(recurrence)
    if "rrule" in updated:
        updated["rrule"] = _COUNT.sub(f"COUNT={count}", str(updated["rrule"]))
    else:
        updated["count"] = count
    return updated


def count_of(schedule: Schedule) -> int | None:
    """COUNT of the schedule's rule, if it has one."""
    if "rrule" in schedule.recurrence:
        found = _COUNT.search(str(schedule.recurrence["rrule"]).upper())
        return int(found.group(0).split("=")[1]) if found else None
    count = schedule.recurrence.get("count")
    return int(count) if count is not None else None


def generated_before(schedule: Schedule, at: datetime) -> int:
    """How many occurrences the rule generated before `at` (EXDATEs and skips included: COUNT counts them)."""
    zone = load_zone(schedule.timezone)
    rule = schedule.rule()
    plain = Recurrence(rule.rrule, (), (), rule.start_is_occurrence)
    starts, _ = expand(schedule.local_start(), zone, plain, before=at, limit=100_000)
    return len(starts)


def first_instant(schedule: Schedule) -> datetime:
    """DTSTART as a UTC instant (fold=0: an ambiguous local time means its first instance)."""
    return schedule.local_start().replace(tzinfo=load_zone(schedule.timezone)).astimezone(UTC)


def is_bounded(schedule: Schedule) -> bool:
    """Whether the series ends (COUNT, UNTIL, or a split that ended it): all its occurrences are known."""
    text = schedule.rule().rrule
    bounded = schedule.series_end is not None or bool(schedule.teaching)  # terms end
    return bounded or ";COUNT=" in f";{text}" or ";UNTIL=" in f";{text}"


def require_future(start: datetime, now: datetime, pointer: str = "/start") -> None:
    """A new series must start in the future."""
    if start <= now:
        raise ValidationFailed.one(pointer, "must be in the future")
