"""The one place that turns errors into RFC 9457 problem+json responses."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.domain import errors as e

PROBLEM_JSON = "application/problem+json"


class MethodNotAllowed(e.DomainError):
    """The path exists but not with this method (405)."""

    def __init__(self, allowed: list[str]) -> None:
        super().__init__(f"Use one of: {', '.join(allowed)}.")
        self.allowed = allowed


class RouteNotFound(e.DomainError):
    """No route matches the path (404)."""


# (status, slug, title) for each error class; the first match in MRO order wins.
_TABLE: list[tuple[type[Exception], int, str, str]] = [
    (e.IdempotencyKeyReused, 422, "idempotency-key-reused", "Idempotency-Key reused"),
    (e.ValidationFailed, 422, "validation", "Invalid request"),
    (e.MalformedRequest, 400, "malformed-request", "Malformed request"),
    (e.PayloadTooLarge, 413, "payload-too-large", "Request body too large"),
    (e.Unauthenticated, 401, "unauthenticated", "Missing or invalid API key"),
    (e.Forbidden, 403, "forbidden", "Insufficient scope"),
    (e.NotFound, 404, "not-found", "Not found"),
    (RouteNotFound, 404, "not-found", "Not found"),
    (MethodNotAllowed, 405, "method-not-allowed", "Method not allowed"),
    (e.BookingConflict, 409, "booking-conflict", "Booking conflict"),
    (e.Conflict, 409, "conflict", "Conflict"),
    (e.PreconditionFailed, 412, "precondition-failed", "Precondition failed"),
]


def problem(
    status: int, slug: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """A problem+json response."""
    body = {"type": f"urn:onair:problem:{slug}", "title": title, "status": status, "detail": detail, **extra}
    return Response(
        body=json.dumps(body), status_code=status, headers={"Content-Type": PROBLEM_JSON, **(headers or {})}
    )


def to_response(error: Exception) -> Response:
    """Map a domain error to its problem response; anything unexpected is a 500 that says little."""
    for cls, status, slug, title in _TABLE:
        if isinstance(error, cls):
            return problem(
                status, slug, title, getattr(error, "detail", str(error)), _headers(error), **_extra(error)
            )
    return problem(500, "internal", "Internal error", "Something went wrong on our side; it has been logged.")


def _headers(error: Exception) -> dict[str, str]:
    if isinstance(error, e.AgentUnauthenticated):
        return {"WWW-Authenticate": error.challenge}
    if isinstance(error, e.Unauthenticated):
        return {"WWW-Authenticate": 'Bearer realm="onair"'}
    if isinstance(error, MethodNotAllowed):
        return {"Allow": ", ".join(error.allowed)}
    return {}


def _extra(error: Exception) -> dict[str, Any]:
    if isinstance(error, e.ValidationFailed):
        return {"errors": [{"pointer": f.pointer, "detail": f.detail} for f in error.errors]}
    if isinstance(error, e.BookingConflict):
        extra: dict[str, Any] = {"conflicts": error.conflicts}
        if error.suggestion is not None:
            extra["suggestion"] = error.suggestion
        return extra
    if isinstance(error, e.Conflict):
        return dict(error.extra)
    return {}
