"""The route registry: each endpoint's declaration (kept for the OpenAPI document), and what a handler
gets (`Call`) and gives back (`Reply`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalice import Blueprint, Response
from pydantic import BaseModel

from chalicelib.domain.models import Principal, Scope


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
            from chalicelib.api.http import handle  # the pipeline imports the registry

            return handle(spec, fn, bp.current_request, params)

        return fn

    return decorate
