"""The emulator's DynamoDB patch (local/dynamodb_patch.py): what a transaction copies, and Queries that read
only their partition yet answer exactly what moto's full walk answers."""

from __future__ import annotations

import gc
import random
import tracemalloc
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local import dynamodb_patch

TABLE = "onair-test-main"


@pytest.fixture
def db(aws: None) -> Any:
    from chalicelib.adapters import aws as clients

    return clients.client("dynamodb")


def S(value: str) -> dict[str, str]:
    return {"S": value}


def event(i: int, tenant: str = "t1", channel: str | None = None) -> dict[str, Any]:
    """An item shaped like an event: in the tenant's `by_start` and a channel's `channel_by_start`."""
    start = f"2030-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
    channel = channel or f"ch{i % 7}"
    return {
        "pk": S(f"T#{tenant}#EVENT"),
        "sk": S(f"evt_{i:06d}"),
        "g1pk": S(f"T#{tenant}#EV"),
        "g1sk": S(f"{start}#evt_{i:06d}"),
        "g2pk": S(f"T#{tenant}#CH#{channel}"),
        "g2sk": S(f"{start}#evt_{i:06d}"),
        "state": S("scheduled"),
        "title": S("x" * 200),
        "blob": {"B": bytes([i % 256, 0, 255])},
        "tags": {"SS": ["a", f"t{i % 3}"]},
        "meta": {"M": {"n": {"N": f"{i}.5"}, "l": {"L": [{"BOOL": True}, {"NULL": True}]}}},
    }


def seed(db: Any, count: int, tenants: int = 5) -> None:
    items = [event(i, f"t{i % tenants}") for i in range(count)]
    for at in range(0, len(items), 25):
        db.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": i}} for i in items[at : at + 25]]})


def failing_transaction(i: int) -> list[dict[str, Any]]:
    """Three writes, then a condition that fails: the whole transaction is cancelled."""
    return [
        {"Put": {"TableName": TABLE, "Item": event(900_000 + i)}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"pk": S("T#t1#EVENT"), "sk": S("evt_000001")},
                "UpdateExpression": "SET #s = :s, g2pk = :moved",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":s": S("live"), ":moved": S("T#t1#CH#elsewhere")},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": {"pk": S("T#t2#EVENT"), "sk": S("evt_000002")}}},
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": {"pk": S("T#t3#EVENT"), "sk": S("evt_000003")},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]


def peak_bytes_of_one_failed_transaction(db: Any, i: int) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(ClientError, match="TransactionCanceled"):
            db.transact_write_items(TransactItems=failing_transaction(i))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_transaction_copies_the_items_it_writes_not_the_table(db: Any) -> None:
    seed(db, 200)
    small = peak_bytes_of_one_failed_transaction(db, 1)
    seed(db, 3000)
    copied_before = dynamodb_patch.stats["items_copied"]
    large = peak_bytes_of_one_failed_transaction(db, 2)
    assert dynamodb_patch.stats["items_copied"] - copied_before == 3, "one before-image per written item"
    # moto's own method deep-copies the table once per item: ~3 x 3,000 items, tens of megabytes.
    assert large < 2 * small + 256 * 1024, f"peak {large} bytes at 3,000 items vs {small} at 200"


def touched_by_transaction_3(db: Any) -> dict[str, Any]:
    """The items `failing_transaction(3)` updates, deletes and puts, as they are now."""
    keys = {"updated": ("T#t1#EVENT", "evt_000001"), "deleted": ("T#t2#EVENT", "evt_000002")}
    keys["new"] = ("T#t1#EVENT", "evt_900003")
    return {
        name: db.get_item(TableName=TABLE, Key={"pk": S(pk), "sk": S(sk)}).get("Item")
        for name, (pk, sk) in keys.items()
    }


def test_a_cancelled_transaction_leaves_every_item_and_index_as_it_was(db: Any) -> None:
    seed(db, 50)
    before = touched_by_transaction_3(db)
    listed = query_gsi(db, "T#t1#CH#ch1")
    with pytest.raises(ClientError, match="TransactionCanceled"):
        db.transact_write_items(TransactItems=failing_transaction(3))
    after = touched_by_transaction_3(db)
    assert after == before, "the update, the delete and the put were all undone"
    assert before["new"] is None and before["updated"]["state"] == S("scheduled")
    assert query_gsi(db, "T#t1#CH#ch1") == listed, "the updated item is back in its index partition"
    assert query_gsi(db, "T#t1#CH#elsewhere") == [], "and not left in the one the update moved it to"


def test_a_transaction_that_succeeds_writes_everything_and_moves_index_entries(db: Any) -> None:
    seed(db, 20)
    ops = failing_transaction(4)[:3]
    db.transact_write_items(TransactItems=ops)
    moved = query_gsi(db, "T#t1#CH#elsewhere")
    assert [i["sk"]["S"] for i in moved] == ["evt_000001"]
    assert "Item" not in db.get_item(TableName=TABLE, Key={"pk": S("T#t2#EVENT"), "sk": S("evt_000002")})


def query_gsi(db: Any, partition: str, **extra: Any) -> list[dict[str, Any]]:
    return db.query(
        TableName=TABLE,
        IndexName="channel_by_start",
        KeyConditionExpression="g2pk = :p",
        ExpressionAttributeValues={":p": S(partition)},
        **extra,
    )["Items"]


