"""Recurring series: create, edit (all / this occurrence / this and following), delete, preview, materialise.

Events for occurrences within the horizon are kept in step with the series by one function,
`reconcile`, used by creation, series edits and the scheduled materialiser alike.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.schedules import ScheduleStore
from chalicelib.domain.conflicts import Booking, ConflictRef, Slot
from chalicelib.domain.errors import (
    AlreadyExists,
    BookingConflict,
    NotFound,
    PreconditionFailed,
    StaleWrite,
    ValidationFailed,
)
from chalicelib.domain.ids import new_id
from chalicelib.domain.inputs import ScheduleIn
from chalicelib.domain.models import Channel, Event, EventState, Principal
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.recurrence import expand, load_zone, parse_local_datetime, parse_recurrence
from chalicelib.domain.schedules import (
    Occurrence,
    OccurrenceException,
    Schedule,
    count_of,
    event_id_for,
    generated_before,
    normalise,
    occurrences,
    require_future,
    with_count,
)
from chalicelib.domain.time import format_instant, parse_instant
from chalicelib.domain.validation import validate
from chalicelib.services.common import check_if_match, patched
from chalicelib.services.conflicts import suggestion_json
from chalicelib.services.events import EventService, writable_view

log = logging.getLogger("onair.schedules")
# Changing any of these moves the series' bookings, so its occurrences are checked again.
BOOKING_FIELDS = frozenset({"channel_id", "start", "timezone", "duration", "recurrence", "active"})
Publish = Callable[[str, dict[str, Any]], None]
WRITABLE = tuple(name for name in ScheduleIn.model_fields if name != "allow_conflict")
# Materialised events whose start moved this far from their occurrence are looked up one by one.
NEARBY = timedelta(days=1)


def schedule_view(schedule: Schedule) -> dict[str, Any]:
    """The fields a client may write, as JSON."""
    return schedule.model_dump(mode="json", include=set(WRITABLE))


def summaries(conflicts: list[ConflictRef], occurrence_count: int, own_id: str) -> dict[str, list[str]]:
    """`conflicting_schedule_ids`: series overlapping any occurrence; `blocked_schedule_ids`: series whose
    bookings wholly contain every occurrence."""
    conflicting = sorted({c.schedule_id for c in conflicts if c.schedule_id and c.schedule_id != own_id})
    blocked_at: dict[str, set[datetime]] = {}
    for c in conflicts:
        if c.schedule_id and c.kind == "blocked" and c.occurrence_start is not None:
            blocked_at.setdefault(c.schedule_id, set()).add(c.occurrence_start)
    blocked = sorted(s for s, at in blocked_at.items() if len(at) == occurrence_count and s != own_id)
    return {"conflicting_schedule_ids": conflicting, "blocked_schedule_ids": blocked}


def first_instant(schedule: Schedule) -> datetime:
    """DTSTART as a UTC instant (fold=0: an ambiguous local time means its first instance)."""
    return schedule.local_start().replace(tzinfo=load_zone(schedule.timezone)).astimezone(UTC)


class ScheduleService:
    def __init__(
        self, store: ScheduleStore, events: EventService, publish: Publish, horizon: timedelta
    ) -> None:
        self.store = store
        self.events = events
        self.publish = publish
        self.horizon = horizon

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, principal: Principal, schedule_id: str) -> Schedule:
        schedule = self.store.get(principal.tenant_id, schedule_id)
        if schedule is None:
            raise NotFound(f"No schedule {schedule_id}.")
        return schedule

    def list(self, principal: Principal, limit: int, cursor: str | None) -> tuple[list[Schedule], str | None]:
        return self.store.list(principal.tenant_id, limit, cursor)

    def continuing_on(self, channel: Channel, now: datetime) -> list[str]:
        """Ids of the series on `channel` with an occurrence still ahead (paused ones may resume)."""
        return [
            schedule.id
            for schedule in self.store.for_channel(channel.tenant_id, channel.id)
            if self.next_occurrence(schedule, now) is not None
        ]

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
        events = self._events_near(schedule, start, found[-1].occurrence_start + timedelta(seconds=1))
        items = []
        for occ in found:
            event = events.get(occ.event_id) or (
                self.events.store.get(schedule.tenant_id, occ.event_id) if occ.modified else None
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
        """Expand a rule without side effects; `start` may be past."""
        zone_name = body.timezone
        if zone_name is None and body.channel_id:
            zone_name = self.events.channel(principal.tenant_id, body.channel_id).timezone
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
        items = [{"start": s, "end": s + length} for s in starts]
        if body.channel_id:
            self.preview_conflicts(principal, body.channel_id, items)
        return items, truncated

    # -- writes ---------------------------------------------------------------------------------------

    def create(self, principal: Principal, body: ScheduleIn, now: datetime) -> Schedule:
        """A new series; its first horizon of events is materialised at once."""
        channel = self.events.channel(principal.tenant_id, body.channel_id)
        schedule = Schedule(
            id=new_id("sch", now),
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            **normalise(body, channel.timezone),
        )
        require_future(first_instant(schedule), now)
        if not occurrences(schedule, after=None, before=None, limit=1)[0]:
            raise ValidationFailed.one("/recurrence", "produces no occurrences")
        schedule = self.check_series(schedule, channel, now, body.allow_conflict)
        self.store.create(schedule)
        self._sync_partners(schedule, set())
        self.materialise(schedule, now)
        self.publish("Schedule Created", {"tenant_id": schedule.tenant_id, "id": schedule.id})
        return schedule

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
        for _ in range(3):
            current = self.get(principal, schedule_id)
            check_if_match(if_match, current)
            body = validate(ScheduleIn, patched(schedule_view(current), document, kind))
            channel = self.events.channel(principal.tenant_id, body.channel_id)
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
                return current
            if set(changes) & BOOKING_FIELDS:
                updated = self.check_series(updated, channel, now, body.allow_conflict)
            try:
                self.store.replace(updated, current.version)
            except StaleWrite:
                if if_match is not None:
                    raise PreconditionFailed("The schedule changed since the ETag you sent.") from None
                continue
            self._sync_partners(updated, set(current.conflicting_schedule_ids))
            self.reconcile(updated, now, updated.materialised_until or now, now)
            self._track(updated, updated.materialised_until or now)
            self.publish(
                "Schedule Updated", {"tenant_id": updated.tenant_id, "id": updated.id, "changes": changes}
            )
            return updated
        raise StaleWrite()

    def delete(self, principal: Principal, schedule_id: str, if_match: str | None, now: datetime) -> None:
        """Remove the series and cancel its future events; past ones are kept."""
        schedule = self.get(principal, schedule_id)
        check_if_match(if_match, schedule)
        try:
            self.store.delete(schedule.tenant_id, schedule.id, schedule.version)
        except StaleWrite:
            raise PreconditionFailed("The schedule changed while it was being deleted; retry.") from None
        for event in self._future_events(schedule, now):
            self._cancel(event, now)
        for other in schedule.conflicting_schedule_ids:  # a deleted series overlaps nothing any more
            self._set_conflict(schedule.tenant_id, other, schedule.id, False)
        self.publish("Schedule Deleted", {"tenant_id": schedule.tenant_id, "id": schedule.id})

    def patch_occurrence(
        self, principal: Principal, schedule_id: str, occurrence: str, document: Any, kind: str, now: datetime
    ) -> dict[str, Any]:
        """Detach one occurrence with changes; the series keeps it as a modified exception."""
        schedule, occ = self._occurrence(principal, schedule_id, occurrence)
        event = self._ensure_event(schedule, occ, now)
        event = self.events.patch(principal, event.id, document, kind, None, now)
        base = writable_view(self._occurrence_event(schedule, occ, now))
        overrides = {k: v for k, v in writable_view(event).items() if base.get(k) != v}
        self._set_exception(
            principal,
            schedule.id,
            occ.occurrence_start,
            OccurrenceException(overrides=overrides, event_id=event.id),
            now,
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
        """Skip one occurrence (like EXDATE); its event, if any, is cancelled."""
        schedule, occ = self._occurrence(principal, schedule_id, occurrence)
        self._set_exception(
            principal, schedule.id, occ.occurrence_start, OccurrenceException(skipped=True), now
        )
        event = self.events.store.get(schedule.tenant_id, occ.event_id)
        if event is not None:
            self._cancel(event, now)

    def split(
        self, principal: Principal, schedule_id: str, at_text: Any, changes: Any, now: datetime
    ) -> Schedule:
        """This and following: the series ends before `at`; a new one with `changes` takes over from `at`."""
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
            channel = self.events.channel(principal.tenant_id, body.channel_id)
            fields = normalise(body, channel.timezone)
        except ValidationFailed as exc:  # point into `changes`, where the client wrote it
            raise ValidationFailed([type(e)(f"/changes{e.pointer}", e.detail) for e in exc.errors]) from None
        successor = Schedule(
            id=new_id("sch", now), tenant_id=schedule.tenant_id, created_at=now, updated_at=now, **fields
        )
        moved = {key: exc for key, exc in schedule.exceptions.items() if parse_instant(key) >= at}
        successor = successor.model_copy(update={"exceptions": moved})
        require_future(first_instant(successor), now, "/changes/start")
        successor = self.check_series(
            successor,
            channel,
            now,
            body.allow_conflict,
            replaces=lambda b: b.schedule_id == schedule.id and b.start >= at,
        )
        ended = schedule.model_copy(
            update={
                "series_end": at,
                "updated_at": now,
                "version": schedule.version + 1,
                "exceptions": {k: v for k, v in schedule.exceptions.items() if k not in moved},
            }
        )
        self.store.replace(ended, schedule.version)
        for event in self._future_events(schedule, at):
            if format_instant(event.occurrence_start or event.start) in moved:
                continue  # modified occurrences move to the successor with their event
            self._cancel(event, now)
        self.store.create(successor)
        self._sync_partners(successor, set())
        for _key, exception in moved.items():
            if exception.event_id:
                self._reparent(schedule.tenant_id, exception.event_id, successor.id, now)
        self.materialise(successor, now)
        self._track(ended, ended.materialised_until or now)
        self.publish(
            "Schedule Split",
            {
                "tenant_id": schedule.tenant_id,
                "id": schedule.id,
                "successor_id": successor.id,
                "at": format_instant(at),
            },
        )
        return successor

    # -- conflicts ------------------------------------------------------------------------------------

    def check_series(
        self,
        schedule: Schedule,
        channel: Channel,
        now: datetime,
        allow_conflict: bool,
        replaces: Callable[[Booking], bool] | None = None,
    ) -> Schedule:
        """Check every occurrence within the conflict horizon against the channel; refuse (409) or record.

        Bookings are the channel's events plus other series' occurrences that are not events yet. Returns
        the schedule with `conflicting_schedule_ids` and `blocked_schedule_ids` set.
        """
        checker = self.events.conflicts
        found, _ = occurrences(schedule, after=now, before=now + checker.horizon)
        slots = [Slot(o.start, o.end, o.occurrence_start) for o in found]
        if not slots:
            return schedule.model_copy(update={"conflicting_schedule_ids": [], "blocked_schedule_ids": []})
        extra = self._other_series(schedule, channel, slots[0].start, slots[-1].end + channel.changeover)
        own = schedule.id

        def excluded(booking: Booking) -> bool:
            return booking.schedule_id == own or (replaces is not None and replaces(booking))

        conflicts = checker.check(channel, slots, extra=extra, exclude=excluded)
        if conflicts and not allow_conflict:
            first = conflicts[0]
            slot = next(s for s in slots if s.occurrence_start == first.occurrence_start)
            suggestion = checker.suggest(
                channel, slot.end - slot.start, slot.start, extra=[b for b in extra if not excluded(b)]
            )
            raise BookingConflict(
                conflicts=[c.to_json() for c in conflicts], suggestion=suggestion_json(suggestion)
            )
        return schedule.model_copy(update=summaries(conflicts, len(slots), own))

    def preview_conflicts(self, principal: Principal, channel_id: str, items: list[dict[str, Any]]) -> None:
        """Add `conflicts` to each previewed occurrence (against the channel's events and series)."""
        channel = self.events.channel(principal.tenant_id, channel_id)
        if not items:
            return
        slots = [Slot(i["start"], i["end"], i["start"]) for i in items]
        extra = self._other_series(None, channel, slots[0].start, slots[-1].end + channel.changeover)
        by_occurrence: dict[datetime, list[dict[str, Any]]] = {}
        for ref in self.events.conflicts.check(channel, slots, extra=extra):
            by_occurrence.setdefault(ref.occurrence_start, []).append(ref.to_json())
        for item in items:
            item["conflicts"] = by_occurrence.get(item["start"], [])

    def mark_conflict(self, event: Event, conflicts: list[ConflictRef]) -> None:
        """An allowed overlap was booked (rolling horizon or allow_conflict): record it on both series."""
        if event.schedule_id is None:
            return
        others = {c.schedule_id for c in conflicts if c.schedule_id and c.schedule_id != event.schedule_id}
        for other in others:
            self._add_conflict(event.tenant_id, event.schedule_id, other)
            self._add_conflict(event.tenant_id, other, event.schedule_id)

    def released(self, event: Event, now: datetime) -> None:
        """A series' event stopped holding its slot (cancelled, deleted, moved): its overlaps may be gone."""
        if event.schedule_id is None:
            return
        schedule = self.store.get(event.tenant_id, event.schedule_id)
        if schedule is not None and schedule.conflicting_schedule_ids:  # nothing to shrink otherwise
            self.refresh_summaries(schedule, now)

    def refresh_summaries(self, schedule: Schedule, now: datetime) -> Schedule:
        """Recompute a series' conflicting/blocked ids from the bookings as they are, on both sides."""
        channel = self.events.channels.get(schedule.tenant_id, schedule.channel_id)
        if channel is None:
            return schedule
        fresh = self.check_series(schedule, channel, now, allow_conflict=True)
        summary = ("conflicting_schedule_ids", "blocked_schedule_ids")
        if all(getattr(fresh, f) == getattr(schedule, f) for f in summary):
            return schedule
        updated = self._update(schedule, {f: getattr(fresh, f) for f in summary}) or schedule
        self._sync_partners(fresh, set(schedule.conflicting_schedule_ids))
        return updated

    def _sync_partners(self, schedule: Schedule, before: set[str]) -> None:
        """Overlap is mutual: series that now overlap list this one, series that no longer do drop it."""
        after = set(schedule.conflicting_schedule_ids)
        for other in after:
            self._set_conflict(schedule.tenant_id, other, schedule.id, True)
        for other in before - after:
            self._set_conflict(schedule.tenant_id, other, schedule.id, False)

    def _add_conflict(self, tenant_id: str, schedule_id: str, other: str) -> None:
        self._set_conflict(tenant_id, schedule_id, other, True)

    def _set_conflict(self, tenant_id: str, schedule_id: str, other: str, present: bool) -> None:
        """Add `other` to (or drop it from) a series' conflicting ids (and its blocked ids when dropped)."""
        schedule = self.store.get(tenant_id, schedule_id)
        if schedule is None or (other in schedule.conflicting_schedule_ids) == present:
            return
        ids = set(schedule.conflicting_schedule_ids)
        ids = ids | {other} if present else ids - {other}
        fields: dict[str, Any] = {"conflicting_schedule_ids": sorted(ids)}
        if not present:
            fields["blocked_schedule_ids"] = [s for s in schedule.blocked_schedule_ids if s != other]
        self._update(schedule, fields)

    def _update(self, schedule: Schedule, fields: dict[str, Any]) -> Schedule | None:
        """Write summary fields, re-reading on a concurrent change (they are derived, so last writer wins)."""
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

    def _other_series(
        self, schedule: Schedule | None, channel: Channel, start: datetime, end: datetime
    ) -> list[Booking]:
        """Other active series' occurrences on the channel in [start, end) that are not events yet."""
        found: list[Booking] = []
        for other in self.store.for_channel(channel.tenant_id, channel.id):
            if (schedule is not None and other.id == schedule.id) or not other.active:
                continue
            # An occurrence that starts up to one duration before `start` can still overlap the window.
            earliest = start - timedelta(seconds=other.duration)
            after = max(earliest, other.materialised_until or earliest)
            occs, _ = occurrences(other, after=after, before=end)
            found += [Booking(o.event_id, o.start, o.end, other.title, other.id) for o in occs]
        return found

    # -- materialisation ------------------------------------------------------------------------------

    def materialise(self, schedule: Schedule, now: datetime) -> int:
        """Make events exist for occurrences up to `now + horizon`; idempotent, safe to run concurrently."""
        until = now + self.horizon
        start = schedule.materialised_until or first_instant(schedule)
        created = (
            self.reconcile(schedule, max(start, now - timedelta(days=1)), until, now)
            if schedule.active and start < until
            else 0
        )
        self._track(schedule, max(until, start))
        return created

    def tick(self, now: datetime) -> dict[str, int]:
        """The scheduled job: materialise every schedule that is due (cost grows with due ones only)."""
        due = created = failed = 0
        for schedule in self.store.due(now):
            due += 1
            try:
                created += self.materialise(schedule, now)
            except Exception:
                failed += 1
                log.exception("materialising failed", extra={"schedule_id": schedule.id})
        return {"due": due, "created": created, "failed": failed}

    def reconcile(self, schedule: Schedule, start: datetime, end: datetime, now: datetime) -> int:
        """Bring the events of occurrences named in [start, end) in line with the series; count new ones.

        Unmodified occurrences get an event with the series' fields; events of occurrences that no longer
        exist are cancelled; modified, skipped, started and past ones are left alone.
        """
        if end <= start or not schedule.active:
            return 0
        wanted, _ = occurrences(schedule, after=start, before=end)
        channel = self.events.channel(schedule.tenant_id, schedule.channel_id)
        existing = self._events_near(schedule, start, end)
        created = 0
        for occ in wanted:
            if occ.modified or occ.end <= now:
                continue
            event = existing.pop(occ.event_id, None)
            desired = self._occurrence_event(schedule, occ, now, channel)
            if event is None:
                try:
                    self.events.book(desired, None, channel, allow_conflict=True)
                    created += 1
                except AlreadyExists:
                    pass  # made by a concurrent run, or soft-deleted by a user: either way, leave it
            elif event.state == EventState.SCHEDULED and event.deleted_at is None:
                self._rewrite(event, desired, now)
        for event in existing.values():
            key = format_instant(event.occurrence_start) if event.occurrence_start else None
            exception = schedule.exceptions.get(key) if key else None
            if (exception is None or not exception.overrides) and event.start >= now:
                self._cancel(event, now)
        return created

    # -- internals ------------------------------------------------------------------------------------

    def _occurrence(
        self, principal: Principal, schedule_id: str, text: Any, pointer: str = "/path/occurrence_start"
    ) -> tuple[Schedule, Occurrence]:
        schedule = self.get(principal, schedule_id)
        try:
            instant = parse_instant(text)
        except ValueError as exc:
            raise ValidationFailed.one(pointer, str(exc)) from None
        found, _ = occurrences(schedule, after=instant, before=instant + timedelta(seconds=1), limit=1)
        if not found or found[0].occurrence_start != instant:
            raise NotFound(f"The schedule has no occurrence starting {format_instant(instant)}.")
        return schedule, found[0]

    def _occurrence_event(
        self, schedule: Schedule, occ: Occurrence, now: datetime, channel: Channel | None = None
    ) -> Event:
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

    def _ensure_event(self, schedule: Schedule, occ: Occurrence, now: datetime) -> Event:
        event = self.events.store.get(schedule.tenant_id, occ.event_id)
        if event is not None:
            return event
        channel = self.events.channel(schedule.tenant_id, schedule.channel_id)
        desired = self._occurrence_event(schedule, occ, now, channel)
        with contextlib.suppress(AlreadyExists):
            self.events.book(desired, None, channel, allow_conflict=True)
        return self.events.store.get(schedule.tenant_id, occ.event_id) or desired

    def _rewrite(self, event: Event, desired: Event, now: datetime) -> None:
        """Update a materialised event to the series' current fields, if they differ."""
        fields = writable_view(desired)
        if writable_view(event) == fields:
            return
        updated = Event.model_validate(
            {
                **event.model_dump(),
                **desired.model_dump(
                    exclude={
                        "id",
                        "tenant_id",
                        "created_at",
                        "updated_at",
                        "version",
                        "state",
                        "published",
                        "vod",
                        "deleted_at",
                    }
                ),
                "updated_at": now,
                "version": event.version + 1,
            }
        )
        channel = self.events.channel(event.tenant_id, updated.channel_id)
        try:
            self.events.book(updated, event, channel, allow_conflict=True)
        except StaleWrite:
            log.warning("event changed while the series was applied", extra={"event_id": event.id})

    def _cancel(self, event: Event, now: datetime) -> None:
        """Cancel an event that has not started (the series no longer has it)."""
        if event.state != EventState.SCHEDULED or event.deleted_at is not None:
            return
        try:
            self.events.cancel(
                event, now, actor="scheduler", reason="the series no longer has this occurrence"
            )
        except StaleWrite:
            log.warning("event changed while being cancelled", extra={"event_id": event.id})

    def _reparent(self, tenant_id: str, event_id: str, schedule_id: str, now: datetime) -> None:
        event = self.events.store.get(tenant_id, event_id)
        if event is not None:
            moved = event.model_copy(
                update={"schedule_id": schedule_id, "updated_at": now, "version": event.version + 1}
            )
            self.events.rewrite(moved, event)

    def _set_exception(
        self,
        principal: Principal,
        schedule_id: str,
        occurrence_start: datetime,
        exception: OccurrenceException,
        now: datetime,
    ) -> None:
        for _ in range(3):
            schedule = self.get(principal, schedule_id)
            exceptions = {**schedule.exceptions, format_instant(occurrence_start): exception}
            updated = schedule.model_copy(
                update={"exceptions": exceptions, "updated_at": now, "version": schedule.version + 1}
            )
            try:
                self.store.replace(updated, schedule.version)
                return
            except StaleWrite:
                continue
        raise StaleWrite()

    def _events_near(self, schedule: Schedule, start: datetime, end: datetime) -> dict[str, Event]:
        """The schedule's live events starting within a day of [start, end), by id (paged Queries)."""
        query = EventQuery(
            tenant_id=schedule.tenant_id,
            schedule_id=schedule.id,
            start_from=start - NEARBY,
            to=end + NEARBY,
            limit=500,
        )
        return {e.id: e for e in self.events.store.iterate(query)}

    def _future_events(self, schedule: Schedule, since: datetime) -> list[Event]:
        """The schedule's live events starting at or after `since`."""
        # With no bound the key condition is start >= since (the filter end > since then always holds).
        query = EventQuery(tenant_id=schedule.tenant_id, schedule_id=schedule.id, start_from=since, limit=500)
        return list(self.events.store.iterate(query))

    def _track(self, schedule: Schedule, materialised_until: datetime) -> None:
        """Record progress; the schedule is next due when its next occurrence enters the horizon."""
        due_at = None
        if schedule.active:
            following, _ = occurrences(schedule, after=materialised_until, before=None, limit=1)
            if following:
                due_at = following[0].occurrence_start - self.horizon
        self.store.set_progress(schedule, materialised_until, due_at)
