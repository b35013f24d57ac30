"""Every EventBridge notification, built in one place from the messages services record.

One builder per detail-type; instants are RFC 3339 UTC with `Z`; every detail has `tenant_id`, the
record's `id` and the `actor` object. Each change is announced exactly once: one message, one notification.
The README's "Notifications" table lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.domain.messages import (
    CaptureAtRisk,
    EventBooked,
    EventChanged,
    EventRemoved,
    EventRestored,
    EventStateChanged,
    OverlapAccepted,
    RecordChanged,
    RecordingIngested,
    ScheduleChanged,
    ScheduleFailed,
)
from chalicelib.domain.models import Event
from chalicelib.domain.time import format_instant
from chalicelib.services.messagebus import MessageBus

Put = Callable[[str, dict[str, Any]], None]

SCHEDULE_TYPES = {
    "created": "Schedule Created",
    "updated": "Schedule Updated",
    "deleted": "Schedule Deleted",
    "split": "Schedule Split",
    "occurrence_skipped": "Schedule Updated",
    "occurrence_modified": "Schedule Updated",
}


def event_json(event: Event) -> dict[str, Any]:
    """An event as notifications carry it (the API's view, without the tenant)."""
    return event.model_dump(mode="json", exclude={"tenant_id", "version"})


class Notifier:
    """Turns messages into EventBridge events (`put(detail_type, detail)`)."""

    def __init__(self, put: Put) -> None:
        self.put = put

    def listen(self, bus: MessageBus) -> None:
        bus.subscribe(EventBooked, self.event_booked)
        bus.subscribe(EventChanged, self.event_changed)
        bus.subscribe(EventRemoved, self.event_removed)
        bus.subscribe(EventRestored, self.event_restored)
        bus.subscribe(EventStateChanged, self.state_changed)
        bus.subscribe(OverlapAccepted, self.overlap_accepted)
        bus.subscribe(ScheduleChanged, self.schedule_changed)
        bus.subscribe(ScheduleFailed, self.schedule_failed)
        bus.subscribe(RecordChanged, self.record_changed)
        bus.subscribe(CaptureAtRisk, self.capture_at_risk)
        bus.subscribe(RecordingIngested, self.recording_ingested)

    def event_booked(self, m: EventBooked) -> None:
        e = m.event
        self.put(
            "Event Created",
            {
                "tenant_id": e.tenant_id,
                "id": e.id,
                "channel_id": e.channel_id,
                "schedule_id": e.schedule_id,
                "occurrence_start": format_instant(e.occurrence_start) if e.occurrence_start else None,
                "event": event_json(e),
                "actor": m.actor.to_json(),
            },
        )

    def event_changed(self, m: EventChanged) -> None:
        e = m.event
        self.put(
            "Event Updated",
            {
                "tenant_id": e.tenant_id,
                "id": e.id,
                "channel_id": e.channel_id,
                "changes": m.changes,
                "actor": m.actor.to_json(),
            },
        )

    def event_removed(self, m: EventRemoved) -> None:
        e = m.event
        self.put(
            "Event Deleted",
            {
                "tenant_id": e.tenant_id,
                "id": e.id,
                "channel_id": e.channel_id,
                "hard": m.hard,
                "actor": m.actor.to_json(),
            },
        )

    def event_restored(self, m: EventRestored) -> None:
        e = m.event
        self.put(
            "Event Restored",
            {"tenant_id": e.tenant_id, "id": e.id, "channel_id": e.channel_id, "actor": m.actor.to_json()},
        )

    def state_changed(self, m: EventStateChanged) -> None:
        e = m.event
        self.put(
            "Event State Changed",
            {
                "tenant_id": e.tenant_id,
                "id": e.id,
                "channel_id": e.channel_id,
                "schedule_id": e.schedule_id,
                "from": m.previous.state.value,
                "to": e.state.value,
                "at": format_instant(m.at),
                "actor": m.actor.to_json(),
                "reason": m.reason,
            },
        )

    def overlap_accepted(self, m: OverlapAccepted) -> None:
        self.put(
            "Conflict Detected",
            {
                "tenant_id": m.tenant_id,
                "id": m.event.id if m.event else m.schedule_id,
                "channel_id": m.channel_id,
                "schedule_id": m.schedule_id,
                "conflicts": [c.to_json() for c in m.conflicts],
                "actor": m.actor.to_json(),
            },
        )

    def schedule_changed(self, m: ScheduleChanged) -> None:
        detail: dict[str, Any] = {"tenant_id": m.tenant_id, "id": m.schedule_id, "actor": m.actor.to_json()}
        if m.action in ("updated", "occurrence_skipped", "occurrence_modified"):
            detail["changes"] = sorted(changed_fields(m.before, m.after))
        if m.action != "updated" and m.action != "created":
            detail.update(m.detail)
        self.put(SCHEDULE_TYPES[m.action], detail)

    def schedule_failed(self, m: ScheduleFailed) -> None:
        self.put(
            "Schedule Failed",
            {
                "tenant_id": m.tenant_id,
                "id": m.schedule_id,
                "reason": m.reason,
                "at": format_instant(m.at),
                "actor": m.actor.to_json(),
            },
        )

    def record_changed(self, m: RecordChanged) -> None:
        detail: dict[str, Any] = {"tenant_id": m.tenant_id, "id": m.record_id, "actor": m.actor.to_json()}
        if m.action == "updated":
            detail["changes"] = sorted(changed_fields(m.before, m.after))
        self.put(f"{m.kind.title()} {m.action.title()}", detail)

    def capture_at_risk(self, m: CaptureAtRisk) -> None:
        e = m.event
        self.put(
            "Capture At Risk",
            {
                "tenant_id": e.tenant_id,
                "id": e.id,
                "channel_id": e.channel_id,
                "agent": m.agent,
                "start": format_instant(e.start),
                "last_seen": format_instant(m.last_seen) if m.last_seen else None,
                "actor": m.actor.to_json(),
            },
        )

    def recording_ingested(self, m: RecordingIngested) -> None:
        e = m.event
        self.put(
            "Recording Ingested",
            {
                "tenant_id": e.tenant_id,
                "id": e.id,
                "channel_id": e.channel_id,
                "agent": m.agent,
                "files": m.files,
                "bytes": m.size,
                "actor": m.actor.to_json(),
            },
        )


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """`{field: {"from", "to"}}` for every field whose value differs (bookkeeping fields left out)."""
    before, after = before or {}, after or {}
    noise = {"updated_at", "version", "created_at"}
    return {
        name: {"from": before.get(name), "to": after.get(name)}
        for name in sorted(set(before) | set(after))
        if name not in noise and before.get(name) != after.get(name)
    }
