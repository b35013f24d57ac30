"""Partial updates: RFC 7396 JSON Merge Patch and RFC 6902 JSON Patch over a record's writable view."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from chalicelib.domain.errors import FieldError, ValidationFailed


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 merge patch: objects merge recursively, `null` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations; a malformed or failing operation is a 422 pointing at it."""
    if not isinstance(operations, list):
        raise ValidationFailed.one("", "a JSON Patch document must be an array of operations")
    for index, op in enumerate(operations):
        if (
            not isinstance(op, dict)
            or not isinstance(op.get("op"), str)
            or not isinstance(op.get("path"), str)
        ):
            raise ValidationFailed.one(f"/{index}", "each operation needs string `op` and `path`")
    try:
        return jsonpatch.apply_patch(target, operations)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise ValidationFailed([FieldError(_failing_op(operations, target), f"test failed: {exc}")]) from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, ValueError) as exc:
        raise ValidationFailed([FieldError(_failing_op(operations, target), str(exc))]) from None


def _failing_op(operations: list[dict[str, Any]], target: dict[str, Any]) -> str:
    """Find which operation fails by applying them one at a time (only on the error path)."""
    doc = copy.deepcopy(target)
    for index, op in enumerate(operations):
        try:
            doc = jsonpatch.apply_patch(doc, [op])
        except Exception:
            return f"/{index}"
    return ""


def touched_fields(operations_or_patch: Any, merge: bool) -> set[str]:
    """Top-level fields a patch names (used to reject read-only fields with a clear pointer)."""
    if merge:
        return set(operations_or_patch) if isinstance(operations_or_patch, dict) else set()
    fields: set[str] = set()
    for op in operations_or_patch if isinstance(operations_or_patch, list) else []:
        for key in ("path", "from"):
            path = op.get(key) if isinstance(op, dict) else None
            if isinstance(path, str) and path.startswith("/"):
                fields.add(path[1:].split("/", 1)[0].replace("~1", "/").replace("~0", "~"))
    return fields