QUERIES: list[tuple[str, dict[str, Any]]] = [
    (
        "a table partition",
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("T#t1#EVENT")}},
    ),
    (
        "a table partition, sort key range, backwards, limited",
        {
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":p": S("T#t2#EVENT"),
                ":a": S("evt_000010"),
                ":b": S("evt_000300"),
            },
            "ScanIndexForward": False,
            "Limit": 7,
        },
    ),
    (
        "an index partition with a start range and a filter",
        {
            "IndexName": "channel_by_start",
            "KeyConditionExpression": "g2pk = :p AND g2sk BETWEEN :a AND :b",
            "FilterExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {
                ":p": S("T#t3#CH#ch3"),
                ":a": S("2030-01-03"),
                ":b": S("2030-01-20"),
                ":s": S("live"),
            },
        },
    ),
    (
        "a tenant's index partition, first page",
        {
            "IndexName": "by_start",
            "KeyConditionExpression": "g1pk = :p AND g1sk > :a",
            "ExpressionAttributeValues": {":p": S("T#t4#EV"), ":a": S("2030-01-10")},
            "Limit": 10,
        },
    ),
    (
        "a partition nothing is in",
        {
            "IndexName": "by_start",
            "KeyConditionExpression": "g1pk = :p",
            "ExpressionAttributeValues": {":p": S("none")},
        },
    ),
]


@pytest.mark.parametrize(("case", "query"), QUERIES, ids=[c for c, _ in QUERIES])
def test_a_query_answers_what_the_full_walk_answers(db: Any, case: str, query: dict[str, Any]) -> None:
    seed(db, 400)
    rng = random.Random(7)
    for i in rng.sample(range(400), 60):  # some items change index partition or state in place
        db.update_item(
            TableName=TABLE,
            Key={"pk": event(i, f"t{i % 5}")["pk"], "sk": event(i)["sk"]},
            UpdateExpression="SET g2pk = :c, #s = :s",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":c": S(f"T#t{i % 5}#CH#ch{rng.randrange(7)}"), ":s": S("live")},
        )
    for i in rng.sample(range(400), 40):
        db.delete_item(TableName=TABLE, Key={"pk": event(i, f"t{i % 5}")["pk"], "sk": event(i)["sk"]})

    def pages() -> list[Any]:
        found, start = [], None
        while True:
            page = db.query(TableName=TABLE, **query, **({"ExclusiveStartKey": start} if start else {}))
            found.append((page["Items"], page["Count"], page["ScannedCount"]))
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    indexed = pages()
    with dynamodb_patch.moto_as_is():
        walked = pages()
    assert indexed == walked, case


def test_reads_and_writes_answer_what_moto_answers(db: Any) -> None:
    """Each call runs twice, answered once as the patch answers and once by moto's own serializer."""
    seed(db, 30)
    key = {"pk": S("T#t1#EVENT"), "sk": S("evt_000001")}
    other = {"pk": S("T#t2#EVENT"), "sk": S("evt_000002")}
    calls = [
        ("get_item", {"TableName": TABLE, "Key": key, "ReturnConsumedCapacity": "TOTAL"}),
        ("get_item", {"TableName": TABLE, "Key": {"pk": S("none"), "sk": S("none")}}),
        (
            "batch_get_item",
            {"RequestItems": {TABLE: {"Keys": [key, other]}}, "ReturnConsumedCapacity": "TOTAL"},
        ),
        ("scan", {"TableName": TABLE, "Limit": 5}),
        (
            "update_item",
            {
                "TableName": TABLE,
                "Key": key,
                "UpdateExpression": "SET #s = :s",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":s": S("ready")},
                "ReturnValues": "ALL_NEW",
            },
        ),
        ("put_item", {"TableName": TABLE, "Item": event(2, "t2"), "ReturnValues": "ALL_OLD"}),
        ("transact_write_items", {"TransactItems": [{"Put": {"TableName": TABLE, "Item": event(3, "t3")}}]}),
        ("batch_write_item", {"RequestItems": {TABLE: [{"PutRequest": {"Item": event(4, "t4")}}]}}),
    ]
    for operation, params in calls:
        patched = getattr(db, operation)(**params)
        with dynamodb_patch.moto_as_is():
            moto_own = getattr(db, operation)(**params)
        patched.pop("ResponseMetadata")
        moto_own.pop("ResponseMetadata")
        assert patched == moto_own, operation


def live_items() -> int:
    from moto.dynamodb.models.dynamo_type import Item

    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Item)


def test_what_a_request_copies_is_freed_when_it_is_answered(db: Any) -> None:
    seed(db, 300)
    before = live_items()
    for i in range(30):
        query_gsi(db, f"T#t{i % 5}#CH#ch{i % 7}")
        with pytest.raises(ClientError, match="TransactionCanceled"):
            db.transact_write_items(TransactItems=failing_transaction(100 + i))
        db.get_item(TableName=TABLE, Key={"pk": S("T#t1#EVENT"), "sk": S("evt_000001")})
    # moto kept every model object it created (its dashboard's list): each Query's copies of its
    # results and each transaction's copies of the table stayed in memory for good.
    assert live_items() == before, "only the items in the table are alive"
