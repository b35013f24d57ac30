"""Schedules in DynamoDB: records per tenant, listed per channel, with a sparse `due` index for the tick.

A schedule's item also sits in the `channel_by_start` index under its channel's series partition
(`g2pk = T#<tenant>#CHSER#<channel>`), so a channel's series are one Query. Writes that change what a
series books bump the channel's booking version in the same transaction (race-free with events).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.adapters import guards
from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import ConditionFailed, Table, TransactionCancelled, decode_cursor
from chalicelib.adapters.records import RecordStore, from_item, to_item
from chalicelib.domain.errors import AlreadyExists, BookingRaced, FieldError, StaleWrite, ValidationFailed
from chalicelib.domain.schedules import Schedule
from chalicelib.domain.time import format_instant

CHANNEL_INDEX = "channel_by_start"


def index_attributes(schedule: Schedule) -> dict[str, str]:
    """The series partition of its channel (the overloaded `channel_by_start` index), and that of its term
    calendar (the overloaded `ref_by_start` index), so a calendar's schedules are one Query."""
    attrs = {"g2pk": k.series_of_channel(schedule.tenant_id, schedule.channel_id), "g2sk": schedule.id}
    if schedule.calendar_id:
        attrs |= {
            "g4pk": k.schedules_of_calendar(schedule.tenant_id, schedule.calendar_id),
            "g4sk": schedule.id,
        }
    return attrs


