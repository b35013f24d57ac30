"""Term calendars, the use cases: create, read, change and delete them, and add, move or remove closures.

Every change that can move a series' occurrences (terms, time zone, closures) is applied to each series
that follows the calendar through `ScheduleService.follow_calendar`, the same booking checks as any
series edit; a dry run shows what it would do without writing anything (docs/calendars.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.adapters.calendars import CalendarStore
from chalicelib.domain.calendars import (
    Calendar,
    CalendarIn,
    Closure,
    ClosureIn,
    parse_weeks,
    stored_closure,
    stored_terms,
    total_weeks,
)
from chalicelib.domain.closures import SeriesEffect, describe
from chalicelib.domain.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.messages import Actor, RecordChanged, record_json
from chalicelib.domain.models import Principal
from chalicelib.domain.validation import validate
from chalicelib.services.common import check_if_match, optimistic, patched
from chalicelib.services.messagebus import MessageBus
from chalicelib.services.schedules import ScheduleService

log = logging.getLogger("onair.calendars")
MAX_LISTED = 5_000  # occurrences listed per kind of change (the count is always exact)


@dataclass
class Impact:
    """What a calendar change does to the series that follow it, occurrence by occurrence."""

    dry_run: bool
    schedules: int = 0
    affected: list[dict[str, Any]] = field(default_factory=list)  # skipped by a closure
    restored: list[dict[str, Any]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    not_restored: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("affected", "restored", "added", "removed", "not_restored"), 0)
    )

    def add(self, found: SeriesEffect) -> None:
        schedule = found.schedule
        made = schedule.materialised_until

        def listed(name: str, items: list[dict[str, Any]]) -> None:
            self.counts[name] += len(items)
            room = MAX_LISTED - len(getattr(self, name))
            getattr(self, name).extend(items[: max(room, 0)])

        def item(occ: Any) -> dict[str, Any]:
            return describe(schedule, occ, made is not None and occ.occurrence_start < made)

        listed("affected", [item(o) for o in found.skipped])
        listed("restored", [item(o) for o in found.restored])
        listed("added", [item(o) for o in found.added])
        listed("removed", [item(o) for o in found.removed])
        listed("not_restored", [{**item(o), "conflicts": conflicts} for o, conflicts in found.refused])

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "schedules": self.schedules,
            "counts": self.counts,
            "affected": self.affected,
            "restored": self.restored,
            "added": self.added,
            "removed": self.removed,
            "not_restored": self.not_restored,
            "failed": self.failed,
        }


def _input_view(calendar: Calendar) -> dict[str, Any]:
    """The fields a client may write, as JSON."""
    return {
        "name": calendar.name,
        "timezone": calendar.timezone,
        "terms": [term.model_dump(mode="json") for term in calendar.terms],
        "closures": [c.model_dump(mode="json", exclude={"id"}, exclude_none=True) for c in calendar.closures],
    }


def _same(closure: Closure) -> tuple[Any, ...]:
    return (closure.name, closure.start, closure.end, closure.channel_ids)


class CalendarService:
    def __init__(self, store: CalendarStore, schedules: ScheduleService, bus: MessageBus) -> None:
        self.store = store
        self.schedules = schedules
        self.bus = bus

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, principal: Principal, calendar_id: str) -> Calendar:
        calendar = self.store.get(principal.tenant_id, calendar_id)
        if calendar is None:
            raise NotFound(f"No calendar {calendar_id}.")
        return calendar

    def list(self, principal: Principal, limit: int, cursor: str | None) -> tuple[list[Calendar], str | None]:
        return self.store.list(principal.tenant_id, limit, cursor)

    def lookup(self, tenant_id: str, calendar_id: str) -> Calendar | None:
        """A calendar by id (what a schedule that names one reads)."""
        return self.store.get(tenant_id, calendar_id)

    # -- writes ---------------------------------------------------------------------------------------

    def create(self, principal: Principal, body: CalendarIn, now: datetime) -> Calendar:
        calendar = Calendar(
            id=new_id("cal", now),
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            name=body.name,
            timezone=body.timezone,
            terms=stored_terms(body.terms),
            closures=[stored_closure(new_id("clo", now), c) for c in body.closures],
        )
        self.store.create(calendar)
        self.bus.publish(
            RecordChanged(
                calendar.tenant_id,
                "calendar",
                calendar.id,
                "created",
                Actor.of(principal),
                after=record_json(calendar),
            )
        )
        return calendar

    def patch(
        self,
        principal: Principal,
        calendar_id: str,
        document: Any,
        kind: str,
        if_match: str | None,
        now: datetime,
        dry_run: bool = False,
    ) -> tuple[Calendar, Impact]:
        """Merge or JSON patch; closures keep their ids where they stay in place. The series that follow
        the calendar follow the change (or, with `dry_run`, say what they would do)."""

        def build(current: Calendar) -> Calendar:
            body = validate(CalendarIn, patched(_input_view(current), document, kind))
            ids = {_same(c): c.id for c in current.closures}  # an unchanged closure keeps its id
            closures = []
            for closure in body.closures:
                fresh = stored_closure(new_id("clo", now), closure)
                closures.append(fresh.model_copy(update={"id": ids.get(_same(fresh), fresh.id)}))
            return current.model_copy(
                update={
                    "name": body.name,
                    "timezone": body.timezone,
                    "terms": stored_terms(body.terms),
                    "closures": closures,
                }
            )

        return self._change(principal, calendar_id, build, if_match, now, dry_run)

    def delete(self, principal: Principal, calendar_id: str, if_match: str | None, now: datetime) -> None:
        """Remove a calendar no series follows (409 names the ones that do)."""
        calendar = self.get(principal, calendar_id)
        check_if_match(if_match, calendar)
        followers = self.store.followers(principal.tenant_id, calendar_id)
        if followers:
            raise Conflict(
                "Schedules follow this calendar; remove their calendar_id first.",
                {"schedule_ids": followers[:100]},
            )
        self.store.delete(principal.tenant_id, calendar_id, calendar.version)
        self.bus.publish(
            RecordChanged(
                calendar.tenant_id,
                "calendar",
                calendar.id,
                "deleted",
                Actor.of(principal),
                before=record_json(calendar),
            )
        )

    def add_closure(
        self, principal: Principal, calendar_id: str, body: ClosureIn, now: datetime, dry_run: bool = False
    ) -> tuple[Closure, Impact]:
        """A new closure: every future occurrence it closes, in every series that follows the calendar, is
        skipped (restorably); a dry run lists them."""
        closure = stored_closure(new_id("clo", now), body)

        def build(current: Calendar) -> Calendar:
            if len(current.closures) >= 200:
                raise ValidationFailed.one("", "a calendar has at most 200 closures")
            return current.model_copy(update={"closures": [*current.closures, closure]})

        _, impact = self._change(principal, calendar_id, build, None, now, dry_run)
        return closure, impact

    def move_closure(
        self,
        principal: Principal,
        calendar_id: str,
        closure_id: str,
        document: Any,
        now: datetime,
        dry_run: bool = False,
    ) -> tuple[Closure, Impact]:
        """Move a closure (merge patch): what it no longer closes returns; what it now closes is skipped."""
        moved: list[Closure] = []

        def build(current: Calendar) -> Calendar:
            existing = current.closure(closure_id)
            if existing is None:
                raise NotFound(f"The calendar has no closure {closure_id}.")
            view = existing.model_dump(mode="json", exclude={"id"}, exclude_none=True)
            body = validate(ClosureIn, patched(view, document, "merge"))
            changed = stored_closure(closure_id, body)
            moved[:] = [changed]
            return current.model_copy(
                update={"closures": [changed if c.id == closure_id else c for c in current.closures]}
            )

        _, impact = self._change(principal, calendar_id, build, None, now, dry_run)
        return moved[0], impact

    def remove_closure(
        self, principal: Principal, calendar_id: str, closure_id: str, now: datetime, dry_run: bool = False
    ) -> tuple[Closure, Impact]:
        """Remove a closure: the occurrences it skipped come back (those that now overlap another booking
        stay skipped and are listed in `not_restored`)."""
        removed: list[Closure] = []

        def build(current: Calendar) -> Calendar:
            existing = current.closure(closure_id)
            if existing is None:
                raise NotFound(f"The calendar has no closure {closure_id}.")
            removed[:] = [existing]
            return current.model_copy(
                update={"closures": [c for c in current.closures if c.id != closure_id]}
            )

        _, impact = self._change(principal, calendar_id, build, None, now, dry_run)
        return removed[0], impact

    # -- internals ------------------------------------------------------------------------------------

    def _change(
        self,
        principal: Principal,
        calendar_id: str,
        build: Callable[[Calendar], Calendar],
        if_match: str | None,
        now: datetime,
        dry_run: bool,
    ) -> tuple[Calendar, Impact]:
        """Write the calendar `build` makes of the current one, then have each follower follow it.

        The calendar is written first: a series written meanwhile reads it again after its own write and
        catches up (`ScheduleService.create`), so none is left behind.
        """

        def attempt() -> tuple[Calendar, Calendar]:
            current = self.get(principal, calendar_id)
            check_if_match(if_match, current)
            updated = build(current)
            if updated == current:
                return current, current
            updated = updated.model_copy(update={"updated_at": now, "version": current.version + 1})
            if (updated.terms, updated.timezone) != (current.terms, current.timezone):
                self._check_weeks(principal, updated)
            if not dry_run:
                self.store.replace(updated, current.version)
            return current, updated

        current, updated = optimistic(if_match, attempt, "calendar")
        impact = Impact(dry_run)
        if updated == current:
            return current, impact
        if not dry_run:
            self.bus.publish(
                RecordChanged(
                    updated.tenant_id,
                    "calendar",
                    updated.id,
                    "updated",
                    Actor.of(principal),
                    before=record_json(current),
                    after=record_json(updated),
                )
            )
        for schedule_id in self.store.followers(principal.tenant_id, calendar_id):
            impact.schedules += 1
            try:
                impact.add(self.schedules.follow_calendar(principal, schedule_id, updated, now, dry_run))
            except NotFound:
                continue  # deleted since the index was read
            except DomainError as error:  # one series that cannot follow does not stop the others
                log.warning("a series could not follow its calendar", extra={"schedule_id": schedule_id})
                impact.failed.append({"schedule_id": schedule_id, "detail": error.detail})
        return updated, impact

    def _check_weeks(self, principal: Principal, calendar: Calendar) -> None:
        """New terms must still hold every week the followers name (422 naming the first few that don't)."""
        total = total_weeks(calendar)
        errors = []
        for schedule_id in self.store.followers(principal.tenant_id, calendar.id):
            schedule = self.schedules.store.get(principal.tenant_id, schedule_id)
            if schedule is None or schedule.calendar_id != calendar.id:
                continue
            try:
                parse_weeks(schedule.weeks, total)
            except ValidationFailed as exc:
                errors.append(FieldError("/terms", f"schedule {schedule_id}: weeks {exc.errors[0].detail}"))
            if len(errors) == 10:
                break
        if errors:
            raise ValidationFailed(errors, "The new terms leave out teaching weeks that schedules use.")
