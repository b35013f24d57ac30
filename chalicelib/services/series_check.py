"""Series conflicts: a series' occurrences checked against every booking on its channel over the series'
own span, and the conflict summaries series keep of one another.

What is checked (docs/conflicts.md):

- a bounded series (COUNT, UNTIL or ended by a split) over all its occurrences, at most
  `MAX_BOUNDED_OCCURRENCES` of them (422 beyond);
- an endless one against every event already booked on the channel however far ahead, against bounded
  series over their whole span, and against other endless series from its start to its start + the
  conflict horizon; the scheduled tick checks the next stretch of endless series against each other as
  time passes (`roll`), the only overlap that can still arise;
- its own occurrences against one another: a channel does one thing at a time (422 naming the first two);
- at most `MAX_HORIZON_OCCURRENCES` occurrences of the channel's series within the materialisation horizon.

Reads: one paged Query of the channel's events for the span, one Query of its series; other series are
expanded only near this series' occurrences.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from chalicelib.adapters.records import RecordStore
from chalicelib.adapters.schedules import ScheduleStore
from chalicelib.domain.conflicts import Booking, ConflictRef, Slot, find_conflicts
from chalicelib.domain.errors import StaleWrite, ValidationFailed
from chalicelib.domain.messages import SYSTEM, OverlapAccepted, SlotReleased
from chalicelib.domain.models import Channel, Event
from chalicelib.domain.recurrence import LAST_INSTANT, MAX_STEPS
from chalicelib.domain.schedules import (
    Occurrence,
    Schedule,
    first_instant,
    is_bounded,
    merge_windows,
    occurrences,
    pending_bookings,
)
from chalicelib.domain.time import format_instant
from chalicelib.services.bookings import ChannelBookings
from chalicelib.services.messagebus import MessageBus

log = logging.getLogger("onair.series")

MAX_BOUNDED_OCCURRENCES = 5_000
"""The most occurrences a series with an end may have (each is checked when it is written)."""

MAX_HORIZON_OCCURRENCES = 2_000
"""The most occurrences a channel's series may have within the materialisation horizon (30 days)."""


@dataclass(frozen=True)
class SeriesCheck:
    """What checking a series found: every overlap, and the occurrences it checked."""

    conflicts: list[ConflictRef]
    checked: int

    def summaries(self, own_id: str) -> dict[str, list[str]]:
        """`conflicting_schedule_ids`: series overlapping any occurrence; `blocked_schedule_ids`: series
        whose bookings wholly contain every occurrence checked."""
        conflicting = sorted(
            {c.schedule_id for c in self.conflicts if c.schedule_id and c.schedule_id != own_id}
        )
        blocked_at: dict[str, set[datetime]] = {}
        for c in self.conflicts:
            if c.schedule_id and c.kind == "blocked" and c.occurrence_start is not None:
                blocked_at.setdefault(c.schedule_id, set()).add(c.occurrence_start)
        blocked = sorted(s for s, at in blocked_at.items() if len(at) == self.checked and s != own_id)
        return {"conflicting_schedule_ids": conflicting, "blocked_schedule_ids": blocked}


def _slot(occ: Occurrence) -> Slot:
    return Slot(occ.start, occ.end, occ.occurrence_start)


