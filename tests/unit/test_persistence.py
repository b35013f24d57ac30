"""The local stack's data directory (local/persistence.py): journal, snapshot, replay order, the lock."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from local.persistence import DataDir, DataDirBusy, Journal, journal_entries, write_atomically


class Recorder:
    """A stand-in for the emulator: records the calls replayed into it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, account: str, region: str, operation: str, body: str) -> int:
        self.calls.append((operation, json.loads(body)))
        return 200


def journal_with(path: Path, count: int, after: int = 0) -> None:
    journal = Journal(path, after)
    for n in range(count):
        journal.append("123456789012", "us-east-1", "PutItem", json.dumps({"n": after + n + 1}))
    journal.close()


def test_entries_come_back_in_order_with_their_numbers(tmp_path: Path) -> None:
    journal_with(tmp_path / "j", 3)
    assert [(e["seq"], json.loads(e["body"])["n"]) for e in journal_entries(tmp_path / "j", 0)] == [
        (1, 1),
        (2, 2),
        (3, 3),
    ]
    assert [e["seq"] for e in journal_entries(tmp_path / "j", 2)] == [3], (
        "entries a snapshot holds are skipped"
    )


def test_a_torn_last_line_was_never_acknowledged_and_is_dropped(tmp_path: Path) -> None:
    journal_with(tmp_path / "j", 2)
    with open(tmp_path / "j", "ab") as f:
        f.write(b'{"seq":3,"account":"1234')  # the process died in the middle of this write
    assert [e["seq"] for e in journal_entries(tmp_path / "j", 0)] == [1, 2]


def test_restore_replays_only_what_the_snapshot_lacks(tmp_path: Path) -> None:
    # A crash after the snapshot (seq 2) was renamed into place but before the journal was reset.
    data = DataDir(tmp_path)
    write_atomically(data.snapshot_path, json.dumps({"format": 1, "seq": 2, "accounts": {}}).encode())
    journal_with(data.journal_path, 4)
    replayed = Recorder()
    found = data.restore(replayed)
    assert [body["n"] for _, body in replayed.calls] == [3, 4]
    assert (found.replayed, found.failed) == (2, 0)
    assert found.last_seen is not None


def test_compact_writes_a_snapshot_and_starts_an_empty_journal_that_continues_the_numbering(
    tmp_path: Path,
) -> None:
    data = DataDir(tmp_path)
    journal_with(data.journal_path, 3)
    data.restore(Recorder())
    data.compact()
    assert json.loads(data.snapshot_path.read_bytes())["seq"] == 3
    assert data.journal_path.read_bytes() == b""
    assert data.journal is not None
    assert data.journal.append("123456789012", "us-east-1", "DeleteItem", "{}") == 4
    assert not list(tmp_path.glob("*.tmp")), "no temporary file is left behind"
    data.close()


def test_two_stacks_cannot_share_a_data_directory(tmp_path: Path) -> None:
    first = DataDir(tmp_path)
    first.lock()
    with pytest.raises(DataDirBusy):
        DataDir(tmp_path).lock()
    first.close()
    second = DataDir(tmp_path)
    second.lock()  # free again once the first let go
    second.close()


def test_the_generated_operator_key_is_kept_private_and_stable(tmp_path: Path) -> None:
    key = DataDir(tmp_path).operator_key()
    assert DataDir(tmp_path).operator_key() == key
    assert stat.S_IMODE((tmp_path / "operator-key").stat().st_mode) == 0o600


def test_clear_forgets_the_data_but_keeps_the_key(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    key = data.operator_key()
    journal_with(data.journal_path, 2)
    data.clear()
    assert data.restore(Recorder()).last_seen is None
    assert data.operator_key() == key


def test_a_journal_past_its_limit_is_folded_into_a_snapshot(tmp_path: Path) -> None:
    data = DataDir(tmp_path, journal_limit=700)  # lines of ~300 bytes: the third crosses it
    data.restore(Recorder())
    data.compact()
    for n in range(4):
        data.append("123456789012", "us-east-1", "PutItem", json.dumps({"n": n, "pad": "x" * 200}))
    assert json.loads(data.snapshot_path.read_bytes())["seq"] == 3, "the write that crossed the limit"
    assert [e["seq"] for e in journal_entries(data.journal_path, 0)] == [4]
    data.close()
