"""A channel's bookings: the one notion every overlap check, suggestion and availability answer uses.

The bookings of a channel in `[a, b)` are its live events (not cancelled, not failed, not soft-deleted)
plus the occurrences of its active series that are not events yet, at any distance from now. A read is
one paged Query of the channel's events for the window and one Query of its series; only the window is
expanded, never a read per occurrence.

Race-freedom: callers read the channel (its `booking_version`) first, then bookings, and condition their
write on that version. Series are read before events, so an occurrence that a concurrent tick turns
into an event is seen at least once (as the occurrence, or as the event), and twice only under the
same id, which counts once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta

from chalicelib.adapters.events import EventStore
from chalicelib.adapters.schedules import ScheduleStore
from chalicelib.domain.conflicts import (
    Booking,
    ConflictRef,
    Slot,
    availability,
    earliest_free_slot,
    find_conflicts,
)
from chalicelib.domain.models import Channel, Event
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.schedules import Schedule, pending_bookings
from chalicelib.domain.time import format_instant

SEARCH_STEP = timedelta(days=14)  # the free-slot search reads the channel a fortnight at a time


def as_booking(event: Event) -> Booking:
    return Booking(event.id, event.start, event.end, event.title, event.schedule_id, event.occurrence_start)


class ChannelBookings:
    """Reads a channel's bookings and applies the pure overlap rules of `chalicelib.domain.conflicts`."""

    def __init__(self, events: EventStore, schedules: ScheduleStore, horizon: timedelta) -> None:
        self.event_store = events
        self.schedule_store = schedules
        self.horizon = horizon  # how far ahead suggestions are searched

    # -- reads ----------------------------------------------------------------------------------------

    def series(self, channel: Channel) -> list[Schedule]:
        """The channel's active series (one Query, none for a channel that has never had a series);
        paused ones book nothing."""
        if channel.series_count <= 0:
            return []
        return [s for s in self.schedule_store.for_channel(channel.tenant_id, channel.id) if s.active]

    def events(
        self, channel: Channel, start: datetime, end: datetime | None
    ) -> tuple[list[Booking], set[str]]:
        """The live events overlapping `[start, end)` (`end` None: however far ahead) as bookings, and
        the ids of every event the read saw, live or not (an occurrence with an event is not pending)."""
        bookings: list[Booking] = []
        seen: set[str] = set()
        for event in self.every_event(channel, start, end):
            seen.add(event.id)
            if event.occupies():
                bookings.append(as_booking(event))
        return bookings, seen

    def every_event(
        self, channel: Channel, start: datetime, end: datetime | None, descending: bool = False
    ) -> Iterator[Event]:
        """Every event overlapping `[start, end)` in any state (a calendar shows cancelled ones too), by
        start (latest first with `descending`), read lazily a Query page at a time; `events()` keeps the
        live ones. With `series()` read first, the live ones and the series' `pending_bookings` not among
        these are `window()`'s bookings."""
        query = EventQuery(
            tenant_id=channel.tenant_id,
            channel_id=channel.id,
            start_from=start,
            to=end,
            descending=descending,
            limit=500,
        )
        return self.event_store.iterate(query, channel.max_event_seconds)

    def window(
        self,
        channel: Channel,
        start: datetime,
        end: datetime,
        series: Sequence[Schedule] | None = None,
        skip_series: Collection[str] = (),
    ) -> list[Booking]:
        """Every booking overlapping `[start, end)`: live events and pending occurrences of active series."""
        series = self.series(channel) if series is None else series  # before the events: see the module doc
        events, seen = self.events(channel, start, end)
        pending = [
            booking
            for schedule in series
            if schedule.id not in skip_series
            for booking in pending_bookings(schedule, [(start, end)])
            if booking.event_id not in seen
        ]
        return events + pending

    # -- the rules ------------------------------------------------------------------------------------

    def check(
        self,
        channel: Channel,
        slots: Sequence[Slot],
        ignore: Collection[str] = (),
        exclude: Callable[[Booking], bool] | None = None,
    ) -> list[ConflictRef]:
        """Every (slot, booking) overlap, the channel's changeover included between bookings."""
        if not slots:
            return []
        start = min(s.start for s in slots) - channel.changeover
        end = max(s.end for s in slots) + channel.changeover
        bookings = self.window(channel, start, end)
        if exclude is not None:
            bookings = [b for b in bookings if not exclude(b)]
        return find_conflicts(slots, bookings, channel.changeover, ignore)

    def changes(
        self, channel: Channel, event: Event, previous: Event | None
    ) -> tuple[list[ConflictRef], list[ConflictRef]]:
        """The overlaps of `event`'s slot, and those of them `previous` (the same booking before the
        change) did not already have: an overlap accepted earlier never blocks a change that adds none.

        One read covers both slots when the channel is unchanged.
        """
        slot = Slot(event.start, event.end)
        before = previous if previous is not None and previous.occupies() else None
        if before is not None and before.channel_id != event.channel_id:
            before = None
        old = Slot(before.start, before.end) if before is not None else None
        lo = min(slot.start, old.start if old else slot.start) - channel.changeover
        hi = max(slot.end, old.end if old else slot.end) + channel.changeover
        bookings = self.window(channel, lo, hi)
        found = find_conflicts([slot], bookings, channel.changeover, {event.id})
        if old is None:
            return found, found
        had = {c.event_id for c in find_conflicts([old], bookings, channel.changeover, {event.id})}
        return found, [c for c in found if c.event_id not in had]

    def suggest(
        self,
        channel: Channel,
        length: timedelta,
        not_before: datetime,
        ignore: Collection[str] = (),
        extra: Sequence[Booking] = (),
        exclude: Callable[[Booking], bool] | None = None,
    ) -> Slot | None:
        """The earliest free slot of `length` at or after `not_before`, within the horizon; occurrences
        of series (events or not yet) are bookings here too. `extra` adds bookings being proposed."""
        limit = not_before + self.horizon
        series = self.series(channel)
        window_start = not_before
        while window_start < limit:
            window_end = min(window_start + SEARCH_STEP, limit)
            reach = window_end + length + channel.changeover
            bookings = [*self.window(channel, window_start - channel.changeover, reach, series), *extra]
            if exclude is not None:
                bookings = [b for b in bookings if not exclude(b)]
            slot = earliest_free_slot(
                bookings, length, window_start, window_end + length, channel.changeover, ignore
            )
            if slot is not None:
                return slot
            window_start = window_end
        return None

    def availability(
        self, channel: Channel, start: datetime, end: datetime
    ) -> tuple[list[tuple[datetime, datetime, Booking]], list[tuple[datetime, datetime]]]:
        """Busy (changeover included) and free intervals of the channel within `[start, end)`."""
        bookings = self.window(channel, start - channel.changeover, end + channel.changeover)
        return availability(bookings, start, end, channel.changeover)


def suggestion_json(slot: Slot | None) -> dict[str, str] | None:
    """The `suggestion` of a 409: the earliest free slot, or None when the horizon is full."""
    return None if slot is None else {"start": format_instant(slot.start), "end": format_instant(slot.end)}
