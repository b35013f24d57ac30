"""Idempotency-Key on POST: a retry with the same key and body replays the first response for 24 hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.errors import Conflict, IdempotencyKeyReused, ValidationFailed


class IdempotencyRecords(Protocol):
    def claim(self, tenant_id: str, key: str, fingerprint: str, now: datetime) -> dict[str, Any] | None: ...
    def complete(self, tenant_id: str, key: str, response: dict[str, Any]) -> None: ...
    def release(self, tenant_id: str, key: str) -> None: ...


class IdempotencyService:
    def __init__(self, records: IdempotencyRecords) -> None:
        self.records = records

    def begin(self, tenant_id: str, key: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
        """Claim `key`; return the stored response when this is a replay, None when the request should run."""
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise ValidationFailed.one("/header/Idempotency-Key", "must be 1 to 255 printable characters")
        held = self.records.claim(tenant_id, key, fingerprint, now)
        if held is None:
            return None
        if held.get("fingerprint") != fingerprint:
            raise IdempotencyKeyReused()
        if "response" not in held:
            raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
        return held["response"]

    def finish(self, tenant_id: str, key: str, response: dict[str, Any], now: datetime) -> None:
        self.records.complete(tenant_id, key, response)

    def abandon(self, tenant_id: str, key: str) -> None:
        self.records.release(tenant_id, key)
