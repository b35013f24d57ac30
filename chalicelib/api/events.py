"""Events: CRUD, listing with filters, soft delete and restore, clone, upsert by external_id."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.catalog import patch_kind
from chalicelib.api.routes import Call, Reply, endpoint
from chalicelib.api.schemas import DeleteQuery, EventList, EventListQuery, EventOut, RestoreIn
from chalicelib.domain.inputs import EventIn
from chalicelib.domain.models import Scope
from chalicelib.domain.queries import EventQuery
from chalicelib.services.common import etag

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/events",
    "POST",
    scope=Scope.WRITE,
    tag="Events",
    summary="Create an event",
    body=EventIn,
    response=EventOut,
    status=201,
    errors=(400, 409, 422),
    description="Give `end` or `duration`. `external_id` is unique per tenant (409 when taken).",
)
def create_event(call: Call) -> Reply:
    event = bootstrap.services().events.create(call.principal, call.body, call.now)
    return Reply(EventOut.of(event), 201, etag(event))


@endpoint(
    bp,
    "/v1/events",
    "GET",
    scope=Scope.READ,
    tag="Events",
    summary="List events",
    query=EventListQuery,
    response=EventList,
    description="`from`/`to` select events overlapping [from, to). A page is one DynamoDB Query.",
)
def list_events(call: Call) -> Reply:
    q: EventListQuery = call.query
    page = bootstrap.services().events.list(
        EventQuery(
            tenant_id=call.tenant_id,
            start_from=q.from_,
            to=q.to,
            channel_id=q.channel_id,
            states=q.states(),
            tag=q.tag,
            schedule_id=q.schedule_id,
            ref_id=q.ref_id,
            external_id=q.external_id,
            q=q.q,
            deleted=q.deleted,
            descending=q.order == "desc",
            limit=q.limit,
            cursor=q.cursor,
        )
    )
    return Reply(EventList(items=[EventOut.of(e) for e in page.items], next_cursor=page.next_cursor))


@endpoint(
    bp,
    "/v1/events/{event_id}",
    "GET",
    scope=Scope.READ,
    tag="Events",
    summary="Get an event",
    response=EventOut,
    errors=(404,),
)
def get_event(call: Call) -> Reply:
    event = bootstrap.services().events.get(call.principal, call.path["event_id"])
    return Reply(EventOut.of(event), etag=etag(event))


@endpoint(
    bp,
    "/v1/events/{event_id}",
    "PATCH",
    scope=Scope.WRITE,
    tag="Events",
    summary="Update an event",
    patch_of=EventIn,
    response=EventOut,
    errors=(400, 404, 409, 412, 422),
    description="Merge patch (RFC 7396) or JSON Patch (RFC 6902). Moving `start` keeps the duration.",
)
def patch_event(call: Call) -> Reply:
    event = bootstrap.services().events.patch(
        call.principal, call.path["event_id"], call.body, patch_kind(call), call.if_match, call.now
    )
    return Reply(EventOut.of(event), etag=etag(event))


@endpoint(
    bp,
    "/v1/events/{event_id}",
    "DELETE",
    scope=Scope.WRITE,
    tag="Events",
    summary="Delete an event",
    query=DeleteQuery,
    status=204,
    errors=(404, 412),
    description="Soft-deletes (restorable); `?hard=true` removes the event for good.",
)
def delete_event(call: Call) -> Reply:
    bootstrap.services().events.delete(
        call.principal, call.path["event_id"], call.query.hard, call.if_match, call.now
    )
    return Reply(None, 204)


@endpoint(
    bp,
    "/v1/events/{event_id}/restore",
    "POST",
    scope=Scope.WRITE,
    tag="Events",
    summary="Restore a soft-deleted event",
    body=RestoreIn,
    optional_body=True,
    response=EventOut,
    errors=(400, 404, 409, 412, 422),
    description="The slot is booked again: an overlap it would add is a 409 unless `allow_conflict`.",
)
def restore_event(call: Call) -> Reply:
    body: RestoreIn = call.body
    event = bootstrap.services().events.restore(
        call.principal, call.path["event_id"], call.if_match, call.now, body.allow_conflict
    )
    return Reply(EventOut.of(event), etag=etag(event))


@endpoint(
    bp,
    "/v1/events/{event_id}/clone",
    "POST",
    scope=Scope.WRITE,
    tag="Events",
    summary="Clone an event",
    patch_of=EventIn,
    response=EventOut,
    status=201,
    errors=(400, 404, 409, 422),
    optional_body=True,
    description="The body overrides any field of the copy, e.g. a new `start`.",
)
def clone_event(call: Call) -> Reply:
    event = bootstrap.services().events.clone(call.principal, call.path["event_id"], call.body, call.now)
    return Reply(EventOut.of(event), 201, etag(event))


@endpoint(
    bp,
    "/v1/events/external/{external_id}",
    "PUT",
    scope=Scope.WRITE,
    tag="Events",
    summary="Create or replace the event with this external_id",
    body=EventIn,
    response=EventOut,
    errors=(400, 409, 412, 422),
    description="201 when created, 200 when replaced.",
)
def put_external(call: Call) -> Reply:
    event, created = bootstrap.services().events.put_external(
        call.principal, call.path["external_id"], call.body, call.if_match, call.now
    )
    return Reply(EventOut.of(event), 201 if created else 200, etag(event))
