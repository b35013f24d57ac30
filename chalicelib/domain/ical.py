"""A feed as iCalendar (RFC 5545), written with the `icalendar` library: one VEVENT per entry.

Times are in each booking's channel zone (`DTSTART;TZID=Europe/London:...`), with a VTIMEZONE for every
zone used, spanning the window's years. Nothing in the text depends on when it is written (DTSTAMP is
the booking's last change, as RFC 5545 says for an object without METHOD), so the same bookings give the
same bytes and the same ETag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vDuration

from chalicelib.domain.feeds import PLANNED, WINDOW_AFTER, WINDOW_BEFORE, Entry
from chalicelib.domain.models import Channel

PRODID = "-//onair//calendar feeds//EN"
REFRESH = timedelta(minutes=15)
"""How often calendar apps are asked to poll (RFC 7986 REFRESH-INTERVAL, and Outlook's X-PUBLISHED-TTL)."""
REACH = timedelta(days=32)
"""Events last at most 31 days: the zones must cover bookings that began this long before the window."""


@dataclass(frozen=True)
class Header:
    """What the calendar says about itself."""

    name: str
    description: str
    console: str  # the console's absolute base URL, ending with "/"
    window: tuple[datetime, datetime]
    horizon: timedelta  # how far ahead series occurrences exist as events


def console_link(console: str, entry: Entry, zone: ZoneInfo) -> str:
    """The console's week of the booking's room, on the booking's local date (`#/week/<date>/<channel>`)."""
    return f"{console}#/week/{entry.start.astimezone(zone).date().isoformat()}/{entry.channel_id}"


def description(entry: Entry, channel: Channel, link: str, horizon: timedelta) -> str:
    """The text under a booking: its state, channel, series, id and the console link."""
    if entry.state == PLANNED:
        days = round(horizon.total_seconds() / 86400)
        lines = [f"State: {PLANNED} (a series occurrence; it becomes an event {days} days before it starts)"]
    else:
        lines = [f"State: {entry.state}"]
    lines.append(f"Channel: {channel.name} ({channel.timezone})")
    if entry.schedule_id:
        lines.append(f"Series: {entry.schedule_id}")
    lines.append(f"Event: {entry.uid}")
    lines.append(f"Open in the onair console: {link}")
    return "\n".join(lines)


def location(channel: Channel) -> str:
    return f"{channel.name}, {channel.location}" if channel.location else channel.name


def vevent(entry: Entry, channel: Channel, header: Header) -> Event:
    """One booking, in its channel's zone."""
    zone = ZoneInfo(channel.timezone)
    link = console_link(header.console, entry, zone)
    event = Event()
    event.add("uid", f"{entry.uid}@onair")
    event.add("dtstamp", entry.modified.astimezone(UTC))
    event.add("last-modified", entry.modified.astimezone(UTC))
    event.add("sequence", entry.sequence)
    event.add("dtstart", entry.start.astimezone(zone))
    event.add("dtend", entry.end.astimezone(zone))
    event.add("summary", entry.title)
    event.add("location", location(channel))
    event.add("status", entry.status)
    event.add("description", description(entry, channel, link, header.horizon))
    event.add("url", link)
    return event


def calendar(header: Header, entries: Iterable[Entry], channels: Mapping[str, Channel]) -> str:
    """The VCALENDAR text (CRLF lines) for `entries`, each of whose channel is in `channels`."""
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
    for entry in entries:
        cal.add_component(vevent(entry, channels[entry.channel_id], header))
    start, end = header.window
    cal.add_missing_timezones(first_date=date((start - REACH).year, 1, 1), last_date=date(end.year + 1, 1, 1))
    return cal.to_ical().decode("utf-8")


def header_description(channels: int, total_channels_capped: bool, truncated: bool, max_entries: int) -> str:
    """The calendar's own description: what it holds, and where it stops short."""
    text = (
        f"Bookings of {channels} onair channel{'s' if channels != 1 else ''} from {WINDOW_BEFORE.days} days "
        f"ago to {WINDOW_AFTER.days} days ahead, series occurrences included."
    )
    if total_channels_capped:
        text += f" Only the tenant's first {channels} channels are shown."
    if truncated:
        text += f" Only the first {max_entries} bookings are shown."
    return text
