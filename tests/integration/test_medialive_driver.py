"""The MediaLive driver against moto's MediaLive (mock_aws, in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from chalicelib.adapters import aws, drivers
from chalicelib.adapters.drivers import DriverError
from chalicelib.domain.models import Channel, Event, MediaLiveDriver

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def medialive() -> Iterator[Any]:
    with mock_aws():
        aws.reset()
        yield aws.client("medialive")
        aws.reset()


@pytest.fixture
def channel_id(medialive: Any) -> str:
    created = medialive.create_channel(
        Name="studio-a", RoleArn="arn:aws:iam::123456789012:role/medialive", Tags={"onair:tenant": "t_1"}
    )
    return str(created["Channel"]["Id"])


def onair_channel(channel_id: str) -> Channel:
    return Channel(
        id="ch_1",
        tenant_id="t_1",
        created_at=NOW,
        updated_at=NOW,
        name="Studio A",
        driver=MediaLiveDriver(type="medialive", channel_id=channel_id),
    )


def event() -> Event:
    return Event(
        id="ev_1",
        tenant_id="t_1",
        created_at=NOW,
        updated_at=NOW,
        title="Show",
        channel_id="ch_1",
        start=NOW,
        end=NOW.replace(hour=9),
    )


def test_a_full_run_starts_then_stops_the_channel(medialive: Any, channel_id: str) -> None:
    channel = onair_channel(channel_id)
    driver = drivers.driver_for(channel.driver)
    assert isinstance(driver, drivers.MediaLive)
    assert driver.state("t_1") == "IDLE"  # moto settles CREATING into IDLE on the first describe

    assert driver.provision(event(), channel).detail == f"MediaLive channel {channel_id} starting"
    assert driver.is_ready(event(), channel)  # moto settles STARTING into RUNNING on the next describe
    assert driver.start(event(), channel).detail == f"MediaLive channel {channel_id} running"
    assert driver.stop(event(), channel).detail == f"MediaLive channel {channel_id} stopping"
    assert medialive.describe_channel(ChannelId=channel_id)["State"] == "IDLE"
    assert driver.teardown(event(), channel).detail == f"MediaLive channel {channel_id} already IDLE"


def test_provision_is_idempotent(channel_id: str) -> None:
    channel = onair_channel(channel_id)
    driver = drivers.driver_for(channel.driver)
    driver.provision(event(), channel)
    assert driver.provision(event(), channel).detail == f"MediaLive channel {channel_id} already RUNNING"


def test_teardown_stops_a_channel_left_running(medialive: Any, channel_id: str) -> None:
    channel = onair_channel(channel_id)
    driver = drivers.driver_for(channel.driver)
    driver.provision(event(), channel)
    assert driver.teardown(event(), channel).detail == f"MediaLive channel {channel_id} stopping"
    assert medialive.describe_channel(ChannelId=channel_id)["State"] == "IDLE"


def test_start_refuses_a_channel_that_is_not_running(channel_id: str) -> None:
    channel = onair_channel(channel_id)
    with pytest.raises(DriverError, match="is IDLE, not RUNNING"):
        drivers.driver_for(channel.driver).start(event(), channel)


@pytest.mark.parametrize(
    "tags",
    [
        pytest.param({}, id="untagged"),
        pytest.param({"onair:tenant": "t_2"}, id="another tenant's"),
        pytest.param({"onair:tenant": "T_1"}, id="a tag that only nearly matches"),
    ],
)
def test_no_step_drives_a_channel_not_tagged_for_the_tenant(medialive: Any, tags: dict[str, str]) -> None:
    other = medialive.create_channel(Name="x", RoleArn="arn:aws:iam::123456789012:role/m", Tags=tags)
    channel = onair_channel(other["Channel"]["Id"])
    driver = drivers.driver_for(channel.driver)
    for step in drivers.STEPS:
        with pytest.raises(drivers.DriverRejected, match="is not available to this tenant"):
            drivers.run_step(driver, step, event(), channel)
    assert medialive.describe_channel(ChannelId=other["Channel"]["Id"])["State"] == "IDLE"


def test_provision_refuses_a_channel_being_deleted(medialive: Any, channel_id: str) -> None:
    medialive.delete_channel(ChannelId=channel_id)  # DELETING until the next describe, then DELETED
    channel = onair_channel(channel_id)
    with pytest.raises(DriverError, match="cannot be started"):
        drivers.driver_for(channel.driver).provision(event(), channel)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        pytest.param(
            "NotFoundException",
            "MediaLive channel 999 is not available to this tenant (tag onair:tenant)",
            id="a missing channel reads as one that is not this tenant's",
        ),
        pytest.param(
            "TooManyRequestsException",
            "MediaLive describe_channel on 999 failed: TooManyRequestsException",
            id="throttled (the state machine retries)",
        ),
    ],
)
def test_aws_errors_become_driver_errors(code: str, reason: str) -> None:
    # moto raises a bare KeyError for an unknown channel, so AWS's error codes are stubbed here.
    client = boto3.client("medialive", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("describe_channel", service_error_code=code, http_status_code=404)
        driver = drivers.MediaLive("999", client=lambda: client)
        with pytest.raises(DriverError) as caught:
            driver.provision(event(), onair_channel("999"))
    assert caught.value.reason == reason
