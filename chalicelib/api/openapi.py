"""The OpenAPI 3.1 document, generated from the route declarations and the pydantic models.

Shaped so that a generated client works (tests/contract/test_generated_client.py builds one with
openapi-python-client and runs the README's walk-through with it):

- Every status a route can answer is listed: its own (`RouteSpec.status`, `statuses`, `errors`) and those
  the shared pipeline gives every route of its kind (`error_statuses`), 405 with `Allow` included.
- A PATCH documents one content type, `application/merge-patch+json`, with `<Model>Patch`: every field
  optional, a field with a default nullable (null restores it), nested objects partial too (a merge patch
  merges them). `application/json` is the same merge patch, and `application/json-patch+json` takes RFC
  6902 operations (`JsonPatch`); the operation's description says so. Three content types on one
  operation make generators write code that cannot send any of them.
- Query parameters are never null; property titles (pydantic's "Source Ids") are left out as noise.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.routes import ROUTES, RouteSpec
from chalicelib.api.schemas import PATCH_OF, Out, Problem

REF = "#/components/schemas/{model}"
MERGE_PATCH = "application/merge-patch+json"
PROBLEM_JSON = "application/problem+json"
NO_BODY = (204, 304)

JSON_PATCH = {
    "type": "array",
    "title": "JsonPatch",
    "description": "RFC 6902 JSON Patch: send with `Content-Type: application/json-patch+json` to any PATCH",
    "items": {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": {"type": "string", "description": "JSON Pointer into the record"},
            "from": {"type": "string", "description": "move and copy: where from"},
            "value": {"description": "add, replace and test: any JSON value"},
        },
    },
    "examples": [[{"op": "add", "path": "/tags/-", "value": "exam"}]],
}

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified: the `If-None-Match` ETag is current",
    400: "Malformed request: not JSON, or not an accepted content type",
    401: "Unauthenticated: no API key, or an unknown or revoked one",
    403: "Forbidden: the key lacks the scope",
    404: "Not found (another tenant's records too)",
    405: "Method not allowed on this path: `Allow` lists those it takes",
    409: "Conflict: a booking overlap, a state that does not allow it, a record in use, a request in flight",
    412: "Precondition failed: `If-Match` is not the record's current ETag",
    413: "Body too large",
    422: "Validation failed: one entry per bad field in `errors`",
}

ERRORS = {
    400: "MalformedRequest",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    422: "ValidationFailed",
}

PATH_PARAMETERS = {
    "occurrence_start": "the occurrence's original start: an instant (`2030-01-08T09:00:00Z`) or a local "
    "date-time in the series' zone (`2030-01-08T09:00:00`); percent-encode `:` as `%3A`",
    "external_id": "your system's id for the event",
}

INFO = """Scheduling and lifecycle control for live streams and recordings.

