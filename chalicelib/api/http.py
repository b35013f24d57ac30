"""The request pipeline every route shares: authenticate and check the scope, parse, replay or run the
handler, map errors to problem+json (`chalicelib.api.errors`), settle the key check, log one line.

Its parts live beside it: the route registry (`routes`), reading requests (`parsing`), idempotent replay
(`replay`) and writing responses (`rendering`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib import bootstrap, logs
from chalicelib.api import parsing, rendering, replay
from chalicelib.api.errors import MethodNotAllowed, problem, to_response
from chalicelib.api.rendering import finish, request_id
from chalicelib.api.routes import ROUTES, Call, Reply, RouteSpec, endpoint
from chalicelib.domain.errors import DomainError, Forbidden, Unauthenticated

__all__ = ["ROUTES", "Call", "Reply", "RouteSpec", "endpoint", "finish", "handle", "request_id"]

log = logging.getLogger("onair.api")


def handle(spec: RouteSpec, fn: Callable[[Call], Reply], request: Any, params: dict[str, str]) -> Response:
    """Run one request through the shared pipeline: errors become problem+json; one JSON log line each."""
    started = time.perf_counter()
    request_id = rendering.request_id(request)
    with logs.scope(
        request_id=request_id,
        method=spec.method,
        route=spec.path,
        event_id=params.get("event_id"),
        schedule_id=params.get("schedule_id"),
    ):
        response = _pipeline(spec, fn, request, params, request_id)
        return finish(response, request_id, started)


def _pipeline(
    spec: RouteSpec, fn: Callable[[Call], Reply], request: Any, params: dict[str, str], request_id: str
) -> Response:
    services = bootstrap.services()
    response = _respond(services, spec, fn, request, params, request_id)
    # A known key is checked by the request's first read, or here if it read nothing; it always ends
    # here, so no check outlives its request. Nothing was written unless the check passed.
    try:
        services.auth.settle()
    except Unauthenticated as error:
        response = to_response(error)
    except Exception:
        log.exception("could not check the API key")
        response = to_response(RuntimeError())
    return response


def _respond(
    services: Any,
    spec: RouteSpec,
    fn: Callable[[Call], Reply],
    request: Any,
    params: dict[str, str],
    request_id: str,
) -> Response:
    idempotency: tuple[str, str] | None = None
    try:
        raw = parsing.raw_body(request, services.settings.max_body_bytes)
        principal = (
            services.auth.authenticate(parsing.presented_key(request.headers))
            if spec.scope
            else parsing.anonymous()
        )
        logs.bind(tenant_id=principal.tenant_id or None, key_id=principal.key_id or None)
        if spec.scope and spec.scope not in principal.scopes:
            raise Forbidden(f"This key lacks the `{spec.scope.value}` scope.")
        path = parsing.path_params(params)
        query = parsing.parse_query(spec, request)
        content_type = parsing.content_type_of(request.headers)
        body = parsing.parse_body(spec, raw, content_type)
        now = services.clock()
        if spec.method == "POST" and spec.scope and request.headers.get("idempotency-key") is not None:
            key = request.headers["idempotency-key"]
            replay_of = services.idempotency.begin(
                principal.tenant_id, key, replay.fingerprint(spec, path, raw), now
            )
            if replay_of is not None:
                return replay.restore(replay_of)
            idempotency = (principal.tenant_id, key)
        call = Call(principal, path, query, body, request.headers, content_type, now, request_id)
        response = rendering.render(fn(call))
    except DomainError as error:
        response = to_response(error)
    except Exception:
        log.exception("unhandled error")
        response = to_response(RuntimeError())
    if idempotency is not None:
        replay.settle(services, spec, idempotency, response)
    return response


def method_not_allowed(allowed: list[str], current_request: Callable[[], Any]) -> Callable[..., Response]:
    """A view answering 405 problem+json for methods a path does not support (with its X-Request-Id)."""

    def view(**_params: str) -> Response:
        response = to_response(MethodNotAllowed(allowed))
        response.headers["X-Request-Id"] = request_id(current_request())
        return response

    return view


def not_found_response(path: str) -> Response:
    """The 404 for paths no route matches (used by the local gateway and mirrored in infra)."""
    return problem(404, "not-found", "Not found", f"No route matches {path}.")
