"""Sustained load on the real local stack: does it stay fast and small, and start events on time?

`python -m local` as `make run` runs it (data kept in a data directory, every write journalled and
fsync'd), a 10,000-event table, then 16 clients in a closed loop (each sends its next request when the
last one answered) for N minutes, with this mix:

| share | request |
|---|---|
| 30 % | GET /v1/events/{id} (a seeded event) |
| 25 % | GET /v1/events?channel_id=&from=&to= (one day of a seeded channel) |
| 8 % | GET /v1/events?from=&to= (one day of the whole tenant, 10,000 events in its index) |
| 13 % | POST /v1/events (8 days or more ahead: a run marker, no run) |
| 12 % | PATCH /v1/events/{id} (one the client created) |
| 12 % | DELETE /v1/events/{id}?hard=true (one the client created: the table stays near 10,000) |

Beside it, every 10 s an automated event is booked to start 6 s later on a channel of its own (no
provisioning lead: provision, provisioned and start all run at its start); when it went live comes from
its `Event State Changed` notification (EventBridge → SQS on the emulator, stamped when it was put).
Measured: requests/s, the stack's CPU per request, latency percentiles, the stack's resident memory (RSS)
after seeding and at the end (sampled every 10 s), and the worst start lateness.
"""

from __future__ import annotations

import http.client
import json
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Figure

KEY = "onair_bench-load-key-0123456789abcdef"
CLIENTS = 16
TABLE_EVENTS = 10_000
SEEDED_CHANNELS = 20
MIX = (("get", 30), ("list_channel", 25), ("list_tenant", 8), ("create", 13), ("patch", 12), ("delete", 12))
GOALS = {"growth_mb": 100, "p95_ms": 500, "late_s": 1.0}


