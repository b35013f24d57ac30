"""Lifecycle history: one item per transition under the event's own partition; reading it is one Query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import Table
from chalicelib.domain.messages import Actor
from chalicelib.domain.models import EventState
from chalicelib.domain.time import format_instant, parse_instant


@dataclass(frozen=True)
class Entry:
    """One recorded transition: `source` → `target` at `at`, by `actor`, because `reason`."""

    tenant_id: str
    event_id: str
    source: EventState
    target: EventState
    at: datetime
    actor: Actor
    reason: str | None
    seq: int  # the event's version after the write: unique per event, and it orders ties within a second


def history_item(entry: Entry) -> dict[str, Any]:
    """The stored item; the sort key orders by time, then by the write's version."""
    return {
        "pk": k.history_pk(entry.tenant_id, entry.event_id),
        "sk": f"{format_instant(entry.at)}#{entry.seq:010d}",
        "from": entry.source.value,
        "to": entry.target.value,
        "at": format_instant(entry.at),
        "actor": entry.actor.to_json(),
        "reason": entry.reason,
    }


class HistoryStore:
    """Appends and reads an event's history."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def append(self, entry: Entry) -> None:
        self.table.put(history_item(entry))

    def list(self, tenant_id: str, event_id: str, limit: int = 500) -> list[Entry]:
        """The event's transitions, oldest first (one Query; an event makes a handful)."""
        page = self.table.query(
            "pk = :pk", {":pk": k.history_pk(tenant_id, event_id)}, limit=limit, consistent=True
        )
        return [
            Entry(
                tenant_id=tenant_id,
                event_id=event_id,
                source=EventState(item["from"]),
                target=EventState(item["to"]),
                at=parse_instant(item["at"]),
                actor=Actor.from_json(item["actor"]),
                reason=item.get("reason"),
                seq=int(item["sk"].rsplit("#", 1)[1]),
            )
            for item in page.items
        ]
