"""The Opencast capture-agent endpoints room recorders call, outside /v1 (docs/recorders.md).

Paths, methods, form fields and answers are Opencast's, because recorders (pyCA, Galicaster, Extron,
Epiphan) are built against Opencast. Every request authenticates with HTTP digest (user = the agent
name); errors are problem+json like the rest of the API, a 401 with a fresh `WWW-Authenticate: Digest`.
Each route is also listed in the OpenAPI document, under the "Room recorders" tag.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from chalice import Blueprint, Response

from chalicelib import bootstrap, logs
from chalicelib.api.errors import to_response
from chalicelib.api.forms import Part, parse_form
from chalicelib.api.http import ROUTES, RouteSpec, finish
from chalicelib.api.rendering import request_id as request_id_of
from chalicelib.domain.errors import DomainError, PayloadTooLarge

log = logging.getLogger("onair.agents")
bp = Blueprint(__name__)

TAG = "Room recorders"
TEXT = "text/plain"
XML = "text/xml"


@dataclass
class AgentCall:
    """A request from an authenticated recorder, as handlers see it."""

    method: str
    agent: Any  # chalicelib.domain.recorders.Agent
    record: Any  # chalicelib.adapters.agents.AgentRecord
    path: dict[str, str]
    query: dict[str, str]
    headers: Any
    raw: bytes
    content_type: str | None
    now: datetime
    base_url: str
    _form: dict[str, Part] | None = field(default=None, repr=False)

    @property
    def form(self) -> dict[str, Part]:
        if self._form is None:
            self._form = parse_form(self.raw, self.content_type)
        return self._form

    def field(self, name: str) -> str | None:
        part = self.form.get(name)
        return part.text if part is not None else None


@dataclass
class Answer:
    """A handler's answer: the body as text, its status and content type."""

    body: str = ""
    status: int = 200
    content_type: str = TEXT
    headers: dict[str, str] = field(default_factory=dict)


def agent_route(
    path: str, methods: list[str], summary: str, content: str = TEXT, description: str = ""
) -> Callable[[Callable[[AgentCall], Answer]], Callable[[AgentCall], Answer]]:
    """Register `fn(call) -> Answer` for recorders (digest auth), and describe it in OpenAPI."""

    def decorate(fn: Callable[[AgentCall], Answer]) -> Callable[[AgentCall], Answer]:
        for method in methods:
            ROUTES.append(
                RouteSpec(
                    path=path,
                    method=method,
                    scope=None,
                    summary=summary,
                    tag=TAG,
                    content=content,
                    errors=(400, 401, 404, 409),
                    operation_id=f"{fn.__name__}_{method.lower()}",
                    description=(description + " " if description else "")
                    + "HTTP digest auth (user = agent name, realm `Opencast`).",
                )
            )

        @bp.route(path, methods=methods, content_types=["*/*"])
        @functools.wraps(fn)
        def view(**params: str) -> Response:
            return handle(fn, path, bp.current_request, params)

        return fn

    return decorate


def handle(fn: Callable[[AgentCall], Answer], route: str, request: Any, params: dict[str, str]) -> Response:
    """Authenticate, run the handler, map errors; one JSON log line per request, like the API's."""
    started = time.perf_counter()
    request_id = request_id_of(request)
    with logs.scope(request_id=request_id, method=request.method, route=route):
        try:
            response = _respond(fn, route, request, params)
        except DomainError as error:
            response = to_response(error)
        except Exception:
            log.exception("unhandled error")
            response = to_response(RuntimeError())
        return finish(response, request_id, started)


def _respond(fn: Callable[[AgentCall], Answer], route: str, request: Any, params: dict[str, str]) -> Response:
    services = bootstrap.services()
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > services.settings.max_ingest_bytes:
        raise PayloadTooLarge(
            f"The body is {len(raw)} bytes; the limit is {services.settings.max_ingest_bytes}."
        )
    multi = {name: request.query_params.getlist(name) for name in (request.query_params or {})}
    now = services.clock()
    context = request.context or {}
    full_path = context.get("path") or _concrete(route, params)
    agent, record = services.agents.authenticate(
        request.headers.get("authorization"), request.method, full_path, multi, now
    )
    logs.bind(tenant_id=agent.tenant_id, agent=agent.name)
    path = {name: unquote(value) for name, value in params.items()}
    call = AgentCall(
        method=request.method,
        agent=agent,
        record=record,
        path=path,
        query={name: values[0] for name, values in multi.items() if values},
        headers=request.headers,
        raw=raw,
        content_type=request.headers.get("content-type"),
        now=now,
        base_url=_base_url(request, full_path, _concrete(route, params), services.settings.agent_base_url),
    )
    answer = fn(call)
    headers = {"Content-Type": answer.content_type, **answer.headers}
    return Response(body=answer.body, status_code=answer.status, headers=headers)


