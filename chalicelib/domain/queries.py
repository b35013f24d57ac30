"""What a client asks of the event listing, independent of how it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.models import Event, EventState


@dataclass(frozen=True)
class EventQuery:
    """Filters of `GET /v1/events`; a window [start_from, to) matches events that overlap it."""

    tenant_id: str
    start_from: datetime | None = None
    to: datetime | None = None
    channel_id: str | None = None
    states: tuple[EventState, ...] = ()
    tag: str | None = None
    schedule_id: str | None = None
    ref_id: str | None = None
    external_id: str | None = None
    q: str | None = None
    deleted: bool = False
    descending: bool = False
    limit: int = 50
    cursor: str | None = None

    @property
    def has_window(self) -> bool:
        return self.start_from is not None or self.to is not None

    def matches(self, event: Event) -> bool:
        """The same filters applied in memory (used where the store returns a single record)."""
        return (
            (event.deleted_at is not None) == self.deleted
            and (self.start_from is None or event.end > self.start_from)
            and (self.to is None or event.start < self.to)
            and (self.channel_id is None or event.channel_id == self.channel_id)
            and (not self.states or event.state in self.states)
            and (self.tag is None or self.tag in event.tags)
            and (self.schedule_id is None or event.schedule_id == self.schedule_id)
            and (self.ref_id is None or event.ref_id == self.ref_id)
            and (self.external_id is None or event.external_id == self.external_id)
            and (self.q is None or self.q.lower() in event.title.lower())
        )
