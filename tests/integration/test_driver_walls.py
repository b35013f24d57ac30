"""Tenant walls around what a channel's driver can reach: webhook addresses and MediaLive channels.

A webhook URL is checked when a channel is written (422 at /driver/url) and again at every call; a MediaLive
channel must carry the tag `onair:tenant` = the tenant's id, checked when bound (422 at /driver/channel_id,
the same whether the id exists or not) and before every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters import aws as clients
from tests.conftest import OPERATOR_KEY, Api
from tests.refused_urls import REFUSED_URLS

ROLE = "arn:aws:iam::123456789012:role/medialive"
UNAVAILABLE = "must name a MediaLive channel in this account tagged onair:tenant = your tenant's id"


def build_api(clock: Any, **env: str) -> Iterator[Api]:
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    built = bootstrap.build(Settings.from_env({"ONAIR_STAGE": "test", **env}), clock)
    built.tenancy.bootstrap_operator(OPERATOR_KEY, clock())
    bootstrap.override(built)
    with Client(app) as client:
        yield Api(client.http, OPERATOR_KEY)
    bootstrap.override(None)


@pytest.fixture
def strict(aws: None, clock: Any) -> Iterator[Api]:
    """Private addresses not allowed (every deployment but the local stage); http allowed (test stage)."""
    yield from build_api(clock)


@pytest.fixture
def local(aws: None, clock: Any) -> Iterator[Api]:
    yield from build_api(clock, ONAIR_WEBHOOK_ALLOW_PRIVATE="true")


@pytest.fixture
def cloud(aws: None, clock: Any) -> Iterator[Api]:
    yield from build_api(clock, ONAIR_STAGE="prod", ONAIR_TABLE="onair-test-main", ONAIR_BUS="onair-test")


def webhook(url: str) -> dict[str, Any]:
    return {"name": "Hooked", "driver": {"type": "webhook", "url": url}}


def refusal(response: Any, pointer: str) -> str:
    assert response.status_code == 422, response.data
    (error,) = response.data["errors"]
    assert error["pointer"] == pointer
    return str(error["detail"])


# -- webhook URLs at write time --------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "why"), REFUSED_URLS)
def test_a_webhook_url_that_may_not_be_called_is_422_at_create_and_patch(
    strict: Api, url: str, why: str
) -> None:
    assert why.split()[0] in refusal(strict.post("/v1/channels", webhook(url)), "/driver/url")
    channel = strict.post("/v1/channels", {"name": "Plain"}).data
    patched = strict.patch(f"/v1/channels/{channel['id']}", {"driver": {"type": "webhook", "url": url}})
    assert why.split()[0] in refusal(patched, "/driver/url")
    assert strict.get(f"/v1/channels/{channel['id']}").data["driver"] == {"type": "noop"}


def test_a_name_resolving_to_a_refused_address_is_422(strict: Api, monkeypatch: Any) -> None:
    import socket

    real = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.attacker.example":
            return real("169.254.169.254", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    detail = refusal(strict.post("/v1/channels", webhook("http://hooks.attacker.example/")), "/driver/url")
    assert detail == "resolves to a link-local address, which webhooks may not call"
    assert "169.254" not in detail, "the resolved address is not shown"


def test_a_name_that_does_not_resolve_yet_is_accepted(strict: Api) -> None:
    created = strict.post("/v1/channels", webhook("http://hooks.not-yet.example/"))
    assert created.status_code == 201, "DNS may come later; every call checks again"


def test_the_local_stage_allows_loopback_and_private_but_never_link_local(local: Api) -> None:
    assert local.post("/v1/channels", webhook("http://127.0.0.1:9000/hook")).status_code == 201
    assert local.post("/v1/channels", webhook("http://192.168.1.20/hook")).status_code == 201
    assert "link-local" in refusal(
        local.post("/v1/channels", webhook("http://169.254.169.254/")), "/driver/url"
    )


def test_the_cloud_stage_takes_https_only(cloud: Api) -> None:
    detail = refusal(cloud.post("/v1/channels", webhook("http://hooks.example.com/")), "/driver/url")
    assert detail == "must be an https URL in this deployment"
    assert cloud.post("/v1/channels", webhook("https://hooks.example.com/")).status_code == 201


def test_a_patch_that_leaves_the_driver_alone_is_not_checked_again(strict: Api, monkeypatch: Any) -> None:
    created = strict.post("/v1/channels", webhook("http://hooks.later.example/")).data
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.0.0.1", 80))])
    renamed = strict.patch(f"/v1/channels/{created['id']}", {"name": "Renamed"})
    assert renamed.status_code == 200, "a rename is not refused for what DNS says today"


def test_an_action_on_a_channel_whose_webhook_turned_private_fails_without_calling_it(
    strict: Api, monkeypatch: Any
) -> None:
    import socket

    channel = strict.post("/v1/channels", webhook("http://hooks.later.example/hook")).data
    event = strict.post(
        "/v1/events",
        {"title": "Show", "channel_id": channel["id"], "start": "2027-03-01T09:00:00Z", "duration": 600},
    ).data
    connected: list[Any] = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("127.0.0.1", 80))])
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connected.append(a))

    answered = strict.post(f"/v1/events/{event['id']}/actions", {"action": "provision"})

    assert answered.status_code == 409
    assert answered.data["driver_error"] == (
        "webhook provision: hooks.later.example:80 address not allowed "
        "(resolves to a loopback address, which webhooks may not call)"
    )
    assert connected == [], "checked again at call time, before any connection"


# -- MediaLive walls --------------------------------------------------------------------------------------


@pytest.fixture
def medialive(aws: None, monkeypatch: Any) -> Any:
    """moto's MediaLive, answering an unknown id with NotFoundException as AWS does (moto raises KeyError)."""
    from moto.core.exceptions import JsonRESTError
    from moto.medialive.models import MediaLiveBackend

    described = MediaLiveBackend.describe_channel

    def describe_channel(self: Any, channel_id: str) -> Any:
        if channel_id not in self._channels:
            raise JsonRESTError("NotFoundException", "Channel not found")
        return described(self, channel_id)

    monkeypatch.setattr(MediaLiveBackend, "describe_channel", describe_channel)
    return clients.client("medialive")