def _concrete(route: str, params: dict[str, str]) -> str:
    for name, value in params.items():
        route = route.replace("{" + name + "}", value)
    return route


def _base_url(request: Any, full_path: str, route_path: str, configured: str) -> str:
    """Where this deployment answers agents: configured, else this request's scheme, host and stage."""
    if configured:
        return configured
    headers = request.headers
    scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip()
    host = headers.get("host") or "localhost"
    prefix = full_path[: len(full_path) - len(route_path)] if full_path.endswith(route_path) else ""
    return f"{scheme}://{host}{prefix}"


def _json(data: Any) -> Answer:
    return Answer(json.dumps(data), content_type="application/json")


def _agents() -> Any:
    return bootstrap.services().agents


def _ingest() -> Any:
    return bootstrap.services().ingest


# -- the service registry --------------------------------------------------------------------------------


@agent_route(
    "/services/available.json",
    ["GET"],
    "Where the scheduler, capture-admin and ingest services are",
    content="application/json",
    description="`?serviceType=org.opencastproject.scheduler|capture.admin|ingest` → this deployment's URL.",
)
def services_available(call: AgentCall) -> Answer:
    from chalicelib.domain import opencast

    settings = bootstrap.services().settings
    ingest_base = settings.ingest_url or call.base_url
    return _json(opencast.services_document(call.query.get("serviceType", ""), call.base_url, ingest_base))


# -- the schedule ----------------------------------------------------------------------------------------


@agent_route(
    "/recordings/calendars",
    ["GET"],
    "The agent's schedule (iCalendar)",
    content="text/calendar",
    description="`?agentid=<name>&cutoff=<epoch ms>`. `ETag`; `If-None-Match` with it → 304.",
)
def calendars(call: AgentCall) -> Answer:
    body, etag = _agents().calendar(
        call.agent, call.record, call.query.get("agentid"), call.query.get("cutoff"), call.now
    )
    if etag in [tag.strip() for tag in (call.headers.get("if-none-match") or "").split(",")]:
        return Answer("", 304, "text/calendar; charset=UTF-8", {"ETag": etag})
    return Answer(body, 200, "text/calendar; charset=UTF-8", {"ETag": etag})


# -- agent state and configuration -----------------------------------------------------------------------


def _name_and_format(raw: str) -> tuple[str, str]:
    """`id`, `id.json` or `id.xml` (Opencast's GET forms) → the id and the format (JSON by default)."""
    for suffix in (".json", ".xml"):
        if raw.endswith(suffix):
            return raw[: -len(suffix)], suffix[1:]
    return raw, "json"


def _document(root: str, data: dict[str, Any], kind: str) -> Answer:
    """Opencast's `*-state-update` answers, as JSON or XML."""
    if kind == "json":
        return _json({root: data})
    from xml.sax.saxutils import escape

    body = "".join(f"<{k}>{escape('' if v is None else str(v))}</{k}>" for k, v in data.items())
    return Answer(f'<?xml version="1.0" encoding="UTF-8"?><{root}>{body}</{root}>', content_type=XML)


@agent_route(
    "/capture-admin/agents/{name}",
    ["GET", "POST"],
    "An agent's state",
    description="POST form `state` (idle, capturing, uploading, offline, ...) and `address`; "
    "GET `{name}`, `{name}.json` or `{name}.xml` answers the last state.",
)
def agent_state(call: AgentCall) -> Answer:
    agents = _agents()
    if call.method == "GET":
        name, kind = _name_and_format(call.path["name"])
        state = agents.state(call.agent, call.record, name, call.now)
        return _document("agent-state-update", state, kind)
    name = call.path["name"]
    return Answer(
        agents.report_state(
            call.agent, call.record, name, call.field("state"), call.field("address"), call.now
        )
    )