Authenticate with `Authorization: Bearer <key>` (or `x-api-key`); each operation names the scope it needs.
Instants are RFC 3339 (any offset) or epoch seconds in, RFC 3339 UTC with `Z` out; intervals are half-open.
Errors are RFC 9457 problems (`application/problem+json`, schema `Problem`). Every response carries
`X-Request-Id`; every path answers 405 with `Allow` for a method it does not take. The repository's
docs/ folder explains the concepts, recurrence, conflicts, the lifecycle and notifications."""


def document(server_url: str = "/") -> dict[str, Any]:
    """Build the whole document (cheap enough to build per request; it is also cached by the caller)."""
    schemas = component_schemas(ROUTES)
    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {"title": "onair", "version": "1.0.0", "description": INFO},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "tags": [{"name": name} for name in dict.fromkeys(spec.tag for spec in ROUTES)],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": error_responses(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }


def error_statuses(spec: RouteSpec) -> set[int]:
    """Every error status a route can answer: its own, and those the pipeline gives routes of its kind."""
    codes = set(spec.errors) | {405, 413}  # any path, another method; any body over the limit
    if spec.scope is not None:
        codes |= {401, 403}
        if spec.method != "GET":
            codes.add(409)  # an Idempotency-Key still in flight; a write that kept losing its race
    if "{" in spec.path:
        codes.add(404)
    if spec.query is not None:
        codes.add(422)
    if spec.body is not None or spec.patch_of is not None:
        codes |= {400, 422}
    if spec.method == "POST" and spec.scope is not None:
        codes.add(422)  # an Idempotency-Key reused with another body
    return codes


# -- schemas --------------------------------------------------------------------------------------------


def component_schemas(routes: list[RouteSpec]) -> dict[str, Any]:
    """The schemas every route names, with a merge-patch variant of each PATCH (or clone) body."""
    wanted: list[tuple[type[BaseModel], str]] = [(Problem, "serialization")]
    for spec in routes:
        for model, mode in (
            (spec.body, "validation"),
            (spec.patch_of, "validation"),
            (spec.response, "serialization"),
        ):
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    _, top = models_json_schema(wanted, ref_template=REF)  # type: ignore[arg-type]
    schemas: dict[str, Any] = top.get("$defs", {})
    for schema in schemas.values():
        _drop_property_titles(schema)
    for spec in routes:
        if spec.patch_of is not None:
            _patch(spec.patch_of.__name__, schemas)
    _point_at_patches(schemas, schemas)
    schemas["JsonPatch"] = JSON_PATCH
    return dict(sorted(schemas.items()))


def _point_at_patches(node: Any, schemas: dict[str, Any]) -> None:
    """Replace each schema marked `PATCH_OF: <model>` with a reference to `<model>Patch`."""
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in list(children):
        if isinstance(child, dict) and PATCH_OF in child:
            name = _patch(child.pop(PATCH_OF), schemas)
            notes = {k: v for k, v in child.items() if k in ("description", "default")}
            child.clear()
            child.update({"$ref": REF.format(model=name), **notes})
        else:
            _point_at_patches(child, schemas)


def _drop_property_titles(node: Any) -> None:
    if isinstance(node, dict):
        for prop in (node.get("properties") or {}).values():
            if isinstance(prop, dict):
                prop.pop("title", None)
        for value in node.values():
            _drop_property_titles(value)
    elif isinstance(node, list):
        for value in node:
            _drop_property_titles(value)


def _target(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def _patch(name: str, schemas: dict[str, Any]) -> str:
    """Add `<name>Patch` (and the patches of the objects it nests) to `schemas`; returns its name."""
    patch_name = f"{name}Patch"
    if patch_name in schemas:
        return patch_name
    schema = schemas[name]
    schemas[patch_name] = {}  # claimed first: a model that nests itself ends here
    required = set(schema.get("required", []))
    properties = {}
    for field, prop in schema.get("properties", {}).items():
        prop = _partial(prop, schemas)
        prop.pop("default", None)  # in a patch, a field left out is unchanged, not its default
        properties[field] = prop if field in required else _nullable(prop)
    patch = {k: v for k, v in schema.items() if k not in ("required", "properties", "examples", "title")}
    patch["title"] = f"{schema.get('title', name)} (merge patch)"
    patch["description"] = (
        f"A merge patch (RFC 7396) of {name}: only the fields given change; `null` gives a field its "
        "default back (a required field cannot be removed); objects merge, lists are replaced."
    )
    patch["properties"] = properties
    schemas[patch_name] = patch
    return patch_name


def _partial(prop: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A property as a merge patch writes it: objects become partial (they merge), the rest is replaced."""
    prop = copy.deepcopy(prop)
    ref = prop.get("$ref")
    if isinstance(ref, str) and "properties" in schemas.get(_target(ref), {}):
        return {**prop, "$ref": REF.format(model=_patch(_target(ref), schemas))}
    for key in ("oneOf", "anyOf"):
        if key in prop:
            members = [_partial(member, schemas) for member in prop.pop(key)]
            prop.pop("discriminator", None)  # partial members need not carry their tag, and may overlap
            return {**prop, "anyOf": members}
    values = prop.get("additionalProperties")
    if prop.get("type") == "object" and isinstance(values, dict):
        prop["additionalProperties"] = _nullable(values)  # a key set to null is removed
    return prop


