"""pydantic's validation errors as the domain's `ValidationFailed`, one JSON Pointer per bad field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from chalicelib.domain import errors as e


def validate(model: type[BaseModel], data: Any, root: str = "") -> Any:
    """Validate `data` as `model`; errors point into the document under `root`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc, root) from None


def from_pydantic(exc: Any, root: str = "") -> e.ValidationFailed:
    """Translate a pydantic ValidationError into one JSON Pointer per bad field."""
    found: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        parts = [str(p) for p in err["loc"] if not _is_union_tag(p, err)]
        pointer = root + "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)
        found.setdefault(pointer, _message(err))
    return e.ValidationFailed([e.FieldError(p, d) for p, d in found.items()])


def _is_union_tag(part: Any, err: dict[str, Any]) -> bool:
    # pydantic puts union members' names ("function-after[...]", "int") in loc; pointers must not.
    return isinstance(part, str) and ("[" in part or part in {"int", "str", "bool", "float"})


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be an array",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "union_tag_invalid": "has an unknown `type`",
    "union_tag_not_found": "needs a `type`",
}


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    message = str(err.get("msg", "is invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[:1].lower() + message[1:]