class ScheduleStore(RecordStore[Schedule]):
    def __init__(self, table: Table) -> None:
        super().__init__(table, Schedule, lambda tenant: k.collection(tenant, "SCHEDULE"))

    # -- writes ---------------------------------------------------------------------------------------

    def create(self, schedule: Schedule, booking_version: int | None = None, **extra: Any) -> None:  # type: ignore[override]
        """Put a new schedule, bumping its channel's booking version (checked when given) and checking
        that its sources exist, in one transaction."""
        ops = [
            (
                {
                    "Put": {
                        "Item": to_item(
                            schedule, self.partition(schedule.tenant_id), **index_attributes(schedule)
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                "schedule",
            ),
            (guards.bump_channel_op(schedule.tenant_id, schedule.channel_id, booking_version, 1), "channel"),
            *self._sources(schedule, ()),
        ]
        self._run(ops, new=True)

    def replace(  # type: ignore[override]
        self,
        record: Schedule,
        expected_version: int,
        booking_version: int | None = None,
        previous: Schedule | None = None,
    ) -> None:
        """Store `record` (its version already bumped) if the stored one is still `expected_version`.

        With `booking_version` the write books: the channel's version is checked and bumped with it (and,
        when the channel changed, the old channel's is bumped too). Sources new to the series are checked.
        """
        indexed = index_attributes(record)
        expression = "SET doc = :doc, version = :new, " + ", ".join(f"{name} = :{name}" for name in indexed)
        if "g4pk" not in indexed:
            expression += " REMOVE g4pk, g4sk"
        update: dict[str, Any] = {
            "Update": {
                "Key": {"pk": self.partition(record.tenant_id), "sk": record.id},
                "UpdateExpression": expression,
                "ConditionExpression": "version = :old",
                "ExpressionAttributeValues": {
                    ":doc": to_item(record, "")["doc"],
                    ":new": record.version,
                    ":old": expected_version,
                    **{f":{name}": value for name, value in indexed.items()},
                },
            }
        }
        ops: list[tuple[dict[str, Any], str]] = [(update, "version")]
        if booking_version is not None:
            moved = previous is not None and previous.channel_id != record.channel_id
            ops.append(
                (
                    guards.bump_channel_op(record.tenant_id, record.channel_id, booking_version, int(moved)),
                    "channel",
                )
            )
            if previous is not None and moved:
                ops.append(
                    (guards.bump_channel_op(previous.tenant_id, previous.channel_id, None, -1), "old channel")
                )
        ops += self._sources(record, previous.source_ids if previous is not None else record.source_ids)
        self._run(ops)

    def split(
        self, ended: Schedule, expected_version: int, successor: Schedule, booking_version: int
    ) -> None:
        """End a series and create its successor in one transaction (the successor books)."""
        ops = [
            (
                {
                    "Update": {
                        "Key": {"pk": self.partition(ended.tenant_id), "sk": ended.id},
                        "UpdateExpression": "SET doc = :doc, version = :new",
                        "ConditionExpression": "version = :old",
                        "ExpressionAttributeValues": {
                            ":doc": to_item(ended, "")["doc"],
                            ":new": ended.version,
                            ":old": expected_version,
                        },
                    }
                },
                "version",
            ),
            (
                {
                    "Put": {
                        "Item": to_item(
                            successor, self.partition(successor.tenant_id), **index_attributes(successor)
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                "schedule",
            ),
            (
                guards.bump_channel_op(successor.tenant_id, successor.channel_id, booking_version, 1),
                "channel",
            ),
            *self._sources(successor, ended.source_ids),
        ]
        self._run(ops)

    def remove(self, schedule: Schedule) -> None:
        """Delete the schedule if unchanged, then count it off its channel (a count left too high only
        costs a read; the channel may be gone when the series had ended)."""
        self.delete(schedule.tenant_id, schedule.id, schedule.version)
        op = guards.bump_channel_op(schedule.tenant_id, schedule.channel_id, None, -1)["Update"]
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                op["Key"]["pk"],
                op["Key"]["sk"],
                op["UpdateExpression"],
                condition=op["ConditionExpression"],
                values=op["ExpressionAttributeValues"],
            )

    def set_progress(self, schedule: Schedule, materialised_until: datetime, due_at: datetime | None) -> None:
        """Record how far events exist and when the schedule is next due (None: off the due index)."""
        values = {":until": format_instant(materialised_until)}
        if due_at is None:
            expression = "SET materialised_until = :until REMOVE g6pk, g6sk"
        else:
            expression = "SET materialised_until = :until, g6pk = :due, g6sk = :at"
            values |= {":due": k.DUE_PK, ":at": k.at(due_at, f"{schedule.tenant_id}#{schedule.id}")}
        with contextlib.suppress(ConditionFailed):  # deleted meanwhile: nothing left to track
            self.table.update(
                self.partition(schedule.tenant_id),
                schedule.id,
                expression,
                condition="attribute_exists(pk)",
                values=values,
            )

    def set_failure(self, schedule: Schedule, failure: dict[str, str] | None) -> None:
        """Record why the schedule cannot be materialised (None: it can again)."""
        expression = "REMOVE failure" if failure is None else "SET failure = :f"
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                self.partition(schedule.tenant_id),
                schedule.id,
                expression,
                condition="attribute_exists(pk)",
                values=None if failure is None else {":f": failure},
            )

    # -- reads ----------------------------------------------------------------------------------------

    def due(self, now: datetime, page_size: int = 100) -> Iterator[Schedule]:
        """Every schedule due at `now`, oldest first: one Query per page, reading only due schedules."""
        cursor = None
        while True:
            page = self.table.query(
                "g6pk = :due AND g6sk <= :now",
                {":due": k.DUE_PK, ":now": k.after(now)},
                index="due",
                limit=page_size,
                start_key=cursor,
            )
            yield from (from_item(Schedule, item) for item in page.items)
            if page.next_cursor is None:
                return
            cursor = page.last_key

    def for_channel(self, tenant_id: str, channel_id: str) -> list[Schedule]:
        """Every schedule on one channel (one Query of its series partition, paged)."""
        found: list[Schedule] = []
        cursor = None
        while True:
            page, cursor = self._channel_page(tenant_id, channel_id, 500, cursor)
            found += page
            if cursor is None:
                return found

    def list_for_channel(
        self, tenant_id: str, channel_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Schedule], str | None]:
        """One page of a channel's schedules, oldest first."""
        pk = k.series_of_channel(tenant_id, channel_id)
        return self._channel_page(
            tenant_id, channel_id, limit, decode_cursor(cursor, {"g2pk": pk}, ("g2pk", "g2sk")), encoded=True
        )

    def _channel_page(
        self, tenant_id: str, channel_id: str, limit: int, start_key: Any, encoded: bool = False
    ) -> tuple[list[Schedule], Any]:
        page = self.table.query(
            "g2pk = :pk",
            {":pk": k.series_of_channel(tenant_id, channel_id)},
            index=CHANNEL_INDEX,
            limit=limit,
            start_key=start_key,
        )
        return [from_item(Schedule, i) for i in page.items], page.next_cursor if encoded else page.last_key

    # -- internals ------------------------------------------------------------------------------------

    def _sources(
        self, schedule: Schedule, known: list[str] | tuple[str, ...]
    ) -> list[tuple[dict[str, Any], str]]:
        return [
            (guards.source_exists_op(schedule.tenant_id, s), f"/source_ids/{i}")
            for i, s in enumerate(schedule.source_ids)
            if s not in known
        ]

    def _run(self, ops: list[tuple[dict[str, Any], str]], new: bool = False) -> None:
        """Run a transaction; turn each failed item into the domain error it stands for."""
        try:
            self.table.transact(op for op, _ in ops)
        except TransactionCancelled as exc:
            if exc.only_conflicts:
                raise StaleWrite() from exc
            failed = [meaning for (_, meaning), code in zip(ops, exc.reasons, strict=False) if code]
            missing = [m for m in failed if m.startswith("/")]
            if missing:
                raise ValidationFailed([FieldError(m, "no such source") for m in missing]) from exc
            if "channel" in failed:
                raise BookingRaced() from exc  # the caller re-reads the channel: gone, or just busy
            if new and failed == ["schedule"]:
                raise AlreadyExists("A schedule with this id exists.") from exc
            raise StaleWrite() from exc
