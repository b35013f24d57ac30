"""The audit trail: one item per change, whatever path made it (API, materialiser, lifecycle, agent,
import), with who did it, the request, the resource, the action and a before/after diff of what changed.

It listens on the message bus, so a change is audited exactly when it is announced.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib import logs
from chalicelib.adapters.audit import AuditEntry, AuditStore
from chalicelib.domain.ids import new_id
from chalicelib.domain.messages import (
    Actor,
    EventBooked,
    EventChanged,
    EventRemoved,
    EventRestored,
    EventStateChanged,
    Message,
    OverlapAccepted,
    RecordChanged,
    RecordingIngested,
    ScheduleChanged,
    ScheduleFailed,
)
from chalicelib.domain.models import Principal
from chalicelib.services.messagebus import MessageBus
from chalicelib.services.notifier import changed_fields, event_json


class AuditLog:
    """Writes the audit items and reads them back, a tenant's at a time."""

    def __init__(self, store: AuditStore, clock: Callable[[], datetime], retention: timedelta) -> None:
        self.store = store
        self.clock = clock
        self.retention = retention

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
        bus.subscribe(RecordingIngested, self.recording_ingested)

    # -- listeners ------------------------------------------------------------------------------------

    def event_booked(self, m: EventBooked) -> None:
        self._write(m, "event", m.event.id, "created", changed_fields(None, event_json(m.event)))

    def event_changed(self, m: EventChanged) -> None:
        diff = changed_fields(event_json(m.previous), event_json(m.event))
        self._write(m, "event", m.event.id, "updated", diff)

    def event_removed(self, m: EventRemoved) -> None:
        after = event_json(m.deleted) if m.deleted is not None else None
        action = "hard_deleted" if m.hard else "deleted"
        self._write(m, "event", m.event.id, action, changed_fields(event_json(m.event), after))

    def event_restored(self, m: EventRestored) -> None:
        diff = changed_fields(event_json(m.previous), event_json(m.event))
        self._write(m, "event", m.event.id, "restored", diff)

    def state_changed(self, m: EventStateChanged) -> None:
        diff = changed_fields(event_json(m.previous), event_json(m.event))
        self._write(m, "event", m.event.id, "state_changed", diff, m.reason, m.at)

    def overlap_accepted(self, m: OverlapAccepted) -> None:
        resource, kind = (m.event.id, "event") if m.event else (m.schedule_id or "", "schedule")
        conflicts = [c.to_json() for c in m.conflicts]
        self._write(m, kind, resource, "overlap_accepted", {"conflicts": {"from": None, "to": conflicts}})

    def schedule_changed(self, m: ScheduleChanged) -> None:
        diff = changed_fields(m.before, m.after)
        reason = ", ".join(f"{k}={v}" for k, v in sorted(m.detail.items())) or None
        self._write(m, "schedule", m.schedule_id, m.action, diff, reason)

    def schedule_failed(self, m: ScheduleFailed) -> None:
        self._write(m, "schedule", m.schedule_id, "failed", {}, m.reason, m.at)

    def record_changed(self, m: RecordChanged) -> None:
        self._write(m, m.kind, m.record_id, m.action, changed_fields(m.before, m.after))

    def recording_ingested(self, m: RecordingIngested) -> None:
        changes = {"recording": {"from": None, "to": {"files": m.files, "bytes": m.size}}}
        self._write(m, "event", m.event.id, "recording_ingested", changes)

    # -- reads ----------------------------------------------------------------------------------------

    def list(
        self,
        principal: Principal,
        resource_id: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[AuditEntry], str | None]:
        """One page of the tenant's trail (or one resource's), newest first."""
        return self.store.list(principal.tenant_id, resource_id, start, end, limit, cursor)

    # -- internals ------------------------------------------------------------------------------------

    def _write(
        self,
        message: Message,
        resource_type: str,
        resource_id: str,
        action: str,
        changes: dict[str, Any],
        reason: str | None = None,
        at: datetime | None = None,
    ) -> None:
        at = at or self.clock()
        actor: Actor = message.actor
        entry = AuditEntry(
            id=new_id("aud", at),
            tenant_id=message.tenant_id,
            at=at,
            actor=actor.to_json(),
            request_id=logs.current().get("request_id") or logs.current().get("execution"),
            resource_type=resource_type,
            resource_id=resource_id,
            action=action,
            changes=changes,
            reason=reason,
        )
        self.store.put(entry, at + self.retention)
