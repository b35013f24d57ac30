"""The console's routes in process (chalice.test.Client, no browser): the base path behind API Gateway,
revalidation, and that the page and its files never need a key."""

from __future__ import annotations

import re

import pytest

from chalicelib.api.console import ASSET_CACHE, bundle


@pytest.fixture
def client(services):
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client.http


def gateway_event(path: str, host: str, stage: str = "api") -> dict:
    """What API Gateway's Lambda proxy integration hands the function for `GET path` at the root resource."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": {"Host": host},
        "multiValueHeaders": {"Host": [host]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": "GET", "stage": stage, "requestId": "r-1"},
        "body": None,
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("host", "base"),
    [
        pytest.param("127.0.0.1:8000", "/", id="locally the app is at the root"),
        pytest.param(
            "abc123.execute-api.eu-west-1.amazonaws.com", "/api/", id="API Gateway: under the stage"
        ),
        pytest.param("onair.example.org", "/", id="a custom domain maps the stage away"),
    ],
)
def test_the_page_names_its_base_and_the_current_asset_version(services, host, base):
    from app import app

    response = app(gateway_event("/", host), None)
    assert response["statusCode"] == 200
    page = response["body"]
    assert f'<base href="{base}">' in page
    assert f'src="console/{bundle().version}/app.js"' in page
    assert re.search(r'"actions":\{"scheduled":\["provision","cancel","extend"\]', page), "lifecycle table"


def test_the_page_revalidates_and_the_assets_are_cached_for_good(client):
    first = client.get("/")
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.body == b""
    assert client.get("/", headers={"If-None-Match": '"other"'}).status_code == 200
    version = bundle().version
    for name in bundle().files:
        response = client.get(f"/console/{version}/{name}")
        assert response.status_code == 200, name
        assert response.headers["Cache-Control"] == ASSET_CACHE, name


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/console/{version}/README.md", id="only scripts, styles and the icon are served"),
        pytest.param("/console/{version}/vendor/LICENSE.htm", id="not even from vendor/"),
        pytest.param("/console/{version}/..%2Fapi%2Fconsole.py", id="no way out of the folder"),
        pytest.param("/console/0123456789ab/app.js", id="another version"),
    ],
)
def test_what_the_console_does_not_serve_is_a_404_problem(client, path):
    response = client.get(path.format(version=bundle().version))
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_the_page_is_public_but_the_api_is_not(client):
    assert client.get("/", headers={"Authorization": "Bearer nonsense"}).status_code == 200
    assert client.post("/", body=b"{}").status_code == 405
    assert client.get("/v1/channels").status_code == 401
