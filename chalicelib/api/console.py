"""The web console: its page at `/` and its static files, shipped inside the app (no CDN, works offline).

The page is public; the data is not: the console signs in with an API key and calls `/v1/...` like any
client. Asset URLs carry a version (a hash of every served file), so they are cached for a year; the
page itself is revalidated on every load (`no-cache` + ETag), so a deploy is picked up at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from chalice import Blueprint

from chalicelib.api.meta import _server_url
from chalicelib.api.routes import Call, Reply, endpoint
from chalicelib.domain.errors import NotFound

bp = Blueprint(__name__)

ROOT = Path(__file__).resolve().parent.parent / "console"
FOLDERS = ("", "vendor")  # served folders under ROOT; `vendor/` holds the committed npm packages
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
}
PAGE_CACHE = "no-cache"  # revalidate each load: the page names the current asset version
ASSET_CACHE = "public, max-age=31536000, immutable"  # the URL changes whenever the content does
# The page loads only its own files and talks only to its own API; no inline script runs.
SECURITY = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Bundle:
    """The console's files as served: their texts and types by path, the version that names them."""

    version: str
    files: dict[str, tuple[str, str]]
    template: str

    def page(self, base: str) -> str:
        """index.html for an app served under `base` (`/`, or `/<stage>/` behind API Gateway)."""
        return (
            self.template.replace("{{base}}", base)
            .replace("{{version}}", self.version)
            .replace("{{config}}", _config_json())
        )


@functools.cache
def bundle() -> Bundle:
    """Read every served file once per process; the version is a hash of all their names and bytes."""
    files: dict[str, tuple[str, str]] = {}
    digest = hashlib.sha256()
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).iterdir()):
            if path.is_file() and path.suffix in TYPES:
                name = f"{folder}/{path.name}" if folder else path.name
                text = path.read_text(encoding="utf-8")
                files[name] = (text, TYPES[path.suffix])
                digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    template = (ROOT / "index.html").read_text(encoding="utf-8")
    digest.update(template.encode())
    return Bundle(version=digest.hexdigest()[:12], files=files, template=template)


def _config_json() -> str:
    """What the page needs to know from the domain: the actions each state allows (one source of truth)."""
    from chalicelib.domain.lifecycle import allowed
    from chalicelib.domain.models import EventState

    actions = {state.value: allowed(state) for state in EventState}
    return json.dumps({"actions": actions}, separators=(",", ":")).replace("<", "\\u003c")


def _etag(text: str) -> str:
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


def _not_modified(call: Call, etag: str) -> bool:
    presented = call.headers.get("if-none-match") or ""
    return etag in {tag.strip().removeprefix("W/") for tag in presented.split(",")}


@endpoint(
    bp,
    "/",
    "GET",
    scope=None,
    tag="Console",
    summary="The web console (HTML)",
    content="text/html",
    description="Public page; it signs in with an API key kept in the tab's sessionStorage and calls /v1.",
)
def console_page(call: Call) -> Reply:
    base = _server_url(call).rstrip("/") + "/"  # "/" locally, "/<stage>/" on API Gateway's own domain
    page = bundle().page(base)
    etag = _etag(page)
    headers = {"Cache-Control": PAGE_CACHE, **SECURITY}
    if _not_modified(call, etag):
        return Reply(None, 304, etag=etag, headers=headers, content_type="text/html; charset=utf-8")
    return Reply(page, etag=etag, headers=headers, content_type="text/html; charset=utf-8")


def _asset(version: str, name: str) -> Reply:
    current = bundle()
    if version != current.version or name not in current.files:
        raise NotFound(
            f"No console file {name} in version {version} (this deployment serves {current.version})."
        )
    text, content_type = current.files[name]
    return Reply(
        text,
        content_type=content_type,
        headers={"Cache-Control": ASSET_CACHE, "X-Content-Type-Options": "nosniff"},
    )


@endpoint(
    bp,
    "/console/{version}/{name}",
    "GET",
    scope=None,
    tag="Console",
    summary="The console's scripts and styles",
    content="text/plain",
    errors=(404,),
    description="Versioned URLs named by the page; cached for a year. Another version → 404.",
)
def console_asset(call: Call) -> Reply:
    return _asset(call.path["version"], call.path["name"])


@endpoint(
    bp,
    "/console/{version}/vendor/{name}",
    "GET",
    scope=None,
    tag="Console",
    summary="The console's vendored libraries",
    content="text/plain",
    errors=(404,),
    description="Preact, its hooks and htm, committed from npm (see docs/console.md).",
)
def console_vendor(call: Call) -> Reply:
    return _asset(call.path["version"], f"vendor/{call.path['name']}")
