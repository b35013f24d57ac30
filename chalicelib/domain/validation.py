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
        raise from_pydantic(exc, root, data) from None
    except RecursionError:
        raise e.ValidationFailed.one(root, "is nested too deeply") from None


def from_pydantic(exc: Any, root: str = "", data: Any = None) -> e.ValidationFailed:
    """Translate a pydantic ValidationError into one JSON Pointer per bad field of `data`."""
    found: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        pointer = root + "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in _path(err, data))
        found.setdefault(pointer, []).append(_message(err))
    return e.ValidationFailed([e.FieldError(p, _combine(d)) for p, d in found.items()])


def _path(err: dict[str, Any], data: Any) -> list[str]:
    """The parts of pydantic's `loc` that index the client's document.

    pydantic also puts union members' names ("int", "constrained-str", a discriminator value) into
    `loc`; those index nothing in the document, so walking the document leaves them out. The last
    part of a `missing` error names an absent field, and is kept.
    """
    parts: list[str] = []
    current = data
    loc = list(err["loc"])
    for index, part in enumerate(loc):
        if (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and -len(current) <= part < len(current)
        ):
            current = current[part]
        elif (index == len(loc) - 1 and err["type"] == "missing") or data is None:
            current = None
        else:
            continue
        parts.append(str(part))
    return parts


def _combine(details: list[str]) -> str:
    """One message for a field that failed every member of a union."""
    unique = list(dict.fromkeys(details))
    if len(unique) == 1:
        return unique[0]
    if all(d.startswith("must be a") for d in unique):
        return "must be " + " or ".join(d.removeprefix("must be ") for d in unique)
    return "; ".join(unique)


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "float_type": "must be a number",
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
