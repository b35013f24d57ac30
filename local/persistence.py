"""The local stack's DynamoDB data on disk: a snapshot, and a journal of every write acknowledged since.

Layout of the data directory (`ONAIR_DATA_DIR`, default `.onair-data/`):

- `dynamodb.snapshot.json`: every table's definition and items, and `seq`, the last journal entry it
  contains. Written to a temporary file, fsync'd, then renamed over the old one (atomic on POSIX).
- `dynamodb.journal`: one JSON line per successful DynamoDB write call (PutItem, UpdateItem, DeleteItem,
  BatchWriteItem, TransactWriteItems and the table calls), numbered by `seq`. The emulator appends the
  line and fsyncs it *before* it answers the call, while it still holds the lock that runs DynamoDB
  calls one at a time, so the journal's order is the order the writes were applied in, and a write a
  client saw acknowledged survives a crash (SIGKILL, power loss).
- `lock`: held (flock) while a stack uses the directory, so two stacks never write one journal.
- `operator-key`: the generated operator key (mode 600), so it stays the same across restarts.

Start: load the snapshot, replay the journal entries after its `seq` in order (through the emulator's
own request handling, so a write replays exactly as it first ran; a torn last line, never acknowledged,
is dropped), then compact: write a new snapshot and start an empty journal. A clean stop compacts too,
and so does a journal grown past 64 MiB (the write that crosses it waits for the snapshot).
A crash between the snapshot's rename and the journal's reset is harmless: replay skips entries the
snapshot already holds (`seq`).

Why a journal and not periodic snapshots: a snapshot costs time proportional to the table, a journal
line the size of one write (plus an fsync, ~3 ms here), and only the journal makes "acknowledged means
kept" true at any moment.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("onair.local.persistence")

WRITE_OPERATIONS = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "CreateTable",
        "UpdateTable",
        "DeleteTable",
        "UpdateTimeToLive",
    }
)
JOURNAL_LIMIT = 64 * 2**20  # bytes of journal before it is folded into a new snapshot
SNAPSHOT = "dynamodb.snapshot.json"
JOURNAL = "dynamodb.journal"
FORMAT = 1

# `dispatch(account, region, operation, body)` runs one DynamoDB call in the emulator; returns the status.
Dispatch = Callable[[str, str, str, str], int]


class DataDirBusy(Exception):
    """Another stack holds the data directory."""


@dataclass
class Restored:
    """What a start found on disk."""

    tables: int = 0
    items: int = 0
    replayed: int = 0
    failed: int = 0
    last_seen: datetime | None = None  # when the data was last written (None: nothing on disk)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: a reader (or a restart after a crash) sees the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Journal:
    """Append-only, fsync'd lines; `append` returns once the line is on disk."""

    def __init__(self, path: Path, last_seq: int) -> None:
        self.path = path
        self.seq = last_seq
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._sync = getattr(os, "fdatasync", os.fsync)
        self.size = os.fstat(self._fd).st_size

    def append(self, account: str, region: str, operation: str, body: str) -> int:
        self.seq += 1
        line = {"seq": self.seq, "account": account, "region": region, "op": operation, "body": body}
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
        os.write(self._fd, data)
        self._sync(self._fd)
        self.size += len(data)
        return self.seq

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def journal_entries(path: Path, after: int) -> Iterator[dict[str, Any]]:
    """The journal's entries with `seq > after`, in order; stops at a torn (never acknowledged) last line."""
    if not path.exists():
        return
    with open(path, "rb") as f:
        for raw in f:
            try:
                entry = json.loads(raw)
            except ValueError:
                log.warning(
                    "ignored a torn last journal line (%d bytes): it was never acknowledged", len(raw)
                )
                return
            if entry["seq"] > after:
                yield entry


# -- moto's tables as plain data ---------------------------------------------------------------------------


def _backends() -> Iterator[tuple[str, str, Any]]:
    from moto.dynamodb.models import dynamodb_backends

    for account, regions in list(dynamodb_backends.items()):
        for region, backend in list(regions.items()):
            yield account, region, backend


