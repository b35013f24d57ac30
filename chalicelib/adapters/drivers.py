"""Lifecycle drivers: what provision, start, stop and teardown do to the outside world, per channel.

Every driver has the same five calls; each step returns a `StepResult` (a line for the history) or raises
`DriverError` with a reason. The state machine retries a `DriverError` with backoff and, once retries run
out, records `failed` with that reason. Steps may run more than once (retries, a `force_stop` after a
stop), so every driver makes them idempotent.

| step      | noop     | webhook                              | medialive                                  |
|-----------|----------|--------------------------------------|--------------------------------------------|
| provision | succeeds | POST step `provision`: prepare       | starts the MediaLive channel if it is IDLE |
| is_ready  | true     | true (the 2xx to provision is ready) | true once the channel reports RUNNING      |
| start     | succeeds | POST step `start`: go live           | checks the channel is RUNNING (no change)  |
| stop      | succeeds | POST step `stop`: end the live       | stops the channel unless IDLE/STOPPING     |
| teardown  | succeeds | POST step `teardown`: release        | stops the channel if it still runs         |

The webhook driver lives in `webhook.py` (what is sent, and where it may go: `netguard.py`). A MediaLive
channel is driven only when its `onair:tenant` tag names the event's tenant: checked when a channel binds
it (`DriverChecks`) and again before every step; a refusal reads the same whether the id exists or not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters import aws, netguard
from chalicelib.adapters.netguard import WebhookPolicy
from chalicelib.adapters.steps import DriverError, DriverNotReady, DriverRejected, StepResult
from chalicelib.adapters.webhook import (
    DEFAULT_TIMEOUT_SECONDS,
    SIGNATURE_HEADER,
    STEP_HEADER,
    Webhook,
    sign,
    verify_signature,
)
from chalicelib.domain import models
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.models import Channel, Event

STEPS: tuple[str, ...] = ("provision", "start", "stop", "teardown")
"""The driver steps, in lifecycle order."""

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "SIGNATURE_HEADER",
    "STEP_HEADER",
    "DriverError",
    "DriverNotReady",
    "DriverRejected",
    "StepResult",
    "Webhook",
    "sign",
    "verify_signature",
]

TENANT_TAG = "onair:tenant"
"""The MediaLive channel tag that hands a channel to one tenant (the account owner sets it)."""

Clock = Callable[[], datetime]


class LifecycleDriver(Protocol):
    """The interface every driver implements."""

    def provision(self, event: Event, channel: Channel) -> StepResult: ...

    def is_ready(self, event: Event, channel: Channel) -> bool: ...

    def start(self, event: Event, channel: Channel) -> StepResult: ...

    def stop(self, event: Event, channel: Channel) -> StepResult: ...

    def teardown(self, event: Event, channel: Channel) -> StepResult: ...


def run_step(driver: LifecycleDriver, step: str, event: Event, channel: Channel) -> StepResult:
    """Run one named step (`provision`, `start`, `stop` or `teardown`) on `driver`."""
    if step not in STEPS:
        raise ValueError(f"unknown driver step {step!r}")
    result: StepResult = getattr(driver, step)(event, channel)
    return result


def _utcnow() -> datetime:
    return datetime.now(UTC)


def driver_for(
    config: models.Driver,
    *,
    clock: Clock = _utcnow,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    policy: WebhookPolicy | None = None,
) -> LifecycleDriver:
    """The driver for a channel's driver config (`channel.driver`); `policy` says where webhooks may go."""
    if isinstance(config, models.WebhookDriver):
        return Webhook(config.url, config.secret, clock=clock, timeout=timeout, policy=policy)
    if isinstance(config, models.MediaLiveDriver):
        return MediaLive(config.channel_id)
    return Noop()


class Noop:
    """Does nothing and succeeds at once: the default for channels with nothing to drive."""

    def provision(self, event: Event, channel: Channel) -> StepResult:
        return StepResult("provision", "noop")

    def is_ready(self, event: Event, channel: Channel) -> bool:
        return True

    def start(self, event: Event, channel: Channel) -> StepResult:
        return StepResult("start", "noop")

    def stop(self, event: Event, channel: Channel) -> StepResult:
        return StepResult("stop", "noop")

    def teardown(self, event: Event, channel: Channel) -> StepResult:
        return StepResult("teardown", "noop")


