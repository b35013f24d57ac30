"""Events, the use cases: create, read, list, patch, delete/restore, clone and upsert by external_id.

Every booking goes through the `Booker` (overlap checks, marks, race-free writes). Each use case records
one message for the change it made (`EventBooked`, `EventChanged`, `EventRemoved`, `EventRestored`);
the listeners `bootstrap` registers take it from there (lifecycle runs, notifications, audit). An event
that is on air when it is deleted is first stopped through the lifecycle (`StopForRemoval`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.adapters.events import EventPage, EventStore
from chalicelib.adapters.records import RecordStore
from chalicelib.domain.conflicts import Booking
from chalicelib.domain.errors import (
    Conflict,
    ExternalIdTaken,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from chalicelib.domain.ids import new_id
from chalicelib.domain.inputs import MAX_EVENT_SECONDS, EventIn
from chalicelib.domain.messages import (
    Actor,
    EventBooked,
    EventChanged,
    EventRemoved,
    EventRestored,
    SlotReleased,
    StopForRemoval,
)
from chalicelib.domain.models import Channel, Event, EventState, Principal, Source
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.validation import validate
from chalicelib.services.booking import Booker
from chalicelib.services.bookings import ChannelBookings
from chalicelib.services.common import check_if_match, optimistic, patched
from chalicelib.services.messagebus import MessageBus

log = logging.getLogger("onair.events")

ACTIVE = (
    EventState.SCHEDULED,
    EventState.PROVISIONING,
    EventState.READY,
    EventState.LIVE,
    EventState.STOPPED,
)
# States in which an event holds equipment: deleting it stops it through the lifecycle first.
ON_AIR = (EventState.PROVISIONING, EventState.READY, EventState.LIVE, EventState.STOPPED)
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


def changed_values(before: Event, after: Event, names: Any) -> dict[str, Any]:
    """`{field: new value}` (as JSON) for each of `names` whose value differs."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return {name: new.get(name) for name in sorted(names) if old.get(name) != new.get(name)}


