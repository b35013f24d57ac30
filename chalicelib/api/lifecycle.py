"""Lifecycle routes: actions on an event, its history, and what is live on a channel."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.routes import Call, Reply, endpoint
from chalicelib.api.schemas import ActionIn, ActorOut, EventOut, HistoryItem, HistoryList
from chalicelib.domain.models import Scope
from chalicelib.services.common import etag

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/events/{event_id}/actions",
    "POST",
    scope=Scope.WRITE,
    tag="Lifecycle",
    summary="Run a lifecycle action",
    body=ActionIn,
    response=EventOut,
    errors=(400, 404, 409, 412, 422),
    description="An action not allowed in the event's state → 409 naming the state; `start` while another "
    "event is live on the channel → 409; `extend` re-checks conflicts and moves the automatic stop.",
)
def event_action(call: Call) -> Reply:
    # Imported here, not at the top: the service and its adapters (boto3) load on first use (cold start).
    from chalicelib.services.lifecycle import ActionRequest

    body: ActionIn = call.body
    event = bootstrap.services().lifecycle.actions.act(
        call.principal,
        call.path["event_id"],
        ActionRequest(body.action, body.seconds, body.visibility, body.reason, body.allow_conflict),
        call.if_match,
    )
    return Reply(EventOut.of(event), etag=etag(event))


@endpoint(
    bp,
    "/v1/events/{event_id}/history",
    "GET",
    scope=Scope.READ,
    tag="Lifecycle",
    summary="An event's lifecycle history",
    response=HistoryList,
    errors=(404,),
    description="Every transition, oldest first, with who made it: `actor` is `{type, id, name}` "
    "(`type` is `key`, `system`, `agent` or `import`).",
)
def event_history(call: Call) -> Reply:
    entries = bootstrap.services().lifecycle.actions.history(call.principal, call.path["event_id"])
    items = [
        HistoryItem(
            from_=e.source, to=e.target, at=e.at, actor=ActorOut(**e.actor.to_json()), reason=e.reason
        )
        for e in entries
    ]
    return Reply(HistoryList(items=items))


@endpoint(
    bp,
    "/v1/channels/{channel_id}/live",
    "GET",
    scope=Scope.READ,
    tag="Lifecycle",
    summary="The event live on a channel",
    response=EventOut,
    errors=(404,),
    description="200 with the event live on the channel now, or 204 when none is.",
)
def channel_live(call: Call) -> Reply:
    event = bootstrap.services().lifecycle.actions.live(call.principal, call.path["channel_id"])
    if event is None:
        return Reply(None, 204)
    return Reply(EventOut.of(event), etag=etag(event))
