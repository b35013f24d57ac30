"""Helpers every service shares: ETags and If-Match, writable views and patch application."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.domain.errors import Conflict, FieldError, PreconditionFailed, StaleWrite, ValidationFailed
from chalicelib.domain.models import Record
from chalicelib.domain.patching import json_patch, merge_patch, touched_fields

READ_ONLY = frozenset(
    {
        "id",
        "tenant_id",
        "version",
        "created_at",
        "updated_at",
        "state",
        "published",
        "vod",
        "schedule_id",
        "occurrence_start",
        "deleted_at",
        "overlaps",
        "max_event_seconds",
        "booking_version",
        "prefix",
        "key",
    }
)


def etag(record: Record) -> str:
    """A strong ETag that changes with every write of the record."""
    return f'"{record.version}"'


def check_if_match(if_match: str | None, record: Record) -> None:
    """Refuse with 412 when `If-Match` names none of the record's current ETags.

    RFC 9110 compares If-Match strongly: a weak tag (`W/"3"`) never matches.
    """
    if if_match is None:
        return
    tags = [t.strip() for t in if_match.split(",")]
    if "*" not in tags and etag(record) not in tags:
        raise PreconditionFailed(f"If-Match {if_match} does not match the current ETag {etag(record)}.")


def patched(view: dict[str, Any], document: Any, kind: str) -> dict[str, Any]:
    """Apply a merge patch (`kind="merge"`) or JSON Patch (`"json"`); read-only fields are refused."""
    merge = kind == "merge"
    if merge and not isinstance(document, dict):
        raise ValidationFailed.one("", "a merge patch must be a JSON object")
    read_only = sorted(touched_fields(document, merge) & READ_ONLY)
    if read_only:
        raise ValidationFailed([FieldError(f"/{name}", "is read-only") for name in read_only])
    result = merge_patch(view, document) if merge else json_patch(view, document)
    if not isinstance(result, dict):
        raise ValidationFailed.one("", "the patched document must be a JSON object")
    return result


T = TypeVar("T")
WRITE_ATTEMPTS = 5


def optimistic(if_match: str | None, attempt: Callable[[], T], noun: str = "record") -> T:
    """Run `attempt` (read, check `If-Match`, write) until its optimistic write lands.

    A write lost to another writer inside the service (the lifecycle's own run, another client's
    change) is tried again from a fresh read: that race is not the client's problem. Only a client
    that pinned a version with `If-Match` is told (412), since its precondition no longer holds.
    """
    for n in range(WRITE_ATTEMPTS):
        if n:
            time.sleep(random.uniform(0, 0.005 * 2**n))
        try:
            return attempt()
        except StaleWrite:
            if if_match is not None:
                raise PreconditionFailed(f"The {noun} changed since the ETag you sent.") from None
    raise Conflict(f"The {noun} kept changing while this request ran; retry.")
