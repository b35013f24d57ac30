"""Record ids: a type prefix and a time-ordered, random suffix (ULID-like, Crockford base32)."""

from __future__ import annotations

import secrets
from datetime import datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def b32(number: int, length: int) -> str:
    """`number` as `length` Crockford base32 digits."""
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str, now: datetime) -> str:
    """A new id like `evt_01jd...`: sorts by creation time, 80 random bits keep it unique."""
    millis = int(now.timestamp() * 1000)
    return f"{prefix}_{b32(millis, 10)}{b32(secrets.randbits(80), 16)}"
