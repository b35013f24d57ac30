"""Health, the OpenAPI document and the docs page (served from the app itself: it works offline)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from chalice import Blueprint

from chalicelib.api.routes import Call, Reply, endpoint
from chalicelib.api.schemas import Health
from chalicelib.domain.errors import NotFound

bp = Blueprint(__name__)

ASSETS = Path(__file__).parent / "docs_assets"
ASSET_TYPES = {"docs.js": "text/javascript; charset=utf-8", "docs.css": "text/css; charset=utf-8"}


@endpoint(bp, "/v1/health", "GET", scope=None, tag="Meta", summary="Health check", response=Health)
def health(call: Call) -> Reply:
    return Reply(Health())


@functools.cache
def _openapi_text(server_url: str) -> str:
    from chalicelib.api.openapi import document

    return json.dumps(document(server_url))


def _server_url(call: Call) -> str:
    """Behind API Gateway's default domain, paths carry the stage name; locally they do not."""
    host = call.headers.get("host") or ""
    stage = (bp.current_request.context or {}).get("stage") if "execute-api" in host else None
    return f"/{stage}" if stage else "/"


@endpoint(bp, "/v1/openapi.json", "GET", scope=None, tag="Meta", summary="This API's OpenAPI 3.1 document")
def openapi(call: Call) -> Reply:
    return Reply(_openapi_text(_server_url(call)))


@endpoint(bp, "/v1/docs", "GET", scope=None, tag="Meta", summary="API reference page", content="text/html")
def docs(call: Call) -> Reply:
    return Reply((ASSETS / "index.html").read_text(), content_type="text/html; charset=utf-8")


@endpoint(
    bp,
    "/v1/docs/assets/{name}",
    "GET",
    scope=None,
    tag="Meta",
    summary="Docs page assets",
    content="text/plain",
    errors=(404,),
)
def docs_asset(call: Call) -> Reply:
    name = call.path["name"]
    if name not in ASSET_TYPES:
        raise NotFound(f"No asset {name}.")
    return Reply(
        (ASSETS / name).read_text(),
        content_type=ASSET_TYPES[name],
        headers={"Cache-Control": "public, max-age=300"},
    )
