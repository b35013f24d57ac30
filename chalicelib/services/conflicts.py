"""Overlap checks against a channel's bookings: one paged Query for the window, then the sweep in memory."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from chalicelib.adapters.events import EventStore
from chalicelib.domain.conflicts import Booking, ConflictRef, Slot, earliest_free_slot, find_conflicts
from chalicelib.domain.models import Channel, Event
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.time import format_instant

SEARCH_STEP = timedelta(days=14)  # the free-slot search reads the channel a fortnight at a time


def as_booking(event: Event) -> Booking:
    return Booking(event.id, event.start, event.end, event.title, event.schedule_id)


class ConflictChecker:
    """Reads bookings and applies the pure overlap rules of `chalicelib.domain.conflicts`."""

    def __init__(self, events: EventStore, horizon: timedelta) -> None:
        self.events = events
        self.horizon = horizon

    def bookings(self, channel: Channel, start: datetime, end: datetime) -> list[Booking]:
        """The channel's bookings overlapping [start, end); cancelled, failed, deleted ones free theirs."""
        query = EventQuery(
            tenant_id=channel.tenant_id, channel_id=channel.id, start_from=start, to=end, limit=500
        )
        return [as_booking(e) for e in self.events.iterate(query, channel.max_event_seconds) if e.occupies()]

    def check(
        self,
        channel: Channel,
        slots: Sequence[Slot],
        ignore: Collection[str] = (),
        extra: Sequence[Booking] = (),
        exclude: Callable[[Booking], bool] | None = None,
    ) -> list[ConflictRef]:
        """Every (slot, booking) overlap, the channel's changeover included between bookings.

        `extra` adds bookings that are not events yet (other series' later occurrences); `exclude`
        drops bookings being replaced (a series' own events when it is edited).
        """
        if not slots:
            return []
        start = min(s.start for s in slots) - channel.changeover
        end = max(s.end for s in slots) + channel.changeover
        bookings = [*self.bookings(channel, start, end), *extra]
        if exclude is not None:
            bookings = [b for b in bookings if not exclude(b)]
        return find_conflicts(slots, bookings, channel.changeover, ignore)

    def suggest(
        self,
        channel: Channel,
        length: timedelta,
        not_before: datetime,
        ignore: Collection[str] = (),
        extra: Sequence[Booking] = (),
    ) -> Slot | None:
        """The earliest free slot of `length` at or after `not_before`, within the conflict horizon."""
        limit = not_before + self.horizon
        window_start = not_before
        while window_start < limit:
            window_end = min(window_start + SEARCH_STEP, limit)
            reach = window_end + length + channel.changeover
            bookings = [*self.bookings(channel, window_start - channel.changeover, reach), *extra]
            slot = earliest_free_slot(
                bookings, length, window_start, window_end + length, channel.changeover, ignore
            )
            if slot is not None:
                return slot
            window_start = window_end
        return None


def suggestion_json(slot: Slot | None) -> dict[str, str] | None:
    """The `suggestion` of a 409: the earliest free slot, or None when the horizon is full."""
    return None if slot is None else {"start": format_instant(slot.start), "end": format_instant(slot.end)}
