"""Reading a request: its body (size, content type, JSON), its query and path parameters, its key."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel

from chalicelib.api.routes import RouteSpec
from chalicelib.domain.errors import MalformedRequest, NotFound, PayloadTooLarge
from chalicelib.domain.models import Principal
from chalicelib.domain.validation import validate

JSON_TYPES = ("application/json",)
MAX_KEY_BYTES = 1000  # DynamoDB refuses sort keys over 1024 bytes
PATCH_TYPES = ("application/merge-patch+json", "application/json", "application/json-patch+json")


def path_params(params: dict[str, str]) -> dict[str, str]:
    """Path parameters, percent-decoded (Chalice hands them over still encoded); too long is a 404."""
    path = {name: unquote(value) for name, value in params.items()}
    if any(len(value.encode()) > MAX_KEY_BYTES for value in path.values()):
        raise NotFound("No such record.")  # no id is that long; DynamoDB would refuse the key
    return path


def content_type_of(headers: Any) -> str:
    return (headers.get("content-type") or "").split(";")[0].strip().lower()


def anonymous() -> Principal:
    return Principal(tenant_id="", key_id="", name="anonymous", scopes=frozenset())


def presented_key(headers: Any) -> str | None:
    """The API key from `Authorization: Bearer <key>` or `x-api-key`."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    key = headers.get("x-api-key")
    return key.strip() if key else None


def raw_body(request: Any, limit: int) -> bytes:
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; the limit is {limit}.")
    return raw


def parse_query(spec: RouteSpec, request: Any) -> Any:
    params = request.query_params or {}
    if spec.query is None:
        return dict(params)
    return validate(spec.query, dict(params), "/query")


def parse_body(spec: RouteSpec, raw: bytes, content_type: str) -> Any:
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
