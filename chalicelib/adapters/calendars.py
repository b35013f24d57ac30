"""Term calendars in DynamoDB: one record per calendar (`T#<tenant>#CALENDAR`), and the schedules that
follow each one, found through the overloaded `ref_by_start` index (`g4pk = T#<tenant>#CAL#<calendar>`)."""

from __future__ import annotations

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import Table
from chalicelib.adapters.records import RecordStore
from chalicelib.domain.calendars import Calendar

FOLLOWERS_INDEX = "ref_by_start"


class CalendarStore(RecordStore[Calendar]):
    def __init__(self, table: Table) -> None:
        super().__init__(table, Calendar, lambda tenant: k.collection(tenant, "CALENDAR"))

    def followers(self, tenant_id: str, calendar_id: str) -> list[str]:
        """Ids of the schedules that name the calendar, oldest first (one Query per 500)."""
        found: list[str] = []
        cursor = None
        while True:
            page = self.table.query(
                "g4pk = :pk",
                {":pk": k.schedules_of_calendar(tenant_id, calendar_id)},
                index=FOLLOWERS_INDEX,
                limit=500,
                start_key=cursor,
            )
            found += [item["sk"] for item in page.items]
            if page.last_key is None:
                return found
            cursor = page.last_key
