"""A calendar feed of many busy channels on moto in-process: what one poll reads, writes and takes.

Each channel has events across the feed's window and an endless daily series beyond the 30-day horizon
(occurrences that are not events yet), so an all-channels feed reaches its booking limit. One poll is
counted (round trips, items read, bytes) and answered 304 with its ETag; writing its text is timed apart,
with no VEVENT text kept and with all kept. moto's Query walks its whole table in memory (most of a poll's
time here), so only the round trips and items read carry over to DynamoDB; writing is the app's own CPU.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from bench.common import Figure, items_read
from bench.dynamo import T0, Clock, _channel_pk, api, batch_put, event_items, moto_stack

LENGTH = timedelta(minutes=50)


def feed_poll(channels: int = 50, events_per_channel: int = 60) -> dict[str, Any]:
    clock = Clock(T0)
    with moto_stack(clock) as (services, client, counter):
        items = []
        for n in range(channels):
            channel = api(client, "POST", "/v1/channels", {"name": f"Room {n}", "timezone": "Europe/London"})
            items += event_items(  # one a week from 28 days back, a year's worth
                "default",
                channel["id"],
                T0 - timedelta(days=28, hours=-n % 10),
                events_per_channel,
                timedelta(days=6),
                LENGTH,
            )
            services.events.store.raise_max_duration(
                _channel_pk(), channel["id"], int(LENGTH.total_seconds())
            )
            body = {
                "title": f"Daily {n}",
                "channel_id": channel["id"],
                "start": (T0 + timedelta(days=40)).strftime("%Y-%m-%dT") + f"{7 + n % 12:02d}:15:00",
                "duration": 1800,
                "recurrence": {"frequency": "daily"},
            }
            api(client, "POST", "/v1/schedules", body)
        batch_put(services, items)
        url = api(client, "POST", "/v1/feeds", {"name": "Every room"})["url"]
        path = urlsplit(url).path
        with counter.record() as calls:
            first = client.http.get(path)
        unchanged = client.http.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert first.status_code == 200 and unchanged.status_code == 304, (first.status_code, unchanged.body)
        return {
            "channels": channels,
            "vevents": first.body.count(b"BEGIN:VEVENT"),
            "bytes": len(first.body),
            "round_trips": len(calls),
            "items_read": items_read(calls),
            "by_operation": sorted({c.operation for c in calls}),
            "writing": writing(services, path, clock),
        }


def writing(services: Any, path: str, clock: Clock) -> dict[str, float]:
    """Seconds to work out the ETag, to write the text with no VEVENT kept, and with all of them kept."""
    from chalicelib.domain import ical

    token = path.removeprefix("/v1/feeds/").removesuffix(".ics")
    found = services.feeds.calendar(token, clock(), "http://localhost/")  # the reads (moto) not timed
    ical._vevent_text.cache_clear()
    began = time.perf_counter()
    text = found.render()
    cold = time.perf_counter() - began
    began = time.perf_counter()
    assert found.render() == text
    warm = time.perf_counter() - began
    return {"first": round(cold, 3), "kept": round(warm, 4)}


def figure(channels: int = 50) -> Figure:
    from chalicelib.domain.feeds import MAX_ENTRIES

    found = feed_poll(channels)
    write = found["writing"]
    reads_bound = 2 + 3 * channels + 2 * MAX_ENTRIES // 500  # token, channels; per channel series + 2 Queries
    holds = (
        found["vevents"] == MAX_ENTRIES
        and found["bytes"] < 6 * 1024 * 1024
        and found["round_trips"] <= reads_bound
        and found["by_operation"] == sorted({"GetItem", "Query"})
    )
    return Figure(
        f"calendar feed of {channels} busy channels",
        "its text written again with the VEVENTs kept",
        f"{found['vevents']:,} VEVENTs, {found['bytes'] / 1e6:.1f} MB, {found['round_trips']} round trips, "
        f"{found['items_read']:,} items read; written in {write['first']:.2f} s, {write['kept']:.3f} s "
        "with kept VEVENTs; a 304 writes nothing",
        f"at the {MAX_ENTRIES:,} cap, under Lambda's 6 MB, ≤ {reads_bound} GetItem/Query",
        holds,
        write["kept"] / write["first"],
        found,
    )


if __name__ == "__main__":
    import json
    import logging
    import sys

    logging.disable(logging.WARNING)
    print(json.dumps(feed_poll(int(sys.argv[1]) if len(sys.argv) > 1 else 50)))
