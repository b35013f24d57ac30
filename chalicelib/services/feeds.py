"""Calendar feeds: creating, listing and revoking them, and a feed's calendar for its secret token.

A calendar is the feed's channels' bookings overlapping its window, read through `ChannelBookings`, the
one notion of a channel's bookings every overlap check uses: every event (in any state: cancelled ones
show as cancelled, so its confirmed entries are exactly `ChannelBookings.window`'s bookings) and the
occurrences of active series that are not events yet, read as `window` reads them (series first, then
events; an occurrence also seen as its event counts once, as the event). The cost is bounded: at most
`max_channels` channels, and reading stops at `max_entries` bookings, those nearest to now: each
channel's events arrive sorted by start, a page per Query, from now forward and then from now back,
merged lazily across channels.

Creating and revoking a feed record a `RecordChanged` (kind `feed`) on the message bus, so both are
audited (`GET /v1/audit`) and announced like any other admin change; the token's hash never appears.
"""

from __future__ import annotations

import heapq
import hmac
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

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
from chalicelib.domain.messages import Actor, RecordChanged, record_json
from chalicelib.domain.models import Channel, Principal
from chalicelib.domain.schedules import Schedule, pending_bookings
from chalicelib.services.auth import hash_key
from chalicelib.services.bookings import ChannelBookings
from chalicelib.services.common import check_if_match
from chalicelib.services.messagebus import MessageBus

NO_FEED = "No such calendar feed: the URL is wrong, or the feed was revoked."
MAX_TOKEN_CHARS = 200
STRETCH = timedelta(days=31)  # series occurrences are expanded this much of the window at a time


@dataclass(frozen=True)
class FeedCalendar:
    """A feed's calendar: its ETag, known before its text is written (a 304 writes nothing)."""

    etag: str
    render: Callable[[], str]


def new_token() -> str:
    """A feed's secret: 256 random bits, URL-safe, prefixed so a leaked one is easy to spot."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def feed_json(feed: Feed) -> dict[str, Any]:
    """A feed as the audit trail and notifications see it: never its token's hash."""
    return record_json(feed, frozenset({"token_hash"}))


def order(entry: Entry) -> tuple[datetime, bool, str]:
    """Calendar order: by start; at one start an event before an occurrence (so the event wins), then id."""
    return entry.start, not entry.is_event, entry.uid


def pending(series: list[Schedule], start: datetime, end: datetime, back: bool = False) -> Iterator[Entry]:
    """The series' occurrences that are not events yet overlapping `[start, end)`, in calendar order
    (reversed with `back`), expanded a stretch at a time as they are asked for: a dense series costs only
    what the feed takes of it. Each occurrence belongs to the stretch it starts in (the first stretch
    also keeps those that began before `start`)."""
    if not series:
        return
    edges = [start]
    while edges[-1] < end:
        edges.append(min(edges[-1] + STRETCH, end))
    stretches = list(enumerate(pairwise(edges)))
    for i, (a, b) in reversed(stretches) if back else stretches:
        found = [
            occurrence_entry(booking, schedule)
            for schedule in series
            for booking in pending_bookings(schedule, [(a, b)])
            if i == 0 or booking.start >= a
        ]
        yield from sorted(found, key=order, reverse=back)


class FeedService:
    def __init__(
        self,
        store: FeedStore,
        bookings: ChannelBookings,
        horizon: timedelta,
        bus: MessageBus,
        max_channels: int = MAX_CHANNELS,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.store = store
        self.bookings = bookings
        self.horizon = horizon  # how far ahead series occurrences are events (said in the calendar)
        self.bus = bus
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
        self.bus.publish(
            RecordChanged(
                feed.tenant_id, "feed", feed.id, "created", Actor.of(principal), after=feed_json(feed)
            )
        )
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
        self.bus.publish(
            RecordChanged(
                feed.tenant_id, "feed", feed.id, "deleted", Actor.of(principal), before=feed_json(feed)
            )
        )

    # -- the calendar ---------------------------------------------------------------------------------

    def calendar(self, token: str, now: datetime, console: str) -> FeedCalendar:
        """The calendar the feed `token` opens (404 for an unknown or revoked token): its ETag at once,
        its text when asked (`console` is the console's absolute base URL, linked from each booking)."""
        from chalicelib.domain import ical  # icalendar takes ~0.1 s to import: only feeds pay for it

        found = self._lookup(token)
        tenant_id, channel_ids = found["tenant_id"], found.get("channel_ids")
        if channel_ids is None:
            channels, capped = self.store.first_channels(tenant_id, self.max_channels)
        else:
            channels, capped = self.store.channels_by_id(tenant_id, channel_ids[: self.max_channels]), False
        entries, truncated = self.entries(channels, now)
        header = ical.Header(
            name=found["name"],
            description=ical.header_description(len(channels), capped, truncated, self.max_entries),
            console=console,
            window=window(now),
            horizon=self.horizon,
        )
        rooms = {c.id: ical.Room(c.id, c.name, c.timezone, c.location) for c in channels}
        return FeedCalendar(ical.etag(header, entries, rooms), lambda: ical.calendar(header, entries, rooms))

    def entries(self, channels: list[Channel], now: datetime) -> tuple[list[Entry], bool]:
        """The bookings of `channels` overlapping the window around `now`, in calendar order: at most
        `max_entries`, those nearest to now (from now on first, then back into the past), and whether
        there were more."""
        start, end = window(now)
        series = {c.id: self.bookings.series(c) for c in channels}  # before any events: see the module doc
        ahead = heapq.merge(*(self._channel(c, series[c.id], now, end) for c in channels), key=order)
        behind = heapq.merge(
            *(self._channel(c, series[c.id], start, now, back=True) for c in channels),
            key=order,
            reverse=True,
        )
        chosen: dict[str, Entry] = {}
        for stream in (ahead, behind):  # `behind` is read only if room is left
            for entry in stream:
                held = chosen.get(entry.uid)
                if held is not None:  # seen twice (an occurrence and its event, or across `now`)
                    if entry.is_event and not held.is_event:
                        chosen[entry.uid] = entry  # the event stands
                    continue
                if len(chosen) >= self.max_entries:
                    return sorted(chosen.values(), key=order), True
                chosen[entry.uid] = entry
        return sorted(chosen.values(), key=order), False

    def _channel(
        self, channel: Channel, series: list[Schedule], start: datetime, end: datetime, back: bool = False
    ) -> Iterator[Entry]:
        """One channel's bookings overlapping `[start, end)` in calendar order (reversed with `back`).
        Its events are read lazily, a page (one Query) at a time, as the merge asks for them."""
        events = (event_entry(e) for e in self.bookings.every_event(channel, start, end, descending=back))
        return heapq.merge(events, pending(series, start, end, back), key=order, reverse=back)

    def _lookup(self, token: str) -> dict:
        if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_CHARS:
            raise NotFound(NO_FEED)
        digest = hash_key(token)
        found = self.store.lookup(digest)
        # The lookup is by hash; comparing again in constant time keeps timing flat whatever the store does.
        if found is None or not hmac.compare_digest(str(found.get("token_hash", "")), digest):
            raise NotFound(NO_FEED)
        return found
