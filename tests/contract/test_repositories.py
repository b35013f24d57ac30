"""One contract for the repositories, run against both implementations: DynamoDB (on moto) and memory.

The fast service tests (tests/unit/test_service_rules.py, test_nothing_stuck.py) run on the in-memory
repositories; these tests are why what they prove holds on DynamoDB too: both keep the same promises
(conditional writes, the booking version, uniqueness guards, paging, the open-events index, the lock).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.audit import AuditEntry
from chalicelib.adapters.history import Entry
from chalicelib.adapters.lock import ChannelBusy
from chalicelib.domain.errors import (
    AlreadyExists,
    BookingRaced,
    ExternalIdTaken,
    StaleWrite,
    ValidationFailed,
)
from chalicelib.domain.messages import SYSTEM, Actor
from chalicelib.domain.models import Channel, Event, EventState, Source
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.schedules import Schedule

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
TENANT = "t1"


@pytest.fixture(params=["dynamodb", "memory"])
def repos(request: pytest.FixtureRequest) -> Iterator[Any]:
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    if request.param == "memory":
        from chalicelib.adapters import memory as m

        db = m.MemoryDb()
        yield bootstrap.Repositories(
            tenant_max_duration=m.MemoryTenancy(db).tenant_max_duration,
            channels=m.MemoryRecords(db, Channel),
            sources=m.MemoryRecords(db, Source),
            events=m.MemoryEvents(db),
            schedules=m.MemorySchedules(db),
            locks=m.MemoryLocks(db),
            history=m.MemoryHistory(db),
            runs=m.MemoryRuns(),
            due_runs=m.MemoryDueRuns(db),
            audit=m.MemoryAudit(db),
            publish=lambda *_: None,
        )
        return
    request.getfixturevalue("aws")
    built = bootstrap.build(Settings.from_env({"ONAIR_STAGE": "test"}))
    repos = built.events.booker  # the booker holds the event and channel stores the services use
    table = repos.store.table
    from chalicelib.adapters.audit import AuditStore
    from chalicelib.adapters.history import HistoryStore
    from chalicelib.adapters.lock import ChannelLocks
    from chalicelib.adapters.runs import DueRuns

    yield bootstrap.Repositories(
        tenant_max_duration=built.events.tenant_max_duration,
        channels=repos.channels,
        sources=built.sources.store,
        events=repos.store,
        schedules=built.schedules.store,
        locks=ChannelLocks(table),
        history=HistoryStore(table),
        runs=None,
        due_runs=DueRuns(table),
        audit=AuditStore(table),
        publish=lambda *_: None,
    )


def channel(repos: Any, name: str = "Room") -> Channel:
    record = Channel(id=f"ch_{name.lower()}", tenant_id=TENANT, created_at=T0, updated_at=T0, name=name)
    repos.channels.create(record)
    found = repos.channels.get(TENANT, record.id)
    assert found is not None
    return found


def event(ch: Channel, n: int, hours: float = 1, **fields: Any) -> Event:
    start = T0 + timedelta(hours=2 * n)
    return Event(
        id=f"evt_{n:04d}",
        tenant_id=TENANT,
        created_at=T0,
        updated_at=T0,
        title=f"Event {n}",
        channel_id=ch.id,
        start=start,
        end=start + timedelta(hours=hours),
        **fields,
    )


def test_an_event_is_created_once_and_read_back(repos):
    ch = channel(repos)
    e = event(ch, 1)
    repos.events.create(e)
    assert repos.events.get(TENANT, e.id) == e
    with pytest.raises(AlreadyExists):
        repos.events.create(e)
    assert repos.events.get("other-tenant", e.id) is None


def test_the_booking_version_makes_overlapping_writes_race_free(repos):
    ch = channel(repos)
    repos.events.create(event(ch, 1), ch.booking_version)
    with pytest.raises(BookingRaced):
        repos.events.create(event(ch, 2), ch.booking_version)  # read before the first write landed
    fresh = repos.channels.get(TENANT, ch.id)
    assert fresh.booking_version == ch.booking_version + 1
    repos.events.create(event(ch, 2), fresh.booking_version)


def test_a_stale_update_changes_nothing(repos):
    ch = channel(repos)
    e = event(ch, 1)
    repos.events.create(e)
    renamed = e.model_copy(update={"title": "Renamed", "version": 2})
    repos.events.update(renamed, e)
    with pytest.raises(StaleWrite):
        repos.events.update(e.model_copy(update={"title": "Lost", "version": 2}), e)
    assert repos.events.get(TENANT, e.id).title == "Renamed"


def test_external_ids_are_unique_and_sources_must_exist(repos):
    ch = channel(repos)
    repos.events.create(event(ch, 1, external_id="tt-1"))
    with pytest.raises(ExternalIdTaken):
        repos.events.create(event(ch, 2, external_id="tt-1"))
    with pytest.raises(ValidationFailed) as caught:
        repos.events.create(event(ch, 3, source_ids=["src_missing"]))
    assert [e.pointer for e in caught.value.errors] == ["/source_ids/0"]
    assert repos.events.id_for_external(TENANT, "tt-1") == "evt_0001"
    assert repos.events.get(TENANT, "evt_0003") is None, "a refused write leaves nothing behind"


def test_a_window_listing_pages_through_matches_in_start_order(repos):
    ch, other = channel(repos), channel(repos, "Other")
    for n in range(7):
        repos.events.create(event(ch if n != 3 else other, n))
    query = EventQuery(tenant_id=TENANT, channel_id=ch.id, start_from=T0, to=T0 + timedelta(days=1), limit=2)
    found = [e.id for e in repos.events.iterate(query, 3600)]
    assert found == ["evt_0000", "evt_0001", "evt_0002", "evt_0004", "evt_0005", "evt_0006"]


def test_overlap_marks_are_added_and_dropped_and_move_the_version(repos):
    ch = channel(repos)
    a, b = event(ch, 1), event(ch, 2)
    repos.events.create(a)
    repos.events.create(b, marks=[a.id])
    marked = repos.events.get(TENANT, a.id)
    assert marked.overlaps == [b.id] and marked.version == a.version + 1
    repos.events.mark(TENANT, a.id, b.id, False)
    assert repos.events.get(TENANT, a.id).overlaps == []
    with pytest.raises(BookingRaced):
        repos.events.create(event(ch, 3), marks=["evt_gone"])


def test_open_events_are_found_by_their_end_until_they_settle(repos):
    ch = channel(repos)
    done = event(ch, 1, state=EventState.COMPLETED)
    for e in (event(ch, 0), done, event(ch, 2), event(ch, 9)):
        repos.events.create(e)
    ended = [e.id for e in repos.events.unsettled(T0 + timedelta(hours=6))]
    assert sorted(ended) == ["evt_0000", "evt_0002"]


def test_schedules_count_on_their_channel_and_are_listed_per_channel(repos):
    ch = channel(repos)
    schedule = Schedule(
        id="sch_1",
        tenant_id=TENANT,
        created_at=T0,
        updated_at=T0,
        title="Weekly",
        channel_id=ch.id,
        start="2027-03-02T09:00:00",
        timezone="UTC",
        duration=3600,
        recurrence={"frequency": "weekly"},
    )
    repos.schedules.create(schedule, ch.booking_version)
    assert repos.channels.get(TENANT, ch.id).series_count == 1
    assert [s.id for s in repos.schedules.for_channel(TENANT, ch.id)] == ["sch_1"]
    with pytest.raises(StaleWrite):
        repos.schedules.replace(schedule.model_copy(update={"title": "x", "version": 2}), 7)
    repos.schedules.set_progress(schedule, T0 + timedelta(days=30), T0 + timedelta(days=1))
    assert [s.id for s in repos.schedules.due(T0 + timedelta(days=2))] == ["sch_1"]
    assert list(repos.schedules.due(T0)) == []
    repos.schedules.remove(repos.schedules.get(TENANT, "sch_1"))
    assert repos.channels.get(TENANT, ch.id).series_count == 0


def test_the_lock_lets_one_event_be_live_and_history_names_the_actor(repos):
    ch = channel(repos)
    a, b = event(ch, 1, state=EventState.READY), event(ch, 2, state=EventState.READY)
    repos.events.create(a)
    repos.events.create(b)
    live = a.model_copy(update={"state": EventState.LIVE, "version": 2})
    entry = Entry(TENANT, a.id, EventState.READY, EventState.LIVE, T0, Actor.agent("room1"), "capturing", 2)
    repos.locks.write(live, a, "take", entry)
    assert repos.locks.holder(TENANT, ch.id) == a.id
    with pytest.raises(ChannelBusy):
        repos.locks.write(b.model_copy(update={"state": EventState.LIVE, "version": 2}), b, "take")
    assert repos.events.get(TENANT, b.id).state == EventState.READY, "nothing of the refused write landed"
    (recorded,) = repos.history.list(TENANT, a.id)
    assert recorded.actor == Actor.agent("room1") and recorded.reason == "capturing"
    assert repos.locks.release(TENANT, ch.id, a.id) and repos.locks.holder(TENANT, ch.id) is None


def test_the_audit_trail_is_newest_first_and_per_resource(repos):
    for n in range(5):
        repos.audit.put(
            AuditEntry(
                f"aud_{n}",
                TENANT,
                T0 + timedelta(minutes=n),
                SYSTEM.to_json(),
                None,
                "event",
                f"evt_{n % 2}",
                "updated",
                {},
            ),
            T0 + timedelta(days=400),
        )
    items, cursor = repos.audit.list(TENANT, None, None, None, 3, None)
    assert [e.id for e in items] == ["aud_4", "aud_3", "aud_2"] and cursor is not None
    rest, end = repos.audit.list(TENANT, None, None, None, 3, cursor)
    assert [e.id for e in rest] == ["aud_1", "aud_0"] and end is None
    one, _ = repos.audit.list(TENANT, "evt_1", None, None, 10, None)
    assert [e.id for e in one] == ["aud_3", "aud_1"]
    window, _ = repos.audit.list(TENANT, None, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3), 10, None)
    assert [e.id for e in window] == ["aud_2", "aud_1"]
