"""The one place a timetable import writes bookings.

No import-only shortcut: every write is a public service call that the API makes too, with the same
checks (overlaps with suggestions, sources, If-Match) and the same notifications and lifecycle runs.
The caller is the import itself (`import_principal`): its actor says so in the audit trail and on the bus.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.inputs import EventIn, ScheduleIn
from chalicelib.domain.models import Event, Principal, Scope
from chalicelib.domain.schedules import Schedule
from chalicelib.domain.validation import validate
from chalicelib.services.events import EventService
from chalicelib.services.schedules import WRITABLE as SERIES_WRITABLE
from chalicelib.services.schedules import ScheduleService


def import_principal(tenant_id: str, import_id: str, source: str) -> Principal:
    """Who an import writes as: the actor `{"type": "import", "id": <import id>, "name": <source>}` in
    every notification and audit item its writes make."""
    return Principal(
        tenant_id=tenant_id,
        key_id=import_id,
        name=source,
        scopes=frozenset({Scope.READ, Scope.WRITE}),
        actor_type="import",
    )


class BookingWriter:
    """Writes one import's bookings through EventService and ScheduleService."""

    def __init__(self, events: EventService, schedules: ScheduleService, principal: Principal) -> None:
        self.events = events
        self.schedules = schedules
        self.principal = principal

    def put_event(self, external_id: str, body: dict[str, Any], if_match: str | None, now: datetime) -> Event:
        """Create or replace the event with this external_id (a soft-deleted one comes back)."""
        event, _ = self.events.put_external(
            self.principal, external_id, validate(EventIn, body), if_match, now
        )
        return event

    def remove_event(self, event_id: str, if_match: str | None, now: datetime) -> None:
        """Soft-delete: the slot is free, and the event comes back if its row does."""
        self.events.delete(self.principal, event_id, False, if_match, now)

    def create_series(self, body: dict[str, Any], now: datetime) -> Schedule:
        return self.schedules.create(self.principal, validate(ScheduleIn, body), now)

    def change_series(
        self, schedule_id: str, body: dict[str, Any], if_match: str | None, now: datetime
    ) -> Schedule:
        """Every field as the row says (a merge patch naming them all; a null clears one)."""
        document = {name: body.get(name) for name in SERIES_WRITABLE}
        return self.schedules.patch(self.principal, schedule_id, document, "merge", if_match, now)

    def remove_series(self, schedule_id: str, if_match: str | None, now: datetime) -> None:
        """Delete the series: its future events are cancelled, past ones kept."""
        self.schedules.delete(self.principal, schedule_id, if_match, now)

    # -- reads the writes need --------------------------------------------------------------------------

    def event(self, event_id: str) -> Event | None:
        return self.events.store.get(self.principal.tenant_id, event_id)

    def series(self, schedule_id: str) -> Schedule | None:
        return self.schedules.store.get(self.principal.tenant_id, schedule_id)

    def series_on(self, channel_id: str) -> list[Schedule]:
        return self.schedules.store.for_channel(self.principal.tenant_id, channel_id)
