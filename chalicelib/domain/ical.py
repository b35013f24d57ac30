"""A feed as iCalendar (RFC 5545), written with the `icalendar` library: one VEVENT per entry.

Times are in each booking's channel zone (`DTSTART;TZID=Europe/London:...`), with a VTIMEZONE for every
zone used, spanning the window's years. Nothing in the text depends on when it is written (DTSTAMP is
the booking's last change, as RFC 5545 says for an object without METHOD), so the same inputs give the
same bytes: the ETag is a hash of the inputs, known before anything is written (a 304 writes nothing).

`icalendar` needs about 0.6 ms of CPU per VEVENT, so each component's text is kept per process, keyed by
everything it shows: calendar apps poll, and between two polls few bookings change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar
from icalendar import Calendar, Event, Timezone, vDuration

from chalicelib.domain.feeds import PLANNED, WINDOW_AFTER, WINDOW_BEFORE, Entry

PRODID = "-//onair//calendar feeds//EN"
REFRESH = timedelta(minutes=15)
"""How often calendar apps are asked to poll (RFC 7986 REFRESH-INTERVAL, and Outlook's X-PUBLISHED-TTL)."""
REACH = timedelta(days=32)
"""Events last at most 31 days: the zones must cover bookings that began this long before the window."""
KEPT_VEVENTS = 20_000  # about 12 MB of text per process at most
FORMAT = f"onair-feed-1 icalendar-{icalendar.__version__}"  # part of the ETag: a new writer, new tags


@dataclass(frozen=True)
class Room:
    """What a booking's VEVENT says about its channel."""

    id: str
    name: str
    timezone: str
    location: str | None = None


@dataclass(frozen=True)
class Header:
    """What the calendar says about itself, and what every VEVENT's text depends on besides its entry."""

    name: str
    description: str
    console: str  # the console's absolute base URL, ending with "/"
    window: tuple[datetime, datetime]
    horizon: timedelta  # how far ahead series occurrences exist as events


def console_link(console: str, entry: Entry, zone: ZoneInfo) -> str:
    """The console's week of the booking's room, on the booking's local date (`#/week/<date>/<channel>`)."""
    return f"{console}#/week/{entry.start.astimezone(zone).date().isoformat()}/{entry.channel_id}"


def description(entry: Entry, link: str, horizon: timedelta) -> str:
    """The text under a booking: its state, series and the console link (LOCATION names the channel, UID
    the event)."""
    if entry.state == PLANNED:
        days = round(horizon.total_seconds() / 86400)
        lines = [f"State: {PLANNED} (a series occurrence; it becomes an event {days} days before it starts)"]
    else:
        lines = [f"State: {entry.state}"]
    if entry.schedule_id:
        lines.append(f"Series: {entry.schedule_id}")
    lines.append(f"Open in the onair console: {link}")
    return "\n".join(lines)


def vevent(entry: Entry, room: Room, console: str, horizon: timedelta) -> Event:
    """One booking, in its channel's zone."""
    zone = ZoneInfo(room.timezone)
    link = console_link(console, entry, zone)
    event = Event()
    event.add("uid", f"{entry.uid}@onair")
    event.add("dtstamp", entry.modified.astimezone(UTC))
    event.add("last-modified", entry.modified.astimezone(UTC))
    event.add("sequence", entry.sequence)
    event.add("dtstart", entry.start.astimezone(zone))
    event.add("dtend", entry.end.astimezone(zone))
    event.add("summary", entry.title)
    event.add("location", f"{room.name}, {room.location}" if room.location else room.name)
    event.add("status", entry.status)
    event.add("description", description(entry, link, horizon))
    event.add("url", link)
    return event


@lru_cache(maxsize=KEPT_VEVENTS)
def _vevent_text(entry: Entry, room: Room, console: str, horizon: timedelta) -> tuple[bytes, str | None]:
    """A VEVENT's text and the TZID it uses (None for UTC, which is written with `Z`)."""
    event = vevent(entry, room, console, horizon)
    return event.to_ical(), event["DTSTART"].params.get("TZID")


@lru_cache(maxsize=256)
def _vtimezone_text(tzid: str, first: date, last: date) -> bytes:
    return Timezone.from_tzid(tzid, first_date=first, last_date=last).to_ical()


def _frame(header: Header) -> bytes:
    """The VCALENDAR with its own properties and no components."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", header.name)
    cal.add("x-wr-calname", header.name)
    cal.add("description", header.description)
    cal.add("x-wr-caldesc", header.description)
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    return cal.to_ical()


def _zone_span(window: tuple[datetime, datetime]) -> tuple[date, date]:
    """The whole years the VTIMEZONEs cover: every booking that overlaps the window."""
    start, end = window
    return date((start - REACH).year, 1, 1), date(end.year + 1, 1, 1)


def calendar(header: Header, entries: Sequence[Entry], rooms: dict[str, Room]) -> str:
    """The VCALENDAR text (CRLF lines) for `entries`, each of whose channel is in `rooms`."""
    events = [_vevent_text(e, rooms[e.channel_id], header.console, header.horizon) for e in entries]
    first, last = _zone_span(header.window)
    zones = [_vtimezone_text(tzid, first, last) for tzid in sorted({z for _, z in events if z})]
    frame = _frame(header)
    closing = b"END:VCALENDAR\r\n"
    assert frame.endswith(closing)
    body = b"".join([frame[: -len(closing)], *zones, *(text for text, _ in events), closing])
    return body.decode("utf-8")


def etag(header: Header, entries: Sequence[Entry], rooms: dict[str, Room]) -> str:
    """A strong ETag for what `calendar` writes from these inputs, without writing it (of the window, only
    the years its zones span count: the text depends on nothing else of it)."""
    shown = (header.name, header.description, header.console, header.horizon, _zone_span(header.window))
    digest = hashlib.sha256(repr((FORMAT, shown, list(entries), sorted(rooms.items()))).encode())
    return f'"{digest.hexdigest()[:32]}"'


def header_description(channels: int, capped: bool, truncated: bool, max_entries: int) -> str:
    """The calendar's own description: what it holds, and where it stops short."""
    text = (
        f"Bookings of {channels} onair channel{'s' if channels != 1 else ''} from {WINDOW_BEFORE.days} days "
        f"ago to {WINDOW_AFTER.days} days ahead, series occurrences included."
    )
    if capped:
        text += f" Only the tenant's first {channels} channels are shown."
    if truncated:
        text += f" Only the {max_entries} bookings nearest to now are shown."
    return text
