"""The guides in docs/ and the README say what the code does: tables checked against the code that
decides, snippets run against what onair sends, links that stay inside the repository."""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.webhook import SIGNATURE_HEADER, Webhook, sign
from chalicelib.api import errors
from chalicelib.domain.conflicts import ConflictRef
from chalicelib.domain.lifecycle import ACTIONS, TRANSITIONS
from chalicelib.domain.messages import (
    SYSTEM,
    Actor,
    CaptureAtRisk,
    EventBooked,
    EventChanged,
    EventRemoved,
    EventRestored,
    EventStateChanged,
    OverlapAccepted,
    RecordChanged,
    RecordingIngested,
    ScheduleChanged,
    ScheduleFailed,
)
from chalicelib.domain.models import Channel, Event, EventState
from chalicelib.services.messagebus import MessageBus
from chalicelib.services.notifier import Notifier

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NOW = datetime(2030, 1, 7, 8, 55, tzinfo=UTC)
KEY = Actor("key", "key_1", "timetable-sync")


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of the markdown table whose header row starts with `header`."""
    lines = text[text.index(header) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def fenced(text: str, info: str) -> str:
    """The code block whose info string is exactly `info`."""
    match = re.search(rf"```{re.escape(info)}\n(.*?)```", text, re.S)
    assert match, f"a ```{info} block"
    return match.group(1)


def an_event(**fields: Any) -> Event:
    base: dict[str, Any] = {
        "id": "evt_1",
        "tenant_id": "ten_1",
        "created_at": NOW,
        "updated_at": NOW,
        "title": "Algorithms, lecture 1",
        "channel_id": "ch_1",
        "start": datetime(2030, 1, 7, 9, tzinfo=UTC),
        "end": datetime(2030, 1, 7, 9, 50, tzinfo=UTC),
    }
    return Event(**(base | fields))


# -- notifications ---------------------------------------------------------------------------------------


def record_kinds() -> set[tuple[str, str]]:
    """(kind, action) of every RecordChanged the services can record: catalog services (create, update,
    delete) by the noun they pass their base class, the others as written in the code."""
    pairs: set[tuple[str, str]] = set()
    catalog_noun = re.compile(r'super\(\).__init__\(\s*\w+,\s*\w+,\s*"\w+",\s*"(\w+)"')
    literal = re.compile(r'RecordChanged\(\s*[^,()]+,\s*"(\w+)",\s*[^,()]+(?:\([^()]*\))?[^,()]*,\s*"(\w+)"')
    for path in (ROOT / "chalicelib").rglob("*.py"):
        code = path.read_text()
        pairs |= set(literal.findall(code))
        for noun in catalog_noun.findall(code):  # CatalogService subclasses announce all three
            pairs |= {(noun.lower(), action) for action in ("created", "updated", "deleted")}
    return pairs


def every_message() -> list[Any]:
    """One message of each kind the notifier listens to, with every action a message can carry."""
    event = an_event(schedule_id="sch_1", occurrence_start=datetime(2030, 1, 7, 9, tzinfo=UTC))
    live = event.model_copy(update={"state": EventState.LIVE})
    ref = ConflictRef("evt_2", None, "Other", NOW, NOW, "partial")
    schedule_actions = typing.get_args(typing.get_type_hints(ScheduleChanged)["action"])
    details = {
        "split": {"successor_id": "sch_2", "at": "2030-02-04T11:00:00Z"},
        "occurrence_modified": {"occurrence_start": "2030-01-09T11:00:00Z", "event_id": "evt_3"},
        "occurrence_skipped": {"occurrence_start": "2030-01-14T11:00:00Z"},
    }
    return [
        EventBooked(event, KEY),
        EventChanged(event, event, KEY, {"title": "New"}),
        EventRemoved(event, KEY, hard=False),
        EventRestored(event, event, KEY),
        EventStateChanged(live, event, NOW, SYSTEM, "noop"),
        OverlapAccepted("ten_1", "ch_1", None, [ref], KEY, event),
        *(
            ScheduleChanged(
                "ten_1", "sch_1", action, KEY, {"title": "a"}, {"title": "b"}, details.get(action, {})
            )
            for action in schedule_actions
        ),
        ScheduleFailed("ten_1", "sch_1", "no such channel", NOW, SYSTEM),
        *(
            RecordChanged("ten_1", kind, "x_1", action, KEY, {"a": 1}, {"a": 2})
            for kind, action in record_kinds()
        ),
        CaptureAtRisk(event, "room-101", None, SYSTEM),
        RecordingIngested(event, "room-101", 2, 1024, Actor.agent("room-101")),
    ]


def sent_notifications() -> dict[str, set[str]]:
    sent: dict[str, set[str]] = {}
    bus = MessageBus()
    Notifier(lambda detail_type, detail: sent.setdefault(detail_type, set()).update(detail)).listen(bus)
    for message in every_message():
        bus.publish(message)
    return sent


def test_the_notifications_guide_lists_every_detail_type_with_its_keys() -> None:
    documented = {
        ticked(kind)[0]: set(ticked(keys))
        for kind, keys, _ in table_rows((DOCS / "notifications.md").read_text(), "| detail-type |")
    }
    sent = sent_notifications()
    assert len(sent) >= 20, sorted(sent)
    assert sorted(set(sent) - set(documented)) == [], "sent but not in docs/notifications.md"
    assert sorted(set(documented) - set(sent)) == [], "documented but never sent"
    for detail_type, keys in sent.items():
        assert documented[detail_type] == keys, detail_type


def test_every_message_the_notifier_listens_to_is_exercised() -> None:
    subscribed: list[type] = []

    class Recorder(MessageBus):
        def subscribe(self, kind: type, handler: Any) -> None:  # type: ignore[override]
            subscribed.append(kind)

    Notifier(lambda *_: None).listen(Recorder())
    assert set(subscribed) == {type(m) for m in every_message()}


# -- webhooks --------------------------------------------------------------------------------------------


def verify_snippet() -> Any:
    namespace: dict[str, Any] = {}
    exec(fenced((DOCS / "lifecycle.md").read_text(), "python verify-webhook"), namespace)
    return namespace["is_from_onair"]


@pytest.mark.parametrize("step", ["provision", "start", "stop", "teardown"])
def test_the_documented_signature_check_accepts_what_onair_sends(step: str) -> None:
    secret = "a-channel-secret-0123456789"
    hook = Webhook("https://hooks.example.com/onair", secret, clock=lambda: NOW)
    channel = Channel(id="ch_1", tenant_id="ten_1", created_at=NOW, updated_at=NOW, name="Room 101")
    body = hook.body(step, an_event(tags=["cs101"], metadata={"room": "101"}), channel)
    is_from_onair = verify_snippet()
    assert is_from_onair(secret, body, sign(secret, body)), "the header onair sends verifies"
    assert not is_from_onair(secret, body.replace(b"Algorithms", b"Algorithmz"), sign(secret, body))
    assert not is_from_onair("another-secret-0123456789", body, sign(secret, body))
    assert not is_from_onair(secret, body, None), "an unsigned request is refused"
    assert not is_from_onair(secret, body, sign(secret, body).removeprefix("sha256="))


def test_the_documented_webhook_request_is_what_onair_sends() -> None:
    text = (DOCS / "lifecycle.md").read_text()
    assert f"{SIGNATURE_HEADER}: sha256=" in text and "X-Onair-Step: start" in text
    example = re.search(r"```json\n(\{\n  \"at\".*?)```", text, re.S)
    assert example, "the example body"
    documented = set(re.findall(r'^  "(\w+)"', example.group(1), re.M))
    channel = Channel(id="ch_1", tenant_id="ten_1", created_at=NOW, updated_at=NOW, name="Room 101")
    import json

    sent = json.loads(
        Webhook("https://h.example.com", None, clock=lambda: NOW).body("start", an_event(), channel)
    )
    assert documented == set(sent)


# -- the lifecycle's actions -----------------------------------------------------------------------------


def test_the_actions_table_says_from_which_states_each_action_is_allowed() -> None:
    rows = table_rows((DOCS / "lifecycle.md").read_text(), "| action | allowed from |")
    documented: dict[str, set[str]] = {}
    for action_cell, states_cell, _ in rows:
        names = [n for n in ticked(action_cell) if n in ACTIONS]
        for name in names:
            documented[name] = set(ticked(states_cell))
    actual: dict[str, set[str]] = {}
    for (state, name), _ in TRANSITIONS.items():
        if name in ACTIONS:
            actual.setdefault(name, set()).add(state.value)
    assert documented == actual


# -- errors ----------------------------------------------------------------------------------------------


def test_the_errors_guide_lists_every_problem_type() -> None:
    rows = table_rows((DOCS / "errors.md").read_text(), "| status | type |")
    documented = {(int(status), ticked(kind)[0]) for status, kind, *_ in rows}
    actual = {(status, f"urn:onair:problem:{slug}") for _, status, slug, _ in errors._TABLE}
    actual.add((500, "urn:onair:problem:internal"))
    assert actual <= documented, sorted(actual - documented)


# -- links -----------------------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", ["README.md", *(f"docs/{p.name}" for p in sorted(DOCS.glob("*.md")))])
def test_links_stay_inside_the_repository_and_resolve(page: str) -> None:
    path = ROOT / page
    for target in LINK.findall(path.read_text()):
        assert not re.match(r"[a-z]+:", target), f"{page} links outside the repository: {target}"
        file = (path.parent / target.split("#")[0]).resolve()
        assert file.is_relative_to(ROOT), f"{page} links outside the repository: {target}"
        assert file.exists(), f"{page} links to a missing file: {target}"
