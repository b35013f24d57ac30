"""Tenant isolation, swept from the OpenAPI document: every route with a path id, every method.

Another tenant's key gets 404 (never 403, never the record); the owner's records are untouched.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from tests.conftest import Api

# PUT /v1/events/external/{external_id} upserts within the caller's own tenant: another tenant using the
# same external id creates its own event (external ids are per tenant). Checked separately below.
OWN_NAMESPACE = {("PUT", "/v1/events/external/{external_id}")}
SAMPLE_QUERY = {"from": "2027-03-01T00:00:00Z", "to": "2027-03-08T00:00:00Z"}
# Well-formed bodies, so the only thing wrong with the intruder's request is whose id it names.
BODIES = {
    "/actions": {"action": "start"},
    "/split": {"at": "2027-03-03T09:00:00Z", "changes": {}},
    "/closures": {"name": "Reading week", "start": "2027-03-22", "end": "2027-03-26"},
}


def owner_records(api: Api) -> dict[str, str]:
    channel = api.post("/v1/channels", {"name": "Owner's room"}).data["id"]
    source = api.post("/v1/sources", {"name": "Owner's camera"}).data["id"]
    event = api.post(
        "/v1/events",
        {
            "title": "Owner's event",
            "channel_id": channel,
            "start": "2027-03-02T09:00:00Z",
            "duration": 600,
            "external_id": "owner-ext",
            "source_ids": [source],
        },
    ).data["id"]
    schedule = api.post(
        "/v1/schedules",
        {
            "title": "Owner's series",
            "channel_id": channel,
            "start": "2027-03-03T09:00:00",
            "duration": 600,
            "recurrence": {"frequency": "weekly"},
        },
    ).data["id"]
    key = api.post("/v1/keys", {"name": "owner-tool", "scopes": ["read"]}).data["id"]
    feed = api.post("/v1/feeds", {"name": "Owner's feed", "channel_ids": [channel]}).data["id"]
    calendar = api.post(
        "/v1/calendars",
        {
            "name": "Owner's year",
            "timezone": "Europe/London",
            "terms": [{"name": "Spring", "start": "2027-03-01", "weeks": 10}],
            "closures": [{"name": "Open day", "start": "2027-03-17", "end": "2027-03-17"}],
        },
    ).data
    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from local.resources import create_imports_bucket

    create_imports_bucket(bootstrap.services().settings.imports_bucket, aws.client("s3"))
    imported = api.post(
        "/v1/imports",
        {
            "source": "owner-timetable",
            "format": "csv",
            "dry_run": True,
            "content": "external_id,title,channel,start,duration\nO1,Owner's talk,Owner's room,"
            "2027-03-04T11:00:00Z,600\n",
        },
    ).data["id"]
    return {
        "calendar_id": calendar["id"],
        "closure_id": calendar["closures"][0]["id"],
        "import_id": imported,
        "channel_id": channel,
        "source_id": source,
        "event_id": event,
        "schedule_id": schedule,
        "key_id": key,
        "feed_id": feed,
        "occurrence_start": quote("2027-03-03T09:00:00Z", safe=""),
        "external_id": "owner-ext",
    }


def test_every_route_with_a_path_id_is_404_for_another_tenant(api: Api):
    ids = owner_records(api)
    intruder = api.post("/v1/tenants", {"name": "intruder"}).data["admin_key"]
    spec = api.get("/v1/openapi.json").data
    before = {name: api.get(path).data for name, path in owned_paths(ids).items()}
    swept = []
    for template, operations in spec["paths"].items():
        if "{" not in template:
            continue
        for method, operation in operations.items():
            if operation.get("security") == [] or (method.upper(), template) in OWN_NAMESPACE:
                continue
            path = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], template)
            required = [
                p["name"] for p in operation.get("parameters", []) if p["in"] == "query" and p["required"]
            ]
            if required:  # a well-formed request, so the answer is about the id and nothing else
                path += "?" + "&".join(f"{name}={SAMPLE_QUERY[name]}" for name in required)
            body = next((b for suffix, b in BODIES.items() if template.endswith(suffix)), None)
            if body is None and method.upper() in ("POST", "PATCH"):
                body = {}
            response = api.call(method.upper(), path, body, key=intruder)
            assert response.status_code == 404, (
                f"{method.upper()} {template}: {response.status_code} {response.data}"
            )
            assert response.headers["Content-Type"] == "application/problem+json"
            swept.append((method.upper(), template))
    assert len(swept) >= 20, swept
    after = {name: api.get(path).data for name, path in owned_paths(ids).items()}
    assert after == before, "the owner's records are exactly as they were"


def test_the_same_external_id_in_another_tenant_is_another_event(api: Api):
    ids = owner_records(api)
    intruder_key = api.post("/v1/tenants", {"name": "intruder"}).data["admin_key"]
    channel = api.post("/v1/channels", {"name": "Their room"}, key=intruder_key).data["id"]
    theirs = api.put(
        "/v1/events/external/owner-ext",
        {"title": "Theirs", "channel_id": channel, "start": "2027-04-01T09:00:00Z", "duration": 60},
        key=intruder_key,
    )
    assert theirs.status_code == 201 and theirs.data["id"] != ids["event_id"]
    assert api.get(f"/v1/events/{ids['event_id']}").data["title"] == "Owner's event"


def owned_paths(ids: dict[str, str]) -> dict[str, str]:
    return {
        "channel": f"/v1/channels/{ids['channel_id']}",
        "source": f"/v1/sources/{ids['source_id']}",
        "event": f"/v1/events/{ids['event_id']}",
        "schedule": f"/v1/schedules/{ids['schedule_id']}",
        "history": f"/v1/events/{ids['event_id']}/history",
        "keys": "/v1/keys",
        "feed": f"/v1/feeds/{ids['feed_id']}",
        "calendar": f"/v1/calendars/{ids['calendar_id']}",
        "import": f"/v1/imports/{ids['import_id']}",
    }
