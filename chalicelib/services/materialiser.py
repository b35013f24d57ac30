"""The materialiser: series occurrences become events within a rolling horizon, idempotently.

An occurrence is a booking from the moment its series is written; materialising only makes the event it
already was as a booking (deterministic id, written once, guarded by the series' version). Extending the
horizon adds the new stretch and never touches events that exist. After a series edit, `reconcile`
brings the existing events of a stretch in line with the series.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from chalicelib.adapters.events import EventStore
from chalicelib.adapters.schedules import ScheduleStore
from chalicelib.domain.errors import AlreadyExists, DomainError, StaleWrite, ValidationFailed
from chalicelib.domain.messages import SYSTEM, Actor, CancelEvent, EventBooked, EventChanged, ScheduleFailed
from chalicelib.domain.models import Channel, Event, EventState
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.recurrence import MAX_STEPS
from chalicelib.domain.schedules import Occurrence, Schedule, event_id_for, first_instant, occurrences
from chalicelib.domain.time import format_instant
from chalicelib.services.booking import Booker, Written
from chalicelib.services.events import writable_view
from chalicelib.services.messagebus import MessageBus
from chalicelib.services.series_check import SeriesConflicts

log = logging.getLogger("onair.materialiser")

# Events of modified occurrences may sit this far from their original start; reconcile looks that wide.
NEARBY = timedelta(days=31)
NO_LONGER = "the series no longer has this occurrence"
# Events one materialiser call makes at most (a request creating a series, one schedule in a tick).
TICK_BATCH = 100
# A request creating a series writes its first 24 events (a month of weekdays); the tick the rest.
INLINE_BATCH = 24
# Fields of a materialised event that come from the event's own life, not from its series.
OWN_FIELDS = frozenset(
    {
        "id",
        "tenant_id",
        "created_at",
        "updated_at",
        "version",
        "state",
        "published",
        "vod",
        "deleted_at",
        "overlaps",
    }
)


def occurrence_event(schedule: Schedule, occ: Occurrence, now: datetime) -> Event:
    """The event an unmodified occurrence stands for."""
    return Event(
        id=event_id_for(schedule.id, occ.occurrence_start),
        tenant_id=schedule.tenant_id,
        created_at=now,
        updated_at=now,
        title=schedule.title,
        channel_id=schedule.channel_id,
        start=occ.occurrence_start,
        end=occ.occurrence_start + timedelta(seconds=schedule.duration),
        schedule_id=schedule.id,
        occurrence_start=occ.occurrence_start,
        **schedule.template(),
    )


def failure_reason(error: Exception) -> str:
    """What to tell a user about a failed materialisation: the fields at fault, never a stack trace."""
    if isinstance(error, ValidationFailed):
        return "; ".join(f"{e.pointer.lstrip('/')}: {e.detail}" for e in error.errors)
    if isinstance(error, DomainError):
        return error.detail
    return "materialising failed unexpectedly; the logs have the details"


class Materialiser:
    """Turns occurrences into events and keeps them in step with their series."""

    def __init__(
        self,
        store: ScheduleStore,
        events: EventStore,
        booker: Booker,
        series: SeriesConflicts,
        horizon: timedelta,
        bus: MessageBus,
    ) -> None:
        self.store = store
        self.events = events
        self.booker = booker
        self.series = series
        self.horizon = horizon
        self.bus = bus

    # -- the scheduled job ----------------------------------------------------------------------------

    def tick(self, now: datetime) -> dict[str, int]:
        """Materialise every schedule that is due (cost grows with due ones only), and check the next
        stretch of endless series against each other. A schedule that fails says so (status, reason,
        notification) and is retried at the next tick."""
        due = created = failed = 0
        for schedule in self.store.due(now):
            due += 1
            try:
                created += self.materialise(schedule, now)
                channel = self.booker.channels.get(schedule.tenant_id, schedule.channel_id)
                if channel is not None:
                    self.series.roll(schedule, channel, now)
                if schedule.failure is not None:
                    self.store.set_failure(schedule, None)
            except Exception as error:
                failed += 1
                log.exception("materialising failed", extra={"schedule_id": schedule.id})
                self._failed(schedule, error, now)
        return {"due": due, "created": created, "failed": failed}

    def _failed(self, schedule: Schedule, error: Exception, now: datetime) -> None:
        """Record why a schedule cannot be materialised, and announce it the first time it is seen."""
        reason = failure_reason(error)
        if schedule.failure is not None and schedule.failure.get("reason") == reason:
            return
        try:
            self.store.set_failure(schedule, {"reason": reason, "at": format_instant(now)})
        except Exception:
            log.exception("could not record the failure", extra={"schedule_id": schedule.id})
        self.bus.publish(ScheduleFailed(schedule.tenant_id, schedule.id, reason, now, SYSTEM))

    # -- materialising --------------------------------------------------------------------------------

    def materialise(
        self, schedule: Schedule, now: datetime, batch: int = TICK_BATCH, actor: Actor = SYSTEM
    ) -> int:
        """Make events exist for occurrences up to `now + horizon`; only the new stretch is added.

        At most `batch` events are made per call, so no request or tick runs away with a dense series:
        when the stretch holds more, the schedule stays due and the next tick goes on from there.
        """
        until = now + self.horizon
        start = schedule.materialised_until or first_instant(schedule)
        reached = until
        created = 0
        if schedule.active and start < until:
            created, stopped_at = self.add(schedule, start, until, now, batch, actor)
            reached = stopped_at or until
        self.track(schedule, max(reached, start))
        return created

    def add(
        self,
        schedule: Schedule,
        start: datetime,
        end: datetime,
        now: datetime,
        batch: int | None = None,
        actor: Actor = SYSTEM,
    ) -> tuple[int, datetime | None]:
        """Events for the occurrences named in `[start, end)` that have none; existing events, past
        occurrences and modified ones (which have their events) are left alone. Returns how many it
        made, and the occurrence it stopped before when it made `batch` of them (None when done)."""
        wanted = [
            occ
            for occ in occurrences(schedule, after=start, before=end, limit=MAX_STEPS)[0]
            if not occ.modified and occ.end > now
        ]
        if not wanted:
            return 0, None
        channel = self.booker.channel(schedule.tenant_id, schedule.channel_id)
        existing = self.events_near(schedule, start, end, margin=timedelta(days=1))
        created = 0
        for occ in wanted:
            if occ.event_id in existing:
                continue
            if batch is not None and created == batch:
                return created, occ.occurrence_start
            made = self._make(schedule, occ, channel, now, actor)
            if made is not None:
                channel = made.channel  # its booking version moved on with the write
                created += 1
        return created, None

    def ensure_event(self, schedule: Schedule, occ: Occurrence, now: datetime, actor: Actor) -> Event:
        """The occurrence's event, made now if it is not an event yet (before a change to it alone)."""
        event = self.events.get(schedule.tenant_id, occ.event_id)
        if event is not None:
            return event
        channel = self.booker.channel(schedule.tenant_id, schedule.channel_id)
        made = self._make(schedule, occ, channel, now, actor)
        if made is not None:
            return made.event
        return self.events.get(schedule.tenant_id, occ.event_id) or occurrence_event(schedule, occ, now)

    def _make(
        self, schedule: Schedule, occ: Occurrence, channel: Channel, now: datetime, actor: Actor
    ) -> Written | None:
        """Write the occurrence's event: the booking it already was, so it is never refused; overlaps it
        has were accepted when they were written, and are marked on both sides. None if it exists."""
        try:
            written = self.booker.book(
                occurrence_event(schedule, occ, now),
                None,
                channel,
                allow_conflict=True,
                actor=actor,
                series=schedule,
                announce_overlaps=False,
            )
        except AlreadyExists:
            return None  # made by a concurrent run, or soft-deleted by a user: either way, leave it
        except StaleWrite:
            return None  # the series changed meanwhile: its edit reconciles this stretch
        self.bus.publish(EventBooked(written.event, actor, written.channel, written.deferred))
        return written

    def track(self, schedule: Schedule, materialised_until: datetime) -> None:
        """Record progress; the schedule is next due when its next occurrence enters the horizon."""
        due_at = None
        if schedule.active:
            following, _ = occurrences(schedule, after=materialised_until, before=None, limit=1)
            if following:
                due_at = following[0].occurrence_start - self.horizon
        self.store.set_progress(schedule, materialised_until, due_at)

    # -- after an edit --------------------------------------------------------------------------------

    def reconcile(
        self, schedule: Schedule, start: datetime, end: datetime, now: datetime, actor: Actor
    ) -> int:
        """Bring the events of occurrences named in `[start, end)` in line with the series; count new ones.

        Unmodified occurrences get an event with the series' fields; events of occurrences the series no
        longer has are cancelled; modified, skipped, started and past ones are left alone. Each change is
        `actor`'s (the series edit that caused it).
        """
        if end <= start or not schedule.active:
            return 0
        wanted, _ = occurrences(schedule, after=start, before=end, limit=MAX_STEPS)
        channel = self.booker.channel(schedule.tenant_id, schedule.channel_id)
        existing = self.events_near(schedule, start, end)
        created = 0
        for occ in wanted:
            if occ.modified or occ.end <= now:
                existing.pop(occ.event_id, None)
                continue
            event = existing.pop(occ.event_id, None)
            if event is None:
                made = self._make(schedule, occ, channel, now, actor)
                if made is not None:
                    channel = made.channel
                    created += 1
            elif event.state == EventState.SCHEDULED and event.deleted_at is None:
                self._rewrite(event, occurrence_event(schedule, occ, now), now, actor)
        for event in existing.values():
            named = event.occurrence_start
            exception = schedule.exceptions.get(format_instant(named)) if named else None
            in_stretch = named is not None and start <= named < end
            if in_stretch and (exception is None or not exception.overrides) and event.start >= now:
                self.cancel(event, actor)
        return created

    def _rewrite(self, event: Event, desired: Event, now: datetime, actor: Actor) -> None:
        """Update a materialised event to the series' current fields, if they differ."""
        changes = {k: v for k, v in writable_view(desired).items() if writable_view(event).get(k) != v}
        if not changes:
            return
        updated = Event.model_validate(
            {
                **event.model_dump(),
                **desired.model_dump(exclude=set(OWN_FIELDS)),
                "updated_at": now,
                "version": event.version + 1,
            }
        )
        channel = self.booker.channel(event.tenant_id, updated.channel_id)
        try:
            written = self.booker.book(updated, event, channel, True, actor, announce_overlaps=False)
        except StaleWrite:
            log.warning("event changed while the series was applied", extra={"event_id": event.id})
            return
        self.bus.publish(EventChanged(written.event, event, actor, changes, written.channel))

    def cancel(
        self, event: Event, actor: Actor, reason: str = "the series no longer has this occurrence"
    ) -> None:
        """Cancel an event that has not started (the series no longer has it), through the lifecycle."""
        if event.state != EventState.SCHEDULED or event.deleted_at is not None:
            return
        try:
            self.bus.ask(CancelEvent(event, actor, reason))
        except StaleWrite:
            log.warning("event changed while being cancelled", extra={"event_id": event.id})

    def events_near(
        self, schedule: Schedule, start: datetime, end: datetime, margin: timedelta = NEARBY
    ) -> dict[str, Event]:
        """The schedule's live events starting within `margin` of `[start, end)`, by id (paged Queries).

        An event not found here still cannot be made twice: its id is its occurrence's.
        """
        query = EventQuery(
            tenant_id=schedule.tenant_id,
            schedule_id=schedule.id,
            start_from=start - margin,
            to=end + margin,
            limit=500,
        )
        return {e.id: e for e in self.events.iterate(query)}

    def future_events(self, schedule: Schedule, since: datetime) -> list[Event]:
        """The schedule's live events starting at or after `since`."""
        # With no bound the key condition is start >= since (the filter end > since then always holds).
        query = EventQuery(tenant_id=schedule.tenant_id, schedule_id=schedule.id, start_from=since, limit=500)
        return list(self.events.iterate(query))
