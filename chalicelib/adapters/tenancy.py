"""Tenants and API keys in DynamoDB: a key's record per tenant plus an auth item keyed by its hash."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import ConditionFailed, Table, TransactionCancelled
from chalicelib.adapters.records import RecordStore, to_item
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.models import ApiKey, Scope, Tenant


def _auth_item(key: ApiKey) -> dict[str, Any]:
    return {
        "pk": k.key_hash_pk(key.key_hash),
        "sk": "#",
        "tenant_id": key.tenant_id,
        "key_id": key.id,
        "name": key.name,
        "scopes": [s.value for s in key.scopes],
        "key_hash": key.key_hash,
    }


class TenancyStore:
    """Reads and transactional writes of tenants and their keys."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.tenants = RecordStore(table, Tenant, lambda _tenant: k.TENANTS_PK)
        self.keys = RecordStore(table, ApiKey, lambda tenant: k.collection(tenant, "KEY"))

    def lookup(self, key_hash: str) -> dict[str, Any] | None:
        """The auth item for a key hash (strongly consistent, so a revoked key fails at once)."""
        return self.table.get(k.key_hash_pk(key_hash), "#")

    def check_with_next_read(self, key_hash: str, check: Callable[[dict[str, Any] | None], None]) -> None:
        """Have this request's next read fetch the auth item too (same round trip) and pass it to `check`."""
        self.table.check_with_next_read(k.key_hash_pk(key_hash), "#", check)

    def settle(self) -> None:
        """Run a pending auth check that no read carried (raises what the check raises)."""
        self.table.settle()

    def create_tenant(self, tenant: Tenant, admin_key: ApiKey) -> None:
        self.table.transact(
            [
                {
                    "Put": {
                        "Item": to_item(tenant, k.TENANTS_PK, admin_keys=1),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self.keys.create_op(admin_key),
                {"Put": {"Item": _auth_item(admin_key), "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )

    def ensure_tenant(self, tenant: Tenant) -> None:
        """Create the tenant unless it exists (bootstrap of `default`)."""
        with contextlib.suppress(ConditionFailed):
            self.table.put(to_item(tenant, k.TENANTS_PK), condition="attribute_not_exists(pk)")

    def put_key(self, key: ApiKey) -> None:
        """Store a new key: its record and its auth item, together (an admin key is counted)."""
        ops = [
            self.keys.create_op(key),
            {"Put": {"Item": _auth_item(key), "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
        if Scope.ADMIN in key.scopes:
            ops.append(self._count_admins(key.tenant_id, 1))
        self.table.transact(ops)

    def _count_admins(self, tenant_id: str, delta: int, keep_one: bool = False) -> dict[str, Any]:
        """The tenant's count of admin keys, moved by `delta`; with `keep_one`, never below one."""
        update: dict[str, Any] = {
            "Key": {"pk": k.TENANTS_PK, "sk": tenant_id},
            "UpdateExpression": "ADD admin_keys :d",
            "ExpressionAttributeValues": {":d": delta},
            "ConditionExpression": "attribute_exists(pk)",
        }
        if keep_one:
            update["ConditionExpression"] += " AND admin_keys > :one"
            update["ExpressionAttributeValues"][":one"] = 1
        return {"Update": update}

    def replace_key(self, key: ApiKey) -> None:
        """Write a key whatever was there (bootstrap of the operator key); a replaced secret stops working."""
        old = self.keys.get(key.tenant_id, key.id)
        if old is not None and old.key_hash != key.key_hash:
            self.table.delete(k.key_hash_pk(old.key_hash), "#")
        self.table.put(to_item(key, k.collection(key.tenant_id, "KEY")))
        self.table.put(_auth_item(key))

    def revoke_key(self, key: ApiKey, keep_an_admin: bool = True) -> None:
        """Delete a key's record and auth item in one transaction: it stops working at once.

        An admin key is counted off its tenant; with `keep_an_admin` the tenant's last one stays (409).
        """
        ops: list[dict[str, Any]] = [
            {
                "Delete": {
                    "Key": self.keys.key(key.tenant_id, key.id),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {"Delete": {"Key": {"pk": k.key_hash_pk(key.key_hash), "sk": "#"}}},
        ]
        if Scope.ADMIN in key.scopes:
            ops.append(self._count_admins(key.tenant_id, -1, keep_one=keep_an_admin))
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            if len(exc.reasons) > 2 and exc.reasons[2] and not exc.reasons[0]:
                raise Conflict(
                    "This is the tenant's last admin key; create another admin key before revoking it.",
                    {"key_id": key.id},
                ) from exc
            raise NotFound("No such key.") from exc

    def tenant_max_duration(self, tenant_id: str) -> int:
        item = self.table.get(k.TENANTS_PK, tenant_id)
        return int(item.get("max_event_seconds", 0)) if item else 0
