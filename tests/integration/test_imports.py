"""Timetable imports on a generated semester (moto): plan, apply, re-apply, change, drop, drift, races.

One module-wide stack holds the semester; each test starts from it as first applied (`semester` puts it
back after a test that changed it), so the tests can run in any order.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.semester import Semester, semester
from tests.conftest import Api, Clock
from tests.integration.moto_app import app_on_moto

pytestmark = pytest.mark.timeout(900)

SERIES_COURSES, SESSION_COURSES, ROOMS = 200, 10, 40
SOURCE = "syllabus"
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
# Partitions an import's own bookkeeping lives in (the import, its results, the ledger, the source lock).
BOOKKEEPING = ("#IMPORT", "#IMPRES#", "#IMPSRC#", "#IMPLOCK", "#IDEM")


class Writes:
    """Every DynamoDB write item, by partition (botocore hook on the shared client)."""

    def __init__(self, client: Any) -> None:
        self.items: list[tuple[str, str]] = []
        self.on = False
        client.meta.events.register("provide-client-params.dynamodb", self._params)

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.on or model.name not in WRITES:
            return
        if model.name == "TransactWriteItems":
            bodies = [next(iter(item.values())) for item in params["TransactItems"]]
        elif model.name == "BatchWriteItem":
            bodies = [next(iter(r.values())) for rs in params["RequestItems"].values() for r in rs]
        else:
            bodies = [params]
        for body in bodies:
            key = body.get("Item") or body.get("Key") or {}
            self.items.append((model.name, str(key.get("pk", {}).get("S", ""))))

    @contextmanager
    def counted(self) -> Iterator[Writes]:
        self.items, self.on = [], True
        try:
            yield self
        finally:
            self.on = False

    @property
    def bookings(self) -> list[tuple[str, str]]:
        """Writes to bookings and what keeps them (events, series, channels, guards, history)."""
        return [(op, pk) for op, pk in self.items if not any(mark in pk for mark in BOOKKEEPING)]


class Notifications:
    """What the app puts on its EventBridge bus, read from an SQS queue subscribed to every onair event."""

    def __init__(self, bus_name: str) -> None:
        from chalicelib.adapters import aws

        self.sqs, events = aws.client("sqs"), aws.client("events")
        self.url = self.sqs.create_queue(QueueName="notifications")["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        events.put_rule(Name="all", EventBusName=bus_name, EventPattern=json.dumps({"source": ["onair"]}))
        events.put_targets(
            Rule="all",
            EventBusName=bus_name,
            Targets=[{"Id": "q", "Arn": attributes["Attributes"]["QueueArn"]}],
        )

    def drain(self) -> list[dict[str, Any]]:
        found = []
        while batch := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                body = json.loads(message["Body"])
                found.append({"detail-type": body["detail-type"], **body["detail"]})
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return found


@dataclass
class Env:
    api: Api
    services: Any
    clock: Clock
    rooms: dict[str, str]
    term: Semester
    writes: Writes
    notifications: Notifications
    first: dict[str, dict[str, Any]] | None = None  # the first import's row results, by external_id

    def audit(self, resource_id: str) -> list[dict[str, Any]]:
        """The audit trail of one booking, oldest first."""
        found = self.api.get(f"/v1/audit?resource_id={resource_id}&limit=100")
        assert found.status_code == 200, found.data
        return list(reversed(found.data["items"]))

    def rows(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.term.rows]

    def run(self, rows: list[dict[str, Any]] | str, fmt: str = "json", **body: Any) -> dict[str, Any]:
        """Import `rows` of the source (in-process, the job runs inside the request); the import, with all
        its row results."""
        response = self.api.post("/v1/imports", {"source": SOURCE, "format": fmt, "content": rows, **body})
        assert response.status_code == 202, response.data
        return self.fetch(response.data["id"])

    def fetch(self, import_id: str) -> dict[str, Any]:
        found = self.api.get(f"/v1/imports/{import_id}?limit=500")
        assert found.status_code == 200, found.data
        record, cursor = found.data, found.data["next_cursor"]
        while cursor:
            page = self.api.get(f"/v1/imports/{import_id}?limit=500&cursor={cursor}").data
            record["results"] += page["results"]
            cursor = page["next_cursor"]
        return record


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    clock = Clock(datetime(2027, 3, 1, 8, tzinfo=UTC))
    with app_on_moto(clock) as (api, services):
        term = semester(SERIES_COURSES, ROOMS, series=True)
        sessions = semester(SERIES_COURSES + SESSION_COURSES, ROOMS, series=False)
        # The first courses as weekly series rows, the last ones session by session.
        term.rows += [r for r in sessions.rows if int(r["external_id"][1:5]) >= SERIES_COURSES]
        term.sessions = sessions.sessions
        rooms = {}
        for room in term.rooms:
            made = api.post("/v1/channels", room)
            assert made.status_code == 201, made.data
            rooms[room["name"]] = made.data["id"]
        assert api.post("/v1/calendars", term.calendar).status_code == 201
        from chalicelib.adapters import aws

        notifications = Notifications(services.settings.bus_name)
        found = Env(api, services, clock, rooms, term, Writes(aws.client("dynamodb")), notifications)
        first = found.run(found.rows())
        assert first["status"] == "applied" and first["counts"]["error"] == 0, first["counts"]
        found.first = by_id(first)
        yield found


@pytest.fixture
def semester_env(env: Env) -> Iterator[Env]:
    """The semester as first applied; put back after the test (with overwrite, so local edits go too)."""
    yield env
    again = env.run(env.rows(), overwrite_local_edits=True)
    assert again["counts"]["error"] == 0, [r for r in again["results"] if r["action"] == "error"][:3]


def counts(record: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in record["counts"].items() if v}


def by_id(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["external_id"]: r for r in record["results"]}


ROWS = SERIES_COURSES + SESSION_COURSES * 11


def test_a_dry_run_plans_the_semester_and_books_nothing(env: Env) -> None:
    fresh = env.rows()
    for row in fresh:  # the same semester under other keys: every row is new
        row["external_id"] = "new-" + row["external_id"]
    body = {"source": "dry", "format": "json", "content": fresh, "dry_run": True}
    with env.writes.counted() as writes:
        response = env.api.post("/v1/imports", body)
    record = env.fetch(response.data["id"])
    assert record["status"] == "planned" and record["dry_run"] is True
    assert counts(record)["create"] == ROWS == len(fresh), "one create per row of the fixture"
    assert writes.bookings == [], "a dry run writes no booking"
    # ...and every row overlaps the semester already booked (same rooms, same times), with a suggestion.
    assert counts(record)["conflict"] == ROWS
    first = record["results"][0]
    assert first["conflicts"][0]["title"] == "Course 0000" and first["suggestion"] is not None


def test_the_semester_is_booked_in_teaching_weeks_and_local_time(env: Env) -> None:
    assert env.first is not None
    assert Counter(r["action"] for r in env.first.values()) == {"create": ROWS}
    results = env.first
    # Course 0001 is a series in Room 1 (New York), Mondays 09:00 local: 13:00Z under EDT.
    series = env.api.get(
        f"/v1/schedules/{results['C0001']['schedule_id']}/occurrences?from=2027-04-01T00:00:00Z"
    )
    starts = [o["occurrence_start"] for o in series.data["items"]]
    assert len(starts) == 11 and starts[0] == "2027-04-05T13:00:00Z", "12 weeks less the reading week"
    assert "2027-05-10T13:00:00Z" not in starts, "week 6 is the reading week"
    # Course 0200 is taught session by session: Room 0 (London), Mondays 10:00 local: 09:00Z under BST.
    event = env.api.get(f"/v1/events/{results['C0200-W01']['event_id']}").data
    assert (event["start"], event["external_id"]) == ("2027-04-05T09:00:00Z", f"{SOURCE}:C0200-W01")


def test_applying_the_same_timetable_again_writes_no_booking(env: Env) -> None:
    for fmt, content in (("json", env.rows()), ("csv", env.term.csv()), ("ics", env.term.ics())):
        with env.writes.counted() as writes:
            record = env.run(content, fmt)
        assert counts(record) == {"unchanged": ROWS}, fmt
        assert writes.bookings == [], f"{fmt}: nothing is written to a booking"
        # What is written is the import's own record: itself, its pages of results and the source lock.
        assert len(writes.items) <= 12 + ROWS // 100, Counter(pk.split("#")[2] for _, pk in writes.items)


def test_one_changed_row_is_one_update(semester_env: Env) -> None:
    env = semester_env
    rows = env.rows()
    rows[5]["title"] = "Course 0005 (renamed)"
    rows[-1]["start"] = rows[-1]["start"].replace("T10:", "T18:")  # Course 0209, week 12: 10:00 → 18:00
    with env.writes.counted() as writes:
        record = env.run(rows)
    assert counts(record) == {"update": 2, "unchanged": ROWS - 2}
    changed = [r for r in record["results"] if r["action"] == "update"]
    assert [r["external_id"] for r in changed] == [rows[5]["external_id"], rows[-1]["external_id"]]
    assert env.api.get(f"/v1/schedules/{changed[0]['schedule_id']}").data["title"] == "Course 0005 (renamed)"
    moved = env.api.get(f"/v1/events/{changed[1]['event_id']}").data
    assert moved["start"] == "2027-06-21T22:00:00Z", "Room 9 is in New York: 18:00 EDT"
    touched = {pk.rsplit("#", 1)[-1] for _, pk in writes.bookings}
    assert touched <= {"EVENT", "SCHEDULE", "CHANNEL", "EXTID", "RUN", "AUDIT"}, touched


def test_every_booking_an_import_writes_is_announced_and_audited_once_as_the_import(
    semester_env: Env,
) -> None:
    env = semester_env
    assert env.first is not None
    rows = env.rows()
    renamed, dropped = rows[-1], rows.pop(-2)  # two sessions of Course 0209: one renamed, one gone
    renamed["title"] = "Course 0209 (renamed)"
    series_row = rows[3]
    series_row["title"] = "Course 0003 (renamed)"
    env.notifications.drain()
    record = env.run(rows)
    assert counts(record) == {"update": 2, "cancel": 1, "unchanged": ROWS - 3}
    actor = {"type": "import", "id": record["id"], "name": SOURCE}
    notes = env.notifications.drain()
    assert notes and all(n["actor"] == actor for n in notes), "every announcement names the import"

    def one(resource_id: str, detail_type: str, action: str) -> None:
        announced = [n["detail-type"] for n in notes if n["id"] == resource_id]
        assert announced == [detail_type], resource_id
        audited = [a["action"] for a in env.audit(resource_id) if a["actor"] == actor]
        assert audited == [action], resource_id

    one(env.first[renamed["external_id"]]["event_id"], "Event Updated", "updated")
    one(env.first[dropped["external_id"]]["event_id"], "Event Deleted", "deleted")
    schedule_id = env.first[series_row["external_id"]]["schedule_id"]
    one(schedule_id, "Schedule Updated", "updated")
    # Nothing else: the series' events are not made yet (its term starts beyond the horizon); those that
    # are follow it, each announced and audited once, by the import too.
    followers = env.api.get(f"/v1/events?schedule_id={schedule_id}&limit=50").data["items"]
    for event in followers:
        one(event["id"], "Event Updated", "updated")
    assert len(notes) == 3 + len(followers), [n["detail-type"] for n in notes]


def test_a_row_that_disappears_cancels_exactly_its_booking(semester_env: Env) -> None:
    env = semester_env
    rows = env.rows()
    gone_session, gone_series = rows.pop(-3), rows.pop(7)
    assert env.first is not None
    before = env.first
    record = env.run(rows)
    assert counts(record) == {"cancel": 2, "unchanged": ROWS - 2}
    cancelled = {r["external_id"]: r for r in record["results"] if r["action"] == "cancel"}
    assert set(cancelled) == {gone_session["external_id"], gone_series["external_id"]}
    assert all(r["row"] is None for r in cancelled.values()), "their rows are gone"
    event_id = before[gone_session["external_id"]]["event_id"]
    assert env.api.get(f"/v1/events/{event_id}").data["deleted_at"] is not None, "soft-deleted: restorable"
    assert (
        env.api.get(f"/v1/schedules/{before[gone_series['external_id']]['schedule_id']}").status_code == 404
    )
    neighbour = before[rows[-3]["external_id"]]["event_id"]
    assert env.api.get(f"/v1/events/{neighbour}").data["deleted_at"] is None
    # The row comes back: its event is restored, the series made anew.
    back = env.run(env.rows())
    assert counts(back) == {"create": 2, "unchanged": ROWS - 2}
    assert by_id(back)[gone_session["external_id"]]["event_id"] == event_id


def test_a_malformed_row_is_its_own_error_and_the_rest_apply(semester_env: Env) -> None:
    env = semester_env
    rows = env.rows()
    rows.insert(
        10, {"external_id": "BROKEN", "title": "Broken", "channel": "Room 3", "start": "next tuesday"}
    )
    rows.append({**rows[-1], "external_id": "EXTRA", "start": "2027-04-09T19:00:00", "title": "Extra"})
    record = env.run(rows)
    assert counts(record) == {"error": 1, "create": 1, "unchanged": ROWS}
    broken = by_id(record)["BROKEN"]
    assert broken["row"] == 11 and broken["errors"] == [
        {"pointer": "/start", "detail": "is not an RFC 3339 date-time"}
    ]
    assert by_id(record)["EXTRA"]["event_id"]


def test_a_booking_changed_in_onair_is_drift_until_overwritten(semester_env: Env) -> None:
    env = semester_env
    assert env.first is not None
    event_id = env.first["C0205-W03"]["event_id"]
    patched = env.api.patch(f"/v1/events/{event_id}", {"title": "Moved by hand"})
    assert patched.status_code == 200, patched.data
    rows = env.rows()
    index = next(i for i, r in enumerate(rows) if r["external_id"] == "C0205-W03")
    rows[index]["title"] = "Renamed in the timetable"
    record = env.run(rows)
    assert counts(record) == {"drift": 1, "unchanged": ROWS - 1}
    assert env.api.get(f"/v1/events/{event_id}").data["title"] == "Moved by hand", "local edits are kept"
    record = env.run(rows, overwrite_local_edits=True)
    assert counts(record) == {"update": 1, "unchanged": ROWS - 1}
    assert env.api.get(f"/v1/events/{event_id}").data["title"] == "Renamed in the timetable"


def test_the_scope_limits_what_an_import_may_cancel(semester_env: Env) -> None:
    env = semester_env
    room = env.rooms["Room 2"]
    mine = [r for r in env.rows() if r["channel"] == "Room 2"]
    dropped = mine.pop()
    record = env.run(mine, scope={"channel_ids": [room]})
    assert counts(record) == {"cancel": 1, "unchanged": len(mine)}, "other rooms' bookings are out of scope"
    assert by_id(record)[dropped["external_id"]]["action"] == "cancel"
    outside = env.run([{**env.rows()[0]}], scope={"channel_ids": [room]}, dry_run=True)
    assert outside["results"][0]["errors"] == [
        {"pointer": "/channel", "detail": "is outside the import's scope"}
    ]


def test_an_overlapping_row_reports_its_conflicts_and_a_free_slot(semester_env: Env) -> None:
    env = semester_env
    clash = {**env.rows()[-1], "external_id": "CLASH", "title": "Clash"}
    planned = env.run([*env.rows(), clash], dry_run=True)
    row = by_id(planned)["CLASH"]
    assert row["action"] == "create" and row["conflicts"][0]["title"] == "Course 0209"
    assert row["suggestion"]["start"] > clash["start"]
    applied = env.run([*env.rows(), clash])
    row = by_id(applied)["CLASH"]
    assert row["action"] == "error" and row["conflicts"] and row["suggestion"], "as the API's 409 says it"
    assert counts(applied) == {"error": 1, "conflict": 1, "unchanged": ROWS}


def test_two_concurrent_applies_of_one_import_one_runs(semester_env: Env) -> None:
    env = semester_env
    rows = env.rows()
    rows[0]["title"] = "Course 0000 (concurrent)"
    planned = env.run(rows, dry_run=True)
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def apply() -> None:
        barrier.wait()
        answers.append(env.api.post(f"/v1/imports/{planned['id']}/apply").status_code)

    threads = [threading.Thread(target=apply) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [202, 409]
    record = env.fetch(planned["id"])
    assert record["status"] == "applied" and counts(record) == {"update": 1, "unchanged": ROWS - 1}


def test_two_runs_of_one_import_job_one_runs(semester_env: Env) -> None:
    env = semester_env
    rows = env.rows()
    rows[1]["title"] = "Course 0001 (raced)"
    services = env.services
    planned = env.run(rows, dry_run=True)
    queued = services.imports.store.get("default", planned["id"]).model_copy(
        update={"status": "queued", "dry_run": False}
    )
    services.imports.store.move(queued, ("planned",))
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(services.import_job.handle({"tenant_id": "default", "import_id": planned["id"]}))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["ran"] for r in results) == [False, True], "the lease lets one run in"
    assert counts(env.fetch(planned["id"])) == {"update": 1, "unchanged": ROWS - 1}


def test_an_import_whose_runner_stopped_goes_on_when_applied_again(semester_env: Env) -> None:
    env = semester_env
    rows = env.rows()
    rows[2]["title"] = "Course 0002 (resumed)"
    planned = env.run(rows, dry_run=True)
    store = env.services.imports.store
    queued = store.get("default", planned["id"]).model_copy(update={"status": "queued", "dry_run": False})
    store.move(queued, ("planned",))  # queued, and then its Lambda never ran (or the stack was stopped)
    path = f"/v1/imports/{planned['id']}/apply"
    assert env.api.post(path).status_code == 409, "its runner may still come"
    env.clock.advance(minutes=17)  # a lease later: nobody runs it
    assert env.api.post(path).status_code == 202
    record = env.fetch(planned["id"])
    assert record["status"] == "applied" and counts(record) == {"update": 1, "unchanged": ROWS - 1}


def test_a_big_apply_hands_over_and_the_next_run_goes_on(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services import import_job

    monkeypatch.setattr(import_job, "BATCH", 25)  # rows between two checkpoints
    rows = [  # 60 sessions in slots the semester leaves free (15:00), under a source of their own
        {"external_id": f"H{r}-{w}", "title": "Help desk", "channel": f"Room {r}", "duration": 1800,
         "start": f"2027-04-{6 + 7 * w:02d}T15:00:00"}
        for r in range(20) for w in range(3)
    ]  # fmt: skip
    planned = env.api.post(
        "/v1/imports", {"source": "handover", "format": "json", "content": rows, "dry_run": True}
    )
    services = env.services
    record = services.imports.store.get("default", planned.data["id"])
    services.imports.store.move(
        record.model_copy(update={"status": "queued", "dry_run": False}), ("planned",)
    )
    payload = {"tenant_id": "default", "import_id": record.id}
    runs = [services.import_job.handle(payload, time_left=lambda: 0.0)]  # a Lambda about to run out of time
    middle = env.fetch(record.id)
    assert runs[0]["again"] and middle["status"] == "applying" and middle["progress"]["done"] == 25
    while runs[-1].get("again"):
        runs.append(services.import_job.handle(payload, time_left=lambda: 0.0))
    assert len(runs) == 3, "60 creates in batches of 25: two hand-overs"
    done = env.fetch(record.id)
    assert done["status"] == "applied" and counts(done) == {"create": 60}
    assert done["progress"] == {"done": 60, "total": 60} and all(
        r["state"] == "done" for r in done["results"]
    )
    assert len({r["event_id"] for r in done["results"]}) == 60, "each row booked once"
    cleanup = env.api.post("/v1/imports", {"source": "handover", "format": "json", "content": []})
    assert counts(env.fetch(cleanup.data["id"])) == {"cancel": 60}


def test_row_results_page_in_row_order_and_filter_by_action(env: Env) -> None:
    rows = env.rows()
    rows.insert(0, {"external_id": "BAD", "title": "x"})
    created = env.api.post(
        "/v1/imports", {"source": SOURCE, "format": "json", "content": rows, "dry_run": True}
    )
    import_id = created.data["id"]
    seen, cursor = [], None
    while True:
        page = env.api.get(
            f"/v1/imports/{import_id}?limit=150" + (f"&cursor={cursor}" if cursor else "")
        ).data
        seen += page["results"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [r["row"] for r in seen] == list(range(1, ROWS + 2))
    errors = env.api.get(f"/v1/imports/{import_id}?action=error").data
    assert [(r["row"], r["errors"][0]["pointer"]) for r in errors["results"]] == [(1, "/channel")]
    assert env.api.get(f"/v1/imports/{import_id}?cursor=nope").status_code == 422


def test_an_upload_is_planned_once_started(env: Env) -> None:
    created = env.api.post(
        "/v1/imports", {"source": SOURCE, "format": "csv", "upload": True, "dry_run": True}
    )
    assert created.status_code == 202 and created.data["status"] == "awaiting_upload"
    assert created.data["upload_url"].startswith("https://")
    early = env.api.post(f"/v1/imports/{created.data['id']}/start")
    assert early.status_code == 422 and early.data["errors"][0]["pointer"] == "/upload_url"
    env.services.imports.uploads.put(
        f"default/{created.data['id']}", env.term.csv().encode()
    )  # as the PUT would
    started = env.api.post(f"/v1/imports/{created.data['id']}/start")
    assert started.status_code == 202 and started.data["status"] == "planned"
    assert counts(env.fetch(created.data["id"])) == {"unchanged": ROWS}
    again = env.api.post(f"/v1/imports/{created.data['id']}/start")
    assert again.status_code == 409


BACKWARDS = {"from": "2027-05-01T00:00:00Z", "to": "2027-04-01T00:00:00Z"}


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"source": "s", "format": "csv"}, "/content"),
        ({"source": "s", "format": "csv", "content": "x", "upload": True}, "/content"),
        ({"source": "bad source!", "format": "csv", "content": "x"}, "/source"),
        ({"source": "s", "format": "xls", "content": "x"}, "/format"),
        ({"source": "s", "format": "csv", "content": "title\nx\n"}, "/content"),
        ({"source": "s", "format": "ics", "content": ["not", "text"]}, "/content"),
        ({"source": "s", "format": "json", "content": "[1", "dry_run": True}, "/content"),
        ({"source": "s", "format": "csv", "content": "x", "scope": BACKWARDS}, "/scope/to"),
    ],
)  # fmt: skip
def test_a_request_that_cannot_be_an_import_is_a_422(env: Env, body: dict[str, Any], pointer: str) -> None:
    response = env.api.post("/v1/imports", body)
    assert response.status_code == 422, response.data
    assert pointer in [e["pointer"] for e in response.data["errors"]], response.data


def test_another_tenants_imports_are_404(env: Env) -> None:
    other = env.api.post("/v1/tenants", {"name": "Elsewhere"}).data["admin_key"]
    mine = env.api.get("/v1/imports?limit=1").data["items"][0]["id"]
    intruder = Api(env.api.http, other)
    assert intruder.get(f"/v1/imports/{mine}").status_code == 404
    assert intruder.post(f"/v1/imports/{mine}/apply").status_code == 404
    assert intruder.get("/v1/imports").data["items"] == []
    assert json.dumps(intruder.get("/v1/imports").data).count("imp_") == 0
