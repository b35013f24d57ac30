"""A request's pending check on `Table`: it rides along with the first GetItem and gates everything else."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from chalicelib.adapters.dynamo import Table, deserialize, serialize

KEY_ITEM = {"pk": "KEY#abc", "sk": "#", "key_id": "key_1"}
EVENT_ITEM = {"pk": "T#default#EVENT", "sk": "evt_1", "title": "Talk"}


class Refused(Exception):
    pass


class FakeClient:
    """Records each call; serves items from `stored`; BatchGetItem may leave keys unprocessed once."""

    def __init__(self, *items: dict[str, Any], unprocessed_once: bool = False) -> None:
        self.stored = {(i["pk"], i["sk"]): serialize(i) for i in items}
        self.calls: list[str] = []
        self.unprocessed_once = unprocessed_once
        self.fail_next_get = False

    def _item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        plain = deserialize(key)
        return self.stored.get((plain["pk"], plain["sk"]))

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("GetItem")
        if self.fail_next_get:
            self.fail_next_get = False
            raise ConnectionError("the network blinked")
        item = self._item(kwargs["Key"])
        return {"Item": item} if item else {}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("BatchGetItem")
        ((table, request),) = RequestItems.items()
        assert request["ConsistentRead"] is True, "the key check must be strongly consistent"
        keys = request["Keys"]
        if self.unprocessed_once and len(keys) > 1:
            self.unprocessed_once = False
            served, left = keys[:1], keys[1:]
        else:
            served, left = keys, []
        found = [item for item in (self._item(k) for k in served) if item]
        out: dict[str, Any] = {"Responses": {table: found}}
        if left:
            out["UnprocessedKeys"] = {table: {"Keys": left}}
        return out

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("PutItem")
        return {}

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("Query")
        return {"Items": [], "ScannedCount": 0}


def table_with(client: FakeClient) -> Table:
    return Table("onair-test", lambda: client)


def require_key(item: dict[str, Any] | None) -> None:
    if item is None:
        raise Refused()


@pytest.fixture(autouse=True)
def no_pending_check_leaks() -> Any:
    yield
    with contextlib.suppress(Refused):
        Table("onair-test", lambda: None).settle()  # forget whatever a test left pending


def test_the_first_get_carries_the_check_in_one_round_trip() -> None:
    client = FakeClient(KEY_ITEM, EVENT_ITEM)
    table = table_with(client)
    table.check_with_next_read("KEY#abc", "#", require_key)
    assert table.get("T#default#EVENT", "evt_1") == EVENT_ITEM
    assert table.get("T#default#EVENT", "evt_2") is None
    table.settle()
    assert client.calls == ["BatchGetItem", "GetItem"], "checked once, in the first read; settle adds nothing"


def test_a_failed_check_refuses_the_read_and_every_later_operation() -> None:
    client = FakeClient(EVENT_ITEM)  # the key's item is gone: revoked
    table = table_with(client)
    table.check_with_next_read("KEY#abc", "#", require_key)
    with pytest.raises(Refused):
        table.get("T#default#EVENT", "evt_1")
    with pytest.raises(Refused):
        table.put({"pk": "T#default#EVENT", "sk": "evt_9"})
    with pytest.raises(Refused):
        table.settle()
    assert client.calls == ["BatchGetItem"], "nothing was written"
    table.put({"pk": "T#default#EVENT", "sk": "evt_9"})
    assert client.calls[-1] == "PutItem", "settle forgets the check: the next request starts clean"


@pytest.mark.parametrize(
    ("first", "calls"),
    [
        (lambda t: t.query("pk = :pk", {":pk": "x"}), ["GetItem", "Query"]),
        (lambda t: t.put({"pk": "x", "sk": "y"}), ["GetItem", "PutItem"]),
        (lambda t: None, ["GetItem"]),
    ],
    ids=["a Query first", "a write first", "nothing read"],
)
def test_without_a_get_first_the_check_is_its_own_read_before_anything_else(
    first: Any, calls: list[str]
) -> None:
    client = FakeClient(KEY_ITEM)
    table = table_with(client)
    table.check_with_next_read("KEY#abc", "#", require_key)
    first(table)
    table.settle()
    assert client.calls == calls


def test_a_write_after_a_revoked_check_never_reaches_dynamodb() -> None:
    client = FakeClient()
    table = table_with(client)
    table.check_with_next_read("KEY#abc", "#", require_key)
    with pytest.raises(Refused):
        table.put({"pk": "x", "sk": "y"})
    assert client.calls == ["GetItem"]


def test_unprocessed_keys_are_read_again() -> None:
    client = FakeClient(KEY_ITEM, EVENT_ITEM, unprocessed_once=True)
    table = table_with(client)
    table.check_with_next_read("KEY#abc", "#", require_key)
    assert table.get("T#default#EVENT", "evt_1") == EVENT_ITEM
    assert client.calls == ["BatchGetItem", "BatchGetItem"]


def test_a_check_whose_read_failed_is_still_pending() -> None:
    client = FakeClient()
    table = table_with(client)
    table.check_with_next_read("KEY#abc", "#", require_key)
    client.fail_next_get = True
    with pytest.raises(ConnectionError):
        table.put({"pk": "x", "sk": "y"})
    with pytest.raises(Refused):
        table.settle()  # read again, and the key is not there
    assert "PutItem" not in client.calls
