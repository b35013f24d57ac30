"""Service rules with in-memory fakes (no AWS): auth, idempotency, ETags, time reconciliation."""

from datetime import UTC, datetime

import pytest

from chalicelib.domain.errors import (
    Conflict,
    IdempotencyKeyReused,
    PreconditionFailed,
    Unauthenticated,
    ValidationFailed,
)
from chalicelib.domain.models import Scope, Tenant
from chalicelib.services.auth import AuthService, hash_key
from chalicelib.services.common import check_if_match, etag
from chalicelib.services.events import reconcile_times
from chalicelib.services.idempotency import IdempotencyService

NOW = datetime(2027, 1, 1, tzinfo=UTC)


class FakeKeys:
    def __init__(self, **by_secret: list[str]) -> None:
        self.items = {
            hash_key(secret): {
                "tenant_id": "t1",
                "key_id": f"key_{secret}",
                "name": secret,
                "scopes": scopes,
                "key_hash": hash_key(secret),
            }
            for secret, scopes in by_secret.items()
        }

    def lookup(self, key_hash):
        return self.items.get(key_hash)


def test_auth_finds_the_principal_by_hash():
    principal = AuthService(FakeKeys(good=["read", "write"])).authenticate("good")
    assert principal.tenant_id == "t1"
    assert principal.scopes == {Scope.READ, Scope.WRITE}


@pytest.mark.parametrize(
    "presented", [None, "", "wrong", "x" * 500], ids=["none", "empty", "unknown", "huge"]
)
def test_auth_refuses(presented):
    with pytest.raises(Unauthenticated):
        AuthService(FakeKeys(good=["read"])).authenticate(presented)


class FakeRecords:
    def __init__(self):
        self.items = {}

    def claim(self, tenant_id, key, fingerprint, now):
        if (tenant_id, key) in self.items:
            return self.items[(tenant_id, key)]
        self.items[(tenant_id, key)] = {"fingerprint": fingerprint}
        return None

    def complete(self, tenant_id, key, response):
        self.items[(tenant_id, key)]["response"] = response

    def release(self, tenant_id, key):
        self.items.pop((tenant_id, key), None)


def test_idempotency_replays_then_refuses_another_body():
    service = IdempotencyService(FakeRecords())
    assert service.begin("t1", "k", "body-a", NOW) is None
    with pytest.raises(Conflict):  # the first request has not finished yet
        service.begin("t1", "k", "body-a", NOW)
    service.finish("t1", "k", {"status": 201, "body": "{}"}, NOW)
    assert service.begin("t1", "k", "body-a", NOW) == {"status": 201, "body": "{}"}
    with pytest.raises(IdempotencyKeyReused):
        service.begin("t1", "k", "body-b", NOW)
    assert service.begin("t2", "k", "body-b", NOW) is None, "keys are per tenant"


def test_idempotency_abandoned_claim_can_run_again():
    service = IdempotencyService(FakeRecords())
    service.begin("t1", "k", "a", NOW)
    service.abandon("t1", "k")
    assert service.begin("t1", "k", "a", NOW) is None


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\nkey"], ids=["empty", "too long", "control character"])
def test_idempotency_key_shape(key):
    with pytest.raises(ValidationFailed):
        IdempotencyService(FakeRecords()).begin("t1", key, "a", NOW)


TENANT = Tenant(id="t", tenant_id="t", created_at=NOW, updated_at=NOW, name="t", version=3)


@pytest.mark.parametrize(
    ("if_match", "ok"),
    [
        pytest.param(None, True, id="no If-Match: no precondition"),
        pytest.param('"3"', True, id="current ETag"),
        pytest.param('W/"3"', False, id="a weak tag never matches If-Match (strong comparison)"),
        pytest.param('"1", "3"', True, id="a list containing it"),
        pytest.param("*", True, id="any"),
        pytest.param('"2"', False, id="stale ETag"),
        pytest.param("3", False, id="unquoted is a different tag"),
    ],
)
def test_if_match(if_match, ok):
    assert etag(TENANT) == '"3"'
    if ok:
        check_if_match(if_match, TENANT)
    else:
        with pytest.raises(PreconditionFailed):
            check_if_match(if_match, TENANT)


BEFORE = {"start": "S", "end": "E", "duration": 60}


@pytest.mark.parametrize(
    ("after", "kept"),
    [
        pytest.param(
            {"start": "S2", "end": "E", "duration": 60},
            {"start", "duration"},
            id="moving start keeps the duration",
        ),
        pytest.param({"start": "S", "end": "E2", "duration": 60}, {"start", "end"}, id="a new end wins"),
        pytest.param(
            {"start": "S", "end": "E", "duration": 90}, {"start", "duration"}, id="a new duration wins"
        ),
        pytest.param(
            {"start": "S", "end": "E2", "duration": 90},
            {"start", "end", "duration"},
            id="both changed: both kept, must agree",
        ),
        pytest.param(
            {"start": "S", "duration": 60}, {"start"}, id="end removed: nothing left, a 422 follows"
        ),
    ],
)
def test_reconcile_times(after, kept):
    assert set(reconcile_times(BEFORE, after)) == kept
