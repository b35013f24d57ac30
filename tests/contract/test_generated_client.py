"""A client generated from /v1/openapi.json works: openapi-python-client (pinned) builds one in a temporary
directory from the live stack's document, and the README's walk-through runs through it, PATCH included.

The client is made with `raise_on_unexpected_status`, so any status the document does not list for an
operation fails the test, and every answer is parsed into the documented model (a wrong type fails too).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.e2e.test_local_stack import KEY, free_port, start_stack

PACKAGE = "onair_client"


@pytest.fixture(scope="module")
def stack() -> Iterator[str]:
    port = free_port()
    process, _ = start_stack(port, {"ONAIR_TICK_SECONDS": "60"})
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def client_package(stack: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """Generate the client from the served document, as a user would, and import it."""
    bin_dir = Path(sys.executable).parent
    generator = shutil.which("openapi-python-client", path=str(bin_dir))
    assert generator, "openapi-python-client is pinned in requirements-dev.txt"
    work = tmp_path_factory.mktemp("generated")
    with urllib.request.urlopen(f"{stack}/v1/openapi.json", timeout=30) as response:
        (work / "openapi.json").write_bytes(response.read())
    result = subprocess.run(
        [generator, "generate", "--path", "openapi.json", "--meta", "none", "--output-path", PACKAGE],
        cwd=work,
        # The generator formats what it writes with ruff, found on PATH (pinned in requirements-dev.txt).
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output, f"the generator skipped parts of the document:\n{output}"
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class Generated:
    """The generated package's modules by short name: `g.api("events.create_event")`, `g.model("EventIn")`."""

    def __init__(self, package: ModuleType) -> None:
        self.package = package
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.types = importlib.import_module(f"{PACKAGE}.types")

    def api(self, name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.api.{name}")

    def model(self, name: str) -> Any:
        return getattr(self.models, name)

    def client(self, base_url: str, token: str) -> Any:
        return self.package.AuthenticatedClient(
            base_url=base_url, token=token, raise_on_unexpected_status=True, timeout=30.0
        )


def call(module: Any, status: int, **kwargs: Any) -> Any:
    """Call an operation; assert the status; return the parsed answer."""
    response = module.sync_detailed(**kwargs)
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response


def test_the_walkthrough_through_a_generated_client(stack: str, client_package: ModuleType) -> None:
    g = Generated(client_package)
    m = g.model
    operator = g.client(stack, KEY)

    # 1-2. A tenant with its admin key; a narrower key that may not manage keys.
    tenant = call(g.api("tenants.create_tenant"), 201, client=operator, body=m("TenantIn")(name="Generated"))
    admin = g.client(stack, tenant.parsed.admin_key)
    sync_key = call(
        g.api("keys.create_key"),
        201,
        client=admin,
        body=m("KeyIn")(
            name="timetable-sync", scopes=[m("KeyInScopesItem").READ, m("KeyInScopesItem").WRITE]
        ),
    ).parsed
    sync = g.client(stack, sync_key.key)
    refused = call(g.api("keys.list_keys"), 403, client=sync)
    assert isinstance(refused.parsed, m("Problem")) and refused.parsed.status == 403

    # 3. A room whose recorder is a webhook, and a source.
    room = call(
        g.api("channels.create_channel"),
        201,
        client=admin,
        body=m("ChannelIn")(
            name="Room 101",
            timezone="Europe/London",
            changeover_seconds=300,
            driver=m("WebhookDriverIn")(
                type_="webhook", url="http://127.0.0.1:9/hook", secret="a-secret-of-16-chars"
            ),
        ),
    ).parsed
    assert isinstance(room.driver, m("WebhookDriverOut")) and room.driver.secret_set
    # PATCH the driver's URL alone: the merge patch needs no `type` (it merges into the current driver).
    patched = call(
        g.api("channels.patch_channel"),
        200,
        client=admin,
        channel_id=room.id,
        body=m("ChannelInMergePatch")(
            driver=m("WebhookDriverInMergePatch")(url="http://127.0.0.1:9/other"), description="Lecture room"
        ),
    ).parsed
    assert patched.driver.url == "http://127.0.0.1:9/other" and patched.driver.secret_set
    assert patched.description == "Lecture room"
    source = call(
        g.api("sources.create_source"),
        201,
        client=admin,
        body=m("SourceIn")(
            name="Lectern camera", type_=m("SourceInTypeType0").SRT, host="10.0.0.5", port=9000
        ),
    ).parsed

    # 4. A one-off event, twice with one Idempotency-Key: booked once.
    event_in = m("EventIn")(
        title="Guest lecture",
        channel_id=room.id,
        source_ids=[source.id],
        start=datetime(2030, 1, 7, 14, tzinfo=UTC),
        duration=3000,
        tags=["cs101"],
    )
    created = call(g.api("events.create_event"), 201, client=admin, body=event_in, idempotency_key="guest-1")
    again = call(g.api("events.create_event"), 201, client=admin, body=event_in, idempotency_key="guest-1")
    event = created.parsed
    assert again.parsed.id == event.id and again.headers.get("Idempotent-Replayed") == "true"
    assert event.state == m("EventState").SCHEDULED and event.end == datetime(2030, 1, 7, 14, 50, tzinfo=UTC)

    # 5. The room's day.
    day = call(
        g.api("events.list_events"),
        200,
        client=admin,
        channel_id=room.id,
        from_=datetime(2030, 1, 7, tzinfo=UTC),
        to=datetime(2030, 1, 8, tzinfo=UTC),
    ).parsed
    assert [e.id for e in day.items] == [event.id] and day.next_cursor is None

    # 6. A merge patch with If-Match; the same ETag again is 412.
    etag = call(g.api("events.get_event"), 200, client=admin, event_id=event.id).headers["ETag"]
    moved = call(
        g.api("events.patch_event"),
        200,
        client=admin,
        event_id=event.id,
        if_match=etag,
        body=m("EventInMergePatch")(start=datetime(2030, 1, 7, 14, 10, tzinfo=UTC)),
    ).parsed
    assert moved.start == datetime(2030, 1, 7, 14, 10, tzinfo=UTC) and moved.duration == 3000
    stale = call(
        g.api("events.patch_event"),
        412,
        client=admin,
        event_id=event.id,
        if_match=etag,
        body=m("EventInMergePatch")(title="Lost update"),
    )
    assert stale.parsed.type_ == "urn:onair:problem:precondition-failed"
    # `null` gives a field its default back: the tags are emptied.
    cleared = call(
        g.api("events.patch_event"),
        200,
        client=admin,
        event_id=event.id,
        body=m("EventInMergePatch")(tags=None),
    ).parsed
    assert cleared.tags == []

    # 7. Delete, list deleted, restore.
    call(g.api("events.delete_event"), 204, client=admin, event_id=event.id)
    deleted = call(g.api("events.list_events"), 200, client=admin, deleted=True).parsed
    assert [e.id for e in deleted.items] == [event.id]
    call(g.api("events.restore_event"), 200, client=admin, event_id=event.id)

    # 8. Upsert by external id with the timetable's key: 201, then 200.
    upsert = g.api("events.put_external")
    tutorial = m("EventIn")(
        title="Algorithms, tutorial",
        channel_id=room.id,
        start=datetime(2030, 1, 9, 9, tzinfo=UTC),
        duration=3000,
    )
    first = call(upsert, 201, client=sync, external_id="timetable-43", body=tutorial).parsed
    tutorial.title = "Algorithms, tutorial (moved online)"
    second = call(upsert, 200, client=sync, external_id="timetable-43", body=tutorial).parsed
    assert first.id == second.id and second.title.endswith("(moved online)")

    # 9. A series in the simple form.
    weekday = m("Weekday")
    series = call(
        g.api("schedules.create_schedule"),
        201,
        client=admin,
        body=m("ScheduleIn")(
            title="Algorithms",
            channel_id=room.id,
            start="2030-01-08T09:00:00",
            timezone="Europe/London",
            duration=3000,
            recurrence=m("SimpleRecurrence")(
                frequency=m("Frequency").WEEKLY, days=[weekday.TUE, weekday.THU], count=20
            ),
        ),
    ).parsed
    assert isinstance(series.recurrence, m("SimpleRecurrence")) and series.recurrence.count == 20

    # 10. A preview in the RRULE form, with conflicts on the room, across the change to summer time.
    preview = call(
        g.api("schedules.preview"),
        200,
        client=admin,
        body=m("PreviewIn")(
            start="2030-03-14T09:30:00",
            timezone="Europe/London",
            duration=1800,
            channel_id=room.id,
            recurrence=m("RruleRecurrence")(rrule="FREQ=WEEKLY;BYDAY=TH;COUNT=4"),
        ),
    ).parsed
    starts = [o.start for o in preview.occurrences]
    assert starts[0] == datetime(2030, 3, 14, 9, 30, tzinfo=UTC)
    assert starts[-1] == datetime(2030, 4, 4, 8, 30, tzinfo=UTC), "09:30 London is 08:30Z in summer"
    first_conflict = preview.occurrences[0].conflicts[0]
    assert first_conflict.schedule_id == series.id and first_conflict.kind == m("ConflictRefKind").PARTIAL
    assert preview.occurrences[1].conflicts == []

    # 11. Occurrences; move one (named by its local start), skip one twice, split.
    occurrences = call(
        g.api("schedules.list_occurrences"),
        200,
        client=admin,
        schedule_id=series.id,
        from_=datetime(2030, 1, 1, tzinfo=UTC),
        limit=4,
    ).parsed
    assert occurrences.items[1].occurrence_start == datetime(2030, 1, 10, 9, tzinfo=UTC)
    moved_occurrence = call(
        g.api("schedules.patch_occurrence"),
        200,
        client=admin,
        schedule_id=series.id,
        occurrence_start="2030-01-10T09:00:00",
        body=m("EventInMergePatch")(start=datetime(2030, 1, 10, 11, tzinfo=UTC)),
    ).parsed
    assert moved_occurrence.start == datetime(2030, 1, 10, 11, tzinfo=UTC) and moved_occurrence.modified
    for _ in range(2):
        call(
            g.api("schedules.skip_occurrence"),
            204,
            client=admin,
            schedule_id=series.id,
            occurrence_start="2030-01-15T09:00:00",
        )
    successor = call(
        g.api("schedules.split_schedule"),
        201,
        client=admin,
        schedule_id=series.id,
        body=m("SplitIn")(at="2030-02-05T09:00:00", changes=m("ScheduleInMergePatch")(title="Algorithms II")),
    ).parsed
    assert successor.title == "Algorithms II" and successor.recurrence.count == 12
    shortened = call(
        g.api("schedules.patch_schedule"),
        200,
        client=admin,
        schedule_id=successor.id,
        body=m("ScheduleInMergePatch")(recurrence=m("SimpleRecurrenceMergePatch")(count=10)),
    ).parsed
    assert shortened.recurrence.count == 10, "the merge patch merged into the recurrence"
    assert shortened.recurrence.days == [weekday.TUE, weekday.THU]

    # 12. A clash: 409 with typed conflicts and a suggestion; the room's availability.
    clash = call(
        g.api("events.create_event"),
        409,
        client=admin,
        body=m("EventIn")(
            title="Clash", channel_id=room.id, start=datetime(2030, 1, 8, 9, 10, tzinfo=UTC), duration=600
        ),
    ).parsed
    assert clash.conflicts[0].event_id is None and clash.conflicts[0].schedule_id == series.id
    assert clash.conflicts[0].kind == m("ConflictRefKind").BLOCKED and clash.suggestion.start
    availability = call(
        g.api("channels.channel_availability"),
        200,
        client=admin,
        channel_id=room.id,
        from_=datetime(2030, 1, 8, tzinfo=UTC),
        to=datetime(2030, 1, 9, tzinfo=UTC),
    ).parsed
    assert [b.schedule_id for b in availability.busy] == [series.id]

    # 13. Lifecycle by hand. Nothing answers the webhook: provisioning fails with a typed 409 and the state
    #     stays; with the room back on the noop driver it provisions; history; nothing is live.
    failed = call(
        g.api("lifecycle.event_action"),
        409,
        client=admin,
        event_id=event.id,
        body=m("ActionIn")(action=m("Action").PROVISION),
    ).parsed
    assert failed.driver_error
    # `"driver": null` gives the room its default driver back: noop.
    noop = call(
        g.api("channels.patch_channel"),
        200,
        client=admin,
        channel_id=room.id,
        body=m("ChannelInMergePatch")(driver=None),
    ).parsed
    assert isinstance(noop.driver, m("NoopDriver"))
    ready = call(
        g.api("lifecycle.event_action"),
        200,
        client=admin,
        event_id=event.id,
        body=m("ActionIn")(action=m("Action").PROVISION),
    ).parsed
    assert ready.state == m("EventState").READY
    history = call(g.api("lifecycle.event_history"), 200, client=admin, event_id=event.id).parsed
    assert [h.to for h in history.items][-2:] == [m("EventState").PROVISIONING, m("EventState").READY]
    assert history.items[-1].actor.type_ == m("ActorOutType").KEY
    call(g.api("lifecycle.channel_live"), 204, client=admin, channel_id=room.id)

    # 14. The audit trail.
    audit = call(g.api("audit.list_audit"), 200, client=admin, resource_id=event.id, limit=3).parsed
    assert audit.items[0].resource_id == event.id and audit.items[0].changes.additional_properties

    # 15. Problems: a bad field, a room with bookings ahead.
    invalid = call(
        g.api("events.create_event"),
        422,
        client=admin,
        body=m("EventIn")(
            title="Nothing", channel_id=room.id, start=datetime(2030, 1, 7, 12, tzinfo=UTC), duration=0
        ),
    )
    assert [e.pointer for e in invalid.parsed.errors] == ["/duration"]
    refused_delete = call(g.api("channels.delete_channel"), 409, client=admin, channel_id=room.id).parsed
    assert event.id in refused_delete.event_ids and series.id in refused_delete.schedule_ids


def test_a_method_a_path_lacks_is_a_documented_405_with_allow(stack: str, client_package: ModuleType) -> None:
    g = Generated(client_package)
    http = g.client(stack, KEY).get_httpx_client()
    with urllib.request.urlopen(f"{stack}/v1/openapi.json", timeout=30) as response:
        document = json.loads(response.read())
    for path in ("/v1/events", "/v1/health", "/v1/events/{event_id}/history"):
        taken = {method.upper() for method in document["paths"][path]}
        for operation in document["paths"][path].values():
            assert "405" in operation["responses"], path
        concrete = path.replace("{event_id}", "evt_nothing")
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - taken:
            answer = http.request(method, concrete)
            assert answer.status_code == 405, (method, path, answer.text)
            assert {m.strip() for m in answer.headers["Allow"].split(",")} >= taken
