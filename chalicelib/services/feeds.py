"""Calendar feeds: creating, listing and revoking them, and a feed's calendar for its secret token.

A calendar is the feed's channels' bookings overlapping its window: every event in any state (cancelled
ones show as cancelled) and the occurrences of active series that are not events yet, read as
`ChannelBookings.window` reads them (series first, then events; an occurrence already seen as an event
counts once, as the event). The cost is bounded: at most `max_channels` channels, and reading stops at
`max_entries` bookings, the earliest first, across channels (each channel's events arrive sorted by
start, a page per Query, and are merged lazily).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta

from chalicelib.adapters.events import EventStore
from chalicelib.adapters.feeds import FeedStore
from chalicelib.domain.errors import NotFound
from chalicelib.domain.feeds import (
    MAX_CHANNELS,
    MAX_ENTRIES,
    TOKEN_PREFIX,
    Entry,
    Feed,
    FeedIn,
    event_entry,
    occurrence_entry,
    window,
)
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import Channel, Principal
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.schedules import pending_bookings
from chalicelib.services.auth import hash_key
from chalicelib.services.bookings import ChannelBookings
from chalicelib.services.common import check_if_match

NO_FEED = "No such calendar feed: the URL is wrong, or the feed was revoked."
MAX_TOKEN_CHARS = 200


def new_token() -> str:
    """A feed's secret: 256 random bits, URL-safe, prefixed so a leaked one is easy to spot."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def order(entry: Entry) -> tuple[datetime, bool, str]:
    """Calendar order: by start; at one start an event before an occurrence (so the event wins), then id."""
    return entry.start, not entry.is_event, entry.uid


class FeedService:
    def __init__(
        self,
        store: FeedStore,
        events: EventStore,
        bookings: ChannelBookings,
        horizon: timedelta,
        max_channels: int = MAX_CHANNELS,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.store = store
        self.events = events
        self.bookings = bookings
        self.horizon = horizon  # how far ahead series occurrences are events (said in the calendar)
        self.max_channels = max_channels
        self.max_entries = max_entries

    # -- the feeds ------------------------------------------------------------------------------------

    def create(self, principal: Principal, body: FeedIn, now: datetime) -> tuple[Feed, str]:
        """A new feed and its secret token (returned once, stored only as a hash)."""
        token = new_token()
        feed = Feed(
            id=new_id("feed", now),
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            name=body.name,
            channel_ids=body.channel_ids,
            prefix=token[:8],
            token_hash=hash_key(token),
        )
        self.store.create(feed)
        return feed, token

    def list(self, principal: Principal, limit: int, cursor: str | None) -> tuple[list[Feed], str | None]:
        return self.store.records.list(principal.tenant_id, limit, cursor)

    def get(self, principal: Principal, feed_id: str) -> Feed:
        feed = self.store.records.get(principal.tenant_id, feed_id)
        if feed is None:
            raise NotFound("No such feed.")
        return feed

    def revoke(self, principal: Principal, feed_id: str, if_match: str | None) -> None:
        """Delete the feed: its URL stops working at once."""
        feed = self.get(principal, feed_id)
        check_if_match(if_match, feed)
        self.store.revoke(feed)

    # -- the calendar ---------------------------------------------------------------------------------

    def calendar(self, token: str, now: datetime, console: str) -> tuple[str, str]:
        """The iCalendar text of the feed `token` opens, and its ETag; 404 for an unknown or revoked one.

        `console` is the console's absolute base URL (each booking links to its week there).
        """
        from chalicelib.domain import ical  # icalendar takes ~0.1 s to import: only feeds pay for it

        found = self._lookup(token)
        tenant_id, channel_ids = found["tenant_id"], found.get("channel_ids")
        if channel_ids is None:
            channels, capped = self.store.first_channels(tenant_id, self.max_channels)
        else:
            channels, capped = self.store.channels_by_id(tenant_id, channel_ids[: self.max_channels]), False
        start, end = window(now)
        entries, truncated = self.entries(channels, start, end)
        header = ical.Header(
            name=found["name"],
            description=ical.header_description(len(channels), capped, truncated, self.max_entries),
            console=console,
            window=(start, end),
            horizon=self.horizon,
        )
        text = ical.calendar(header, entries, {c.id: c for c in channels})
        return text, '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'

    def entries(self, channels: list[Channel], start: datetime, end: datetime) -> tuple[list[Entry], bool]:
        """The bookings of `channels` overlapping `[start, end)`, earliest first, at most `max_entries`
        of them; and whether there were more."""
        merged = heapq.merge(*(self._channel(c, start, end) for c in channels), key=order)
        chosen: dict[str, Entry] = {}
        truncated = False
        for entry in merged:
            held = chosen.get(entry.uid)
            if held is not None:  # an occurrence and its event, seen both ways: the event stands
                if entry.is_event and not held.is_event:
                    chosen[entry.uid] = entry
                continue
            if len(chosen) >= self.max_entries:
                truncated = True
                break
            chosen[entry.uid] = entry
        return sorted(chosen.values(), key=order), truncated

    def _channel(self, channel: Channel, start: datetime, end: datetime) -> Iterator[Entry]:
        """One channel's bookings in calendar order. Its series are read now, before its events (read
        lazily, a page at a time, as the merge asks for them): see `chalicelib.services.bookings`."""
        series = self.bookings.series(channel)
        pending = sorted(
            (
                occurrence_entry(booking, schedule)
                for schedule in series
                for booking in pending_bookings(schedule, [(start, end)])
            ),
            key=order,
        )
        query = EventQuery(
            tenant_id=channel.tenant_id, channel_id=channel.id, start_from=start, to=end, limit=500
        )
        events = (event_entry(e) for e in self.events.iterate(query, channel.max_event_seconds))
        return heapq.merge(events, pending, key=order)

    def _lookup(self, token: str) -> dict:
        if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_CHARS:
            raise NotFound(NO_FEED)
        digest = hash_key(token)
        found = self.store.lookup(digest)
        # The lookup is by hash; comparing again in constant time keeps timing flat whatever the store does.
        if found is None or not hmac.compare_digest(str(found.get("token_hash", "")), digest):
            raise NotFound(NO_FEED)
        return found
