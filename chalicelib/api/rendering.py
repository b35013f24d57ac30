"""Writing a response: a handler's `Reply` as a Chalice response, tagged with its request id and logged."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from chalice import Response
from pydantic import BaseModel

from chalicelib.api.routes import Reply

log = logging.getLogger("onair.api")


def render(reply: Reply) -> Response:
    headers = {"Content-Type": reply.content_type, **reply.headers}
    if reply.etag:
        headers["ETag"] = reply.etag
    if reply.body is None:
        return Response(body="", status_code=reply.status, headers=headers)
    if isinstance(reply.body, BaseModel):
        text = reply.body.model_dump_json()
    elif isinstance(reply.body, str):
        text = reply.body
    else:
        text = json.dumps(reply.body)
    return Response(body=text, status_code=reply.status, headers=headers)


def request_id(request: Any) -> str:
    context = getattr(request, "context", None) or {}
    return str(context.get("requestId") or uuid.uuid4())


def finish(response: Response, request_id: str, started: float) -> Response:
    """Tag a response with its request id and write the request's one JSON log line (in its log scope)."""
    response.headers["X-Request-Id"] = request_id
    log.info(
        "request",
        extra={
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return response
