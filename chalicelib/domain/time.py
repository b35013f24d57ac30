"""Instants: RFC 3339 or epoch seconds in, RFC 3339 UTC with `Z` at second precision out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_MIN = datetime(1970, 1, 1, tzinfo=UTC)
# Far enough for any booking, near enough that adding durations and query bounds cannot overflow.
_MAX = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
LATEST = _MAX
"""The last instant onair stores or answers: every booking ends by then."""


def parse_instant(value: Any) -> datetime:
    """Parse an RFC 3339 string with an offset or `Z`, or integer epoch seconds, into aware UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise ValueError("must be an RFC 3339 date-time with an offset, or integer epoch seconds")
    elif isinstance(value, int):
        try:
            parsed = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("epoch seconds out of range") from None
    elif isinstance(value, str) and value.strip().isdigit():
        return parse_instant(int(value.strip()))
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > 19 and text[19:20] == " " and text[20:21].isdigit():
            text = text[:19] + "+" + text[20:]  # an unencoded '+' in a query string arrives as a space
        if len(text) < 20 or text[10] not in "Tt ":
            raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2027-01-31T09:00:00Z")
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
        except ValueError:
            raise ValueError(
                "must be an RFC 3339 date-time with an offset, e.g. 2027-01-31T09:00:00Z"
            ) from None
    else:
        raise ValueError("must be an RFC 3339 date-time with an offset, or integer epoch seconds")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("needs a UTC offset or Z")
    try:
        parsed = parsed.astimezone(UTC).replace(microsecond=0)
    except OverflowError:  # 9999-12-31T23:00-14:00 is in the year 10000
        raise ValueError("must be between 1970 and 2999") from None
    if not _MIN <= parsed <= _MAX:
        raise ValueError("must be between 1970 and 2999")
    return parsed


def has_offset(text: str) -> bool:
    """Whether a date-time string says where it is (`Z` or an offset), rather than being local time."""
    stripped = text.strip()
    if stripped[-1:] in "Zz":
        return True
    try:
        return datetime.fromisoformat(stripped).tzinfo is not None
    except ValueError:
        return True  # not a local date-time either: parse_instant will say what is wrong with it


def format_instant(value: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with `Z`, second precision."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(value: int) -> timedelta:
    """A duration in integer seconds."""
    return timedelta(seconds=value)


_INSTANT_IN = {
    "anyOf": [
        {"type": "string", "format": "date-time", "examples": ["2027-01-31T09:00:00Z"]},
        {"type": "integer", "description": "epoch seconds"},
    ]
}
_INSTANT_OUT = {"type": "string", "format": "date-time", "examples": ["2027-01-31T09:00:00Z"]}

Instant = Annotated[
    datetime,
    BeforeValidator(parse_instant),
    PlainSerializer(format_instant, return_type=str),
    WithJsonSchema(_INSTANT_IN, mode="validation"),
    WithJsonSchema(_INSTANT_OUT, mode="serialization"),
]
"""A pydantic field type for instants with the API's input and output rules."""
