"""The endpoint wrapper: auth and scopes, parsing, ETags, idempotency and error mapping, for every route.

Handlers stay tiny: they get a `Call` with everything parsed and return a `Reply`. Each route's
metadata is kept in `ROUTES` so the OpenAPI document is generated from the same declarations.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from chalice import Blueprint, Response
from pydantic import BaseModel

from chalicelib import bootstrap, logs
from chalicelib.api.errors import MethodNotAllowed, problem, to_response
from chalicelib.domain.errors import (
    DomainError,
    Forbidden,
    MalformedRequest,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
)
from chalicelib.domain.models import Principal, Scope
from chalicelib.domain.validation import validate

log = logging.getLogger("onair.api")

JSON_TYPES = ("application/json",)
MAX_KEY_BYTES = 1000  # DynamoDB refuses sort keys over 1024 bytes
PATCH_TYPES = ("application/merge-patch+json", "application/json", "application/json-patch+json")


@dataclass(frozen=True)
class RouteSpec:
    """What the OpenAPI generator needs to know about one route."""

    path: str
    method: str
    scope: Scope | None
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    patch_of: type[BaseModel] | None = None
    content: str = "application/json"
    description: str = ""
    operation_id: str = ""
    optional_body: bool = False
    # Response fields holding a secret shown once: an idempotent replay returns them as null.
    secret_fields: tuple[str, ...] = ()


ROUTES: list[RouteSpec] = []


@dataclass
class Call:
    """A parsed request, as handlers see it."""

    principal: Principal
    path: dict[str, str]
    query: Any
    body: Any
    headers: Any
    content_type: str
    now: datetime
    request_id: str

    @property
    def if_match(self) -> str | None:
        return self.headers.get("if-match")

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id


@dataclass
class Reply:
    """A handler's answer: a model, dict or None body, a status, and an optional ETag."""

    body: Any = None
    status: int = 200
    etag: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def endpoint(
    bp: Blueprint, path: str, method: str, **options: Any
) -> Callable[[Callable[[Call], Reply]], Callable[[Call], Reply]]:
    """Register `fn(call) -> Reply` as a route; `options` are `RouteSpec` fields (kept for OpenAPI)."""

    def decorate(fn: Callable[[Call], Reply]) -> Callable[[Call], Reply]:
        spec = RouteSpec(path=path, method=method, operation_id=fn.__name__, **options)
        ROUTES.append(spec)

        # content_types=*/* because we check the type ourselves: a wrong one is a 400 problem, not a bare 415.
        @bp.route(path, methods=[method], content_types=["*/*"])
        @functools.wraps(fn)
        def view(**params: str) -> Response:
            return handle(spec, fn, bp.current_request, params)

        return fn

    return decorate


def handle(spec: RouteSpec, fn: Callable[[Call], Reply], request: Any, params: dict[str, str]) -> Response:
    """Run one request through the shared pipeline: errors become problem+json; one JSON log line each."""
    started = time.perf_counter()
    request_id = _request_id(request)
    with logs.scope(
        request_id=request_id,
        method=spec.method,
        route=spec.path,
        event_id=params.get("event_id"),
        schedule_id=params.get("schedule_id"),
    ):
        response = _pipeline(spec, fn, request, params, request_id)
        return finish(response, request_id, started)


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
        raw = _raw_body(request, services.settings.max_body_bytes)
        principal = (
            services.auth.authenticate(_presented_key(request.headers)) if spec.scope else _anonymous()
        )
        logs.bind(tenant_id=principal.tenant_id or None, key_id=principal.key_id or None)
        if spec.scope and spec.scope not in principal.scopes:
            raise Forbidden(f"This key lacks the `{spec.scope.value}` scope.")
        path = {name: unquote(value) for name, value in params.items()}
        if any(len(value.encode()) > MAX_KEY_BYTES for value in path.values()):
            raise NotFound("No such record.")  # no id is that long; DynamoDB would refuse the key
        query = _parse_query(spec, request)
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        body = _parse_body(spec, raw, content_type)
        now = services.clock()
        if spec.method == "POST" and spec.scope and request.headers.get("idempotency-key") is not None:
            key = request.headers["idempotency-key"]
            replay = services.idempotency.begin(principal.tenant_id, key, _fingerprint(spec, path, raw), now)
            if replay is not None:
                return _restore(replay)
            idempotency = (principal.tenant_id, key)
        call = Call(principal, path, query, body, request.headers, content_type, now, request_id)
        response = _render(fn(call))
    except DomainError as error:
        response = to_response(error)
    except Exception:
        log.exception("unhandled error")
        response = to_response(RuntimeError())
    if idempotency is not None:
        _settle_idempotency(services, spec, idempotency, response)
    return response


