"""The one place an event's booking is written: overlap check, accepted-overlap marks, race-free write.

Every create, move, extend, restore and materialisation goes through `Booker.book`; writes that book
nothing new (a state, a deletion, a parent) go through `Booker.rewrite`. The caller records what kind of
change it made (`EventBooked`, `EventChanged`, ...); the booker itself records only what every booking
write shares: an overlap someone accepted (`OverlapAccepted`) and a slot given up (`SlotReleased`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.adapters import keys as k
from chalicelib.adapters.events import EventStore
from chalicelib.adapters.records import RecordStore
from chalicelib.domain.conflicts import ConflictRef
from chalicelib.domain.errors import BookingConflict, BookingRaced, Conflict, ValidationFailed
from chalicelib.domain.messages import Actor, OverlapAccepted, SlotReleased
from chalicelib.domain.models import Channel, Event
from chalicelib.domain.schedules import Schedule
from chalicelib.services.bookings import ChannelBookings, suggestion_json
from chalicelib.services.messagebus import MessageBus

log = logging.getLogger("onair.booking")

MAX_BOOKING_ATTEMPTS = 8
# Overlap marks written in the booking's own transaction (DynamoDB allows 100 items; the event, its
# channel, sources, guards and marker take at most 25). Any more are added right after, best effort.
MARKS_IN_TRANSACTION = 60

DeferredUntil = Callable[[Event, Channel], datetime | None]


def books_a_slot(event: Event, previous: Event | None) -> bool:
    """Whether writing `event` takes a slot it did not hold before (so overlaps must be checked)."""
    if not event.occupies():
        return False
    if previous is None or not previous.occupies():
        return True
    return (event.channel_id, event.start, event.end) != (previous.channel_id, previous.start, previous.end)


def gives_up_its_slot(event: Event, previous: Event | None) -> bool:
    """Whether `previous`'s slot is free after writing `event` (it stopped occupying, or moved)."""
    if previous is None or not previous.occupies():
        return False
    return not event.occupies() or (event.channel_id, event.start, event.end) != (
        previous.channel_id,
        previous.start,
        previous.end,
    )


@dataclass(frozen=True)
class Written:
    """A booking as written: the event (with its overlap marks), its channel, whether the write carried
    the marker that has the scheduled job start its run later, and the overlaps it added."""

    event: Event
    channel: Channel
    deferred: bool
    added: list[ConflictRef]


class Booker:
    """Checks and writes bookings; never reads or writes anything but events, channels and the bus."""

    def __init__(
        self,
        store: EventStore,
        channels: RecordStore[Channel],
        bookings: ChannelBookings,
        tenant_max_duration: Callable[[str], int],
        deferred_until: DeferredUntil,
        bus: MessageBus,
    ) -> None:
        self.store = store
        self.channels = channels
        self.bookings = bookings
        self.tenant_max_duration = tenant_max_duration
        self.deferred_until = deferred_until
        self.bus = bus
        self._tenant_max_seen: dict[str, int] = {}

    def channel(self, tenant_id: str, channel_id: str, pointer: str = "/channel_id") -> Channel:
        """The tenant's channel, or a 422 at `pointer`."""
        channel = self.channels.get(tenant_id, channel_id)
        if channel is None:
            raise ValidationFailed.one(pointer, "no such channel")
        return channel

    def book(
        self,
        event: Event,
        previous: Event | None,
        channel: Channel,
        allow_conflict: bool,
        actor: Actor,
        series: Schedule | None = None,
        announce_overlaps: bool = True,
    ) -> Written:
        """Write a new or changed booking and return it as written.

        A write that takes a slot it did not hold is checked against every booking on the channel
        (`chalicelib.services.bookings`); overlaps it adds are refused (409) unless `allow_conflict`, while
        overlaps it already had never block it. Accepted overlaps are marked on both events, in the same
        transaction. Race-free: the check reads the channel's `booking_version`, and the write is
        conditioned on it, so two overlapping bookings can never both be written; a write that lost only
        to another booking is checked again. With `series`, the write also requires that series to be
        unchanged (materialising one of its occurrences). The materialiser writes bookings that existed
        already as occurrences: their overlaps were announced when accepted (`announce_overlaps=False`).
        """
        for attempt in range(MAX_BOOKING_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # spread the retries of a burst
                channel = self.channel(event.tenant_id, event.channel_id)
            self._note_duration(event, channel)
            added: list[ConflictRef] = []
            version = None
            if books_a_slot(event, previous):
                version = channel.booking_version
                conflicts, added = self.bookings.changes(channel, event, previous)
                if added and not allow_conflict:
                    raise BookingConflict(
                        conflicts=[c.to_json() for c in added],
                        suggestion=suggestion_json(
                            self.bookings.suggest(channel, event.end - event.start, event.start, {event.id})
                        ),
                    )
                overlaps = sorted({c.event_id for c in conflicts if c.is_event})
            else:
                overlaps = list(event.overlaps) if event.occupies() else []
            written = event.model_copy(update={"overlaps": overlaps})
            had = set(previous.overlaps) if previous is not None else set()
            gained = [other for other in overlaps if other not in had]
            # A new event's run that starts later is marked in the booking's own transaction.
            due = self.deferred_until(written, channel) if previous is None else None
            try:
                if previous is None:
                    self.store.create(
                        written, version, run_due_at=due, marks=gained[:MARKS_IN_TRANSACTION], series=series
                    )
                else:
                    self.store.update(written, previous, version, marks=gained[:MARKS_IN_TRANSACTION])
            except BookingRaced:
                continue
            for other in gained[MARKS_IN_TRANSACTION:]:
                self.store.mark(event.tenant_id, other, event.id, True)
            self._unmark(written, had - set(overlaps))
            if gives_up_its_slot(written, previous):
                assert previous is not None
                self.bus.publish(SlotReleased(previous, written.updated_at, actor))
            if added and announce_overlaps:
                self.bus.publish(
                    OverlapAccepted(
                        written.tenant_id, written.channel_id, written.schedule_id, added, actor, written
                    )
                )
            return Written(written, channel, due is not None, added)
        raise Conflict("The channel is taking many bookings at once; retry.")

    def rewrite(self, event: Event, previous: Event, actor: Actor) -> Event:
        """Write a change that books nothing new (deletion, a parent) over `previous` (version-checked)."""
        if not event.occupies():
            event = event.model_copy(update={"overlaps": []})
        self.store.update(event, previous)
        if previous.occupies() and not event.occupies():
            self.drop_marks(previous)
            self.bus.publish(SlotReleased(previous, event.updated_at, actor))
        return event

    def drop_marks(self, event: Event) -> None:
        """`event` stopped holding its slot: the events it overlapped no longer list it."""
        self._unmark(event, set(event.overlaps))

    def _unmark(self, event: Event, others: set[str]) -> None:
        """`event` no longer overlaps `others`: drop it from their marks (best effort, after the write)."""
        for other in sorted(others):
            try:
                self.store.mark(event.tenant_id, other, event.id, False)
            except Exception:
                log.exception("could not drop an overlap mark", extra={"event_id": other})

    def _note_duration(self, event: Event, channel: Channel) -> None:
        """Keep the channel's and tenant's longest-booking marks (they bound window queries) up to date."""
        seconds = event.duration
        if seconds > channel.max_event_seconds:
            self.store.raise_max_duration(k.collection(event.tenant_id, "CHANNEL"), channel.id, seconds)
        if seconds > self._tenant_max_seen.get(event.tenant_id, 0):
            self.store.raise_max_duration(k.TENANTS_PK, event.tenant_id, seconds)
            self._tenant_max_seen[event.tenant_id] = seconds