def _allows_null(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(
        isinstance(m, dict) and m.get("type") == "null" for m in schema.get("anyOf", [])
    )


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if _allows_null(schema):
        return schema
    notes = {k: schema[k] for k in ("description", "examples") if k in schema}
    core = {k: v for k, v in schema.items() if k not in notes}
    if "anyOf" in core and len(core) == 1:
        return {"anyOf": [*core["anyOf"], {"type": "null"}], **notes}
    return {"anyOf": [core, {"type": "null"}], **notes}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: a query string value is never JSON null."""
    schema = {k: v for k, v in schema.items() if k != "title"}
    if schema.get("default", 0) is None:
        del schema["default"]
    members = [m for m in schema.get("anyOf", []) if m.get("type") != "null"]
    if "anyOf" in schema:
        del schema["anyOf"]
        if len(members) == 1:
            return {**members[0], **schema}
        schema["anyOf"] = members
    return schema


# -- operations -----------------------------------------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _description(spec: RouteSpec) -> str:
    parts = []
    if spec.scope is not None:
        parts.append(f"Needs a key with the `{spec.scope.value}` scope.")
    if spec.description:
        parts.append(spec.description)
    if spec.method == "PATCH" and spec.patch_of is not None:
        parts.append(
            f"The body is a merge patch (`{MERGE_PATCH}`, or `application/json`); "
            "`application/json-patch+json` takes RFC 6902 operations instead (schema `JsonPatch`)."
        )
    return " ".join(parts)


def _operation(spec: RouteSpec) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": spec.operation_id, "summary": spec.summary, "tags": [spec.tag]}
    description = _description(spec)
    if description:
        op["description"] = description
    if spec.scope is None:
        op["security"] = []
    else:
        op["x-scope"] = spec.scope.value
    parameters = _parameters(spec)
    if parameters:
        op["parameters"] = parameters
    if spec.body is not None:
        op["requestBody"] = {
            "required": not spec.optional_body,
            "content": {"application/json": {"schema": _ref(spec.body.__name__)}},
        }
    elif spec.patch_of is not None:
        content_type = MERGE_PATCH if spec.method == "PATCH" else "application/json"
        op["requestBody"] = {
            "required": not spec.optional_body,
            "content": {content_type: {"schema": _ref(f"{spec.patch_of.__name__}Patch")}},
        }
    op["responses"] = _responses(spec)
    return op


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for name in re.findall(r"{(\w+)}", spec.path):
        param: dict[str, Any] = {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
        }
        if name in PATH_PARAMETERS:
            param["description"] = PATH_PARAMETERS[name]
        parameters.append(param)
    if spec.query is not None:
        query_schema = spec.query.model_json_schema(by_alias=True, ref_template=REF)
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in required, "schema": _not_null(prop)}
            if "description" in prop:
                param["description"] = prop["description"]
            parameters.append(param)
    if 412 in error_statuses(spec):
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "Only act if the record's ETag still matches (412 otherwise)",
            }
        )
    if spec.method == "POST" and spec.scope is not None:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "A retry with the same key and body within 24 h replays the first response",
            }
        )
    return parameters


def _success(spec: RouteSpec, status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": STATUS_TEXT.get(status, "OK")}
    if status in NO_BODY:
        return answer
    if spec.response is not None:
        answer["content"] = {spec.content: {"schema": _ref(spec.response.__name__)}}
    elif spec.content == "application/json":
        answer["content"] = {spec.content: {"schema": {"type": "object", "description": "this document"}}}
    else:
        answer["content"] = {spec.content: {"schema": {"type": "string"}}}
    headers: dict[str, Any] = {}
    if spec.response is not None and issubclass(spec.response, Out) and spec.method != "DELETE":
        headers["ETag"] = {"schema": {"type": "string"}, "description": "the record's version, for If-Match"}
    if spec.method == "POST" and spec.scope is not None:
        headers["Idempotent-Replayed"] = {
            "schema": {"type": "string", "enum": ["true"]},
            "description": "present on the replay of an earlier request with the same Idempotency-Key",
        }
    if headers:
        answer["headers"] = headers
    return answer


def _responses(spec: RouteSpec) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in (spec.status, *spec.statuses):
        responses[str(status)] = _success(spec, status)
    for code in sorted(error_statuses(spec)):
        responses[str(code)] = {"$ref": f"#/components/responses/{ERRORS[code]}"}
    return responses


def error_responses() -> dict[str, Any]:
    """One shared response per error status: a problem, with `Allow` on a 405."""
    responses: dict[str, Any] = {}
    for code, name in ERRORS.items():
        answer: dict[str, Any] = {
            "description": STATUS_TEXT[code],
            "content": {PROBLEM_JSON: {"schema": _ref("Problem")}},
        }
        if code == 405:
            answer["headers"] = {
                "Allow": {"schema": {"type": "string"}, "description": "the methods this path takes"}
            }
        responses[name] = answer
    return responses
