"""The API's conventions on the import and calendar routes: keys and scopes, other tenants, If-Match, and
no input, however odd, producing a 5xx (API.md, "Conventions")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Api

PROBLEM = "application/problem+json"
CSV = "external_id,title,channel,start,duration\nA1,Lecture,Studio,2027-04-05T09:00:00Z,3000\n"


@pytest.fixture
def api(api: Api) -> Api:
    """conftest's client, with the imports bucket the template declares."""
    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from local.resources import create_imports_bucket

    create_imports_bucket(bootstrap.services().settings.imports_bucket, aws.client("s3"))
    return api


@pytest.fixture
def ids(api: Api) -> dict[str, str]:
    channel = api.post("/v1/channels", {"name": "Studio"}).data["id"]
    calendar = api.post(
        "/v1/calendars",
        {"name": "Year", "terms": [{"name": "T", "start": "2027-04-05", "weeks": 4}],
         "closures": [{"name": "Off", "start": "2027-04-12", "end": "2027-04-12"}]},
    ).data  # fmt: skip
    made = api.post("/v1/imports", {"source": "s", "format": "csv", "content": CSV, "dry_run": True})
    assert made.status_code == 202, made.data
    return {
        "channel": channel,
        "calendar": calendar["id"],
        "closure": calendar["closures"][0]["id"],
        "import": made.data["id"],
    }


ROUTES = [
    ("POST", "/v1/imports", {"source": "s", "format": "csv", "content": CSV}),
    ("GET", "/v1/imports", None),
    ("GET", "/v1/imports/{import}", None),
    ("POST", "/v1/imports/{import}/apply", None),
    ("POST", "/v1/imports/{import}/start", None),
    ("POST", "/v1/calendars", {"name": "c"}),
    ("GET", "/v1/calendars", None),
    ("GET", "/v1/calendars/{calendar}", None),
    ("PATCH", "/v1/calendars/{calendar}", {"name": "d"}),
    ("DELETE", "/v1/calendars/{calendar}", None),
    ("POST", "/v1/calendars/{calendar}/closures", {"name": "x", "start": "2027-04-13", "end": "2027-04-13"}),
    ("PATCH", "/v1/calendars/{calendar}/closures/{closure}", {"name": "y"}),
    ("DELETE", "/v1/calendars/{calendar}/closures/{closure}", None),
]


def send(api: Api, method: str, path: str, body: Any, key: str | None = None) -> Any:
    return api.call(method, path, body, key=key)


def is_problem(response: Any, status: int) -> bool:
    return response.status_code == status and response.headers.get("Content-Type") == PROBLEM


def test_no_key_is_401_and_a_read_key_cannot_write(api: Api, ids: dict[str, str]) -> None:
    reader = api.post("/v1/keys", {"name": "reader", "scopes": ["read"]}).data["key"]
    for method, template, body in ROUTES:
        path = template.format(**ids)
        anonymous = Api(api.http, "")
        assert is_problem(send(anonymous, method, path, body), 401), (method, path)
        answer = send(api, method, path, body, key=reader)
        if method == "GET":
            assert answer.status_code == 200, (method, path, answer.data)
        else:
            assert is_problem(answer, 403), (method, path, answer.status_code)


def test_another_tenants_calendars_and_imports_are_404(api: Api, ids: dict[str, str]) -> None:
    other = Api(api.http, api.post("/v1/tenants", {"name": "Other"}).data["admin_key"])
    for method, template, body in ROUTES:
        if "{" not in template:
            continue
        answer = send(other, method, template.format(**ids), body)
        assert is_problem(answer, 404), (method, template, answer.status_code, answer.data)
    assert other.get("/v1/calendars").data["items"] == [] and other.get("/v1/imports").data["items"] == []


def test_if_match_guards_a_calendar(api: Api, ids: dict[str, str]) -> None:
    path = f"/v1/calendars/{ids['calendar']}"
    stale = api.patch(path, {"name": "Renamed"}, headers={"If-Match": '"99"'})
    assert is_problem(stale, 412)
    current = api.get(path)
    fresh = api.patch(path, {"name": "Renamed"}, headers={"If-Match": current.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != current.headers["ETag"]


UGLY = [
    "[]",
    "null",
    '"text"',
    '{"name": {"a": [1, 2, {"b": null}]}}',
    '{"name": "x", "terms": [{"name": "t", "start": "9999-12-31", "weeks": 53}]}',
    '{"name": "x", "terms": [{"name": "t", "start": "0001-01-01", "weeks": 1}]}',
    '{"name": "x", "start": "9999-12-31T23:59:59", "end": "9999-12-31"}',
    '{"name": "x", "start": "2027-04-13", "end": "2027-04-14", "channel_ids": [1, null]}',
    '{"source": "s", "format": "json", "content": [{"external_id": {"x": 1}, "title": [], "channel": 5, '
    '"start": {"a": 1}, "frequency": 7, "weeks": 3, "calendar": false, "metadata": "m", "tags": {"a": 1}}]}',
    '{"source": "s", "format": "json", "content": {"rows": [null, 1, "x", []]}}',
    '{"source": "s", "format": "csv", "content": "' + "a" * 200_000 + '"}',
    '{"source": "s", "format": "ics", "content": "BEGIN:VCALENDAR\\nBEGIN:VEVENT\\n'
    "DTSTART:99991231T235959Z\\n"
    'DURATION:P9999W\\nUID:x\\nSUMMARY:y\\nLOCATION:Studio\\nEND:VEVENT\\nEND:VCALENDAR"}',
    '{"source": "s", "format": "csv", "content": "x", "scope": {"from": -1, "to": 99999999999999}}',
]


@pytest.mark.parametrize("raw", UGLY)
def test_no_body_produces_a_5xx(api: Api, ids: dict[str, str], raw: str) -> None:
    for method, template, _ in ROUTES:
        if method not in ("POST", "PATCH"):
            continue
        path = template.format(**ids)
        answer = api.call(method, path, raw=raw)
        assert answer.status_code < 500, (method, path, raw[:80], answer.data)
        if answer.status_code >= 400:
            assert answer.headers.get("Content-Type") == PROBLEM, (method, path)


def test_rows_of_the_wrong_types_are_their_own_errors(api: Api, ids: dict[str, str]) -> None:
    one = {"title": "T", "channel": "Studio", "duration": 60}
    rows = [
        {**one, "external_id": 7, "start": "2027-04-05T09:00:00Z"},
        {**one, "external_id": "B", "start": "2027-04-06T09:00:00Z", "frequency": 7},
        {"external_id": "C", "title": "T", "channel": 5, "start": {"a": 1}},
    ]
    made = api.post("/v1/imports", {"source": "types", "format": "json", "content": rows, "dry_run": True})
    results = api.get(f"/v1/imports/{made.data['id']}").data["results"]
    assert [(r["external_id"], r["action"]) for r in results] == [
        ("7", "create"),
        ("B", "error"),
        ("C", "error"),
    ]
    assert results[1]["errors"] == [{"pointer": "/frequency", "detail": "must be text"}]
    assert {e["pointer"] for e in results[2]["errors"]} >= {"/channel"}
    assert json.dumps(results)  # every result is plain JSON
