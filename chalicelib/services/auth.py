"""Who is calling: API keys are looked up by their SHA-256 and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from typing import Protocol

from chalicelib.domain.errors import Unauthenticated
from chalicelib.domain.models import Principal, Scope

KEY_PREFIX = "onair_"


def new_secret() -> str:
    """A fresh API key: 256 random bits, prefixed so leaked keys are easy to spot."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(raw: str) -> str:
    """The only form in which a key is stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


class KeyLookup(Protocol):
    def lookup(self, key_hash: str) -> dict | None: ...

    def check_with_next_read(self, key_hash: str, check: Callable[[dict | None], None]) -> None: ...

    def settle(self) -> None: ...


INVALID = "The API key is not valid or has been revoked."
KNOWN_KEYS = 512  # auth items remembered per process (a Lambda container)
PRINCIPAL_FIELDS = ("key_hash", "tenant_id", "key_id", "name", "scopes")


class AuthService:
    """Turns a presented key into a `Principal`, or refuses with 401.

    A key's auth item never changes: revoking deletes it. So a key seen before is not looked up again
    on its own; the request's first read fetches its auth item in the same round trip and the request
    is refused if it is gone or different. No write happens before that check (see `Table`), and a
    request that reads nothing checks at the end (`settle`): a revoked key still fails at once.
    """

    def __init__(self, keys: KeyLookup) -> None:
        self.keys = keys
        self._known: dict[str, dict] = {}
        self._lock = threading.Lock()

    def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise Unauthenticated(
                "An API key is required: send `Authorization: Bearer <key>` or `x-api-key`."
            )
        if len(presented) > 200:
            raise Unauthenticated("The API key is not valid.")
        digest = hash_key(presented)
        entry = self._known.get(digest)
        if entry is not None:
            self.keys.check_with_next_read(digest, lambda item: self._still(digest, entry, item))
        else:
            entry = self.keys.lookup(digest)
            self._check(digest, entry)
            self._remember(digest, entry)
        return Principal(
            tenant_id=entry["tenant_id"],
            key_id=entry["key_id"],
            name=entry["name"],
            scopes=frozenset(Scope(s) for s in entry["scopes"]),
        )

    def settle(self) -> None:
        """End of a request: make sure its key was checked (raises `Unauthenticated` if revoked)."""
        self.keys.settle()

    @staticmethod
    def _check(digest: str, entry: dict | None) -> None:
        # The lookup is by hash; comparing again in constant time keeps timing flat whatever the store does.
        if entry is None or not hmac.compare_digest(entry.get("key_hash", ""), digest):
            raise Unauthenticated(INVALID)

    def _still(self, digest: str, remembered: dict, item: dict | None) -> None:
        """The request's key check: the auth item must still say what the principal was built from."""
        if item is None or any(item.get(f) != remembered.get(f) for f in PRINCIPAL_FIELDS):
            self._known.pop(digest, None)  # gone (revoked) or, impossibly, changed: look it up afresh
            raise Unauthenticated(INVALID)

    def _remember(self, digest: str, entry: dict) -> None:
        with self._lock:  # requests run on threads locally; evicting iterates the dict
            if len(self._known) >= KNOWN_KEYS:
                self._known.pop(next(iter(self._known)))  # the oldest: dicts keep insertion order
            self._known[digest] = entry