def table_definition(table: Any) -> dict[str, Any]:
    """CreateTable arguments that rebuild `table` (keys, attributes, indexes, billing)."""
    described = table.describe()["TableDescription"]
    definition: dict[str, Any] = {
        "TableName": described["TableName"],
        "KeySchema": described["KeySchema"],
        "AttributeDefinitions": described["AttributeDefinitions"],
        "BillingMode": described.get("BillingModeSummary", {}).get("BillingMode", "PAY_PER_REQUEST"),
    }
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if described.get(kind):
            definition[kind] = [
                {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
                for i in described[kind]
            ]
    if definition["BillingMode"] == "PROVISIONED":
        throughput = described.get("ProvisionedThroughput", {})
        definition["ProvisionedThroughput"] = {
            "ReadCapacityUnits": throughput.get("ReadCapacityUnits", 5),
            "WriteCapacityUnits": throughput.get("WriteCapacityUnits", 5),
        }
    return definition


def dump() -> dict[str, Any]:
    """Every DynamoDB table of every account and region in the emulator, with its items."""
    from local.dynamodb_patch import table_items

    accounts: dict[str, Any] = {}
    for account, region, backend in _backends():
        for name, table in list(backend.tables.items()):
            accounts.setdefault(account, {}).setdefault(region, {})[name] = {
                "definition": table_definition(table),
                "ttl": table.ttl.get("AttributeName")
                if table.ttl.get("TimeToLiveStatus") == "ENABLED"
                else None,
                "items": [item.to_json()["Attributes"] for item in table_items(table)],
            }
    return accounts


def load(accounts: dict[str, Any], dispatch: Dispatch) -> tuple[int, int]:
    """Put a `dump()` back: missing tables are created (through `dispatch`), items put as they were."""
    from moto.dynamodb.models import dynamodb_backends

    tables = items = 0
    for account, regions in accounts.items():
        for region, by_name in regions.items():
            backend = dynamodb_backends[account][region]
            for name, saved in by_name.items():
                if name not in backend.tables:
                    dispatch(account, region, "CreateTable", json.dumps(saved["definition"]))
                    if saved.get("ttl"):
                        spec = {"AttributeName": saved["ttl"], "Enabled": True}
                        dispatch(
                            account,
                            region,
                            "UpdateTimeToLive",
                            json.dumps({"TableName": name, "TimeToLiveSpecification": spec}),
                        )
                table = backend.tables[name]
                for attrs in saved["items"]:
                    table.put_item(attrs)
                tables += 1
                items += len(saved["items"])
    return tables, items


# -- the directory ------------------------------------------------------------------------------------------


class DataDir:
    """One stack's data directory: lock, restore, compact, and the journal the emulator appends to."""

    def __init__(self, path: Path, journal_limit: int = JOURNAL_LIMIT) -> None:
        self.path = path
        self.journal_limit = journal_limit
        self.journal: Journal | None = None
        self._seq = 0  # the last write restored (before a journal is attached)
        self._lock_fd: int | None = None

    @property
    def snapshot_path(self) -> Path:
        return self.path / SNAPSHOT

    @property
    def journal_path(self) -> Path:
        return self.path / JOURNAL

    def lock(self) -> None:
        """Take the directory for this process; DataDirBusy if another stack has it."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirBusy(f"pid {holder}") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def clear(self) -> None:
        """Forget everything stored (start empty)."""
        for name in (SNAPSHOT, JOURNAL, SNAPSHOT + ".tmp"):
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()

    def operator_key(self) -> str:
        """The operator key kept here (made on first use), so restarts print the same one."""
        path = self.path / "operator-key"
        if path.exists():
            return path.read_text().strip()
        key = "onair_" + secrets.token_urlsafe(24)
        write_atomically(path, key.encode())
        path.chmod(0o600)
        return key

    def restore(self, dispatch: Dispatch) -> Restored:
        """Load the snapshot and replay the journal after it (before the journal is attached)."""
        found = Restored()
        written = [p.stat().st_mtime for p in (self.snapshot_path, self.journal_path) if p.exists()]
        if written:
            found.last_seen = datetime.fromtimestamp(max(written), UTC)
        if self.snapshot_path.exists():
            saved = json.loads(self.snapshot_path.read_bytes())
            self._seq = saved["seq"]
            found.tables, found.items = load(saved["accounts"], dispatch)
        for entry in journal_entries(self.journal_path, self._seq):
            status = dispatch(entry["account"], entry["region"], entry["op"], entry["body"])
            self._seq = entry["seq"]
            found.replayed += 1
            if status != 200:  # the same call answered 200 before: say so, and keep going
                found.failed += 1
                log.warning(
                    "journal entry %d (%s) replayed with status %d", entry["seq"], entry["op"], status
                )
        return found

    def append(self, account: str, region: str, operation: str, body: str) -> None:
        """Journal one acknowledged write (the emulator calls this, one call at a time); a journal grown
        past `journal_limit` is compacted at once, so replay after a crash stays short."""
        assert self.journal is not None
        self.journal.append(account, region, operation, body)
        if self.journal.size > self.journal_limit:
            self.compact()

    def compact(self) -> None:
        """Write a snapshot of everything now and start an empty journal (callers stop writes meanwhile)."""
        seq = self.journal.seq if self.journal else self._seq
        document = {
            "format": FORMAT,
            "seq": seq,
            "saved_at": datetime.now(UTC).isoformat(),
            "accounts": dump(),
        }
        write_atomically(self.snapshot_path, json.dumps(document, separators=(",", ":")).encode())
        if self.journal is not None:
            self.journal.close()
        write_atomically(self.journal_path, b"")
        self.journal = Journal(self.journal_path, seq)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
