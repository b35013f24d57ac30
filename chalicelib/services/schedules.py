"""Recurring series, the use cases: create, edit (all / this occurrence / this and following), skip,
delete, list occurrences and preview.

A series books every one of its occurrences the moment it is written, so each write that changes what
it books is checked against the channel (`chalicelib.services.series_check`) and written with the
channel's booking version (race-free with events and other series). Events for the occurrences within
the horizon are made by the materialiser (`chalicelib.services.materialiser`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.events import EventStore
from chalicelib.adapters.schedules import ScheduleStore
from chalicelib.domain.calendars import Calendar
from chalicelib.domain.closures import SeriesEffect, closure_skips, with_calendar
from chalicelib.domain.closures import effect as series_effect
from chalicelib.domain.conflicts import Booking, ConflictRef, Slot
from chalicelib.domain.errors import (
    BookingConflict,
    BookingRaced,
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
)
from chalicelib.domain.ids import new_id
from chalicelib.domain.inputs import ScheduleIn
from chalicelib.domain.messages import Actor, EventChanged, OverlapAccepted, ScheduleChanged, schedule_json
from chalicelib.domain.models import Channel, EventState, Principal, Source
from chalicelib.domain.recurrence import expand, load_zone, parse_local_datetime, parse_recurrence, to_utc
from chalicelib.domain.schedules import (
    Occurrence,
    OccurrenceException,
    Schedule,
    count_of,
    first_instant,
    generated_before,
    normalise,
    occurrences,
    require_future,
    with_count,
)
from chalicelib.domain.time import LATEST, format_instant, has_offset, parse_instant
from chalicelib.domain.validation import validate
from chalicelib.services.booking import MAX_BOOKING_ATTEMPTS, Booker
from chalicelib.services.bookings import ChannelBookings, suggestion_json
from chalicelib.services.common import check_if_match, optimistic, patched
from chalicelib.services.events import EventService, writable_view
from chalicelib.services.materialiser import INLINE_BATCH, Materialiser, occurrence_event
from chalicelib.services.messagebus import MessageBus
from chalicelib.services.series_check import SeriesCheck, SeriesConflicts

log = logging.getLogger("onair.schedules")
# Changing any of these moves the series' bookings, so its occurrences are checked again.
BOOKING_FIELDS = frozenset(
    {"channel_id", "start", "timezone", "duration", "recurrence", "active", "calendar_id", "weeks"}
)
WRITABLE = tuple(name for name in ScheduleIn.model_fields if name != "allow_conflict")


def schedule_view(schedule: Schedule) -> dict[str, Any]:
    """The fields a client may write, as JSON."""
    return schedule.model_dump(mode="json", include=set(WRITABLE))


def preview_occurrences(body: Any, zone_name: str | None) -> tuple[list[dict[str, Any]], bool]:
    """A preview's occurrences (`start`, `end`) in `zone_name` (UTC when None), and whether `limit` cut it."""
    zone = load_zone(zone_name or "UTC")
    start = parse_local_datetime(body.start, zone, "/start")
    starts, truncated = expand(
        start,
        zone,
        parse_recurrence(body.recurrence, zone),
        after=body.from_,
        before=body.to,
        limit=body.limit,
    )
    length = timedelta(seconds=body.duration)
    # Instants end with the year 2999: an occurrence that would end later is not one.
    return [{"start": s, "end": s + length} for s in starts if s + length <= LATEST], truncated