def _configuration(call: AgentCall, kind: str) -> Answer:
    from chalicelib.domain import opencast

    agents = _agents()
    if call.method == "POST":
        entries, kind = agents.set_configuration(
            call.agent, call.record, call.path["name"], call.field("configuration")
        )
    else:
        entries = agents.configuration(call.agent, call.record, call.path["name"])
    if kind == "xml":
        return Answer(opencast.configuration_xml(entries), content_type=XML)
    return _json(entries)


@agent_route(
    "/capture-admin/agents/{name}/configuration",
    ["GET", "POST"],
    "An agent's configuration",
    description="POST form `configuration` (a JSON object or Java properties XML); GET answers it as JSON.",
)
def agent_configuration(call: AgentCall) -> Answer:
    return _configuration(call, "json")


@agent_route("/capture-admin/agents/{name}/configuration.json", ["GET"], "An agent's configuration (JSON)")
def agent_configuration_json(call: AgentCall) -> Answer:
    return _configuration(call, "json")


@agent_route(
    "/capture-admin/agents/{name}/configuration.xml", ["GET"], "An agent's configuration (XML)", content=XML
)
def agent_configuration_xml(call: AgentCall) -> Answer:
    return _configuration(call, "xml")


# -- recording state -------------------------------------------------------------------------------------


@agent_route(
    "/capture-admin/recordings/{recording_id}",
    ["GET", "POST"],
    "A recording's state",
    description="The recording id is the event id (the calendar's UID). POST form `state`: capturing → live, "
    "capture_finished/uploading → stopped, upload_finished → completed, *_error → failed. "
    "Another agent's recording is a 404.",
)
def recording_state(call: AgentCall) -> Answer:
    agents = _agents()
    if call.method == "GET":
        recording_id, kind = _name_and_format(call.path["recording_id"])
        return _document(
            "recording-state-update", agents.recording_state(call.agent, recording_id, call.now), kind
        )
    text = agents.report_recording(
        call.agent, call.record, call.path["recording_id"], call.field("state"), call.now
    )
    return Answer(text)


# -- ingest ----------------------------------------------------------------------------------------------


@agent_route(
    "/ingest/createMediaPackage",
    ["GET", "POST"],
    "A new mediapackage",
    content=XML,
    description="Bound to the recording the agent reported as `uploading`: its id is that event's id.",
)
def create_mediapackage(call: AgentCall) -> Answer:
    return Answer(_ingest().create(call.agent, call.record.uploading, call.now), content_type=XML)


@agent_route(
    "/ingest/addDCCatalog",
    ["POST"],
    "Add a Dublin Core catalog",
    content=XML,
    description="Form `mediaPackage`, `dublinCore`, `flavor`.",
)
def add_catalog(call: AgentCall) -> Answer:
    xml = _ingest().add_catalog(
        call.agent, call.field("mediaPackage"), call.field("flavor"), call.field("dublinCore"), call.now
    )
    return Answer(xml, content_type=XML)


def _upload(call: AgentCall) -> Any:
    from chalicelib.services.ingest import Upload

    for part in call.form.values():
        if part.filename is not None:
            return Upload(part.filename, part.content_type or "application/octet-stream", part.data)
    return None


def _add_file(call: AgentCall, kind: str) -> Answer:
    xml = _ingest().add_file(
        call.agent, kind, call.field("mediaPackage"), call.field("flavor"), _upload(call), call.now
    )
    return Answer(xml, content_type=XML)


@agent_route(
    "/ingest/addTrack",
    ["POST"],
    "Add a track (the recording)",
    content=XML,
    description="multipart/form-data: `mediaPackage`, `flavor` and the file (BODY). Stored in S3 under "
    "`<tenant>/<event>/`.",
)
def add_track(call: AgentCall) -> Answer:
    return _add_file(call, "track")


@agent_route(
    "/ingest/addAttachment",
    ["POST"],
    "Add an attachment",
    content=XML,
    description="multipart/form-data: `mediaPackage`, `flavor` and the file (BODY).",
)
def add_attachment(call: AgentCall) -> Answer:
    return _add_file(call, "attachment")


@agent_route(
    "/ingest/ingest",
    ["POST"],
    "Close the mediapackage",
    content=XML,
    description="Form `mediaPackage`, `workflowInstanceId` (the event id) and workflow configuration. "
    "Announces `Recording Ingested` on EventBridge.",
)
def ingest(call: AgentCall) -> Answer:
    xml = _ingest().ingest(call.agent, call.field("mediaPackage"), call.field("workflowInstanceId"), call.now)
    return Answer(xml, content_type=XML)