class MediaLive:
    """Runs an AWS Elemental MediaLive channel: started on provision, stopped on stop and teardown.

    Every step first describes the channel and checks its `onair:tenant` tag names the event's tenant, so a
    tenant can only drive channels the account owner handed to it. A missing channel, one tagged for
    another tenant or none, and one IAM refuses all read the same (`DriverRejected`, not retried).
    """

    _RUNNING = frozenset({"RUNNING", "STARTING", "RECOVERING"})
    # Answers that depend on whether (and whose) the channel is: all become the one refusal.
    _UNAVAILABLE = frozenset(
        {"NotFoundException", "AccessDeniedException", "ForbiddenException", "BadRequestException"}
    )

    def __init__(self, channel_id: str, client: Callable[[], Any] | None = None) -> None:
        self.channel_id = channel_id
        self._client = client or (lambda: aws.client("medialive"))

    def provision(self, event: Event, channel: Channel) -> StepResult:
        state = self.state(event.tenant_id)
        if state in self._RUNNING:
            return StepResult("provision", f"MediaLive channel {self.channel_id} already {state}")
        if state != "IDLE":
            raise DriverError(f"MediaLive channel {self.channel_id} is {state}; it cannot be started")
        self._call("start_channel")
        return StepResult("provision", f"MediaLive channel {self.channel_id} starting")

    def is_ready(self, event: Event, channel: Channel) -> bool:
        return self.state(event.tenant_id) == "RUNNING"

    def start(self, event: Event, channel: Channel) -> StepResult:
        state = self.state(event.tenant_id)
        if state != "RUNNING":
            raise DriverError(f"MediaLive channel {self.channel_id} is {state}, not RUNNING")
        return StepResult("start", f"MediaLive channel {self.channel_id} running")

    def stop(self, event: Event, channel: Channel) -> StepResult:
        return self._stop("stop", event.tenant_id)

    def teardown(self, event: Event, channel: Channel) -> StepResult:
        return self._stop("teardown", event.tenant_id)

    def state(self, tenant_id: str) -> str:
        """The channel's MediaLive state (`IDLE`, `RUNNING`, ...), once its tag names `tenant_id`."""
        described = self._call("describe_channel")
        if (described.get("Tags") or {}).get(TENANT_TAG) != tenant_id:
            raise self._unavailable()
        return str(described["State"])

    def _stop(self, step: str, tenant_id: str) -> StepResult:
        state = self.state(tenant_id)
        if state in self._RUNNING:
            self._call("stop_channel")
            return StepResult(step, f"MediaLive channel {self.channel_id} stopping")
        # IDLE or STOPPING is already what we want; CREATING/DELETING/DELETED have nothing running to stop.
        return StepResult(step, f"MediaLive channel {self.channel_id} already {state}")

    def _unavailable(self) -> DriverRejected:
        return DriverRejected(
            f"MediaLive channel {self.channel_id} is not available to this tenant (tag {TENANT_TAG})"
        )

    def _call(self, operation: str) -> Any:
        try:
            return getattr(self._client(), operation)(ChannelId=self.channel_id)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Error"))
            if code in self._UNAVAILABLE:
                raise self._unavailable() from None
            raise DriverError(f"MediaLive {operation} on {self.channel_id} failed: {code}") from None
        except BotoCoreError:
            raise DriverError(f"MediaLive {operation} on {self.channel_id} failed: no answer") from None


class DriverChecks:
    """The checks a channel's driver passes when a channel is created or its driver changes (422 if not).

    A webhook URL must be one netguard allows (literal addresses, and names that resolve to refused
    ones); a MediaLive channel must carry the tenant's `onair:tenant` tag. Each step checks again.
    """

    def __init__(
        self,
        policy: WebhookPolicy,
        medialive: Callable[[], Any] | None = None,
        resolve: netguard.Resolver | None = None,
    ) -> None:
        self.policy = policy
        self._medialive = medialive or (lambda: aws.client("medialive"))
        self.resolve = resolve

    def __call__(self, tenant_id: str, config: models.Driver) -> None:
        if isinstance(config, models.WebhookDriver):
            try:
                netguard.vet_for_write(config.url, self.policy, self.resolve)
            except netguard.Refused as refused:
                raise ValidationFailed.one("/driver/url", refused.why) from None
        elif isinstance(config, models.MediaLiveDriver):
            try:
                MediaLive(config.channel_id, self._medialive).state(tenant_id)
            except DriverError:
                raise ValidationFailed.one(
                    "/driver/channel_id",
                    f"must name a MediaLive channel in this account tagged {TENANT_TAG} = your tenant's id",
                ) from None
