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


SCHEDULES = 8
ROUNDS = 6


def test_exactly_one_of_many_overlapping_schedules_wins(http):
    _, _, channel = http("POST", "/v1/channels", {"name": "Series room", "timezone": "Europe/London"})

    def attempt(n: int) -> int:
        # Every series overlaps every other on each Monday: 09:00-10:00 local with shifted edges.
        body = {
            "title": f"Series {n}",
            "channel_id": channel["id"],
            "start": f"2031-01-06T09:{n:02d}:00",
            "duration": 3000,
            "recurrence": {"frequency": "weekly", "days": ["MON"]},
        }
        return http("POST", "/v1/schedules", body)[0]

    with ThreadPoolExecutor(max_workers=SCHEDULES) as pool:
        statuses = list(pool.map(attempt, range(SCHEDULES)))
    assert statuses.count(201) == 1 and statuses.count(409) == SCHEDULES - 1, statuses
    listed = http("GET", f"/v1/schedules?channel_id={channel['id']}")[2]["items"]
    assert len(listed) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_schedule_racing_one_off_events_for_its_slot_never_both_win(http, round_):
    _, _, channel = http("POST", "/v1/channels", {"name": f"Race {round_}", "timezone": "UTC"})
    # The series' 20th occurrence, months ahead, is what the one-off events want.
    schedule = {
        "title": "Weekly",
        "channel_id": channel["id"],
        "start": "2031-03-03T09:00:00",
        "duration": 3600,
        "recurrence": {"frequency": "weekly", "days": ["MON"], "count": 30},
    }
    one_off = {
        "title": "Clash",
        "channel_id": channel["id"],
        "start": "2031-07-14T09:30:00Z",
        "duration": 600,
    }

    def attempt(n: int) -> tuple[str, int]:
        if n == 0:
            return "schedule", http("POST", "/v1/schedules", schedule)[0]
        return "event", http("POST", "/v1/events", {**one_off, "title": f"Clash {n}"})[0]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(attempt, range(4)))
    winners = [kind for kind, status in results if status == 201]
    assert all(status in (201, 409) for _, status in results), results
    assert len(winners) == 1, results
    busy = http(
        "GET", f"/v1/channels/{channel['id']}/availability?from=2031-07-14T00:00:00Z&to=2031-07-15T00:00:00Z"
    )
    assert len(busy[2]["busy"]) == 1, busy[2]
