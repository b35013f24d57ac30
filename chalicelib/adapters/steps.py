"""What a driver step returns or raises. The state machine matches the errors by class name.

- `DriverError`: the step failed and may work if tried again; the state machine retries it with backoff
  (`infra/lifecycle.asl.json`), then records `failed` with its message.
- `DriverRejected`: the step failed in a way retrying cannot fix (a 4xx answer, an address webhooks may
  not call); no Retry names it, so the run records `failed` at once.
- `DriverNotReady`: provisioning is still under way; the `provisioned` step polls by retrying it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepResult:
    """A driver step that succeeded, with a short note on what happened."""

    step: str
    detail: str


class DriverError(Exception):
    """A driver step failed (retried by the state machine).

    The message (`str(error)`, which the state machine records in the history and the `failed`
    notification) says what happened in a fixed vocabulary. `reason` is what an API caller is shown when
    an action's step fails (409): the same, unless the message would tell the caller more than it should
    (whether a host:port answers).
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class DriverRejected(DriverError):
    """A driver step failed for good: retrying cannot help, so the run fails at once."""


class DriverNotReady(Exception):
    """Raised by the `provisioned` task while `is_ready` is false; the state machine polls by retrying it."""
