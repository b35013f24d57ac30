"""Events: create, read, list, patch, delete/restore, clone and upsert by external_id.

Overlap checks (the conflicts issue) and lifecycle runs (the lifecycle issue) plug in where a booking
is written: `_book` is the single place every create, move and restore goes through.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib.adapters import keys as k
from chalicelib.adapters.events import EventPage, EventStore, mark_op
from chalicelib.adapters.records import RecordStore
from chalicelib.domain.conflicts import Booking, ConflictRef
from chalicelib.domain.errors import (
    BookingConflict,
    BookingRaced,
    Conflict,
    NotFound,
    PreconditionFailed,
    StaleWrite,
    ValidationFailed,
)
from chalicelib.domain.ids import new_id
from chalicelib.domain.inputs import MAX_EVENT_SECONDS, EventIn
from chalicelib.domain.models import Channel, Event, EventState, Principal, Source
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.validation import validate
from chalicelib.services.bookings import ChannelBookings, suggestion_json
from chalicelib.services.common import check_if_match, patched

log = logging.getLogger("onair.events")
Publish = Callable[[str, dict[str, Any]], None]


class Automation(Protocol):
    """What the lifecycle automation hears about bookings; every write of an event goes through it."""

    def deferred_until(self, event: Event, channel: Channel) -> datetime | None:
        """When a new event's run is left to the scheduled job: the instant it is due, else None.

        The booking writes that marker in its own transaction and then says so to `booked`.
        """

    def booked(
        self, event: Event, previous: Event | None, channel: Channel | None = None, deferred: bool = False
    ) -> None:
        """`event` was written (created when `previous` is None): start, restart or stop its run.

        `channel` is the event's channel when the caller has just read it (saves the automation a read);
        `deferred` means the write included the marker `deferred_until` asked for.
        """

    def removed(self, event: Event) -> None:
        """`event` was deleted for good: stop its run."""

    def cancel(self, event: Event, actor: str, reason: str) -> Event | None:
        """Cancel as the lifecycle does (history, notification, run stopped); None if not handled."""


class NoAutomation:
    """Bookings without lifecycle runs (unit tests and tools that only manage the calendar)."""

    def deferred_until(self, event: Event, channel: Channel) -> datetime | None:
        return None

    def booked(
        self, event: Event, previous: Event | None, channel: Channel | None = None, deferred: bool = False
    ) -> None:
        pass

    def removed(self, event: Event) -> None:
        pass

    def cancel(self, event: Event, actor: str, reason: str) -> Event | None:
        return None


MAX_BOOKING_ATTEMPTS = 8
# Overlap marks written in the booking's own transaction (DynamoDB allows 100 items; the event, its
# channel, sources, guards and marker take at most 25). Any more are added right after, best effort.
MARKS_IN_TRANSACTION = 60


def books_a_slot(event: Event, previous: Event | None) -> bool:
    """Whether writing `event` takes a slot it did not hold before (so overlaps must be checked)."""
    if not event.occupies():
        return False
    if previous is None or not previous.occupies():
        return True
    return (event.channel_id, event.start, event.end) != (previous.channel_id, previous.start, previous.end)


ACTIVE = (
    EventState.SCHEDULED,
    EventState.PROVISIONING,
    EventState.READY,
    EventState.LIVE,
    EventState.STOPPED,
)
WRITABLE = tuple(name for name in EventIn.model_fields if name != "allow_conflict")


def writable_view(event: Event) -> dict[str, Any]:
    """The fields a client may write, as JSON, with both `end` and `duration`."""
    view = event.model_dump(mode="json", include=set(WRITABLE))
    view["duration"] = event.duration
    return view


def reconcile_times(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """After a patch, keep the one of `end`/`duration` the client meant: moving `start` keeps the length."""
    end_changed = after.get("end") != before.get("end")
    duration_changed = after.get("duration") != before.get("duration")
    result = dict(after)
    if end_changed and not duration_changed:
        result.pop("duration", None)
    elif not end_changed:
        result.pop("end", None)
    return result


class EventService:
    def __init__(
        self,
        store: EventStore,
        channels: RecordStore[Channel],
        tenant_max_duration: Callable[[str], int],
        publish: Publish,
        bookings: ChannelBookings,
        automation: Automation | None = None,
    ) -> None:
        self.store = store
        self.channels = channels
        self.tenant_max_duration = tenant_max_duration
        self.publish = publish
        self.automation: Automation = automation or NoAutomation()
        self.bookings = bookings
        self.conflict_listeners: list[Callable[[Event, list[ConflictRef]], None]] = []
        # Told when an event stops holding a slot (cancelled, deleted, moved): overlaps may have gone.
        self.release_listeners: list[Callable[[Event, datetime], None]] = []
        self._tenant_max_seen: dict[str, int] = {}

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, principal: Principal, event_id: str) -> Event:
        event = self.store.get(principal.tenant_id, event_id)
        if event is None:
            raise NotFound(f"No event {event_id}.")
        return event

    def list(self, query: EventQuery) -> EventPage:
        """One page: one Query, after reading the longest booking in scope on a window's first page.

        Events overlapping `[from, to)` start before `to` and no earlier than `from` minus the longest
        booking in scope, so that bound keeps the Query from reading what ended long before `from`. A
        later ascending page resumes after its cursor, which is past all of that, so it needs no bound.
        """
        if query.external_id is not None:
            found = self._by_external(query.tenant_id, query.external_id)
            return EventPage([found] if found and query.matches(found) else [], None, 1 if found else 0)
        bound = 0
        if query.start_from is not None:
            if query.cursor is not None and not query.descending:
                bound = MAX_EVENT_SECONDS  # wide enough for any event; the cursor skips what it spans
            elif query.channel_id and not (query.deleted or query.schedule_id or query.ref_id):
                channel = self.channels.get(query.tenant_id, query.channel_id)
                if channel is None:
                    return EventPage([], None, 0)
                bound = channel.max_event_seconds
            else:
                bound = self.tenant_max_duration(query.tenant_id)
        return self.store.list(query, bound)

    def availability(
        self, principal: Principal, channel_id: str, start: datetime, end: datetime
    ) -> tuple[list[tuple[datetime, datetime, Booking]], list[tuple[datetime, datetime]]]:
        """Busy (changeover included) and free intervals of a channel within [start, end): events and
        series occurrences that are not events yet, at any distance."""
        channel = self.channels.get(principal.tenant_id, channel_id)
        if channel is None:
            raise NotFound(f"No channel {channel_id}.")
        return self.bookings.availability(channel, start, end)

    def has_future_events(self, channel: Channel, now: datetime) -> bool:
        """Whether the channel still has an event that has not ended and holds its slot."""
        query = EventQuery(
            tenant_id=channel.tenant_id, channel_id=channel.id, start_from=now, states=ACTIVE, limit=100
        )
        return next(self.store.iterate(query), None) is not None

    def using_source(self, source: Source, now: datetime, at_most: int = 20) -> list[str]:
        """Ids of events that have not ended and still hold their slot using `source` (the first few).

        Reads the tenant's future events page by page (a source is deleted rarely; no index is kept).
        """
        query = EventQuery(tenant_id=source.tenant_id, start_from=now, states=ACTIVE, limit=100)
        found: list[str] = []
        for event in self.store.iterate(query, self.tenant_max_duration(source.tenant_id)):
            if source.id in event.source_ids:
                found.append(event.id)
                if len(found) == at_most:
                    break
        return found

    def create(self, principal: Principal, body: EventIn, now: datetime) -> Event:
        channel = self.channel(principal.tenant_id, body.channel_id)
        event = Event(
            id=new_id("evt", now),
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            **body.record_fields(),
        )
        event = self.book(event, None, channel, body.allow_conflict)
        self.publish(
            "Event Created",
            {
                "tenant_id": event.tenant_id,
                "id": event.id,
                "event": event.model_dump(mode="json", exclude={"tenant_id"}),
            },
        )
        return event

    def patch(
        self,
        principal: Principal,
        event_id: str,
        document: Any,
        kind: str,
        if_match: str | None,
        now: datetime,
    ) -> Event:
        """Merge or JSON patch; retried on a concurrent write unless the client pinned the ETag."""
        for _ in range(3):
            current = self.get(principal, event_id)
            check_if_match(if_match, current)
            if current.deleted_at is not None:
                raise Conflict("The event is deleted; restore it first.")
            view = writable_view(current)
            body = validate(EventIn, reconcile_times(view, patched(view, document, kind)))
            try:
                return self._replace(current, body, now, body.allow_conflict)
            except StaleWrite:
                if if_match is not None:
                    raise PreconditionFailed("The event changed since the ETag you sent.") from None
        raise StaleWrite()

    def delete(
        self, principal: Principal, event_id: str, hard: bool, if_match: str | None, now: datetime
    ) -> None:
        """Soft-delete (restorable, frees the slot), or with `hard` remove the record for good."""
        current = self.get(principal, event_id)
        check_if_match(if_match, current)
        try:
            if hard:
                self.store.delete(current)
                self.automation.removed(current)
                if current.occupies():
                    self.drop_marks(current)
                    self.released(current, now)
            elif current.deleted_at is None:
                deleted = current.model_copy(
                    update={"deleted_at": now, "updated_at": now, "version": current.version + 1}
                )
                self.rewrite(deleted, current)
            else:
                return
        except StaleWrite:
            raise PreconditionFailed(
                "The event changed while it was being deleted; read it and retry."
            ) from None
        self.publish("Event Deleted", {"tenant_id": current.tenant_id, "id": current.id, "hard": hard})

    def restore(
        self,
        principal: Principal,
        event_id: str,
        if_match: str | None,
        now: datetime,
        allow_conflict: bool = False,
    ) -> Event:
        """Undo a soft delete; the slot is booked again, so it is checked like a new booking."""
        current = self.get(principal, event_id)
        check_if_match(if_match, current)
        if current.deleted_at is None:
            return current
        channel = self.channel(current.tenant_id, current.channel_id, pointer="/channel_id")
        restored = current.model_copy(
            update={"deleted_at": None, "updated_at": now, "version": current.version + 1}
        )
        try:
            restored = self.book(restored, current, channel, allow_conflict)
        except StaleWrite:
            raise PreconditionFailed("The event changed while it was being restored; retry.") from None
        self.publish("Event Restored", {"tenant_id": current.tenant_id, "id": current.id})
        return restored

    def clone(self, principal: Principal, event_id: str, overrides: Any, now: datetime) -> Event:
        """A copy of an event; the body overrides fields (as a merge patch); external_id is not copied."""
        source = self.get(principal, event_id)
        view = writable_view(source)
        view.pop("external_id", None)
        body = validate(EventIn, reconcile_times(view, patched(view, overrides or {}, "merge")))
        return self.create(principal, body, now)

    def put_external(
        self, principal: Principal, external_id: str, body: EventIn, if_match: str | None, now: datetime
    ) -> tuple[Event, bool]:
        """Create or replace the event with this external_id; returns (event, created)."""
        if len(external_id) > 200:
            raise ValidationFailed.one("/external_id", "may be at most 200 characters")
        if body.external_id not in (None, external_id):
            raise ValidationFailed.one("/external_id", "must match the external_id in the path")
        body = body.model_copy(update={"external_id": external_id})
        for _ in range(3):
            current = self._by_external(principal.tenant_id, external_id)
            if current is None:
                if if_match not in (None, "*"):
                    raise PreconditionFailed("No event has this external_id yet.")
                try:
                    return self.create(principal, body, now), True
                except Conflict as exc:  # lost a race to create it: update the winner instead
                    if "external_id" not in str(exc.extra):
                        raise
                    continue
            check_if_match(if_match, current)
            try:  # an upsert of a soft-deleted event brings it back
                return self._replace(current, body, now, body.allow_conflict, {"deleted_at": None}), False
            except StaleWrite:
                if if_match is not None:
                    raise PreconditionFailed("The event changed since the ETag you sent.") from None
        raise StaleWrite()

    # -- internals ------------------------------------------------------------------------------------

    def _replace(
        self,
        current: Event,
        body: EventIn,
        now: datetime,
        allow_conflict: bool,
        extra: dict[str, Any] | None = None,
    ) -> Event:
        """Write `body` (plus `extra` stored fields) over `current`; a no-op when nothing changes."""
        fields = {**body.record_fields(), **(extra or {})}
        candidate = Event.model_validate({**current.model_dump(), **fields})
        before, after = current.model_dump(mode="json"), candidate.model_dump(mode="json")
        changes = sorted(name for name in fields if before.get(name) != after.get(name))
        if not changes:
            return current
        updated = candidate.model_copy(update={"updated_at": now, "version": current.version + 1})
        channel = self.channel(current.tenant_id, updated.channel_id)
        updated = self.book(updated, current, channel, allow_conflict)
        self.publish(
            "Event Updated",
            {
                "tenant_id": updated.tenant_id,
                "id": updated.id,
                "changes": {name: after.get(name) for name in changes},
            },
        )
        return updated

    def book(
        self,
        event: Event,
        previous: Event | None,
        channel: Channel,
        allow_conflict: bool,
        guards: list[tuple[dict[str, Any], str]] | None = None,
        announce_overlaps: bool = True,
    ) -> Event:
        """Write a new or changed booking and return it as written (with its overlap marks).

        A write that takes a slot it did not hold is checked against every booking on the channel
        (`chalicelib.services.bookings`); overlaps it adds are refused unless `allow_conflict`, while
        overlaps it already had never block it. Accepted overlaps are marked on both events, in the
        same transaction. Race-free: the check reads the channel's `booking_version`, and the write is
        conditioned on it, so two overlapping bookings can never both be written; a write that lost only
        to another booking is checked again. `guards` join the write's transaction. The materialiser
        writes bookings that already existed as occurrences: their overlaps were announced when accepted
        (`announce_overlaps=False`).
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
            marks = [
                (mark_op(event.tenant_id, other, event.id, True), "mark")
                for other in gained[:MARKS_IN_TRANSACTION]
            ]
            # A new event's run that starts later is marked in the booking's own transaction.
            due = self.automation.deferred_until(written, channel) if previous is None else None
            try:
                if previous is None:
                    self.store.create(written, version, run_due_at=due, guards=[*marks, *(guards or [])])
                else:
                    self.store.update(written, previous, version, guards=[*marks, *(guards or [])])
            except BookingRaced:
                continue
            for other in gained[MARKS_IN_TRANSACTION:]:
                self.store.mark(event.tenant_id, other, event.id, True)
            self._unmark(written, had - set(overlaps))
            self.automation.booked(written, previous, channel, deferred=due is not None)
            if (
                previous is not None
                and previous.occupies()
                and (
                    not written.occupies()
                    or (written.channel_id, written.start, written.end)
                    != (previous.channel_id, previous.start, previous.end)
                )
            ):
                self.released(previous, written.updated_at)
            if added and announce_overlaps:
                self.conflict_detected(written, added)
            return written
        raise Conflict("The channel is taking many bookings at once; retry.")

    def _unmark(self, event: Event, others: set[str]) -> None:
        """`event` no longer overlaps `others`: drop it from their marks (best effort, after the write)."""
        for other in sorted(others):
            try:
                self.store.mark(event.tenant_id, other, event.id, False)
            except Exception:
                log.exception("could not drop an overlap mark", extra={"event_id": other})

    def conflict_detected(self, event: Event, conflicts: list[ConflictRef]) -> None:
        """An allowed overlap was written: tell listeners (schedule summaries) and the bus."""
        for listener in self.conflict_listeners:
            listener(event, conflicts)
        self.publish(
            "Conflict Detected",
            {
                "tenant_id": event.tenant_id,
                "id": event.id,
                "channel_id": event.channel_id,
                "schedule_id": event.schedule_id,
                "conflicts": [c.to_json() for c in conflicts],
            },
        )

    def cancel(self, event: Event, now: datetime, actor: str, reason: str) -> Event:
        """Cancel an event that has not started: through the lifecycle when there is one."""
        done = self.automation.cancel(event, actor, reason)
        if done is not None:
            self.released(event, now)
            return done
        cancelled = event.model_copy(
            update={"state": EventState.CANCELLED, "updated_at": now, "version": event.version + 1}
        )
        self.rewrite(cancelled, event)
        self.publish(
            "Event State Changed",
            {
                "tenant_id": event.tenant_id,
                "id": event.id,
                "channel_id": event.channel_id,
                "from": event.state.value,
                "to": EventState.CANCELLED.value,
                "at": now,
                "actor": actor,
                "reason": reason,
            },
        )
        return cancelled

    def rewrite(self, event: Event, previous: Event) -> Event:
        """Write a change that books nothing new (state, deletion, parent) and tell the automation."""
        if not event.occupies():
            event = event.model_copy(update={"overlaps": []})
        self.store.update(event, previous)
        self.automation.booked(event, previous)
        if previous.occupies() and not event.occupies():
            self.drop_marks(previous)
            self.released(previous, event.updated_at)
        return event

    def drop_marks(self, event: Event) -> None:
        """`event` stopped holding its slot: the events it overlapped no longer list it."""
        self._unmark(event, set(event.overlaps))

    def released(self, event: Event, now: datetime) -> None:
        """`event`'s old slot is free: tell the listeners (schedule summaries); never fails the write."""
        for listener in self.release_listeners:
            try:
                listener(event, now)
            except Exception:
                log.exception("a release listener failed", extra={"event_id": event.id})

    def _note_duration(self, event: Event, channel: Channel) -> None:
        """Keep the channel's and tenant's longest-booking marks (they bound window queries) up to date."""
        seconds = event.duration
        if seconds > channel.max_event_seconds:
            self.store.raise_max_duration(k.collection(event.tenant_id, "CHANNEL"), channel.id, seconds)
        if seconds > self._tenant_max_seen.get(event.tenant_id, 0):
            self.store.raise_max_duration(k.TENANTS_PK, event.tenant_id, seconds)
            self._tenant_max_seen[event.tenant_id] = seconds

    def channel(self, tenant_id: str, channel_id: str, pointer: str = "/channel_id") -> Channel:
        channel = self.channels.get(tenant_id, channel_id)
        if channel is None:
            raise ValidationFailed.one(pointer, "no such channel")
        return channel

    def _by_external(self, tenant_id: str, external_id: str) -> Event | None:
        event_id = self.store.id_for_external(tenant_id, external_id)
        return self.store.get(tenant_id, event_id) if event_id else None