class SeriesConflicts:
    """Checks series against their channel's bookings and keeps the series' conflict summaries."""

    def __init__(
        self,
        store: ScheduleStore,
        channels: RecordStore[Channel],
        bookings: ChannelBookings,
        conflict_horizon: timedelta,
        horizon: timedelta,
        bus: MessageBus,
    ) -> None:
        self.store = store
        self.channels = channels
        self.bookings = bookings
        self.conflict_horizon = conflict_horizon
        self.horizon = horizon
        self.bus = bus

    def listen(self, bus: MessageBus) -> None:
        bus.subscribe(OverlapAccepted, self.overlap_accepted)
        bus.subscribe(SlotReleased, lambda m: self.released(m.event, m.at))

    # -- the check ------------------------------------------------------------------------------------

    def check(
        self,
        schedule: Schedule,
        channel: Channel,
        now: datetime,
        replaces: Callable[[Booking], bool] | None = None,
    ) -> SeriesCheck:
        """Every overlap of the series' occurrences (from now on) with the channel's other bookings.

        Raises 422 at `/recurrence` for a series that overlaps itself or is too large. `replaces` drops
        bookings this write replaces (a split's own later occurrences).
        """
        if not schedule.active:
            return SeriesCheck([], 0)
        co = channel.changeover
        span_start = max(first_instant(schedule), now)
        own = self._own(schedule, span_start)
        self._check_itself(own, co)
        series = [s for s in self.bookings.series(channel) if s.id != schedule.id]
        self._check_density(schedule, own, series, span_start)
        bounded = is_bounded(schedule)
        span_end = (own[-1].end if own else span_start) if bounded else span_start + self.conflict_horizon
        # One paged Query: the span's events, or for an endless series every event from its start on.
        events, seen = self.bookings.events(channel, span_start - co, span_end + co if bounded else None)
        far: list[tuple[datetime, datetime]] = []
        others: list[Booking] = []
        if not bounded:
            far += [(e.start - co, e.end + co) for e in events if e.end + co > span_end]
            for other in series:
                if is_bounded(other):  # a bounded series is checked over its whole span
                    later = pending_bookings(other, [(span_end, LAST_INSTANT)])
                    others += later
                    far += [(b.start - co, b.end + co) for b in later]
        slots = [_slot(o) for o in own if not o.modified]
        if far:
            slots += [_slot(o) for o in self._near(schedule, far) if not o.modified and o.start >= span_end]
        windows = [(s.start - co, s.end + co) for s in slots]
        near_span = [(s.start - co, s.end + co) for s in slots if s.start < span_end]
        for other in series:
            if is_bounded(other):
                others += pending_bookings(other, [w for w in windows if w[0] < span_end])
            else:
                others += pending_bookings(other, near_span)
        bookings = [
            b
            for b in [*events, *{o.event_id: o for o in others if o.event_id not in seen}.values()]
            if b.schedule_id != schedule.id and (replaces is None or not replaces(b))
        ]
        return SeriesCheck(find_conflicts(slots, bookings, co), len(slots))

    def added(self, check: SeriesCheck, before: SeriesCheck | None) -> list[ConflictRef]:
        """The overlaps of `check` with bookings the series did not already overlap before the change
        (an overlap accepted earlier never blocks a change that adds none)."""
        if before is None:
            return check.conflicts
        had = {c.event_id for c in before.conflicts}
        return [c for c in check.conflicts if c.event_id not in had]

    def _own(self, schedule: Schedule, span_start: datetime) -> list[Occurrence]:
        """The occurrences to check from `span_start`: all of a bounded series (capped), the conflict
        horizon's worth of an endless one."""
        if is_bounded(schedule):
            found, more = occurrences(schedule, after=span_start, before=None, limit=MAX_BOUNDED_OCCURRENCES)
            if more:
                raise ValidationFailed.one(
                    "/recurrence",
                    f"a series with an end may have at most {MAX_BOUNDED_OCCURRENCES} occurrences; "
                    "end it sooner or leave it endless",
                )
            return found
        found, _ = occurrences(
            schedule, after=span_start, before=span_start + self.conflict_horizon, limit=MAX_STEPS
        )
        return found

    def _near(self, schedule: Schedule, windows: Sequence[tuple[datetime, datetime]]) -> list[Occurrence]:
        """The series' occurrences overlapping the windows (nearby windows expanded together)."""
        found: dict[datetime, Occurrence] = {}
        length = timedelta(seconds=schedule.duration)
        for start, end in merge_windows(windows):
            for occ in occurrences(schedule, after=start - length, before=end, limit=MAX_STEPS)[0]:
                found[occ.occurrence_start] = occ
        return sorted(found.values(), key=lambda o: o.start)

    @staticmethod
    def _check_itself(own: Sequence[Occurrence], changeover: timedelta) -> None:
        """A channel does one thing at a time: no two of the series' occurrences may overlap."""
        ordered = sorted((o for o in own if not o.modified), key=lambda o: o.start)
        for earlier, later in pairwise(ordered):
            if later.start < earlier.end + changeover:
                raise ValidationFailed.one(
                    "/recurrence",
                    f"its occurrences at {format_instant(earlier.start)} and {format_instant(later.start)} "
                    "overlap: the duration (plus the channel's changeover) is longer than the gap between "
                    "them, and a channel does one thing at a time",
                )

    def _check_density(
        self, schedule: Schedule, own: Sequence[Occurrence], series: Sequence[Schedule], start: datetime
    ) -> None:
        """At most MAX_HORIZON_OCCURRENCES of the channel's occurrences in the materialisation horizon
        that follows the series' start: each becomes an event there."""
        end = start + self.horizon
        count = sum(1 for o in own if o.occurrence_start < end)
        for other in series:
            count += len(occurrences(other, after=start, before=end, limit=MAX_HORIZON_OCCURRENCES + 1)[0])
        if count > MAX_HORIZON_OCCURRENCES:
            raise ValidationFailed.one(
                "/recurrence",
                f"the channel would have {count} occurrences within {self.horizon.days} days; at most "
                f"{MAX_HORIZON_OCCURRENCES} are allowed",
            )

    # -- the rolling check ----------------------------------------------------------------------------

    def roll(self, schedule: Schedule, channel: Channel, now: datetime) -> list[str]:
        """The tick's check of the next stretch of an endless series against other endless series (the
        one overlap that can arise after writing): marks both series and announces each new one.

        Returns the ids of series newly found overlapping.
        """
        if not schedule.active or is_bounded(schedule):
            return []
        co = channel.changeover
        start, end = now, now + self.conflict_horizon
        own = [_slot(o) for o in occurrences(schedule, after=start, before=end, limit=MAX_STEPS)[0]]
        if not own:
            return []
        windows = [(s.start - co, s.end + co) for s in own]
        others = [
            b
            for other in self.bookings.series(channel)
            if other.id != schedule.id and not is_bounded(other)
            for b in pending_bookings(other, windows)
        ]
        found = find_conflicts(own, others, co)
        fresh = sorted(
            {c.schedule_id for c in found if c.schedule_id} - set(schedule.conflicting_schedule_ids)
        )
        for other in fresh:
            self.set_conflict(schedule.tenant_id, schedule.id, other, True)
            self.set_conflict(schedule.tenant_id, other, schedule.id, True)
            conflicts = [c for c in found if c.schedule_id == other]
            self.bus.publish(OverlapAccepted(schedule.tenant_id, channel.id, schedule.id, conflicts, SYSTEM))
        return fresh

    # -- summaries ------------------------------------------------------------------------------------

    def overlap_accepted(self, message: OverlapAccepted) -> None:
        """An overlap someone accepted was booked by a series' event: record it on both series."""
        if message.event is not None:
            self.mark_conflict(message.event, message.conflicts)

    def mark_conflict(self, event: Event, conflicts: list[ConflictRef]) -> None:
        """An allowed overlap was booked: record it on both series."""
        if event.schedule_id is None:
            return
        others = {c.schedule_id for c in conflicts if c.schedule_id and c.schedule_id != event.schedule_id}
        for other in others:
            self.set_conflict(event.tenant_id, event.schedule_id, other, True)
            self.set_conflict(event.tenant_id, other, event.schedule_id, True)

    def released(self, event: Event, now: datetime) -> None:
        """A series' event stopped holding its slot (cancelled, deleted, moved): its overlaps may be gone."""
        if event.schedule_id is None:
            return
        schedule = self.store.get(event.tenant_id, event.schedule_id)
        if schedule is None or not schedule.conflicting_schedule_ids:  # nothing to shrink otherwise
            return
        channel = self.channels.get(schedule.tenant_id, schedule.channel_id)
        if channel is not None:
            self.refresh(schedule, channel, now)

    def sync_partners(self, schedule: Schedule, before: set[str]) -> None:
        """Overlap is mutual: series that now overlap list this one, series that no longer do drop it."""
        after = set(schedule.conflicting_schedule_ids)
        for other in after:
            self.set_conflict(schedule.tenant_id, other, schedule.id, True)
        for other in before - after:
            self.set_conflict(schedule.tenant_id, other, schedule.id, False)

    def refresh(self, schedule: Schedule, channel: Channel, now: datetime) -> Schedule:
        """Recompute a series' conflicting/blocked ids from the bookings as they are, on both sides."""
        try:
            fresh = self.check(schedule, channel, now).summaries(schedule.id)
        except ValidationFailed:
            return schedule  # a stored series that no longer checks (limits changed): leave it as it is
        if all(fresh[f] == getattr(schedule, f) for f in fresh):
            return schedule
        updated = self.update(schedule, fresh) or schedule
        self.sync_partners(updated.model_copy(update=fresh), set(schedule.conflicting_schedule_ids))
        return updated

    def set_conflict(self, tenant_id: str, schedule_id: str, other: str, present: bool) -> None:
        """Add `other` to (or drop it from) a series' conflicting ids (and its blocked ids when dropped)."""
        schedule = self.store.get(tenant_id, schedule_id)
        if schedule is None or (other in schedule.conflicting_schedule_ids) == present:
            return
        ids = set(schedule.conflicting_schedule_ids)
        ids = ids | {other} if present else ids - {other}
        fields: dict[str, Any] = {"conflicting_schedule_ids": sorted(ids)}
        if not present:
            fields["blocked_schedule_ids"] = [s for s in schedule.blocked_schedule_ids if s != other]
        self.update(schedule, fields)

    def update(self, schedule: Schedule, fields: dict[str, Any]) -> Schedule | None:
        """Write summary fields, re-reading on a concurrent change (they are derived: last writer wins)."""
        for _ in range(3):
            updated = schedule.model_copy(update={**fields, "version": schedule.version + 1})
            try:
                self.store.replace(updated, schedule.version)
                return updated
            except StaleWrite:
                reread = self.store.get(schedule.tenant_id, schedule.id)
                if reread is None:
                    return None
                schedule = reread
        return None
