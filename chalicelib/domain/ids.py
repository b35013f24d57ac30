"""Record ids: a type prefix and a time-ordered, random suffix (ULID-like, Crockford base32).

Ids made by one process in the same millisecond are monotonic (the random part of the previous one plus
one, as the ULID spec's monotonic mode does), so records written by one request, such as the audit
entries of one change, sort in the order they were made.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RANDOM_BITS = 80
_last = (-1, 0)  # (millis, random part) of the newest id this process made
_lock = threading.Lock()


def b32(number: int, length: int) -> str:
    """`number` as `length` Crockford base32 digits."""
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str, now: datetime) -> str:
    """A new id like `evt_01jd...`: sorts by creation time, 80 random bits keep it unique."""
    global _last
    millis = int(now.timestamp() * 1000)
    with _lock:
        last_millis, last_random = _last
        if millis == last_millis and last_random + 1 < 2**_RANDOM_BITS:
            random = last_random + 1
        else:
            random = secrets.randbits(_RANDOM_BITS - 1)  # leaves room to count up within the millisecond
        _last = (millis, random)
    return f"{prefix}_{b32(millis, 10)}{b32(random, 16)}"
