"""Channels and sources."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.routes import Call, Reply, endpoint
from chalicelib.api.schemas import (
    AgentStatusOut,
    Availability,
    AvailabilityQuery,
    BusyInterval,
    ChannelList,
    ChannelOut,
    FreeInterval,
    PageQuery,
    SourceList,
    SourceOut,
)
from chalicelib.domain.inputs import ChannelIn, SourceIn
from chalicelib.domain.models import OpencastAgentDriver, Scope
from chalicelib.services.common import etag

bp = Blueprint(__name__)


def patch_kind(call: Call) -> str:
    """`json` for application/json-patch+json, otherwise a merge patch."""
    return "json" if call.content_type == "application/json-patch+json" else "merge"


@endpoint(
    bp,
    "/v1/channels",
    "POST",
    scope=Scope.WRITE,
    tag="Channels",
    summary="Create a channel",
    body=ChannelIn,
    response=ChannelOut,
    status=201,
    errors=(400, 422),
)
def create_channel(call: Call) -> Reply:
    channel = bootstrap.services().channels.create(call.principal, call.body, call.now)
    return Reply(ChannelOut.of(channel), 201, etag(channel))


@endpoint(
    bp,
    "/v1/channels",
    "GET",
    scope=Scope.READ,
    tag="Channels",
    summary="List channels",
    query=PageQuery,
    response=ChannelList,
)
def list_channels(call: Call) -> Reply:
    items, cursor = bootstrap.services().channels.list(call.principal, call.query.limit, call.query.cursor)
    return Reply(ChannelList(items=[ChannelOut.of(c) for c in items], next_cursor=cursor))


@endpoint(
    bp,
    "/v1/channels/{channel_id}",
    "GET",
    scope=Scope.READ,
    tag="Channels",
    summary="Get a channel",
    response=ChannelOut,
    errors=(404,),
)
def get_channel(call: Call) -> Reply:
    services = bootstrap.services()
    channel = services.channels.get(call.principal, call.path["channel_id"])
    agent = None
    if isinstance(channel.driver, OpencastAgentDriver):  # its recorder's status (docs/recorders.md)
        state, last_seen = services.agents.status(channel.driver.agent)
        agent = AgentStatusOut(state=state, last_seen=last_seen)
    return Reply(ChannelOut.of(channel, agent), etag=etag(channel))


@endpoint(
    bp,
    "/v1/channels/{channel_id}",
    "PATCH",
    scope=Scope.WRITE,
    tag="Channels",
    summary="Update a channel",
    patch_of=ChannelIn,
    response=ChannelOut,
    errors=(400, 404, 412, 422),
    description="Merge patch (RFC 7396) or JSON Patch (RFC 6902). A webhook secret left out is kept.",
)
def patch_channel(call: Call) -> Reply:
    channel = bootstrap.services().channels.patch(
        call.principal, call.path["channel_id"], call.body, patch_kind(call), call.if_match, call.now
    )
    return Reply(ChannelOut.of(channel), etag=etag(channel))


@endpoint(
    bp,
    "/v1/channels/{channel_id}",
    "DELETE",
    scope=Scope.WRITE,
    tag="Channels",
    summary="Delete a channel",
    status=204,
    errors=(404, 409, 412),
    description="Refused with 409 while the channel has future events.",
)
def delete_channel(call: Call) -> Reply:
    bootstrap.services().channels.delete(call.principal, call.path["channel_id"], call.if_match, call.now)
    return Reply(None, 204)


@endpoint(
    bp,
    "/v1/sources",
    "POST",
    scope=Scope.WRITE,
    tag="Sources",
    summary="Create a source",
    body=SourceIn,
    response=SourceOut,
    status=201,
    errors=(400, 422),
)
def create_source(call: Call) -> Reply:
    source = bootstrap.services().sources.create(call.principal, call.body, call.now)
    return Reply(SourceOut.of(source), 201, etag(source))


@endpoint(
    bp,
    "/v1/sources",
    "GET",
    scope=Scope.READ,
    tag="Sources",
    summary="List sources",
    query=PageQuery,
    response=SourceList,
)
def list_sources(call: Call) -> Reply:
    items, cursor = bootstrap.services().sources.list(call.principal, call.query.limit, call.query.cursor)
    return Reply(SourceList(items=[SourceOut.of(s) for s in items], next_cursor=cursor))


@endpoint(
    bp,
    "/v1/sources/{source_id}",
    "GET",
    scope=Scope.READ,
    tag="Sources",
    summary="Get a source",
    response=SourceOut,
    errors=(404,),
)
def get_source(call: Call) -> Reply:
    source = bootstrap.services().sources.get(call.principal, call.path["source_id"])
    return Reply(SourceOut.of(source), etag=etag(source))


@endpoint(
    bp,
    "/v1/sources/{source_id}",
    "PATCH",
    scope=Scope.WRITE,
    tag="Sources",
    summary="Update a source",
    patch_of=SourceIn,
    response=SourceOut,
    errors=(400, 404, 412, 422),
)
def patch_source(call: Call) -> Reply:
    source = bootstrap.services().sources.patch(
        call.principal, call.path["source_id"], call.body, patch_kind(call), call.if_match, call.now
    )
    return Reply(SourceOut.of(source), etag=etag(source))


@endpoint(
    bp,
    "/v1/sources/{source_id}",
    "DELETE",
    scope=Scope.WRITE,
    tag="Sources",
    summary="Delete a source",
    status=204,
    errors=(404, 412),
)
def delete_source(call: Call) -> Reply:
    bootstrap.services().sources.delete(call.principal, call.path["source_id"], call.if_match, call.now)
    return Reply(None, 204)


@endpoint(
    bp,
    "/v1/channels/{channel_id}/availability",
    "GET",
    scope=Scope.READ,
    tag="Channels",
    summary="Busy and free intervals",
    query=AvailabilityQuery,
    response=Availability,
    errors=(404,),
    description="Busy intervals include the changeover; free ones are where a new booking fits.",
)
def channel_availability(call: Call) -> Reply:
    busy, free = bootstrap.services().events.availability(
        call.principal, call.path["channel_id"], call.query.from_, call.query.to
    )
    return Reply(
        Availability(
            busy=[
                BusyInterval(
                    start=s,
                    end=e,
                    event_id=b.event_id if b.is_event else None,
                    schedule_id=b.schedule_id,
                    occurrence_start=b.occurrence_start,
                )
                for s, e, b in busy
            ],
            free=[FreeInterval(start=s, end=e) for s, e in free],
        )
    )
