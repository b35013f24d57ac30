"""Schedules in DynamoDB: records per tenant, plus a sparse `due` index of when each must be materialised."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import ConditionFailed, Table
from chalicelib.adapters.records import RecordStore, from_item
from chalicelib.domain.schedules import Schedule
from chalicelib.domain.time import format_instant


class ScheduleStore(RecordStore[Schedule]):
    def __init__(self, table: Table) -> None:
        super().__init__(table, Schedule, lambda tenant: k.collection(tenant, "SCHEDULE"))

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
        """The tenant's schedules on one channel (a Query of the tenant's schedules, filtered)."""
        found: list[Schedule] = []
        cursor = None
        while True:
            page = self.table.query(
                "pk = :pk",
                {":pk": self.partition(tenant_id), ":ch": channel_id},
                filter_expression="contains(doc, :ch)",
                limit=200,
                start_key=cursor,
            )
            found += [s for s in (from_item(Schedule, i) for i in page.items) if s.channel_id == channel_id]
            if page.next_cursor is None:
                return found
            cursor = page.last_key
