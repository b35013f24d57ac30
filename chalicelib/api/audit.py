"""The audit trail: every change, whoever made it, newest first."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.routes import Call, Reply, endpoint
from chalicelib.api.schemas import AuditItem, AuditList, AuditQuery
from chalicelib.domain.models import Scope

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/audit",
    "GET",
    scope=Scope.ADMIN,
    tag="Audit",
    summary="The tenant's audit trail",
    query=AuditQuery,
    response=AuditList,
    description="One item per change through any path (API, materialiser, lifecycle, recorder, import), "
    "newest first, with the actor, the request id and the fields before and after. `resource_id` "
    "narrows it to one record; `from`/`to` to a time window. Items are kept 400 days by default.",
)
def list_audit(call: Call) -> Reply:

    q: AuditQuery = call.query
    entries, cursor = bootstrap.services().audit.list(
        call.principal, q.resource_id, q.from_, q.to, q.limit, q.cursor
    )
    return Reply(AuditList(items=[AuditItem(**e.to_json()) for e in entries], next_cursor=cursor))
