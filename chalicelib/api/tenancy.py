"""Tenants (operator scope) and API keys (admin scope)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.routes import Call, Reply, endpoint
from chalicelib.api.schemas import (
    KeyCreated,
    KeyList,
    KeyOut,
    PageQuery,
    TenantCreated,
    TenantList,
    TenantOut,
)
from chalicelib.domain.inputs import KeyIn, TenantIn
from chalicelib.domain.models import Scope

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/tenants",
    "POST",
    scope=Scope.OPERATOR,
    tag="Tenants",
    summary="Create a tenant",
    body=TenantIn,
    response=TenantCreated,
    status=201,
    errors=(400, 422),
    description="Returns the tenant's first admin key, once (an idempotent replay returns it as null).",
    secret_fields=("admin_key",),
)
def create_tenant(call: Call) -> Reply:
    tenant, secret = bootstrap.services().tenancy.create_tenant(call.principal, call.body, call.now)
    return Reply(TenantCreated(**TenantOut.of(tenant).model_dump(), admin_key=secret), 201)


@endpoint(
    bp,
    "/v1/tenants",
    "GET",
    scope=Scope.OPERATOR,
    tag="Tenants",
    summary="List tenants",
    query=PageQuery,
    response=TenantList,
)
def list_tenants(call: Call) -> Reply:
    items, cursor = bootstrap.services().tenancy.list_tenants(call.query.limit, call.query.cursor)
    return Reply(TenantList(items=[TenantOut.of(t) for t in items], next_cursor=cursor))


@endpoint(
    bp,
    "/v1/keys",
    "POST",
    scope=Scope.ADMIN,
    tag="Keys",
    summary="Create an API key",
    body=KeyIn,
    response=KeyCreated,
    status=201,
    errors=(400, 422),
    description="The key is returned once and stored only as a SHA-256 hash (a replay returns null).",
    secret_fields=("key",),
)
def create_key(call: Call) -> Reply:
    key, secret = bootstrap.services().tenancy.create_key(call.principal, call.body, call.now)
    return Reply(KeyCreated(**KeyOut.of(key).model_dump(), key=secret), 201)


@endpoint(
    bp,
    "/v1/keys",
    "GET",
    scope=Scope.ADMIN,
    tag="Keys",
    summary="List API keys",
    query=PageQuery,
    response=KeyList,
)
def list_keys(call: Call) -> Reply:
    items, cursor = bootstrap.services().tenancy.list_keys(
        call.principal, call.query.limit, call.query.cursor
    )
    return Reply(KeyList(items=[KeyOut.of(k) for k in items], next_cursor=cursor))


@endpoint(
    bp,
    "/v1/keys/{key_id}",
    "DELETE",
    scope=Scope.ADMIN,
    tag="Keys",
    summary="Revoke an API key",
    status=204,
    errors=(404, 409),
    description="The key stops working at once. The operator key (replaced only by `make bootstrap-key`) "
    "and a tenant's last admin key cannot be revoked (409).",
)
def revoke_key(call: Call) -> Reply:
    bootstrap.services().tenancy.revoke_key(call.principal, call.path["key_id"])
    return Reply(None, 204)
