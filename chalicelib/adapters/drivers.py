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

Webhook requests: `POST <url>` with the JSON body `{"step", "event": {...the event as the API shows it},
"channel_id", "tenant_id", "at"}` (compact, keys sorted), headers `Content-Type: application/json`,
`X-Onair-Step: <step>` and, when the channel has a secret, `X-Onair-Signature: sha256=<hex>`: the
HMAC-SHA256 of the exact body bytes keyed with the secret (verify with `verify_signature`). A 2xx answer
within the timeout (default 5 s) is success; any other status, a redirect, a timeout or a connection error
is a `DriverError`. `at` lets a receiver refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters import aws
from chalicelib.domain import models
from chalicelib.domain.models import Channel, Event
from chalicelib.domain.time import format_instant

STEPS: tuple[str, ...] = ("provision", "start", "stop", "teardown")
"""The driver steps, in lifecycle order."""

SIGNATURE_HEADER = "X-Onair-Signature"
STEP_HEADER = "X-Onair-Step"
DEFAULT_TIMEOUT_SECONDS = 5.0

Clock = Callable[[], datetime]


class DriverError(Exception):
    """A driver step failed; `reason` is what the history and the `failed` notification say."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DriverNotReady(Exception):
    """Raised by the `provisioned` task while `is_ready` is false; the state machine polls by retrying it."""


@dataclass(frozen=True)
class StepResult:
    """A driver step that succeeded, with a short note on what happened."""

    step: str
    detail: str


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
    config: models.Driver, *, clock: Clock = _utcnow, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> LifecycleDriver:
    """The driver for a channel's driver config (`channel.driver`)."""
    if isinstance(config, models.WebhookDriver):
        return Webhook(config.url, config.secret, clock=clock, timeout=timeout)
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


def sign(secret: str, body: bytes) -> str:
    """The `X-Onair-Signature` value for `body`: `sha256=` and the hex HMAC-SHA256 keyed with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` under `secret` (constant-time; for receivers and tests)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would replay a POST as a bodiless GET, which no receiver expects."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Webhook:
    """POSTs each step as signed JSON to the channel's URL; 2xx within the timeout is success."""

    def __init__(
        self,
        url: str,
        secret: str | None,
        *,
        clock: Clock = _utcnow,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.secret = secret
        self.clock = clock
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def provision(self, event: Event, channel: Channel) -> StepResult:
        return self._post("provision", event, channel)

    def is_ready(self, event: Event, channel: Channel) -> bool:
        return True  # the receiver acknowledged provision with a 2xx; it has no separate readiness signal

    def start(self, event: Event, channel: Channel) -> StepResult:
        return self._post("start", event, channel)

    def stop(self, event: Event, channel: Channel) -> StepResult:
        return self._post("stop", event, channel)

    def teardown(self, event: Event, channel: Channel) -> StepResult:
        return self._post("teardown", event, channel)

    def body(self, step: str, event: Event, channel: Channel) -> bytes:
        """The exact bytes sent (and signed) for `step`."""
        document = {
            "step": step,
            "event": event.model_dump(mode="json"),
            "channel_id": channel.id,
            "tenant_id": event.tenant_id,
            "at": format_instant(self.clock()),
        }
        return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()

    def _post(self, step: str, event: Event, channel: Channel) -> StepResult:
        # urllib also opens file:// and ftp:// URLs; a webhook must never read local files.
        if urllib.parse.urlsplit(self.url).scheme not in ("http", "https"):
            raise DriverError(f"webhook {step}: the URL must be http or https")
        body = self.body(step, event, channel)
        headers = {"Content-Type": "application/json", "User-Agent": "onair-webhook", STEP_HEADER: step}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
            error.close()
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise DriverError(f"webhook {step}: {_host(self.url)} unreachable ({reason})") from error
        if not 200 <= status < 300:
            raise DriverError(f"webhook {step}: {_host(self.url)} answered HTTP {status}")
        return StepResult(step, f"webhook answered HTTP {status}")


def _host(url: str) -> str:
    """The URL's host and port only: paths and queries may carry tokens that must not reach the history."""
    return urllib.parse.urlsplit(url).netloc.rpartition("@")[2] or url


class MediaLive:
    """Runs an AWS Elemental MediaLive channel: started on provision, stopped on stop and teardown."""

    _RUNNING = frozenset({"RUNNING", "STARTING", "RECOVERING"})
    _STOPPED = frozenset({"IDLE", "STOPPING"})

    def __init__(self, channel_id: str, client: Callable[[], Any] | None = None) -> None:
        self.channel_id = channel_id
        self._client = client or (lambda: aws.client("medialive"))

    def provision(self, event: Event, channel: Channel) -> StepResult:
        state = self.state()
        if state in self._RUNNING:
            return StepResult("provision", f"MediaLive channel {self.channel_id} already {state}")
        if state != "IDLE":
            raise DriverError(f"MediaLive channel {self.channel_id} is {state}; it cannot be started")
        self._call("start_channel")
        return StepResult("provision", f"MediaLive channel {self.channel_id} starting")

    def is_ready(self, event: Event, channel: Channel) -> bool:
        return self.state() == "RUNNING"

    def start(self, event: Event, channel: Channel) -> StepResult:
        state = self.state()
        if state != "RUNNING":
            raise DriverError(f"MediaLive channel {self.channel_id} is {state}, not RUNNING")
        return StepResult("start", f"MediaLive channel {self.channel_id} running")

    def stop(self, event: Event, channel: Channel) -> StepResult:
        return self._stop("stop")

    def teardown(self, event: Event, channel: Channel) -> StepResult:
        return self._stop("teardown")

    def state(self) -> str:
        """The channel's current MediaLive state (`IDLE`, `STARTING`, `RUNNING`, `STOPPING`, ...)."""
        return str(self._call("describe_channel")["State"])

    def _stop(self, step: str) -> StepResult:
        state = self.state()
        if state in self._RUNNING:
            self._call("stop_channel")
            return StepResult(step, f"MediaLive channel {self.channel_id} stopping")
        # IDLE or STOPPING is already what we want; CREATING/DELETING/DELETED have nothing running to stop.
        return StepResult(step, f"MediaLive channel {self.channel_id} already {state}")

    def _call(self, operation: str) -> Any:
        try:
            return getattr(self._client(), operation)(ChannelId=self.channel_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Error")
            if code == "NotFoundException":
                raise DriverError(f"MediaLive channel {self.channel_id} not found") from error
            raise DriverError(f"MediaLive {operation} on {self.channel_id} failed: {code}") from error
        except BotoCoreError as error:
            raise DriverError(f"MediaLive {operation} on {self.channel_id} failed: {error}") from error
