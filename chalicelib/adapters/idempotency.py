"""Idempotency records in DynamoDB: claimed with a conditional put, expired by TTL after 24 hours."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import ConditionFailed, Table

TTL = timedelta(hours=24)


class IdempotencyStore:
    """One item per (tenant, key): the request's fingerprint, then the response to replay."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def claim(self, tenant_id: str, key: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
        """Claim the key for this request; when it is already held (and not expired), return that record."""
        pk = k.idempotency_pk(tenant_id)
        try:
            self.table.put(
                {
                    "pk": pk,
                    "sk": key,
                    "fingerprint": fingerprint,
                    "status": "in_progress",
                    "expires_at": int((now + TTL).timestamp()),
                },
                # TTL deletion is lazy, so an expired record still present counts as free.
                condition="attribute_not_exists(pk) OR expires_at < :now",
                values={":now": int(now.timestamp())},
            )
            return None
        except ConditionFailed:
            item = self.table.get(pk, key)
            if item is None:  # expired and removed between the two calls: try once more
                return self.claim(tenant_id, key, fingerprint, now)
            if "response" in item:
                item["response"] = json.loads(item["response"])
            return item

    def complete(self, tenant_id: str, key: str, response: dict[str, Any]) -> None:
        """Store the response to replay."""
        self.table.update(
            k.idempotency_pk(tenant_id),
            key,
            "SET #s = :done, #r = :r",
            values={":done": "done", ":r": json.dumps(response)},
            names={"#s": "status", "#r": "response"},
        )

    def release(self, tenant_id: str, key: str) -> None:
        """Forget a claim whose request failed on our side, so the client's retry runs again."""
        self.table.delete(k.idempotency_pk(tenant_id), key)