class ScheduleService:
    def __init__(
        self,
        store: ScheduleStore,
        event_store: EventStore,
        booker: Booker,
        bookings: ChannelBookings,
        events: EventService,
        series: SeriesConflicts,
        materialiser: Materialiser,
        bus: MessageBus,
        calendars: Callable[[str, str], Calendar | None] | None = None,
    ) -> None:
        self.store = store
        self.event_store = event_store
        self.booker = booker
        self.bookings = bookings
        self.events = events
        self.series = series
        self.materialiser = materialiser
        self.bus = bus
        # Term calendars by (tenant, id): a series that names one follows it (docs/calendars.md).
        self.calendars = calendars or (lambda tenant_id, calendar_id: None)

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, principal: Principal, schedule_id: str) -> Schedule:
        schedule = self.store.get(principal.tenant_id, schedule_id)
        if schedule is None:
            raise NotFound(f"No schedule {schedule_id}.")
        return schedule

    def list(
        self, principal: Principal, limit: int, cursor: str | None, channel_id: str | None = None
    ) -> tuple[list[Schedule], str | None]:
        """One page of the tenant's schedules, or of one channel's."""
        if channel_id is not None:
            return self.store.list_for_channel(principal.tenant_id, channel_id, limit, cursor)
        return self.store.list(principal.tenant_id, limit, cursor)

    def continuing_on(self, channel: Channel, now: datetime) -> list[str]:
        """Ids of the series on `channel` with an occurrence still ahead (paused ones may resume)."""
        return [
            schedule.id
            for schedule in self.store.for_channel(channel.tenant_id, channel.id)
            if self.next_occurrence(schedule, now) is not None
        ]

    def using_source(self, source: Source, now: datetime, at_most: int = 20) -> list[str]:
        """Ids of the tenant's series that name `source` and still have an occurrence ahead (the first few).

        Reads the tenant's series page by page (a source is deleted rarely; no index is kept).
        """
        found: list[str] = []
        cursor = None
        while len(found) < at_most:
            page, cursor = self.store.list(source.tenant_id, 200, cursor)
            found += [
                s.id for s in page if source.id in s.source_ids and self.next_occurrence(s, now) is not None
            ]
            if cursor is None:
                break
        return found[:at_most]

    def next_occurrence(self, schedule: Schedule, now: datetime) -> datetime | None:
        """The next occurrence's (possibly overridden) start at or after `now`."""
        found, _ = occurrences(schedule, after=now, before=None, limit=1)
        return found[0].start if found else None

    def occurrence_list(
        self, principal: Principal, schedule_id: str, start: datetime, end: datetime | None, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Occurrences named in [start, end), each with its event (if materialised) and state."""
        schedule = self.get(principal, schedule_id)
        found, truncated = occurrences(schedule, after=start, before=end, limit=limit)
        if not found:
            return [], truncated
        events = self.materialiser.events_near(
            schedule, start, found[-1].occurrence_start + timedelta(seconds=1), margin=timedelta(days=1)
        )
        items = []
        for occ in found:
            event = events.get(occ.event_id) or (
                self.event_store.get(schedule.tenant_id, occ.event_id) if occ.modified else None
            )
            items.append(
                {
                    "occurrence_start": format_instant(occ.occurrence_start),
                    "start": format_instant(event.start if event else occ.start),
                    "end": format_instant(event.end if event else occ.end),
                    "event_id": event.id if event else None,
                    "state": event.state.value if event else None,
                    "modified": occ.modified,
                }
            )
        return items, truncated

    def preview(self, principal: Principal, body: Any) -> tuple[list[dict[str, Any]], bool]:
        """Expand a rule without side effects; `start` may be past. With a channel, each occurrence
        lists what it would overlap there (events and other series' occurrences)."""
        channel = self.booker.channel(principal.tenant_id, body.channel_id) if body.channel_id else None
        items, truncated = preview_occurrences(body, body.timezone or (channel.timezone if channel else None))
        if channel is not None:
            slots = [Slot(i["start"], i["end"], i["start"]) for i in items]
            by_occurrence: dict[datetime, list[dict[str, Any]]] = {}
            for ref in self.bookings.check(channel, slots):
                by_occurrence.setdefault(ref.occurrence_start, []).append(ref.to_json())
            for item in items:
                item["conflicts"] = by_occurrence.get(item["start"], [])
        return items, truncated

    # -- writes ---------------------------------------------------------------------------------------

    def create(self, principal: Principal, body: ScheduleIn, now: datetime) -> Schedule:
        """A new series: checked against every booking on its channel, then its first horizon of events
        is materialised."""
        channel = self.booker.channel(principal.tenant_id, body.channel_id)
        schedule = Schedule(
            id=new_id("sch", now),
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            **normalise(body, channel.timezone),
        )
        require_future(first_instant(schedule), now)
        schedule = self._calendared(schedule, now)
        if not occurrences(schedule, after=None, before=None, limit=1)[0]:
            raise ValidationFailed.one("/recurrence", "produces no occurrences")

        def write(checked: Schedule, version: int) -> None:
            self.store.create(checked, version)

        actor = Actor.of(principal)
        schedule = self._book(schedule, None, channel, now, body.allow_conflict, write, actor)
        self.series.sync_partners(schedule, set())
        self.bus.publish(
            ScheduleChanged(schedule.tenant_id, schedule.id, "created", actor, after=schedule_json(schedule))
        )
        self.materialiser.materialise(schedule, now, INLINE_BATCH, actor)
        return self._catch_up(principal, schedule, now)

    def patch(
        self,
        principal: Principal,
        schedule_id: str,
        document: Any,
        kind: str,
        if_match: str | None,
        now: datetime,
    ) -> Schedule:
        """Change every future occurrence that was not individually modified or skipped."""
        actor = Actor.of(principal)

        def attempt() -> tuple[Schedule, Schedule, list[str]]:
            current = self.get(principal, schedule_id)
            check_if_match(if_match, current)
            body = validate(ScheduleIn, patched(schedule_view(current), document, kind))
            channel = self.booker.channel(principal.tenant_id, body.channel_id)
            fields = normalise(body, channel.timezone)
            updated = Schedule.model_validate(
                {**current.model_dump(), **fields, "updated_at": now, "version": current.version + 1}
            )
            if (updated.start, updated.timezone) != (current.start, current.timezone):
                require_future(first_instant(updated), now)
            changes = sorted(
                n for n in fields if schedule_view(current).get(n) != schedule_view(updated).get(n)
            )
            if not changes:
                return current, current, []
            updated = self._calendared(updated, now)
            follows = (updated.teaching, closure_skips(updated)) != (current.teaching, closure_skips(current))
            if set(changes) & BOOKING_FIELDS or follows:

                def write(checked: Schedule, version: int) -> None:
                    self.store.replace(checked, current.version, version, previous=current)

                updated = self._book(updated, current, channel, now, body.allow_conflict, write, actor)
            else:
                self.store.replace(updated, current.version)
            return current, updated, changes

        current, updated, changes = optimistic(if_match, attempt, "schedule")
        if not changes:
            return current
        self._announce_update(current, updated, actor)
        self.materialiser.reconcile(updated, now, updated.materialised_until or now, now, actor)
        self.materialiser.track(updated, updated.materialised_until or now)
        return updated

    def delete(self, principal: Principal, schedule_id: str, if_match: str | None, now: datetime) -> None:
        """Remove the series and cancel its future events; past ones are kept."""

        def attempt() -> Schedule:
            schedule = self.get(principal, schedule_id)
            check_if_match(if_match, schedule)
            self.store.remove(schedule)
            return schedule

        schedule = optimistic(if_match, attempt, "schedule")
        actor = Actor.of(principal)
        self.bus.publish(
            ScheduleChanged(schedule.tenant_id, schedule.id, "deleted", actor, before=schedule_json(schedule))
        )
        for event in self.materialiser.future_events(schedule, now):
            self.materialiser.cancel(event, actor, "its series was deleted")
        for other in schedule.conflicting_schedule_ids:  # a deleted series overlaps nothing any more
            self.series.set_conflict(schedule.tenant_id, other, schedule.id, False)

    def patch_occurrence(
        self, principal: Principal, schedule_id: str, occurrence: str, document: Any, kind: str, now: datetime
    ) -> dict[str, Any]:
        """Detach one occurrence with changes; the series keeps it as a modified exception."""
        actor = Actor.of(principal)
        schedule, occ = self._occurrence(principal, schedule_id, occurrence)
        event = self.materialiser.ensure_event(schedule, occ, now, actor)
        event = self.events.patch(principal, event.id, document, kind, None, now)
        base = writable_view(occurrence_event(schedule, occ, now))
        overrides = {k: v for k, v in writable_view(event).items() if base.get(k) != v}
        before, after = self._set_exception(
            principal,
            schedule.id,
            occ.occurrence_start,
            OccurrenceException(overrides=overrides, event_id=event.id),
            now,
        )
        if before.exceptions != after.exceptions:
            self.bus.publish(
                ScheduleChanged(
                    after.tenant_id,
                    after.id,
                    "occurrence_modified",
                    actor,
                    before=schedule_json(before),
                    after=schedule_json(after),
                    detail={"occurrence_start": format_instant(occ.occurrence_start), "event_id": event.id},
                )
            )
        return {
            "occurrence_start": format_instant(occ.occurrence_start),
            "start": format_instant(event.start),
            "end": format_instant(event.end),
            "event_id": event.id,
            "state": event.state.value,
            "modified": bool(overrides),
        }

    def skip_occurrence(self, principal: Principal, schedule_id: str, occurrence: str, now: datetime) -> None:
        """Skip one occurrence (like EXDATE); its event, if any, is cancelled. Skipping again is a no-op."""
        schedule = self.get(principal, schedule_id)
        instant = self._instant(occurrence, schedule, "/path/occurrence_start")
        existing = schedule.exceptions.get(format_instant(instant))
        if existing is not None and existing.skipped:
            return
        schedule, occ = self._occurrence(principal, schedule_id, occurrence)
        before, after = self._set_exception(
            principal, schedule.id, occ.occurrence_start, OccurrenceException(skipped=True), now
        )
        actor = Actor.of(principal)
        self.bus.publish(
            ScheduleChanged(
                after.tenant_id,
                after.id,
                "occurrence_skipped",
                actor,
                before=schedule_json(before),
                after=schedule_json(after),
                detail={"occurrence_start": format_instant(occ.occurrence_start)},
            )
        )
        event = self.event_store.get(schedule.tenant_id, occ.event_id)
        if event is not None:
            self.materialiser.cancel(event, actor, "the occurrence was skipped")

    def split(
        self,
        principal: Principal,
        schedule_id: str,
        at_text: Any,
        changes: Any,
        now: datetime,
        allow_conflict: bool = False,
    ) -> Schedule:
        """This and following: the series ends before `at`; a new one with `changes` takes over from `at`."""
        actor = Actor.of(principal)

        def attempt() -> tuple[Schedule, Schedule, Schedule, dict[str, OccurrenceException], datetime]:
            schedule, occ = self._occurrence(principal, schedule_id, at_text, pointer="/at")
            at = occ.occurrence_start
            if at <= now:
                raise ValidationFailed.one("/at", "must be a future occurrence")
            if changes is not None and not isinstance(changes, dict):
                raise ValidationFailed.one("/changes", "must be an object")
            view = schedule_view(schedule)
            view["start"] = at.astimezone(load_zone(schedule.timezone)).replace(tzinfo=None).isoformat()
            count = count_of(schedule)
            if count is not None:
                view["recurrence"] = with_count(view["recurrence"], count - generated_before(schedule, at))
            try:
                body = validate(ScheduleIn, patched(view, changes or {}, "merge"))
                channel = self.booker.channel(principal.tenant_id, body.channel_id)
                fields = normalise(body, channel.timezone)
            except ValidationFailed as exc:  # point into `changes`, where the client wrote it
                raise ValidationFailed(
                    [type(e)(f"/changes{e.pointer}", e.detail) for e in exc.errors]
                ) from None
            successor = Schedule(
                id=new_id("sch", now), tenant_id=schedule.tenant_id, created_at=now, updated_at=now, **fields
            )
            moved = {key: exc for key, exc in schedule.exceptions.items() if parse_instant(key) >= at}
            successor = successor.model_copy(update={"exceptions": moved})
            require_future(first_instant(successor), now, "/changes/start")
            successor = self._calendared(successor, now, "/changes")
            ended = schedule.model_copy(
                update={
                    "series_end": at,
                    "updated_at": now,
                    "version": schedule.version + 1,
                    "exceptions": {k: v for k, v in schedule.exceptions.items() if k not in moved},
                }
            )

            def replaced(booking: Booking) -> bool:  # the old series' own later occurrences give way
                return booking.schedule_id == schedule.id and booking.start >= at

            def write(checked: Schedule, version: int) -> None:
                self.store.split(ended, schedule.version, checked, version)

            successor = self._book(
                successor, None, channel, now, allow_conflict or body.allow_conflict, write, actor, replaced
            )
            return schedule, ended, successor, moved, at

        schedule, ended, successor, moved, at = optimistic(None, attempt, "schedule")
        self.bus.publish(
            ScheduleChanged(
                schedule.tenant_id,
                schedule.id,
                "split",
                actor,
                before=schedule_json(schedule),
                after=schedule_json(ended),
                detail={"successor_id": successor.id, "at": format_instant(at)},
            )
        )
        self.bus.publish(
            ScheduleChanged(
                successor.tenant_id, successor.id, "created", actor, after=schedule_json(successor)
            )
        )
        for event in self.materialiser.future_events(schedule, at):
            if format_instant(event.occurrence_start or event.start) in moved:
                continue  # modified occurrences move to the successor with their event
            self.materialiser.cancel(event, actor, "a later series took over this occurrence")
        self.series.sync_partners(successor, set())
        for _key, exception in moved.items():
            if exception.event_id:
                self._reparent(schedule.tenant_id, exception.event_id, successor.id, now, actor)
        self.materialiser.materialise(successor, now, INLINE_BATCH, actor)
        self.materialiser.track(ended, ended.materialised_until or now)
        return successor

    # -- term calendars -------------------------------------------------------------------------------

    def follow_calendar(
        self, principal: Principal, schedule_id: str, calendar: Calendar, now: datetime, dry_run: bool = False
    ) -> SeriesEffect:
        """Bring one series in line with its changed calendar: closure skips set and restored, teaching
        weeks resolved again. Occurrences that come back book again, through the same check as any write:
        those that now overlap another booking stay skipped (`refused`). A dry run writes nothing."""
        actor = Actor.of(principal)

        def attempt() -> tuple[SeriesEffect, Schedule, Schedule | None]:
            current = self.get(principal, schedule_id)
            if current.calendar_id != calendar.id:
                return SeriesEffect(current), current, None
            desired = with_calendar(current, calendar, now)
            found = series_effect(current, desired, now)
            if dry_run or (not found.changed and desired.teaching == current.teaching):
                return found, current, None
            channel = self.booker.channel(current.tenant_id, current.channel_id)
            booking = {format_instant(o.occurrence_start): o for o in found.restored + found.added}
            refused: dict[str, list[dict[str, Any]]] = {}
            while True:
                keep = {key: OccurrenceException(skipped=True) for key in refused}
                candidate = desired.model_copy(
                    update={
                        "exceptions": {**desired.exceptions, **keep},
                        "updated_at": now,
                        "version": current.version + 1,
                    }
                )

                def write(checked: Schedule, version: int) -> None:
                    self.store.replace(checked, current.version, version, previous=current)

                try:
                    written = self._book(candidate, current, channel, now, False, write, actor)
                    break
                except BookingConflict as exc:
                    blocked = {str(c.get("occurrence_start")) for c in exc.conflicts} & set(booking)
                    if not blocked - set(refused):
                        raise
                    for key in blocked:
                        refused[key] = [c for c in exc.conflicts if c.get("occurrence_start") == key]
            found.schedule = written
            found.restored = [o for o in found.restored if format_instant(o.occurrence_start) not in refused]
            found.added = [o for o in found.added if format_instant(o.occurrence_start) not in refused]
            found.refused = [(booking[key], conflicts) for key, conflicts in sorted(refused.items())]
            return found, current, written

        found, current, written = optimistic(None, attempt, "schedule")
        if written is not None:
            self._announce_update(current, written, actor, {"calendar_id": calendar.id})
            self._follow_events(principal, written, found, now, actor)
            if found.added or found.removed:
                self.materialiser.reconcile(written, now, written.materialised_until or now, now, actor)
            self.materialiser.track(written, written.materialised_until or now)
        return found

    def _announce_update(
        self, before: Schedule, after: Schedule, actor: Actor, detail: dict[str, Any] | None = None
    ) -> None:
        """A series was rewritten: its conflict partners follow, and the change is announced once."""
        self.series.sync_partners(after, set(before.conflicting_schedule_ids))
        self.bus.publish(
            ScheduleChanged(
                after.tenant_id,
                after.id,
                "updated",
                actor,
                before=schedule_json(before),
                after=schedule_json(after),
                detail=detail or {},
            )
        )

    def _follow_events(
        self, principal: Principal, schedule: Schedule, found: SeriesEffect, now: datetime, actor: Actor
    ) -> None:
        """Events of occurrences a closure skipped are soft-deleted (restorable); they come back with it."""
        made = schedule.materialised_until
        for occ in found.skipped:
            event = self.event_store.get(schedule.tenant_id, occ.event_id)
            if event is not None and event.deleted_at is None and event.state == EventState.SCHEDULED:
                self.events.delete(principal, event.id, False, None, now)
        for occ in found.restored:
            event = self.event_store.get(schedule.tenant_id, occ.event_id)
            if event is None and made is not None and occ.occurrence_start < made:
                self.materialiser.ensure_event(schedule, occ, now, actor)
            elif event is not None and event.deleted_at is not None:
                try:
                    self.events.restore(principal, event.id, None, now)
                except BookingConflict:  # booked meanwhile: the series keeps it, the event stays deleted
                    log.warning("a restored occurrence's event overlaps", extra={"event_id": event.id})

    def _calendared(self, schedule: Schedule, now: datetime, pointer: str = "") -> Schedule:
        """The schedule with its term calendar applied: teaching weeks resolved, closure skips set."""
        if schedule.calendar_id is None:
            if not schedule.teaching and not closure_skips(schedule):
                return schedule
            return with_calendar(schedule, None, now)
        calendar = self.calendars(schedule.tenant_id, schedule.calendar_id)
        if calendar is None:
            raise ValidationFailed.one(f"{pointer}/calendar_id", "no such calendar")
        try:
            return with_calendar(schedule, calendar, now)
        except ValidationFailed as exc:
            raise ValidationFailed(
                [FieldError(f"{pointer}{e.pointer}", e.detail) for e in exc.errors]
            ) from None

    def _catch_up(self, principal: Principal, schedule: Schedule, now: datetime) -> Schedule:
        """A calendar changed while the series was being written (its closures were applied to the
        schedules it knew of): follow the calendar now."""
        if schedule.calendar_id is None:
            return schedule
        calendar = self.calendars(schedule.tenant_id, schedule.calendar_id)
        if calendar is None or calendar.version == schedule.calendar_version:
            return schedule
        return self.follow_calendar(principal, schedule.id, calendar, now).schedule

    # -- booking a series -----------------------------------------------------------------------------

    def _book(
        self,
        schedule: Schedule,
        previous: Schedule | None,
        channel: Channel,
        now: datetime,
        allow_conflict: bool,
        write: Callable[[Schedule, int], None],
        actor: Actor,
        replaces: Callable[[Booking], bool] | None = None,
    ) -> Schedule:
        """Check the series against the channel and write it with `write(schedule, booking_version)`.

        Overlaps it adds are refused (409) unless `allow_conflict`; overlaps the series had before the
        change never block it. The write is conditioned on the booking version the check read, so a
        concurrent booking on the channel sends it round again. Returns the schedule as written, with
        its conflict summaries.
        """
        for attempt in range(MAX_BOOKING_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
                channel = self.booker.channel(schedule.tenant_id, schedule.channel_id)
            version = channel.booking_version
            check = self.series.check(schedule, channel, now, replaces)
            before = self._before(previous, channel, now) if check.conflicts and previous else None
            added = self.series.added(check, before)
            if added and not allow_conflict:
                raise BookingConflict(
                    conflicts=[c.to_json() for c in added],
                    suggestion=self._suggest(schedule, added[0], channel),
                )
            checked = schedule.model_copy(update=check.summaries(schedule.id))
            try:
                write(checked, version)
            except BookingRaced:
                continue
            if added:
                self.bus.publish(
                    OverlapAccepted(checked.tenant_id, checked.channel_id, checked.id, added, actor)
                )
            return checked
        raise Conflict("The channel is taking many bookings at once; retry.")

    def _before(self, previous: Schedule, channel: Channel, now: datetime) -> SeriesCheck | None:
        """What the series overlapped before the change (on its old channel, nothing here)."""
        if previous.channel_id != channel.id or not previous.active:
            return None
        try:
            return self.series.check(previous, channel, now)
        except ValidationFailed:
            return None

    def _suggest(self, schedule: Schedule, first: ConflictRef, channel: Channel) -> dict[str, str] | None:
        """The earliest free slot for the first occurrence that overlaps (the series' own bookings give
        way: they are what is being rewritten)."""
        start = first.occurrence_start or first.start
        return suggestion_json(
            self.bookings.suggest(
                channel,
                timedelta(seconds=schedule.duration),
                start,
                exclude=lambda booking: booking.schedule_id == schedule.id,
            )
        )

    # -- internals ------------------------------------------------------------------------------------

    @staticmethod
    def _instant(text: Any, schedule: Schedule, pointer: str) -> datetime:
        """An occurrence's name: an instant (offset or `Z`), or a local date-time in the series' zone."""
        if isinstance(text, str) and not text.strip().isdigit() and not has_offset(text):
            zone = load_zone(schedule.timezone)
            return to_utc(parse_local_datetime(text, zone, pointer), zone)
        try:
            return parse_instant(text)
        except ValueError as exc:
            raise ValidationFailed.one(pointer, str(exc)) from None

    def _occurrence(
        self, principal: Principal, schedule_id: str, text: Any, pointer: str = "/path/occurrence_start"
    ) -> tuple[Schedule, Occurrence]:
        schedule = self.get(principal, schedule_id)
        instant = self._instant(text, schedule, pointer)
        found, _ = occurrences(schedule, after=instant, before=instant + timedelta(seconds=1), limit=1)
        if not found or found[0].occurrence_start != instant:
            raise NotFound(f"The schedule has no occurrence starting {format_instant(instant)}.")
        return schedule, found[0]

    def _reparent(self, tenant_id: str, event_id: str, schedule_id: str, now: datetime, actor: Actor) -> None:
        event = self.event_store.get(tenant_id, event_id)
        if event is not None:
            moved = event.model_copy(
                update={"schedule_id": schedule_id, "updated_at": now, "version": event.version + 1}
            )
            self.booker.rewrite(moved, event, actor)
            self.bus.publish(EventChanged(moved, event, actor, {"schedule_id": schedule_id}))

    def _set_exception(
        self,
        principal: Principal,
        schedule_id: str,
        occurrence_start: datetime,
        exception: OccurrenceException,
        now: datetime,
    ) -> tuple[Schedule, Schedule]:
        """Record one occurrence's exception; returns the series before and after."""

        def attempt() -> tuple[Schedule, Schedule]:
            schedule = self.get(principal, schedule_id)
            exceptions = {**schedule.exceptions, format_instant(occurrence_start): exception}
            updated = schedule.model_copy(
                update={"exceptions": exceptions, "updated_at": now, "version": schedule.version + 1}
            )
            self.store.replace(updated, schedule.version)
            return schedule, updated

        return optimistic(None, attempt, "schedule")
