"""Markers for events whose run starts later (outside the run window), on the sparse `run_due` index.

One marker per waiting event: key `T#<tenant>#RUN` / `<event_id>`, indexed by `g7pk = RUNDUE` and
`g7sk = <provision_at>#<tenant_id>#<event_id>`. The scheduled job reads the index up to now + window
(one Query per page, tenant-agnostic, never a Scan) and starts those runs.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import ConditionFailed, Table
from chalicelib.domain.time import format_instant


@dataclass(frozen=True)
class DueRun:
    tenant_id: str
    event_id: str
    sort_key: str


def marker_item(tenant_id: str, event_id: str, provision_at: datetime) -> dict[str, Any]:
    """The marker's item; a new event's marker is written in the event's own transaction with it."""
    return {
        "pk": k.run_marker_pk(tenant_id),
        "sk": event_id,
        "tenant_id": tenant_id,
        "event_id": event_id,
        "g7pk": k.RUN_DUE_PK,
        "g7sk": f"{format_instant(provision_at)}#{tenant_id}#{event_id}",
    }


class DueRuns:
    """Put, delete and read the markers."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, tenant_id: str, event_id: str, provision_at: datetime) -> None:
        self.table.put(marker_item(tenant_id, event_id, provision_at))

    def delete(self, tenant_id: str, event_id: str, sort_key: str | None = None) -> None:
        """Remove the marker; with `sort_key`, only if it was not moved meanwhile."""
        condition, values = (None, None) if sort_key is None else ("g7sk = :sk", {":sk": sort_key})
        with contextlib.suppress(ConditionFailed):  # moved or gone: someone else handled it
            self.table.delete(k.run_marker_pk(tenant_id), event_id, condition=condition, values=values)

    def due(self, until: datetime, limit: int = 100) -> list[DueRun]:
        """Markers whose provision time is before `until`, earliest first (one Query)."""
        page = self.table.query(
            "g7pk = :pk AND g7sk < :until",
            {":pk": k.RUN_DUE_PK, ":until": k.after(until)},
            index="run_due",
            limit=limit,
        )
        return [DueRun(i["tenant_id"], i["event_id"], i["g7sk"]) for i in page.items]
