"""Calendar feeds: the stored feed, what may be asked for, its window and limits, and what one booking shows.

A feed names some of a tenant's channels, or all of them (`channel_ids` None). Its secret URL holds a
token that is stored only as a hash. What a calendar app is shown of one booking is an `Entry`; the pure
rules here make one from an event, or from a series occurrence that is not an event yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints, field_validator

from chalicelib.domain.inputs import Name, Strict
from chalicelib.domain.models import Event, EventState, Record

if TYPE_CHECKING:  # not at import: domain.schedules pulls in the recurrence engine (cold start)
    from chalicelib.domain.conflicts import Booking
    from chalicelib.domain.schedules import Schedule

WINDOW_BEFORE = timedelta(days=30)
WINDOW_AFTER = timedelta(days=365)
MAX_CHANNELS = 50
"""Channels one feed reads at most: a list names up to this many; "all" means the tenant's first this many."""
MAX_ENTRIES = 2000
"""Bookings one feed holds at most, those nearest to now. `icalendar` takes about 0.6 ms of CPU per VEVENT
(texts are then kept per process), so a full calendar nobody polled before costs about 1.2 s of CPU, and
its text stays near 1.2 MB."""
TOKEN_PREFIX = "ics_"
PLANNED = "planned"
"""The state shown for a series occurrence that is not an event yet."""
CONFIRMED, CANCELLED = "CONFIRMED", "CANCELLED"
SEQUENCE_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

ChannelRef = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Feed(Record):
    """A calendar feed; the token itself is never stored, only its SHA-256."""

    name: str
    channel_ids: list[str] | None = None
    prefix: str
    token_hash: str


class FeedIn(Strict):
    name: Name
    channel_ids: list[ChannelRef] | None = Field(default=None, min_length=1, max_length=MAX_CHANNELS)

    @field_validator("channel_ids")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("lists a channel more than once")
        return value


def window(now: datetime) -> tuple[datetime, datetime]:
    """The instants a feed covers: bookings overlapping `[now - 30 days, now + 365 days)`."""
    return now - WINDOW_BEFORE, now + WINDOW_AFTER


def sequence(modified: datetime, version: int) -> int:
    """A VEVENT's SEQUENCE: seconds from 2024 to its last change, plus its record version.

    It rises with every change of an event (the version always does, and `updated_at` never goes back).
    An occurrence that is not an event yet shows its series' last change with version 0; the event it
    becomes is written after that change with version 1 or more, so the number never goes down, not
    even when the series is later split or deleted (an event's number depends on the event alone).
    It fits RFC 5545's 32-bit INTEGER until 2092.
    """
    return max(0, int((modified - SEQUENCE_EPOCH).total_seconds())) + version


@dataclass(frozen=True)
class Entry:
    """One booking as a calendar shows it, `[start, end)`; `uid` is its event's id, now or once made."""

    uid: str
    channel_id: str
    title: str
    start: datetime
    end: datetime
    state: str
    status: str
    sequence: int
    modified: datetime
    schedule_id: str | None = None

    @property
    def is_event(self) -> bool:
        return self.state != PLANNED


def event_entry(event: Event) -> Entry:
    """An event: CANCELLED when it no longer holds its slot (cancelled or failed), else CONFIRMED."""
    released = event.state in (EventState.CANCELLED, EventState.FAILED)
    return Entry(
        uid=event.id,
        channel_id=event.channel_id,
        title=event.title,
        start=event.start,
        end=event.end,
        state=event.state.value,
        status=CANCELLED if released else CONFIRMED,
        sequence=sequence(event.updated_at, event.version),
        modified=event.updated_at,
        schedule_id=event.schedule_id,
    )


def occurrence_entry(booking: Booking, schedule: Schedule) -> Entry:
    """A series occurrence that is not an event yet: CONFIRMED, since it holds its slot as firmly as an
    event does (it is checked for conflicts like one), and so nothing changes status when it is made."""
    return Entry(
        uid=booking.event_id,
        channel_id=schedule.channel_id,
        title=schedule.title,
        start=booking.start,
        end=booking.end,
        state=PLANNED,
        status=CONFIRMED,
        sequence=sequence(schedule.updated_at, 0),
        modified=schedule.updated_at,
        schedule_id=schedule.id,
    )
