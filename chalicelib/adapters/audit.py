"""The audit trail in DynamoDB: one item per change, newest first per tenant and per resource.

Key: `T#<tenant>#AUDIT` / `<at>#<id>`. The item also sits in the overloaded `schedule_by_start` index under
`T#<tenant>#AUDR#<resource_id>` so one resource's trail is one Query. Items expire by TTL (`expires_at`).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import ConditionFailed, Table, decode_cursor
from chalicelib.domain.time import format_instant, parse_instant

RESOURCE_INDEX = "schedule_by_start"


@dataclass(frozen=True)
class AuditEntry:
    id: str
    tenant_id: str
    at: datetime
    actor: dict[str, str]
    request_id: str | None
    resource_type: str
    resource_id: str
    action: str
    changes: dict[str, Any]
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as stored in its item's `doc`, and as `GET /v1/audit` shows it."""
        return {
            "id": self.id,
            "at": format_instant(self.at),
            "actor": self.actor,
            "request_id": self.request_id,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "action": self.action,
            "changes": self.changes,
            "reason": self.reason,
        }


class AuditStore:
    """Appends and pages through a tenant's audit trail."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, entry: AuditEntry, expires_at: datetime) -> None:
        """Write the entry once (a repeat of the same id is a no-op)."""
        sk = f"{format_instant(entry.at)}#{entry.id}"
        item = {
            "pk": k.audit_pk(entry.tenant_id),
            "sk": sk,
            "g3pk": k.audit_resource_pk(entry.tenant_id, entry.resource_id),
            "g3sk": sk,
            "expires_at": int(expires_at.timestamp()),
            "doc": json.dumps(entry.to_json(), default=str),
        }
        with contextlib.suppress(ConditionFailed):
            self.table.put(item, condition="attribute_not_exists(pk)")

    def list(
        self,
        tenant_id: str,
        resource_id: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[AuditEntry], str | None]:
        """One page, newest first: the tenant's whole trail or one resource's, within `[start, end)`."""
        if resource_id is None:
            pk_attr, sk_attr, pk, index = "pk", "sk", k.audit_pk(tenant_id), None
        else:
            pk_attr, sk_attr = "g3pk", "g3sk"
            pk, index = k.audit_resource_pk(tenant_id, resource_id), RESOURCE_INDEX
        names = {"#pk": pk_attr}
        values: dict[str, Any] = {":pk": pk}
        key = "#pk = :pk"
        if start is not None or end is not None:
            names["#sk"] = sk_attr
            values[":lo"] = k.before(start) if start is not None else "0"
            values[":hi"] = k.before(end) if end is not None else "9"
            key += " AND #sk BETWEEN :lo AND :hi"
        keys = ("pk", "sk", "g3pk", "g3sk") if index else ("pk", "sk")
        page = self.table.query(
            key,
            values,
            index=index,
            names=names,
            limit=limit,
            forward=False,
            start_key=decode_cursor(cursor, {pk_attr: pk}, keys),
        )
        return [_entry(tenant_id, item) for item in page.items], page.next_cursor


def _entry(tenant_id: str, item: dict[str, Any]) -> AuditEntry:
    doc = json.loads(item["doc"])
    return AuditEntry(
        id=doc["id"],
        tenant_id=tenant_id,
        at=parse_instant(doc["at"]),
        actor=doc["actor"],
        request_id=doc.get("request_id"),
        resource_type=doc["resource_type"],
        resource_id=doc["resource_id"],
        action=doc["action"],
        changes=doc.get("changes") or {},
        reason=doc.get("reason"),
    )
