"""AuthService: a key seen before is confirmed by the request's own read, not looked up again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.domain.errors import Unauthenticated
from chalicelib.services import auth
from chalicelib.services.auth import AuthService, hash_key

SECRET = "onair_unit-test-key-0123456789"


def auth_item(secret: str = SECRET, **changes: Any) -> dict[str, Any]:
    item = {
        "key_hash": hash_key(secret),
        "tenant_id": "acme",
        "key_id": "key_1",
        "name": "ci",
        "scopes": ["read", "write"],
    }
    return {**item, **changes}


class Keys:
    """The store: counts lookups and keeps the check a request's first read would carry."""

    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = {i["key_hash"]: i for i in items}
        self.lookups = 0
        self.pending: tuple[str, Callable[[dict | None], None]] | None = None

    def lookup(self, key_hash: str) -> dict | None:
        self.lookups += 1
        return self.items.get(key_hash)

    def check_with_next_read(self, key_hash: str, check: Callable[[dict | None], None]) -> None:
        self.pending = (key_hash, check)

    def settle(self) -> None:
        if self.pending is not None:
            key_hash, check = self.pending
            self.pending = None
            check(self.items.get(key_hash))


def test_a_known_key_costs_no_lookup_of_its_own_but_is_still_checked() -> None:
    keys = Keys(auth_item())
    service = AuthService(keys)
    first = service.authenticate(SECRET)
    service.settle()
    second = service.authenticate(SECRET)
    assert keys.lookups == 1 and keys.pending is not None, "checked alongside the request's read"
    service.settle()
    assert first == second and second.tenant_id == "acme"


@pytest.mark.parametrize(
    "stored",
    [None, auth_item(tenant_id="other"), auth_item(scopes=["read", "write", "admin"])],
    ids=["revoked", "another tenant", "other scopes"],
)
def test_a_known_key_whose_item_is_gone_or_different_is_refused_and_forgotten(stored: Any) -> None:
    keys = Keys(auth_item())
    service = AuthService(keys)
    service.authenticate(SECRET)
    service.authenticate(SECRET)
    if stored is None:
        keys.items.clear()
    else:
        keys.items[stored["key_hash"]] = stored
    with pytest.raises(Unauthenticated):
        service.settle()
    if stored is not None:
        assert service.authenticate(SECRET).tenant_id == stored["tenant_id"], "looked up afresh"
        assert keys.lookups == 2


def test_the_oldest_known_key_is_forgotten_when_the_cache_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "KNOWN_KEYS", 2)
    secrets = [f"onair_key-{n}-0123456789abcdef" for n in range(3)]
    keys = Keys(*(auth_item(s, key_id=f"key_{n}") for n, s in enumerate(secrets)))
    service = AuthService(keys)
    for secret in secrets:
        service.authenticate(secret)
    assert keys.lookups == 3
    service.authenticate(secrets[2])
    assert keys.lookups == 3, "recent keys are remembered"
    service.authenticate(secrets[0])
    assert keys.lookups == 4, "the oldest was evicted"
