"""Term calendars: terms with numbered teaching weeks, and closures that skip series occurrences."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from pydantic import Field

from chalicelib import bootstrap
from chalicelib.api.catalog import patch_kind
from chalicelib.api.http import Call, Reply, endpoint
from chalicelib.api.schemas import Out, PageQuery, Query
from chalicelib.domain.calendars import CalendarIn, ClosureIn
from chalicelib.domain.models import Model, Scope
from chalicelib.services.common import etag

if TYPE_CHECKING:
    from chalicelib.domain.calendars import Calendar, Closure

bp = Blueprint(__name__)


class TermOut(Model):
    name: str
    start: date
    weeks: int
    first_week: int = Field(description="the number of its first teaching week (weeks count on across terms)")


class ClosureOut(Model):
    id: str
    name: str
    start: str = Field(description="local date-time in the calendar's zone, inclusive")
    end: str = Field(description="local date-time in the calendar's zone, exclusive")
    channel_ids: list[str] | None = Field(description="the channels it closes; null: every channel")

    @classmethod
    def of(cls, closure: Closure) -> ClosureOut:
        return cls.model_validate(closure.model_dump())


class AffectedOccurrence(Model):
    schedule_id: str
    title: str
    channel_id: str
    occurrence_start: str
    start: str
    end: str
    event_id: str | None = Field(description="its event, when the occurrence is one already")
    closure_id: str | None = None
    conflicts: list[dict[str, Any]] | None = Field(
        default=None, description="not_restored only: the bookings it would overlap"
    )


class ImpactOut(Model):
    """What a calendar change does (or, in a dry run, would do) to the series that follow the calendar."""

    dry_run: bool
    schedules: int = Field(description="how many series follow the calendar")
    counts: dict[str, int] = Field(description="exact totals of each list below (lists stop at 5000)")
    affected: list[AffectedOccurrence] = Field(description="occurrences a closure skips")
    restored: list[AffectedOccurrence] = Field(description="occurrences that come back")
    added: list[AffectedOccurrence] = Field(description="occurrences new teaching weeks add")
    removed: list[AffectedOccurrence] = Field(description="occurrences outside the teaching weeks now")
    not_restored: list[AffectedOccurrence] = Field(description="would come back, but overlap other bookings")
    failed: list[dict[str, str]] = Field(description="series that could not follow: {schedule_id, detail}")


class CalendarOut(Out):
    name: str
    timezone: str
    terms: list[TermOut]
    closures: list[ClosureOut]
    impact: ImpactOut | None = Field(default=None, description="after a PATCH: what it did to the series")

    @classmethod
    def of(cls, calendar: Calendar, impact: dict[str, Any] | None = None) -> CalendarOut:
        terms, first = [], 1
        for term in calendar.terms:
            terms.append(TermOut(name=term.name, start=term.start, weeks=term.weeks, first_week=first))
            first += term.weeks
        return cls(
            id=calendar.id,
            created_at=calendar.created_at,
            updated_at=calendar.updated_at,
            name=calendar.name,
            timezone=calendar.timezone,
            terms=terms,
            closures=[ClosureOut.of(c) for c in calendar.closures],
            impact=None if impact is None else ImpactOut.model_validate(impact),
        )


class CalendarList(Model):
    items: list[CalendarOut]
    next_cursor: str | None


class ClosureImpactOut(ImpactOut):
    closure: ClosureOut


class DryRunQuery(Query):
    dry_run: bool = Field(default=False, description="true: say what would change, change nothing")


def _impact(closure: Closure, impact: Any) -> ClosureImpactOut:
    return ClosureImpactOut.model_validate({**impact.to_json(), "closure": ClosureOut.of(closure)})


@endpoint(
    bp,
    "/v1/calendars",
    "POST",
    scope=Scope.WRITE,
    tag="Calendars",
    summary="Create a term calendar",
    body=CalendarIn,
    response=CalendarOut,
    status=201,
    errors=(400, 422),
    description="Terms number their teaching weeks on from 1 across the calendar; closures skip occurrences "
    "of the series that follow it.",
)
def create_calendar(call: Call) -> Reply:
    calendar = bootstrap.services().calendars.create(call.principal, call.body, call.now)
    return Reply(CalendarOut.of(calendar), 201, etag(calendar))


@endpoint(
    bp,
    "/v1/calendars",
    "GET",
    scope=Scope.READ,
    tag="Calendars",
    summary="List term calendars",
    query=PageQuery,
    response=CalendarList,
)
def list_calendars(call: Call) -> Reply:
    items, cursor = bootstrap.services().calendars.list(call.principal, call.query.limit, call.query.cursor)
    return Reply(CalendarList(items=[CalendarOut.of(c) for c in items], next_cursor=cursor))


@endpoint(
    bp,
    "/v1/calendars/{calendar_id}",
    "GET",
    scope=Scope.READ,
    tag="Calendars",
    summary="Get a term calendar",
    response=CalendarOut,
    errors=(404,),
)
def get_calendar(call: Call) -> Reply:
    calendar = bootstrap.services().calendars.get(call.principal, call.path["calendar_id"])
    return Reply(CalendarOut.of(calendar), etag=etag(calendar))


@endpoint(
    bp,
    "/v1/calendars/{calendar_id}",
    "PATCH",
    scope=Scope.WRITE,
    tag="Calendars",
    summary="Change a term calendar",
    patch_of=CalendarIn,
    query=DryRunQuery,
    response=CalendarOut,
    errors=(400, 404, 409, 412, 422),
    description="The series that follow it follow the change; `impact` says what moved. With `dry_run=true` "
    "nothing is written and the answer shows the calendar as it would be.",
)
def patch_calendar(call: Call) -> Reply:
    dry_run = call.query.dry_run
    calendar, impact = bootstrap.services().calendars.patch(
        call.principal,
        call.path["calendar_id"],
        call.body,
        patch_kind(call),
        call.if_match,
        call.now,
        dry_run,
    )
    return Reply(CalendarOut.of(calendar, impact.to_json()), etag=None if dry_run else etag(calendar))


@endpoint(
    bp,
    "/v1/calendars/{calendar_id}",
    "DELETE",
    scope=Scope.WRITE,
    tag="Calendars",
    summary="Delete a term calendar",
    status=204,
    errors=(404, 409, 412),
    description="Refused (409, naming them in `schedule_ids`) while schedules follow it.",
)
def delete_calendar(call: Call) -> Reply:
    bootstrap.services().calendars.delete(call.principal, call.path["calendar_id"], call.if_match, call.now)
    return Reply(None, 204)


@endpoint(
    bp,
    "/v1/calendars/{calendar_id}/closures",
    "POST",
    scope=Scope.WRITE,
    tag="Calendars",
    summary="Add a closure",
    body=ClosureIn,
    query=DryRunQuery,
    response=ClosureImpactOut,
    status=201,
    errors=(400, 404, 409, 422),
    description="Skips every future occurrence it closes in every series that follows the calendar "
    "(restorable: removing the closure brings them back). `dry_run=true` answers 200 with the "
    "occurrences it would skip (`affected`) and writes nothing.",
)
def add_closure(call: Call) -> Reply:
    dry_run = call.query.dry_run
    closure, impact = bootstrap.services().calendars.add_closure(
        call.principal, call.path["calendar_id"], call.body, call.now, dry_run
    )
    return Reply(_impact(closure, impact), 200 if dry_run else 201)


@endpoint(
    bp,
    "/v1/calendars/{calendar_id}/closures/{closure_id}",
    "PATCH",
    scope=Scope.WRITE,
    tag="Calendars",
    summary="Move a closure",
    patch_of=ClosureIn,
    query=DryRunQuery,
    response=ClosureImpactOut,
    errors=(400, 404, 409, 422),
    description="Merge patch. What it no longer closes is restored (`restored`, or `not_restored` when it "
    "now overlaps another booking), what it newly closes is skipped (`affected`).",
)
def move_closure(call: Call) -> Reply:
    closure, impact = bootstrap.services().calendars.move_closure(
        call.principal,
        call.path["calendar_id"],
        call.path["closure_id"],
        call.body,
        call.now,
        call.query.dry_run,
    )
    return Reply(_impact(closure, impact))


@endpoint(
    bp,
    "/v1/calendars/{calendar_id}/closures/{closure_id}",
    "DELETE",
    scope=Scope.WRITE,
    tag="Calendars",
    summary="Remove a closure",
    query=DryRunQuery,
    response=ClosureImpactOut,
    errors=(404, 409),
    description="The occurrences it skipped come back (`restored`); those that now overlap another booking "
    "stay skipped (`not_restored`, with the conflicts).",
)
def remove_closure(call: Call) -> Reply:
    closure, impact = bootstrap.services().calendars.remove_closure(
        call.principal, call.path["calendar_id"], call.path["closure_id"], call.now, call.query.dry_run
    )
    return Reply(_impact(closure, impact))