class EventService:
    def __init__(
        self,
        store: EventStore,
        channels: RecordStore[Channel],
        bookings: ChannelBookings,
        booker: Booker,
        tenant_max_duration: Callable[[str], int],
        bus: MessageBus,
    ) -> None:
        self.store = store
        self.channels = channels
        self.bookings = bookings
        self.booker = booker
        self.tenant_max_duration = tenant_max_duration
        self.bus = bus

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

    def future_on(self, channel: Channel, now: datetime, at_most: int = 20) -> list[str]:
        """Ids of the channel's events that have not ended and still hold their slot (the first few)."""
        query = EventQuery(
            tenant_id=channel.tenant_id, channel_id=channel.id, start_from=now, states=ACTIVE, limit=100
        )
        found: list[str] = []
        for event in self.store.iterate(query, channel.max_event_seconds):
            found.append(event.id)
            if len(found) == at_most:
                break
        return found

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

    def channel(self, tenant_id: str, channel_id: str, pointer: str = "/channel_id") -> Channel:
        return self.booker.channel(tenant_id, channel_id, pointer)

    # -- writes ---------------------------------------------------------------------------------------

    def create(self, principal: Principal, body: EventIn, now: datetime) -> Event:
        """A new booking; one that has already ended is refused (it could never run)."""
        if body.resolved_end() <= now:
            raise ValidationFailed.one(
                "/end" if body.end is not None else "/start", "the event would already have ended"
            )
        channel = self.channel(principal.tenant_id, body.channel_id)
        event = Event(
            id=new_id("evt", now),
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            **body.record_fields(),
        )
        actor = Actor.of(principal)
        written = self.booker.book(event, None, channel, body.allow_conflict, actor)
        self.bus.publish(EventBooked(written.event, actor, written.channel, written.deferred))
        return written.event

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

        def attempt() -> Event:
            current = self.get(principal, event_id)
            check_if_match(if_match, current)
            if current.deleted_at is not None:
                raise Conflict("The event is deleted; restore it first.")
            view = writable_view(current)
            body = validate(EventIn, reconcile_times(view, patched(view, document, kind)))
            return self.replace(current, body, now, body.allow_conflict, Actor.of(principal))

        return optimistic(if_match, attempt, "event")

    def delete(
        self, principal: Principal, event_id: str, hard: bool, if_match: str | None, now: datetime
    ) -> None:
        """Soft-delete (restorable, frees the slot), or with `hard` remove the record for good.

        An event on air (or being prepared, or waiting for its teardown) is stopped and torn down
        through the lifecycle first, by the deleting key: it never stays live with no one to stop it.
        """
        actor = Actor.of(principal)

        def attempt() -> tuple[Event, Event | None] | None:
            current = self.get(principal, event_id)
            check_if_match(if_match, current)
            if current.deleted_at is not None and not hard:
                return None
            if current.state in ON_AIR:
                current = self.bus.ask(StopForRemoval(current, actor))
            if hard:
                self.store.delete(current)
                if current.occupies():
                    self.booker.drop_marks(current)
                    self.bus.publish(SlotReleased(current, now, actor))
                return current, None
            deleted = current.model_copy(
                update={"deleted_at": now, "updated_at": now, "version": current.version + 1}
            )
            return current, self.booker.rewrite(deleted, current, actor)

        done = optimistic(if_match, attempt, "event")
        if done is not None:
            before, deleted = done
            self.bus.publish(EventRemoved(before, actor, hard, deleted))

    def restore(
        self,
        principal: Principal,
        event_id: str,
        if_match: str | None,
        now: datetime,
        allow_conflict: bool = False,
    ) -> Event:
        """Undo a soft delete; the slot is booked again, so it is checked like a new booking. The
        lifecycle takes it up again as the clock says (see `chalicelib.services.lifecycle`)."""
        actor = Actor.of(principal)

        def attempt() -> tuple[Event, Event, Channel | None]:
            current = self.get(principal, event_id)
            check_if_match(if_match, current)
            if current.deleted_at is None:
                return current, current, None
            channel = self.channel(current.tenant_id, current.channel_id, pointer="/channel_id")
            restored = current.model_copy(
                update={"deleted_at": None, "updated_at": now, "version": current.version + 1}
            )
            written = self.booker.book(restored, current, channel, allow_conflict, actor)
            return written.event, current, written.channel

        restored, previous, channel = optimistic(if_match, attempt, "event")
        if restored is not previous:
            self.bus.publish(EventRestored(restored, previous, actor, channel))
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

        def attempt() -> tuple[Event, bool]:
            current = self._by_external(principal.tenant_id, external_id)
            if current is None:
                if if_match not in (None, "*"):
                    raise PreconditionFailed("No event has this external_id yet.")
                try:
                    return self.create(principal, body, now), True
                except ExternalIdTaken:  # lost a race to create it: update the winner instead
                    current = self._by_external(principal.tenant_id, external_id)
                    if current is None:
                        raise
            check_if_match(if_match, current)
            # An upsert of a soft-deleted event brings it back.
            return self.replace(
                current, body, now, body.allow_conflict, Actor.of(principal), {"deleted_at": None}
            ), False

        return optimistic(if_match, attempt, "event")

    def replace(
        self,
        current: Event,
        body: EventIn,
        now: datetime,
        allow_conflict: bool,
        actor: Actor,
        extra: dict[str, Any] | None = None,
    ) -> Event:
        """Write `body` (plus `extra` stored fields) over `current`; a no-op when nothing changes."""
        fields = {**body.record_fields(), **(extra or {})}
        candidate = Event.model_validate({**current.model_dump(), **fields})
        changes = changed_values(current, candidate, fields)
        if not changes:
            return current
        updated = candidate.model_copy(update={"updated_at": now, "version": current.version + 1})
        channel = self.channel(current.tenant_id, updated.channel_id)
        written = self.booker.book(updated, current, channel, allow_conflict, actor)
        self.bus.publish(EventChanged(written.event, current, actor, changes, written.channel))
        return written.event

    def _by_external(self, tenant_id: str, external_id: str) -> Event | None:
        event_id = self.store.id_for_external(tenant_id, external_id)
        return self.store.get(tenant_id, event_id) if event_id else None
