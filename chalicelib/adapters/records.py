"""A repository for simple records (tenants, keys, channels, sources): one partition per tenant and kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from chalicelib.adapters.dynamo import ConditionFailed, Table, decode_cursor
from chalicelib.domain.errors import StaleWrite
from chalicelib.domain.models import Record

R = TypeVar("R", bound=Record)


# Attributes kept outside `doc` because writes other than a record replace change them.
LIVE_ATTRIBUTES = (
    "max_event_seconds",
    "booking_version",
    "series_count",
    "materialised_until",
    "overlaps",
    "failure",
)


def to_item(record: Record, pk: str, **extra: Any) -> dict[str, Any]:
    """A record as a stored item: keys, version and the JSON document."""
    doc = record.model_dump(mode="json", exclude={"version", *LIVE_ATTRIBUTES})
    return {"pk": pk, "sk": record.id, "version": record.version, "doc": json.dumps(doc), **extra}


def from_item(model: type[R], item: dict[str, Any]) -> R:
    """A stored item back to its record."""
    data = json.loads(item["doc"])
    data["version"] = item["version"]
    for name in LIVE_ATTRIBUTES:
        if name in item and name in model.model_fields:
            value = item[name]
            data[name] = sorted(value) if isinstance(value, set) else value
    return model.model_validate(data)


class RecordStore(Generic[R]):
    """GetItem / Query / conditional writes for one kind of record."""

    def __init__(self, table: Table, model: type[R], partition: Callable[[str], str]) -> None:
        self.table = table
        self.model = model
        self.partition = partition

    def get(self, tenant_id: str, record_id: str) -> R | None:
        item = self.table.get(self.partition(tenant_id), record_id)
        return from_item(self.model, item) if item else None

    def list(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[R], str | None]:
        """One page, oldest first (ids sort by creation time)."""
        pk = self.partition(tenant_id)
        page = self.table.query(
            "pk = :pk", {":pk": pk}, limit=limit, start_key=decode_cursor(cursor, {"pk": pk})
        )
        return [from_item(self.model, i) for i in page.items], page.next_cursor

    def create(self, record: R, **extra: Any) -> None:
        """Put a new record; its id must not exist yet."""
        self.table.put(
            to_item(record, self.partition(record.tenant_id), **extra), condition="attribute_not_exists(pk)"
        )

    def create_op(self, record: R, **extra: Any) -> dict[str, Any]:
        """The same put as a transaction operation."""
        return {
            "Put": {
                "Item": to_item(record, self.partition(record.tenant_id), **extra),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def replace(self, record: R, expected_version: int) -> None:
        """Store `record` (its version already bumped) if the stored one is still `expected_version`."""
        try:
            self.table.update(
                self.partition(record.tenant_id),
                record.id,
                "SET doc = :doc, version = :new",
                condition="version = :old",
                values={":doc": to_item(record, "")["doc"], ":new": record.version, ":old": expected_version},
            )
        except ConditionFailed:
            raise StaleWrite() from None

    def replace_op(self, record: R, expected_version: int) -> dict[str, Any]:
        """`replace` as a transaction operation."""
        return {
            "Update": {
                "Key": self.key(record.tenant_id, record.id),
                "UpdateExpression": "SET doc = :doc, version = :new",
                "ConditionExpression": "version = :old",
                "ExpressionAttributeValues": {
                    ":doc": to_item(record, "")["doc"],
                    ":new": record.version,
                    ":old": expected_version,
                },
            }
        }

    def delete_op(
        self, tenant_id: str, record_id: str, expected_version: int, booking_version: int | None = None
    ) -> dict[str, Any]:
        """`delete` as a transaction operation."""
        condition, values = self._delete_condition(expected_version, booking_version)
        return {
            "Delete": {
                "Key": self.key(tenant_id, record_id),
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    @staticmethod
    def _delete_condition(expected_version: int, booking_version: int | None) -> tuple[str, dict[str, Any]]:
        condition, values = "version = :v", {":v": expected_version}
        if booking_version is not None:
            condition += " AND (attribute_not_exists(booking_version) OR booking_version = :bv)"
            values[":bv"] = booking_version
        return condition, values

    def delete(
        self, tenant_id: str, record_id: str, expected_version: int, booking_version: int | None = None
    ) -> None:
        """Delete if unchanged; with `booking_version`, also only if no booking was written meanwhile."""
        condition, values = self._delete_condition(expected_version, booking_version)
        try:
            self.table.delete(self.partition(tenant_id), record_id, condition=condition, values=values)
        except ConditionFailed:
            raise StaleWrite() from None

    def key(self, tenant_id: str, record_id: str) -> dict[str, str]:
        return {"pk": self.partition(tenant_id), "sk": record_id}
