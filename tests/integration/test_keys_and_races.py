"""Keys that keep a deployment reachable, and races inside the service that are not the client's problem."""

from __future__ import annotations

import threading
from typing import Any

from tests.conftest import OPERATOR_KEY, Api


def tenant(api: Api, name: str = "Lecture capture") -> tuple[str, str]:
    created = api.post("/v1/tenants", {"name": name})
    assert created.status_code == 201, created.data
    return created.data["id"], created.data["admin_key"]


def keys(api: Api, key: str) -> list[dict[str, Any]]:
    return api.get("/v1/keys", key=key).data["items"]


def test_the_operator_key_cannot_be_revoked_through_the_api(api):
    operator = next(k for k in keys(api, OPERATOR_KEY) if k["name"] == "operator")
    admin = api.post("/v1/keys", {"name": "deputy", "scopes": ["read", "write", "admin"]}).data["key"]
    for who in (OPERATOR_KEY, admin):
        refused = api.delete(f"/v1/keys/{operator['id']}", key=who)
        assert refused.status_code == 409, refused.data
        assert "bootstrap-key" in refused.data["detail"]
    assert api.get("/v1/health", key=OPERATOR_KEY).status_code == 200
    assert api.get("/v1/tenants").status_code == 200, "the operator key still works"


def test_a_tenant_keeps_its_last_admin_key(api):
    _, admin = tenant(api)
    (first,) = keys(api, admin)
    refused = api.delete(f"/v1/keys/{first['id']}", key=admin)
    assert refused.status_code == 409, refused.data
    assert "last admin key" in refused.data["detail"]
    second = api.post("/v1/keys", {"name": "second admin", "scopes": ["admin", "read"]}, key=admin).data
    reader = api.post("/v1/keys", {"name": "reader", "scopes": ["read"]}, key=admin).data
    assert api.delete(f"/v1/keys/{reader['id']}", key=admin).status_code == 204, "not an admin key"
    assert api.delete(f"/v1/keys/{first['id']}", key=admin).status_code == 204, "another admin remains"
    assert api.get("/v1/keys", key=admin).status_code == 401, "revoked at once"
    last = api.delete(f"/v1/keys/{second['id']}", key=second["key"])
    assert last.status_code == 409, "now it is the last one"


def test_two_admins_revoking_each_other_at_once_leave_one(api):
    _, admin = tenant(api)
    other = api.post("/v1/keys", {"name": "other", "scopes": ["admin"]}, key=admin).data
    first = next(k for k in keys(api, admin) if k["name"] == "admin")
    results: list[int] = []

    def revoke(key_id: str, key: str) -> None:
        results.append(api.delete(f"/v1/keys/{key_id}", key=key).status_code)

    threads = [
        threading.Thread(target=revoke, args=(other["id"], admin)),
        threading.Thread(target=revoke, args=(first["id"], other["key"])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) in ([204, 401], [204, 409]), results
    alive = [k for k in (admin, other["key"]) if api.get("/v1/keys", key=k).status_code == 200]
    assert len(alive) == 1, "exactly one admin key is left"


def test_an_action_racing_a_change_is_retried_not_412(api, services):
    """A cancel that loses its write to a concurrent PATCH is decided again; no If-Match, no 412."""
    ch = api.post("/v1/channels", {"name": "Room"}).data["id"]
    event = api.post(
        "/v1/events", {"title": "Talk", "channel_id": ch, "start": "2027-03-10T10:00:00Z", "duration": 600}
    ).data
    store = services.events.store
    original = store.update
    raced = []

    def update_after_a_rival(written: Any, previous: Any, *args: Any, **kwargs: Any) -> None:
        if not raced:  # another client's change lands between this request's read and its write
            raced.append(True)
            rival = previous.model_copy(update={"title": "Renamed", "version": previous.version + 1})
            original(rival, previous)
        original(written, previous, *args, **kwargs)

    store.update = update_after_a_rival
    try:
        rename = api.patch(f"/v1/events/{event['id']}", {"title": "Talk (moved)"})
    finally:
        store.update = original
    assert raced and rename.status_code == 200, rename.data
    assert rename.data["title"] == "Talk (moved)"
    # With the client's own If-Match, the same race is a 412: its precondition no longer holds.
    etag = api.get(f"/v1/events/{event['id']}").headers["ETag"]
    raced.clear()
    store.update = update_after_a_rival
    try:
        pinned = api.patch(f"/v1/events/{event['id']}", {"title": "Pinned"}, headers={"If-Match": etag})
    finally:
        store.update = original
    assert pinned.status_code == 412, pinned.data


def test_a_cancel_racing_the_events_own_run_is_retried(api, services):
    """The lifecycle's run writes the event between the cancel's read and its write: no 412, cancelled."""
    ch = api.post("/v1/channels", {"name": "Room"}).data["id"]
    event = api.post(
        "/v1/events", {"title": "Talk", "channel_id": ch, "start": "2027-03-10T10:00:00Z", "duration": 600}
    ).data
    locks = services.lifecycle.transitions.locks
    original = locks.write
    raced = []

    def write_after_the_run(updated: Any, previous: Any, *args: Any, **kwargs: Any) -> None:
        if not raced:
            raced.append(True)  # the run's own step (here: a vod change) lands first
            original(previous.model_copy(update={"version": previous.version + 1}), previous, None)
        original(updated, previous, *args, **kwargs)

    locks.write = write_after_the_run
    try:
        cancelled = api.post(f"/v1/events/{event['id']}/actions", {"action": "cancel"})
    finally:
        locks.write = original
    assert raced and cancelled.status_code == 200, cancelled.data
    assert cancelled.data["state"] == "cancelled"