def instant(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Client:
    """One kept-alive HTTP/1.1 connection to the stack (as a real client pool would hold)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {KEY}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


@dataclass
class Record:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1


def seed(url: str, emulator: str, events: int) -> dict[str, Any]:
    """Channels through the API, then `events` events written straight into the table (as bench/dynamo)."""
    import boto3

    from bench.dynamo import event_items
    from chalicelib.adapters.dynamo import serialize

    call = Client(url)
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=10)
    channels = [
        call("POST", "/v1/channels", {"name": f"Seeded {n}"})[1]["id"] for n in range(SEEDED_CHANNELS)
    ]
    for channel in channels:  # one API booking each: it records the channel's longest event
        body = {
            "title": "Longest",
            "channel_id": channel,
            "start": instant(first - timedelta(days=1)),
            "duration": 5400,
        }
        assert call("POST", "/v1/events", body)[0] == 201
    client = boto3.client(
        "dynamodb",
        endpoint_url=emulator,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    table = next(t for t in client.list_tables()["TableNames"] if t.endswith("-main"))
    per_channel = events // SEEDED_CHANNELS
    ids: list[str] = []
    for channel in channels:
        items = list(
            event_items("default", channel, first, per_channel, timedelta(hours=3), timedelta(minutes=90))
        )
        ids += [item["sk"] for item in items]
        for at in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": serialize(i)}} for i in items[at : at + 25]]
            client.batch_write_item(RequestItems={table: batch})
    return {"channels": channels, "ids": ids, "first": first, "days": per_channel * 3 // 24}


def worker(n: int, url: str, seeded: dict[str, Any], record: Record, stop: threading.Event) -> None:
    rng = random.Random(n)
    call = Client(url)
    own_channel = call("POST", "/v1/channels", {"name": f"Client {n}"})[1]["id"]
    slot = 0
    mine: list[str] = []
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    while not stop.is_set():
        kind = rng.choices(kinds, weights)[0]
        if kind in ("patch", "delete") and not mine:
            kind = "create"
        day = seeded["first"] + timedelta(days=rng.randrange(seeded["days"]))
        window = f"from={instant(day)}&to={instant(day + timedelta(days=1))}"
        if kind == "get":
            request = ("GET", f"/v1/events/{rng.choice(seeded['ids'])}", None)
        elif kind == "list_channel":
            request = ("GET", f"/v1/events?channel_id={rng.choice(seeded['channels'])}&{window}", None)
        elif kind == "list_tenant":
            request = ("GET", f"/v1/events?{window}&limit=50", None)
        elif kind == "create":
            slot += 1
            start = seeded["first"] - timedelta(days=2) + timedelta(hours=slot)
            body = {
                "title": f"Load {n}.{slot}",
                "channel_id": own_channel,
                "start": instant(start),
                "duration": 1800,
            }
            request = ("POST", "/v1/events", body)
        elif kind == "patch":
            request = ("PATCH", f"/v1/events/{rng.choice(mine)}", {"title": f"Patched {rng.random():.6f}"})
        else:
            request = ("DELETE", f"/v1/events/{mine.pop(rng.randrange(len(mine)))}?hard=true", None)
        t = time.perf_counter()
        try:
            status, body = call(*request)
        except Exception as error:  # a dropped connection or a timeout is a failed request
            record.errors.append(f"{kind}: {type(error).__name__}: {error}")
            continue
        record.add(kind, time.perf_counter() - t, status)
        if kind == "create" and status == 201:
            mine.append(body["id"])
        if status >= 500 or status in (400, 404, 409, 412, 422):
            record.errors.append(f"{kind} {request[1]}: {status} {str(body)[:200]}")


def lifecycle_watch(url: str, stop: threading.Event, starts: dict[str, float], every: float = 10.0) -> None:
    """Every `every` seconds, an automated event that starts 6 s later (its start recorded in `starts`)."""
    call = Client(url)
    channel = call("POST", "/v1/channels", {"name": "On time", "teardown_delay_seconds": 1})[1]["id"]
    while not stop.is_set():
        start = int(time.time()) + 6
        at = instant(datetime.fromtimestamp(start, UTC))
        status, event = call(
            "POST", "/v1/events", {"title": "Auto", "channel_id": channel, "start": at, "duration": 2}
        )
        if status == 201:
            starts[event["id"]] = start
        stop.wait(every)


class LiveNotifications:
    """When each event went live, from its `Event State Changed` notification (an EventBridge rule on the
    stack's bus sends them to an SQS queue on the emulator, which stamps each, to the millisecond, as it is
    put)."""

    def __init__(self, emulator: str) -> None:
        import boto3

        aws = {"endpoint_url": emulator, "region_name": "us-east-1"}
        aws |= {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
        self.sqs, events = boto3.client("sqs", **aws), boto3.client("events", **aws)
        self.queue = self.sqs.create_queue(QueueName="onair-bench-live")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]
        pattern = {"source": ["onair"], "detail-type": ["Event State Changed"], "detail": {"to": ["live"]}}
        events.put_rule(Name="onair-bench-live", EventBusName="onair-local", EventPattern=json.dumps(pattern))
        target = {"Id": "queue", "Arn": arn["QueueArn"]}
        events.put_targets(Rule="onair-bench-live", EventBusName="onair-local", Targets=[target])

    def went_live(self) -> dict[str, float]:
        """Event id → epoch seconds it went live, for every notification queued so far."""
        found: dict[str, float] = {}
        receive = {"QueueUrl": self.queue, "MaxNumberOfMessages": 10, "AttributeNames": ["SentTimestamp"]}
        while messages := self.sqs.receive_message(**receive).get("Messages"):
            for message in messages:
                body = json.loads(message["Body"])
                found[body["detail"]["id"]] = int(message["Attributes"]["SentTimestamp"]) / 1000
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return found


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def sustained_load(minutes: float, clients: int = CLIENTS, events: int = TABLE_EVENTS) -> Figure:
    """The figure: `clients` closed-loop clients for `minutes` on a table of `events` events."""
    from local import process as local_process

    with tempfile.TemporaryDirectory(prefix="onair-bench-") as data:
        stack = local_process.start(KEY, env={"ONAIR_DATA_DIR": data, "ONAIR_TICK_SECONDS": "10"})
        try:
            seeded = seed(stack.url, stack.emulator_url, events)
            live = LiveNotifications(stack.emulator_url)
            record, starts, rss = Record(), {}, [(0.0, stack.rss_bytes())]
            stop = threading.Event()
            threads = [
                threading.Thread(target=worker, args=(n, stack.url, seeded, record, stop), daemon=True)
                for n in range(clients)
            ]
            threads.append(
                threading.Thread(target=lifecycle_watch, args=(stack.url, stop, starts), daemon=True)
            )
            started, cpu_start = time.monotonic(), stack.cpu_seconds()
            for thread in threads:
                thread.start()
            while time.monotonic() - started < minutes * 60:
                time.sleep(min(10.0, max(0.0, minutes * 60 - (time.monotonic() - started))))
                rss.append((round(time.monotonic() - started, 1), stack.rss_bytes()))
            stop.set()
            for thread in threads:
                thread.join(70)
            took = time.monotonic() - started
            cpu = stack.cpu_seconds() - cpu_start
            time.sleep(max(0.0, max(starts.values(), default=0) + 5 - time.time()))  # the last ones start
            went_live = live.went_live()
            lateness = [went_live.get(event, float("inf")) - start for event, start in starts.items()]
            exit_code = stack.terminate()
        finally:
            if stack.process.poll() is None:
                stack.kill()
    every = [s for values in record.latencies.values() for s in values]
    cpu_ms = cpu * 1000 / max(1, len(every))
    p95 = percentile(every, 95)
    growth = (rss[-1][1] - rss[0][1]) / 2**20
    late = max(lateness) if lateness else float("inf")
    holds = (
        growth < GOALS["growth_mb"]
        and p95 * 1000 < GOALS["p95_ms"]
        and late <= GOALS["late_s"]
        and not record.errors
        and exit_code == 0
    )
    rss_mb = (rss[0][1] / 2**20, rss[-1][1] / 2**20)
    median_ms = statistics.median(every) * 1000
    return Figure(
        f"sustained load, local stack ({minutes:g} min)",
        f"{clients} closed-loop clients, {events:,}-event table, every write journalled",
        f"{len(every) / took:.0f} req/s ({cpu_ms:.0f} ms CPU each); p95 {p95 * 1000:.0f} ms "
        f"(median {median_ms:.0f}); RSS {rss_mb[0]:.0f} → {rss_mb[1]:.0f} MB; "
        f"{len(lateness)} auto starts, worst {late:+.2f} s late; {len(record.errors)} errors",
        f"growth < {GOALS['growth_mb']} MB, p95 < {GOALS['p95_ms']} ms, starts ≤ {GOALS['late_s']:g} s late",
        holds,
        p95 * 1000 / GOALS["p95_ms"],
        {
            "requests": len(every),
            "seconds": round(took, 1),
            "stack_cpu_s": round(cpu, 1),
            "by_kind": {
                k: {"count": len(v), "p50_ms": percentile(v, 50) * 1000, "p95_ms": percentile(v, 95) * 1000}
                for k, v in record.latencies.items()
            },
            "statuses": record.statuses,
            "errors": record.errors[:20],
            "rss_mb": [(t, round(b / 2**20, 1)) for t, b in rss],
            "lateness_s": lateness,
            "exit_code": exit_code,
        },
    )


def main() -> int:
    import sys

    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    figure = sustained_load(minutes)
    print(
        json.dumps(
            {"measured": figure.measured, "holds": figure.holds, "details": figure.details}, default=str
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