def _settle_idempotency(
    services: Any, spec: RouteSpec, idempotency: tuple[str, str], response: Response
) -> None:
    """Store the response for replays (or free the key after our own failure); never fails the request."""
    try:
        if response.status_code >= 500:
            services.idempotency.abandon(*idempotency)
        else:
            services.idempotency.finish(
                *idempotency, _snapshot(response, spec.secret_fields), services.clock()
            )
    except Exception:
        log.exception("could not settle the idempotency record", extra={"key": idempotency[1]})


def _request_id(request: Any) -> str:
    context = getattr(request, "context", None) or {}
    return str(context.get("requestId") or uuid.uuid4())


def _anonymous() -> Principal:
    return Principal(tenant_id="", key_id="", name="anonymous", scopes=frozenset())


def _presented_key(headers: Any) -> str | None:
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    key = headers.get("x-api-key")
    return key.strip() if key else None


def _raw_body(request: Any, limit: int) -> bytes:
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; the limit is {limit}.")
    return raw


def _parse_query(spec: RouteSpec, request: Any) -> Any:
    params = request.query_params or {}
    if spec.query is None:
        return dict(params)
    return validate(spec.query, dict(params), "/query")


def _parse_body(spec: RouteSpec, raw: bytes, content_type: str) -> Any:
    if spec.body is None and spec.patch_of is None:
        return None
    accepted = PATCH_TYPES if spec.patch_of is not None else JSON_TYPES
    if not raw.strip():
        if spec.optional_body or (spec.body is not None and _all_optional(spec.body)):
            data: Any = {}
        else:
            raise MalformedRequest("This request needs a JSON body.")
    else:
        if content_type not in accepted:
            raise MalformedRequest(
                f"Send the body as {' or '.join(accepted)} (got {content_type or 'none'})."
            )
        try:
            data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedRequest(f"The body is not valid JSON: {exc}.") from None
        except RecursionError:
            raise MalformedRequest("The body is nested too deeply.") from None
    if spec.patch_of is not None:
        if content_type == "application/json-patch+json":
            if not isinstance(data, list):
                raise MalformedRequest("A JSON Patch body must be an array of operations.")
        elif not isinstance(data, dict):
            raise MalformedRequest("The body must be a JSON object.")
        return data
    if not isinstance(data, dict):
        raise MalformedRequest("The body must be a JSON object.")
    return validate(spec.body, data)  # type: ignore[arg-type]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is too large for a number")
    return value


def _all_optional(model: type[BaseModel]) -> bool:
    return all(not f.is_required() for f in model.model_fields.values())


def _render(reply: Reply) -> Response:
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


def _fingerprint(spec: RouteSpec, path: dict[str, str], raw: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")) if raw.strip() else ""
    except ValueError:
        canonical = raw.decode("utf-8", "replace")
    text = f"{spec.method} {spec.path} {json.dumps(path, sort_keys=True)} {canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


def _snapshot(response: Response, secret_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """What an idempotent replay returns; secrets shown once are not kept (they come back as null)."""
    body = response.body if isinstance(response.body, str) else json.dumps(response.body)
    if secret_fields and body:
        data = json.loads(body)
        if isinstance(data, dict):
            body = json.dumps({k: (None if k in secret_fields else v) for k, v in data.items()})
    headers = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "etag", "location")}
    return {"status": response.status_code, "headers": headers, "body": body}


def _restore(snapshot: dict[str, Any]) -> Response:
    headers = dict(snapshot.get("headers", {}), **{"Idempotent-Replayed": "true"})
    return Response(body=snapshot.get("body", ""), status_code=int(snapshot["status"]), headers=headers)


def method_not_allowed(allowed: list[str], current_request: Callable[[], Any]) -> Callable[..., Response]:
    """A view answering 405 problem+json for methods a path does not support (with its X-Request-Id)."""

    def view(**_params: str) -> Response:
        response = to_response(MethodNotAllowed(allowed))
        response.headers["X-Request-Id"] = _request_id(current_request())
        return response

    return view


def not_found_response(path: str) -> Response:
    """The 404 for paths no route matches (used by the local gateway and mirrored in infra)."""
    return problem(404, "not-found", "Not found", f"No route matches {path}.")
