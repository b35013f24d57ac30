"""Who is calling: API keys are looked up by their SHA-256 and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
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


class AuthService:
    """Turns a presented key into a `Principal`, or refuses with 401."""

    def __init__(self, keys: KeyLookup) -> None:
        self.keys = keys

    def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise Unauthenticated(
                "An API key is required: send `Authorization: Bearer <key>` or `x-api-key`."
            )
        if len(presented) > 200:
            raise Unauthenticated("The API key is not valid.")
        digest = hash_key(presented)
        entry = self.keys.lookup(digest)
        # The lookup is by hash; comparing again in constant time keeps timing flat whatever the store does.
        if entry is None or not hmac.compare_digest(entry.get("key_hash", ""), digest):
            raise Unauthenticated("The API key is not valid or has been revoked.")
        return Principal(
            tenant_id=entry["tenant_id"],
            key_id=entry["key_id"],
            name=entry["name"],
            scopes=frozenset(Scope(s) for s in entry["scopes"]),
        )
