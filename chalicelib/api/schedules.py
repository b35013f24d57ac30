"""Schedules (recurring series), their occurrences, and the recurrence preview."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.catalog import patch_kind
from chalicelib.api.routes import Call, Reply, endpoint
from chalicelib.api.schemas import (
    OccurrenceList,
    OccurrenceOut,
    OccurrenceQuery,
    PreviewIn,
    PreviewOut,
    ScheduleList,
    ScheduleListQuery,
    ScheduleOut,
    SplitIn,
)
from chalicelib.domain.inputs import EventIn, ScheduleIn
from chalicelib.domain.models import Scope
from chalicelib.services.common import etag

if TYPE_CHECKING:  # not at runtime: domain.schedules pulls in the recurrence engine (cold start)
    from chalicelib.domain.schedules import Schedule

bp = Blueprint(__name__)


def out(schedule: Schedule, call: Call) -> ScheduleOut:
    return ScheduleOut.of(schedule, bootstrap.services().schedules.next_occurrence(schedule, call.now))


@endpoint(
    bp,
    "/v1/schedules",
    "POST",
    scope=Scope.WRITE,
    tag="Schedules",
    summary="Create a schedule",
    body=ScheduleIn,
    response=ScheduleOut,
    status=201,
    errors=(400, 409, 422),
    description="Events for occurrences within the horizon (30 days) are created at once.",
)
def create_schedule(call: Call) -> Reply:
    schedule = bootstrap.services().schedules.create(call.principal, call.body, call.now)
    return Reply(out(schedule, call), 201, etag(schedule))


@endpoint(
    bp,
    "/v1/schedules",
    "GET",
    scope=Scope.READ,
    tag="Schedules",
    summary="List schedules",
    query=ScheduleListQuery,
    response=ScheduleList,
    description="`channel_id` lists one channel's series.",
)
def list_schedules(call: Call) -> Reply:
    q: ScheduleListQuery = call.query
    items, cursor = bootstrap.services().schedules.list(call.principal, q.limit, q.cursor, q.channel_id)
    return Reply(ScheduleList(items=[out(s, call) for s in items], next_cursor=cursor))


@endpoint(
    bp,
    "/v1/schedules/{schedule_id}",
    "GET",
    scope=Scope.READ,
    tag="Schedules",
    summary="Get a schedule",
    response=ScheduleOut,
    errors=(404,),
)
def get_schedule(call: Call) -> Reply:
    schedule = bootstrap.services().schedules.get(call.principal, call.path["schedule_id"])
    return Reply(out(schedule, call), etag=etag(schedule))


@endpoint(
    bp,
    "/v1/schedules/{schedule_id}",
    "PATCH",
    scope=Scope.WRITE,
    tag="Schedules",
    summary="Change every future occurrence",
    patch_of=ScheduleIn,
    response=ScheduleOut,
    errors=(400, 404, 409, 412, 422),
    description="Individually modified or skipped occurrences stay as they are.",
)
def patch_schedule(call: Call) -> Reply:
    schedule = bootstrap.services().schedules.patch(
        call.principal, call.path["schedule_id"], call.body, patch_kind(call), call.if_match, call.now
    )
    return Reply(out(schedule, call), etag=etag(schedule))


@endpoint(
    bp,
    "/v1/schedules/{schedule_id}",
    "DELETE",
    scope=Scope.WRITE,
    tag="Schedules",
    summary="Delete a schedule",
    status=204,
    errors=(404, 412),
    description="Future events are cancelled; past ones are kept.",
)
def delete_schedule(call: Call) -> Reply:
    bootstrap.services().schedules.delete(call.principal, call.path["schedule_id"], call.if_match, call.now)
    return Reply(None, 204)


@endpoint(
    bp,
    "/v1/schedules/{schedule_id}/occurrences",
    "GET",
    scope=Scope.READ,
    tag="Schedules",
    summary="List occurrences",
    query=OccurrenceQuery,
    response=OccurrenceList,
    errors=(404,),
    description="Occurrences whose original start is in [from, to) (default: from now), skips left out.",
)
def list_occurrences(call: Call) -> Reply:
    q: OccurrenceQuery = call.query
    start = q.from_ or call.now
    items, truncated = bootstrap.services().schedules.occurrence_list(
        call.principal, call.path["schedule_id"], start, q.to, q.limit
    )
    return Reply(OccurrenceList(items=[OccurrenceOut(**i) for i in items], truncated=truncated))


@endpoint(
    bp,
    "/v1/schedules/{schedule_id}/occurrences/{occurrence_start}",
    "PATCH",
    scope=Scope.WRITE,
    tag="Schedules",
    summary="Change one occurrence",
    patch_of=EventIn,
    response=OccurrenceOut,
    errors=(400, 404, 409, 422),
    description="`occurrence_start` is the original start, percent-encoded RFC 3339.",
)
def patch_occurrence(call: Call) -> Reply:
    item = bootstrap.services().schedules.patch_occurrence(
        call.principal,
        call.path["schedule_id"],
        call.path["occurrence_start"],
        call.body,
        patch_kind(call),
        call.now,
    )
    return Reply(OccurrenceOut(**item))


@endpoint(
    bp,
    "/v1/schedules/{schedule_id}/occurrences/{occurrence_start}",
    "DELETE",
    scope=Scope.WRITE,
    tag="Schedules",
    summary="Skip one occurrence",
    status=204,
    errors=(404,),
)
def skip_occurrence(call: Call) -> Reply:
    bootstrap.services().schedules.skip_occurrence(
        call.principal, call.path["schedule_id"], call.path["occurrence_start"], call.now
    )
    return Reply(None, 204)


@endpoint(
    bp,
    "/v1/schedules/{schedule_id}/split",
    "POST",
    scope=Scope.WRITE,
    tag="Schedules",
    summary="Change this and following occurrences",
    body=SplitIn,
    response=ScheduleOut,
    status=201,
    errors=(400, 404, 409, 422),
    description="The series ends before `at`; a new schedule with `changes` takes over from `at`.",
)
def split_schedule(call: Call) -> Reply:
    body: SplitIn = call.body
    schedule = bootstrap.services().schedules.split(
        call.principal, call.path["schedule_id"], body.at, body.changes, call.now, body.allow_conflict
    )
    return Reply(out(schedule, call), 201, etag(schedule))


@endpoint(
    bp,
    "/v1/recurrence/preview",
    "POST",
    scope=Scope.READ,
    tag="Schedules",
    summary="Preview a rule's occurrences",
    body=PreviewIn,
    response=PreviewOut,
    errors=(400, 422),
    description="No side effects; `start` may be in the past. `conflicts` appear when `channel_id` is given.",
)
def preview(call: Call) -> Reply:
    occurrences, truncated = bootstrap.services().schedules.preview(call.principal, call.body)
    out = PreviewOut(occurrences=occurrences, truncated=truncated).model_dump(mode="json")
    if not call.body.channel_id:  # `conflicts` appears only when a channel was given: nothing was checked
        for occurrence in out["occurrences"]:
            occurrence.pop("conflicts", None)
    return Reply(out)
