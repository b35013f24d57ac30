"""Race-free booking on the real local stack: of many simultaneous overlapping requests, exactly one wins."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.test_local_stack import KEY, Http, free_port, start_stack

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 36


@pytest.fixture(scope="module")
def http():
    port = free_port()
    process, _ = start_stack(port, {"ONAIR_TICK_SECONDS": "60"})
    yield Http(f"http://127.0.0.1:{port}", KEY)
    process.terminate()
    process.wait(timeout=30)


def test_exactly_one_of_many_overlapping_bookings_wins(http):
    _, _, channel = http("POST", "/v1/channels", {"name": "Contested room", "changeover_seconds": 60})

    def attempt(n: int) -> int:
        # Every request overlaps every other: they all cover 10:30-11:00, with different edges.
        body = {
            "title": f"Booking {n}",
            "channel_id": channel["id"],
            "start": f"2030-05-06T10:{n % 30:02d}:00Z",
            "end": f"2030-05-06T11:{n % 30:02d}:00Z",
        }
        return http("POST", "/v1/events", body)[0]

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        statuses = list(pool.map(attempt, range(REQUESTS)))
    assert all(status < 500 for status in statuses), statuses
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == REQUESTS - 1, statuses
    listed = http("GET", f"/v1/events?channel_id={channel['id']}")[2]["items"]
    assert len(listed) == 1


def test_concurrent_bookings_that_do_not_overlap_all_win(http):
    _, _, channel = http("POST", "/v1/channels", {"name": "Busy room"})

    def attempt(n: int) -> int:
        body = {
            "title": f"Slot {n}",
            "channel_id": channel["id"],
            "start": f"2030-05-07T{8 + n:02d}:00:00Z",
            "duration": 3600,
        }
        return http("POST", "/v1/events", body)[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert statuses == [201] * 8, "retries inside the service absorb the version races"
