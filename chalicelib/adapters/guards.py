"""Transaction items that guard writes: the channel's booking version and the existence of references.

Every write that books, moves or frees a slot on a channel bumps the channel's booking version. An
overlap check reads the version before it reads the channel's bookings; the write that follows is
conditioned on that version in the same transaction, so two overlapping bookings (events or series)
can never both be written.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys as k


def bump_channel_op(
    tenant_id: str, channel_id: str, booking_version: int | None, series: int = 0
) -> dict[str, Any]:
    """The transaction item that bumps the channel's booking version, checked against `booking_version`
    when given (the version the overlap check read); the channel must exist either way. `series` adds to
    the channel's count of series (a channel with none is not asked for its series)."""
    condition, values = "attribute_exists(pk)", {":zero": 0, ":one": 1}
    expression = "SET booking_version = if_not_exists(booking_version, :zero) + :one"
    if series:
        expression += " ADD series_count :series"
        values[":series"] = series
    if booking_version is not None:
        condition += " AND (booking_version = :bv" + (
            " OR attribute_not_exists(booking_version))" if booking_version == 0 else ")"
        )
        values[":bv"] = booking_version
    return {
        "Update": {
            "Key": {"pk": k.collection(tenant_id, "CHANNEL"), "sk": channel_id},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
    }


def source_exists_op(tenant_id: str, source_id: str) -> dict[str, Any]:
    """The transaction item that fails unless the tenant has the source (checked with the write)."""
    return {
        "ConditionCheck": {
            "Key": {"pk": k.collection(tenant_id, "SOURCE"), "sk": source_id},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
