"""The emulator's DynamoDB at the cost of what a request touches, not of the table (local and tests only).

Why. In moto 5.2.5 two operations cost time in proportion to the whole table, so a timetable import that
books thousands of events slows down with every one it books (a 440-event import took 200 s):

1. `DynamoDBBackend.transact_write_items` (`moto/dynamodb/models/__init__.py`) backs up the whole table
   with `copy.deepcopy` before *each item* of a transaction, to put it back if an item fails;
2. `Table.query` (`moto/dynamodb/models/table.py`) walks every item of the table to find one partition,
   comparing keys with `DynamoType.__eq__` (slow), for the table and for indexes alike.

What this changes. (1) The deep copy of the table becomes the table itself; instead the items the
transaction touches are backed up as it reads them (it reads each item it writes, once, before writing
it: `current = self.get_item(...)`) and put back if it fails. (2) A Query sees only the items of its
partition (the table's: a dict lookup; an index's: a plain comparison of the raw key values), then runs
moto's own code on them. The answers are moto's own as long as nothing else touches the table during
a request, which `local.emulator.isolate_dynamodb` guarantees (DynamoDB isolates transactions too).
Nothing of this exists in AWS. Pinned to moto 5.2.5 (it wraps private methods), like the Lambda bridge.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import moto

MOTO_VERSION = "5.2.5"

_local = threading.local()
_installed = False
_lock = threading.Lock()


def install() -> None:
    """Patch moto's DynamoDB backend once; idempotent."""
    global _installed
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"local/moto_speed.py patches moto {MOTO_VERSION} internals; found {moto.__version__}"
        )
    with _lock:
        if _installed:
            return
        transact, get_item, query = (
            DynamoDBBackend.transact_write_items,
            DynamoDBBackend.get_item,
            Table.query,
        )

        def table_deepcopy(self: Table, memo: dict[int, Any]) -> Table:
            if getattr(_local, "undo", None) is not None:
                return self  # inside a transaction: its items are backed up instead
            clone = Table.__new__(Table)
            memo[id(self)] = clone
            for name, value in self.__dict__.items():
                setattr(clone, name, copy.deepcopy(value, memo))
            return clone

        def recording_get_item(
            self: DynamoDBBackend, table_name: str, keys: dict[str, Any], *args: Any
        ) -> Any:
            item = get_item(self, table_name, keys, *args)
            undo = getattr(_local, "undo", None)
            if undo is not None:
                undo.append((table_name, dict(keys), copy.deepcopy(item)))
            return item

        def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
            _local.undo = undo = []
            try:
                transact(self, transact_items)
            except BaseException:
                for table_name, keys, before in reversed(undo):
                    _put_back(self, table_name, keys, before)
                raise
            finally:
                _local.undo = None

        def partition_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
            index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
            conditions = kwargs.get("hash_key_conditions")
            if (
                not self.has_range_key
                or (index_name is None and hash_key is None)
                or (index_name and not conditions)
            ):
                return query(self, hash_key, *args, **kwargs)
            full = self.items
            if index_name is None:
                subset = {hash_key: full[hash_key]} if hash_key in full else {}
            else:
                subset = {}
                for partition, items in full.items():
                    kept = {r: item for r, item in items.items() if _matches(item, conditions)}
                    if kept:
                        subset[partition] = kept
            self.items = subset
            try:
                return query(self, hash_key, *args, **kwargs)
            finally:
                self.items = full

        Table.query = partition_query  # type: ignore[method-assign]
        Table.__deepcopy__ = table_deepcopy  # type: ignore[attr-defined]
        DynamoDBBackend.get_item = recording_get_item  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _installed = True


def _matches(item: Any, conditions: list[tuple[str, Any]]) -> bool:
    """Whether an item has each index key attribute with exactly the value asked for (raw comparison)."""
    for name, wanted in conditions:
        found = item.attrs.get(name)
        if found is None or found.type != wanted.type or found.value != wanted.value:
            return False
    return True


def _put_back(backend: Any, table_name: str, keys: dict[str, Any], before: Any) -> None:
    """Restore one item to what it was before the transaction (absent when `before` is None)."""
    table = backend.get_table(table_name)
    hash_key, range_key = backend.get_keys_value(table, keys)
    if before is None:
        table.delete_item(hash_key, range_key)
    elif range_key is not None:
        table.items[hash_key][range_key] = before
    else:
        table.items[hash_key] = before
