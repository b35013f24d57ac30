from datetime import UTC, datetime, timedelta

from chalicelib.domain.ids import new_id


def test_ids_sort_by_creation_time_and_do_not_collide():
    t0 = datetime(2027, 1, 1, tzinfo=UTC)
    ids = [new_id("evt", t0 + timedelta(milliseconds=i)) for i in range(200)]
    assert ids == sorted(ids), "listing by id must be listing by creation time"
    assert len(set(new_id("evt", t0) for _ in range(1000))) == 1000
    assert all(i.startswith("evt_") and len(i) == 30 for i in ids)


def test_ids_made_in_the_same_millisecond_sort_in_the_order_they_were_made() -> None:
    """The audit entries of one change are read back newest first in this order (a frozen clock here)."""
    t0 = datetime(2027, 3, 1, 9, tzinfo=UTC)
    ids = [new_id("aud", t0) for _ in range(500)]
    assert ids == sorted(ids) and len(set(ids)) == 500
