"""What a term calendar does to one series, pure: its teaching windows and the skips its closures make.

A series that names a calendar keeps its occurrences in the calendar's teaching weeks
(`chalicelib.domain.calendars.teaching_windows`), and every future occurrence a closure closes is
skipped with the closure's id on the skip, so removing the closure restores exactly those. Skips made
by people, modified occurrences and anything that started before `now` are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.calendars import Calendar, closing, teaching_windows
from chalicelib.domain.recurrence import MAX_STEPS
from chalicelib.domain.schedules import Occurrence, OccurrenceException, Schedule, occurrences
from chalicelib.domain.time import format_instant, parse_instant


def with_calendar(schedule: Schedule, calendar: Calendar | None, now: datetime) -> Schedule:
    """The schedule as `calendar` says (None: as if it named none): teaching windows resolved, and the
    closure skips of occurrences starting at or after `now` set afresh."""
    kept = {
        key: exc
        for key, exc in schedule.exceptions.items()
        if exc.closure_id is None or parse_instant(key) < now
    }
    if calendar is None:
        return schedule.model_copy(update={"teaching": [], "calendar_version": None, "exceptions": kept})
    base = schedule.model_copy(
        update={
            "teaching": teaching_windows(calendar, schedule.weeks),
            "calendar_version": calendar.version,
            "exceptions": kept,
        }
    )
    slots = [
        (format_instant(occ.occurrence_start), occ.start, occ.end)
        for occ in future(base, now)
        if not occ.modified
    ]
    closed = closing(calendar, schedule.channel_id, slots)
    skips = {key: OccurrenceException(skipped=True, closure_id=closure) for key, closure in closed.items()}
    return base.model_copy(update={"exceptions": {**kept, **skips}})


def future(schedule: Schedule, now: datetime) -> list[Occurrence]:
    """The series' occurrences named at or after `now`: all of them for a series with a calendar (its terms
    bound it), the next two years' otherwise."""
    before = None if schedule.teaching else now + timedelta(days=731)
    return occurrences(schedule, after=now, before=before, limit=MAX_STEPS)[0]


def closure_skips(schedule: Schedule) -> dict[str, str]:
    """{occurrence_start: closure id} of the skips closures made."""
    return {key: exc.closure_id for key, exc in schedule.exceptions.items() if exc.closure_id}


@dataclass
class SeriesEffect:
    """What following its calendar changes for one series: occurrences skipped by a closure, restored
    when one went, and added or removed by a change of teaching weeks; `refused` could not be restored
    or added (they overlap other bookings) and stay skipped."""

    schedule: Schedule
    skipped: list[Occurrence] = field(default_factory=list)
    restored: list[Occurrence] = field(default_factory=list)
    added: list[Occurrence] = field(default_factory=list)
    removed: list[Occurrence] = field(default_factory=list)
    refused: list[tuple[Occurrence, list[dict[str, Any]]]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.skipped or self.restored or self.added or self.removed)


def effect(before: Schedule, after: Schedule, now: datetime) -> SeriesEffect:
    """Compare a series before and after following its calendar, occurrence by occurrence (future only)."""
    old = {format_instant(o.occurrence_start): o for o in future(before, now)}
    new = {format_instant(o.occurrence_start): o for o in future(after, now)}
    closed_before, closed_after = closure_skips(before), closure_skips(after)
    found = SeriesEffect(after)
    for key in sorted(set(old) | set(new)):
        if key in old and key not in new:
            (found.skipped if key in closed_after else found.removed).append(old[key])
        elif key in new and key not in old:
            (found.restored if key in closed_before else found.added).append(new[key])
    return found


def describe(schedule: Schedule, occ: Occurrence, materialised: bool) -> dict[str, Any]:
    """One affected occurrence, as the calendar endpoints list it."""
    item: dict[str, Any] = {
        "schedule_id": schedule.id,
        "title": schedule.title,
        "channel_id": schedule.channel_id,
        "occurrence_start": format_instant(occ.occurrence_start),
        "start": format_instant(occ.start),
        "end": format_instant(occ.end),
        "event_id": occ.event_id if materialised else None,
    }
    closure = schedule.exceptions.get(format_instant(occ.occurrence_start))
    if closure is not None and closure.closure_id:
        item["closure_id"] = closure.closure_id
    return item
