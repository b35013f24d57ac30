"""Tenants and API keys: creation, listing, revocation, and the operator's bootstrap key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.tenancy import TenancyStore
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.ids import new_id
from chalicelib.domain.inputs import KeyIn, TenantIn
from chalicelib.domain.messages import Actor, RecordChanged, record_json
from chalicelib.domain.models import ApiKey, Principal, Scope, Tenant
from chalicelib.services.auth import hash_key, new_secret
from chalicelib.services.messagebus import MessageBus

DEFAULT_TENANT = "default"
OPERATOR_KEY_ID = "key_operator"
ADMIN_SCOPES = [Scope.READ, Scope.WRITE, Scope.ADMIN]


def make_key(
    tenant_id: str,
    name: str,
    scopes: list[Scope],
    now: datetime,
    secret: str | None = None,
    key_id: str | None = None,
) -> tuple[ApiKey, str]:
    """A key record and its secret (the secret is returned once and never stored)."""
    secret = secret or new_secret()
    key = ApiKey(
        id=key_id or new_id("key", now),
        tenant_id=tenant_id,
        created_at=now,
        updated_at=now,
        name=name,
        scopes=scopes,
        prefix=secret[:10],
        key_hash=hash_key(secret),
    )
    return key, secret


def key_json(key: ApiKey) -> dict[str, Any]:
    """A key as the audit trail sees it: never its hash."""
    return record_json(key, frozenset({"key_hash"}))


class TenancyService:
    def __init__(self, store: TenancyStore, bus: MessageBus) -> None:
        self.store = store
        self.bus = bus

    def create_tenant(self, principal: Principal, body: TenantIn, now: datetime) -> tuple[Tenant, str]:
        """A new tenant and its first admin key (returned once)."""
        tenant = Tenant(id=new_id("ten", now), tenant_id="", created_at=now, updated_at=now, name=body.name)
        tenant = tenant.model_copy(update={"tenant_id": tenant.id})
        key, secret = make_key(tenant.id, "admin", ADMIN_SCOPES, now)
        self.store.create_tenant(tenant, key)
        actor = Actor.of(principal)
        self.bus.publish(
            # In the operator's trail, where the change was made; the new tenant's starts with its key.
            RecordChanged(
                principal.tenant_id, "tenant", tenant.id, "created", actor, after=record_json(tenant)
            )
        )
        self.bus.publish(RecordChanged(tenant.id, "key", key.id, "created", actor, after=key_json(key)))
        return tenant, secret

    def list_tenants(self, limit: int, cursor: str | None) -> tuple[list[Tenant], str | None]:
        return self.store.tenants.list("", limit, cursor)

    def create_key(self, principal: Principal, body: KeyIn, now: datetime) -> tuple[ApiKey, str]:
        key, secret = make_key(principal.tenant_id, body.name, [Scope(s) for s in body.scopes], now)
        self.store.put_key(key)
        self.bus.publish(
            RecordChanged(key.tenant_id, "key", key.id, "created", Actor.of(principal), after=key_json(key))
        )
        return key, secret

    def list_keys(
        self, principal: Principal, limit: int, cursor: str | None
    ) -> tuple[list[ApiKey], str | None]:
        return self.store.keys.list(principal.tenant_id, limit, cursor)

    def revoke_key(self, principal: Principal, key_id: str) -> None:
        """Revoke a key at once. The operator key is replaced only by `make bootstrap-key`, and a tenant
        keeps at least one admin key (409 for either); tenant `default` has the operator as its admin."""
        key = self.store.keys.get(principal.tenant_id, key_id)
        if key is None:
            raise NotFound("No such key.")
        if key.id == OPERATOR_KEY_ID:
            raise Conflict(
                "The operator key cannot be revoked through the API; `make bootstrap-key` replaces it.",
                {"key_id": key.id},
            )
        self.store.revoke_key(key, keep_an_admin=key.tenant_id != DEFAULT_TENANT)
        self.bus.publish(
            RecordChanged(key.tenant_id, "key", key.id, "deleted", Actor.of(principal), before=key_json(key))
        )

    def bootstrap_operator(self, secret: str, now: datetime) -> None:
        """Make `secret` the operator key: every scope, admin of tenant `default` (idempotent)."""
        self.store.ensure_tenant(
            Tenant(
                id=DEFAULT_TENANT, tenant_id=DEFAULT_TENANT, created_at=now, updated_at=now, name="default"
            )
        )
        key, _ = make_key(
            DEFAULT_TENANT,
            "operator",
            [*ADMIN_SCOPES, Scope.OPERATOR],
            now,
            secret=secret,
            key_id=OPERATOR_KEY_ID,
        )
        self.store.replace_key(key)
