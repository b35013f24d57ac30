"""Lifecycle runs as Step Functions executions with deterministic names.

A run is named `<event_id>-<run_id>` (`-td` for a teardown-only run). Starting the same name again while
it runs is a no-op, so retries never double-start. Execution names stay taken after a run ends (90 days
in AWS, forever in moto), so starting an identity whose earlier run was stopped uses the next free
suffix (`-2`, `-3`...); stopping walks the same suffixes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger("onair.stepfunctions")

MAX_SUFFIX = 20  # an identity restarted more often than this is left to the tasks' self-healing


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class Runs:
    """Start and stop executions of the lifecycle state machine."""

    def __init__(self, state_machine_arn: str, client_factory: Callable[[], Any]) -> None:
        self.state_machine_arn = state_machine_arn
        self._client_factory = client_factory

    @property
    def enabled(self) -> bool:
        return bool(self.state_machine_arn)

    def execution_arn(self, name: str) -> str:
        """The ARN an execution of this state machine named `name` has."""
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name

    def start(self, name: str, payload: dict[str, Any]) -> str | None:
        """Start `name` unless a run of it is already under way; returns the execution's name."""
        if not self.enabled:
            return None
        client = self._client_factory()
        body = json.dumps(payload, sort_keys=True)
        for n in range(1, MAX_SUFFIX + 1):
            candidate = name if n == 1 else f"{name}-{n}"
            try:
                client.start_execution(stateMachineArn=self.state_machine_arn, name=candidate, input=body)
                return candidate
            except ClientError as error:
                if _code(error) != "ExecutionAlreadyExists":
                    raise
            if self._running(candidate):
                return candidate  # already started (a retry, or another writer got there first)
        log.warning("run name suffixes exhausted", extra={"execution": name})
        return None

    def stop(self, name: str) -> int:
        """Stop every running execution of `name` (and its suffixes); returns how many it stopped."""
        if not self.enabled:
            return 0
        client = self._client_factory()
        stopped = 0
        for n in range(1, MAX_SUFFIX + 1):
            candidate = name if n == 1 else f"{name}-{n}"
            try:
                described = client.describe_execution(executionArn=self.execution_arn(candidate))
            except ClientError as error:
                if _code(error) == "ExecutionDoesNotExist":
                    break
                raise
            if described["status"] == "RUNNING":
                client.stop_execution(executionArn=self.execution_arn(candidate), cause="superseded")
                stopped += 1
        return stopped

    def _running(self, name: str) -> bool:
        try:
            described = self._client_factory().describe_execution(executionArn=self.execution_arn(name))
        except ClientError as error:
            if _code(error) == "ExecutionDoesNotExist":
                return False
            raise
        return bool(described["status"] == "RUNNING")
