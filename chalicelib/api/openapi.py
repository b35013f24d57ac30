"""The OpenAPI 3.1 document, generated from the route declarations and the pydantic models."""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.routes import ROUTES, RouteSpec

REF = "#/components/schemas/{model}"

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
        "conflicts": {"type": "array", "items": {"type": "object"}},
        "suggestion": {
            "type": "object",
            "properties": {"start": {"type": "string"}, "end": {"type": "string"}},
        },
        "event_ids": {
            "type": "array",
            "items": {"type": "string"},
            "description": "deleting a source: events still to come that use it (the first 20)",
        },
        "schedule_ids": {
            "type": "array",
            "items": {"type": "string"},
            "description": "deleting a channel: the series that still have occurrences on it",
        },
    },
}

JSON_PATCH = {
    "type": "array",
    "description": "RFC 6902 JSON Patch",
    "items": {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": {"type": "string"},
            "from": {"type": "string"},
            "value": {},
        },
    },
}

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Malformed request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Body too large",
    422: "Validation failed",
}


def document(server_url: str = "/") -> dict[str, Any]:
    """Build the whole document (cheap enough to build per request; it is also cached by the caller)."""
    schemas = _component_schemas(ROUTES)
    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "onair",
            "version": "1.0.0",
            "description": "Scheduling and lifecycle control for live streams and recordings. "
            "Errors are RFC 9457 problem+json; instants are RFC 3339 UTC.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }


def _component_schemas(routes: list[RouteSpec]) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], str]] = []
    for spec in routes:
        for model, mode in (
            (spec.body, "validation"),
            (spec.patch_of, "validation"),
            (spec.response, "serialization"),
        ):
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    _, top = models_json_schema(wanted, ref_template=REF)  # type: ignore[arg-type]
    schemas = dict(top.get("$defs", {}))
    for spec in routes:
        if spec.patch_of is not None:
            schemas[f"{spec.patch_of.__name__}Patch"] = _partial(schemas[spec.patch_of.__name__])
    schemas["Problem"] = PROBLEM
    schemas["JsonPatch"] = JSON_PATCH
    return schemas


def _partial(schema: dict[str, Any]) -> dict[str, Any]:
    """A merge-patch body: any subset of the fields; `null` removes a field."""
    partial = copy.deepcopy(schema)
    partial.pop("required", None)
    partial["title"] = f"{schema.get('title', 'Object')} (partial)"
    return partial


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _operation(spec: RouteSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": spec.operation_id, "summary": spec.summary, "tags": [spec.tag]}
    if spec.description:
        op["description"] = spec.description
    if spec.scope is None:
        op["security"] = []
    else:
        op["x-scope"] = spec.scope.value
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r"{(\w+)}", spec.path)
    ]
    if spec.query is not None:
        query_schema = spec.query.model_json_schema(by_alias=True, ref_template=REF)
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if "description" in prop:
                param["description"] = prop["description"]
            parameters.append(param)
    if spec.method in ("PATCH", "DELETE") or (spec.method == "POST" and spec.path.endswith(("/restore",))):
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "Only act if the record's ETag still matches",
            }
        )
    if spec.method == "POST" and spec.scope is not None:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "Replays the first response for 24 h",
            }
        )
    if parameters:
        op["parameters"] = parameters
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(spec.body.__name__)}},
        }
    elif spec.patch_of is not None:
        partial = _ref(f"{spec.patch_of.__name__}Patch")
        content: dict[str, Any] = {"application/json": {"schema": partial}}
        if spec.method == "PATCH":
            content["application/merge-patch+json"] = {"schema": partial}
            content["application/json-patch+json"] = {"schema": _ref("JsonPatch")}
        op["requestBody"] = {"required": not spec.optional_body, "content": content}
    op["responses"] = _responses(spec)
    return op


def _responses(spec: RouteSpec) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": STATUS_TEXT.get(spec.status, "OK")}
    if spec.response is not None:
        ok["content"] = {spec.content: {"schema": _ref(spec.response.__name__)}}
    elif spec.content != "application/json" and spec.status != 204:
        ok["content"] = {spec.content: {"schema": {"type": "string"}}}
    if spec.response is not None and spec.path.count("{") and spec.method != "DELETE":
        ok["headers"] = {"ETag": {"schema": {"type": "string"}, "description": "the record's version"}}
    responses: dict[str, Any] = {str(spec.status): ok}
    codes = set(spec.errors)
    if spec.scope is not None:
        codes |= {401, 403}
    if spec.query is not None:
        codes.add(422)
    if spec.method in ("POST", "PUT", "PATCH"):
        codes |= {400, 413}
    if spec.method == "POST" and spec.scope is not None:
        codes |= {409, 422}
    for code in sorted(codes):
        responses[str(code)] = {
            "description": STATUS_TEXT.get(code, "Error"),
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
    return responses