def live_channel(medialive: Any, tags: dict[str, str] | None = None) -> str:
    return str(medialive.create_channel(Name="studio", RoleArn=ROLE, Tags=tags or {})["Channel"]["Id"])


def medialive_driver(channel_id: str) -> dict[str, Any]:
    return {"name": "Encoder", "driver": {"type": "medialive", "channel_id": channel_id}}


def test_a_channel_binds_only_medialive_channels_tagged_for_its_tenant(strict: Api, medialive: Any) -> None:
    mine = live_channel(medialive, {"onair:tenant": "default"})
    other_tenants = live_channel(medialive, {"onair:tenant": "t_someone_else"})
    untagged = live_channel(medialive)

    assert strict.post("/v1/channels", medialive_driver(mine)).status_code == 201
    refusals = {
        name: refusal(strict.post("/v1/channels", medialive_driver(channel_id)), "/driver/channel_id")
        for name, channel_id in {
            "another tenant's": other_tenants,
            "untagged": untagged,
            "missing": "9999999",
        }.items()
    }
    assert set(refusals.values()) == {UNAVAILABLE}, "the same 422 whether the id exists or not"


def test_another_tenant_cannot_bind_a_channel_tagged_for_this_one(strict: Api, medialive: Any) -> None:
    mine = live_channel(medialive, {"onair:tenant": "default"})
    admin = strict.post("/v1/tenants", {"name": "Other"}).data["admin_key"]
    answered = strict.post("/v1/channels", medialive_driver(mine), key=admin)
    assert refusal(answered, "/driver/channel_id") == UNAVAILABLE


def test_a_patch_to_another_medialive_channel_is_checked(strict: Api, medialive: Any) -> None:
    mine = live_channel(medialive, {"onair:tenant": "default"})
    channel = strict.post("/v1/channels", medialive_driver(mine)).data
    patched = strict.patch(
        f"/v1/channels/{channel['id']}",
        {"driver": {"type": "medialive", "channel_id": live_channel(medialive)}},
    )
    assert refusal(patched, "/driver/channel_id") == UNAVAILABLE


def test_every_step_checks_the_tag_again(strict: Api, medialive: Any) -> None:
    mine = live_channel(medialive, {"onair:tenant": "default"})
    channel = strict.post("/v1/channels", medialive_driver(mine)).data
    event = strict.post(
        "/v1/events",
        {"title": "Show", "channel_id": channel["id"], "start": "2027-03-01T09:00:00Z", "duration": 600},
    ).data
    from moto.medialive.models import medialive_backends

    # The account owner hands the channel to another tenant (moto has no TagResource for channels).
    medialive_backends["123456789012"]["us-east-1"]._channels[mine].tags = {"onair:tenant": "t_other"}

    answered = strict.post(f"/v1/events/{event['id']}/actions", {"action": "provision"})

    assert answered.status_code == 409
    assert answered.data["driver_error"] == (
        f"MediaLive channel {mine} is not available to this tenant (tag onair:tenant)"
    )
    assert medialive.describe_channel(ChannelId=mine)["State"] == "IDLE", "it was not started"
