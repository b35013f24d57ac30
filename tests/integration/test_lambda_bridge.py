"""The local Lambda bridge on the real embedded moto server: ASL Tasks reach in-process Python handlers."""

from __future__ import annotations

import copy
import io
import json
import math
import os
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
from moto.core.config import default_user_config

from local import lambda_bridge
from local.emulator import Emulator


class DriverError(Exception):
    """Stands in for the driver error a task handler raises; Step Functions sees its class name."""


@dataclass
class Recorder:
    """A handler that records each payload with its arrival time and plays a script of outcomes."""

    script: list[Any] = field(default_factory=list)  # an Exception to raise, or a value to return
    calls: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, payload: dict[str, Any]) -> Any:
        self.calls.append((time.time(), payload))
        outcome = self.script.pop(0) if self.script else {"ok": True}
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [payload for _, payload in self.calls]


@dataclass
class Stack:
    """Clients on the emulator plus an IAM role that Lambda and Step Functions accept."""

    iam: Any
    lam: Any
    sfn: Any
    role_arn: str

    def function(self) -> str:
        """Create a Lambda function with a throwaway zip (moto never runs it) and return its ARN."""
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("task.py", "def handler(event, context):\n    return event\n")
        return self.lam.create_function(
            FunctionName=f"task-{uuid.uuid4().hex[:8]}",
            Runtime="python3.11",
            Role=self.role_arn,
            Handler="task.handler",
            Code={"ZipFile": archive.getvalue()},
        )["FunctionArn"]

    def machine(self, definition: dict[str, Any]) -> str:
        return self.sfn.create_state_machine(
            name=f"sm-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=self.role_arn
        )["stateMachineArn"]

    def run(self, machine_arn: str, payload: dict[str, Any], timeout: float = 9.0) -> dict[str, Any]:
        """Start an execution and poll until it leaves RUNNING."""
        # Always name executions: moto's parser backend does not default a missing name (it becomes "None").
        arn = self.sfn.start_execution(
            stateMachineArn=machine_arn, name=uuid.uuid4().hex, input=json.dumps(payload)
        )["executionArn"]
        return self.wait(arn, timeout)

    def wait(self, execution_arn: str, timeout: float = 9.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.05)
        raise AssertionError(f"execution still RUNNING after {timeout}s")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """A real ThreadedMotoServer via local.emulator; environment and moto's global config restored after."""
    saved_env = dict(os.environ)
    saved_config = copy.deepcopy(default_user_config)
    emulator = Emulator()
    emulator.start()
    try:
        session = boto3.session.Session(region_name="us-east-1")
        iam = session.client("iam")
        role_arn = iam.create_role(
            RoleName=f"onair-task-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        yield Stack(iam, session.client("lambda"), session.client("stepfunctions"), role_arn)
    finally:
        lambda_bridge.uninstall()
        emulator.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        default_user_config.clear()
        default_user_config.update(saved_config)


def task(function_arn: str, step: str, **more: Any) -> dict[str, Any]:
    """An `arn:aws:states:::lambda:invoke` Task that passes its input through (ResultPath null)."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload": {"step": step, "event_id.$": "$.event_id"}},
        "ResultPath": None,
        **more,
    }


def test_wait_then_tasks_reach_the_handler_in_order(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder(script=[{"ok": 1}, {"ok": 2}])
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Provision"},
            "Provision": task(function_arn, "provision", Next="Start"),
            # The plain-ARN form: the handler's return value becomes the state's output.
            "Start": {
                "Type": "Task",
                "Resource": function_arn,
                "Parameters": {"step": "start", "event_id.$": "$.event_id"},
                "End": True,
            },
        },
    }
    with lambda_bridge.routed({function_arn: handler}):
        began = time.time()
        result = stack.run(stack.machine(definition), {"event_id": "ev1"})

    assert result["status"] == "SUCCEEDED"
    assert handler.payloads == [
        {"step": "provision", "event_id": "ev1"},
        {"step": "start", "event_id": "ev1"},
    ]
    assert json.loads(result["output"]) == {"ok": 2}
    assert handler.calls[0][0] - began >= 0.9, "the Wait state sleeps in wall-clock time"


def test_retries_on_the_error_class_name_then_succeeds(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder(script=[DriverError("webhook timed out"), {"ok": True}])
    definition = {
        "StartAt": "Provision",
        "States": {
            "Provision": task(
                function_arn,
                "provision",
                Retry=[{"ErrorEquals": ["DriverError"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                End=True,
            )
        },
    }
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(stack.machine(definition), {"event_id": "ev2"})

    assert result["status"] == "SUCCEEDED"
    assert len(handler.calls) == 2
    assert 0.9 <= handler.calls[1][0] - handler.calls[0][0] < 2.0, "IntervalSeconds is slept for real"


def test_exhausted_retries_take_the_catch_path(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder(script=[DriverError("connection refused")] * 3)
    definition = {
        "StartAt": "Provision",
        "States": {
            "Provision": task(
                function_arn,
                "provision",
                Retry=[
                    {"ErrorEquals": ["DriverError"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}
                ],
                Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}],
                Next="Done",
            ),
            "RecordFailure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": function_arn,
                    "Payload": {"step": "fail", "error.$": "$.error.Error", "cause.$": "$.error.Cause"},
                },
                "ResultPath": None,
                "Next": "Failed",
            },
            "Failed": {"Type": "Fail", "Error": "LifecycleFailed"},
            "Done": {"Type": "Succeed"},
        },
    }
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(stack.machine(definition), {"event_id": "ev3"})

    assert result["status"] == "FAILED"
    steps = [payload["step"] for payload in handler.payloads]
    assert steps == ["provision", "provision", "provision", "fail"], "one try plus MaxAttempts retries"
    failure = handler.payloads[-1]
    assert failure["error"] == "DriverError"
    cause = json.loads(failure["cause"])  # the Lambda error payload, as in AWS
    assert (cause["errorType"], cause["errorMessage"]) == ("DriverError", "connection refused")


def test_timestamp_path_waits_until_the_instant(stack: Stack) -> None:
    """moto truncates the remaining seconds (`int(delta)`), so it wakes up to a second *early*."""
    function_arn = stack.function()
    handler = Recorder()
    definition = {
        "StartAt": "UntilStart",
        "States": {
            "UntilStart": {"Type": "Wait", "TimestampPath": "$.start_at", "Next": "Start"},
            "Start": task(function_arn, "start", End=True),
        },
    }
    machine = stack.machine(definition)
    # Aim at a whole second ~2.5 s ahead, so the truncation shows: moto sleeps int(2.5) = 2 s.
    at = datetime.fromtimestamp(math.floor(time.time()) + 3, UTC)
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(machine, {"event_id": "ev4", "start_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")})

    assert result["status"] == "SUCCEEDED"
    lateness = handler.calls[0][0] - at.timestamp()
    print(f"TimestampPath wake-up relative to the instant: {lateness:+.3f}s")
    assert -1.0 <= lateness < 0.5


def test_timestamp_with_an_offset_is_refused(stack: Stack) -> None:
    """moto's TIMESTAMP_PATTERN only accepts `...Z`; the caller must format instants in UTC with Z."""
    definition = {
        "StartAt": "UntilStart",
        "States": {"UntilStart": {"Type": "Wait", "TimestampPath": "$.start_at", "End": True}},
    }
    result = stack.run(stack.machine(definition), {"start_at": "2020-01-01T00:00:00+00:00"})
    assert result["status"] == "FAILED"
    assert result.get("error") == "States.Runtime"


def test_stop_execution_interrupts_a_wait_and_names_are_idempotent(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder()
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 60, "Next": "Start"},
            "Start": task(function_arn, "start", End=True),
        },
    }
    machine = stack.machine(definition)
    name = "ev5-v1"  # event id + version: a retry of the same start must not start a second run
    body = json.dumps({"event_id": "ev5"})
    with lambda_bridge.routed({function_arn: handler}):
        first = stack.sfn.start_execution(stateMachineArn=machine, name=name, input=body)["executionArn"]
        again = stack.sfn.start_execution(stateMachineArn=machine, name=name, input=body)["executionArn"]
        assert again == first, "same name and input while RUNNING returns the same execution"
        with pytest.raises(stack.sfn.exceptions.ExecutionAlreadyExists):
            stack.sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({"event_id": "x"}))
        began = time.monotonic()
        stack.sfn.stop_execution(executionArn=first)
        result = stack.wait(first, timeout=3)

    assert result["status"] == "ABORTED"
    assert time.monotonic() - began < 2
    assert handler.calls == []


def test_direct_invoke_and_unrouted_functions(stack: Stack) -> None:
    routed_arn, plain_arn = stack.function(), stack.function()
    with lambda_bridge.routed({routed_arn: lambda payload: {"echo": payload, "by": "bridge"}}):
        response = stack.lam.invoke(FunctionName=routed_arn, Payload=b'{"a": 1}')
        assert json.loads(response["Payload"].read()) == {"echo": {"a": 1}, "by": "bridge"}
        # Anything not routed keeps moto's no-Docker behaviour: the request body comes back.
        response = stack.lam.invoke(FunctionName=plain_arn, Payload=b'{"a": 2}')
        assert json.loads(response["Payload"].read()) == {"a": 2}
        # A routed name still has to exist, as in AWS.
        lambda_bridge.route("never-created", lambda payload: payload)
        with pytest.raises(stack.lam.exceptions.ResourceNotFoundException):
            stack.lam.invoke(FunctionName="never-created", Payload=b"{}")
        lambda_bridge.unroute("never-created")


@pytest.mark.parametrize(
    ("given", "name"),
    [
        pytest.param("task", "task", id="bare name"),
        pytest.param("task:live", "task", id="name with qualifier"),
        pytest.param("arn:aws:lambda:us-east-1:123456789012:function:task", "task", id="full ARN"),
        pytest.param(
            "arn:aws:lambda:us-east-1:123456789012:function:task:$LATEST", "task", id="ARN with version"
        ),
        pytest.param("123456789012:function:task", "task", id="partial ARN"),
    ],
)
def test_function_name(given: str, name: str) -> None:
    assert lambda_bridge.function_name(given) == name


def test_refuses_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(RuntimeError, match=r"5\.2\.5"):
        lambda_bridge.install()


def test_a_past_timestamp_does_not_wait(stack: Stack) -> None:
    """A timestamp in the past does not wait (a run created late catches up at once)."""
    definition = {
        "StartAt": "UntilStart",
        "States": {"UntilStart": {"Type": "Wait", "TimestampPath": "$.start_at", "End": True}},
    }
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    began = time.monotonic()
    assert stack.run(stack.machine(definition), {"start_at": past})["status"] == "SUCCEEDED"
    assert time.monotonic() - began < 1


# --- the project's own state machine, infra/lifecycle.asl.json, run through the bridge ------------------

ASL = Path(__file__).resolve().parents[2] / "infra" / "lifecycle.asl.json"


class RunSuperseded(Exception):
    """What a task raises when the event changed since the run began."""


class DriverNotReady(Exception):
    """What the provisioned task raises while the driver is still starting."""


def lifecycle_machine(stack: Stack, function_arn: str) -> str:
    """Create the lifecycle state machine with the task function substituted, as deploys do."""
    definition = ASL.read_text().replace("${TaskFunctionArn}", function_arn)
    return stack.machine(json.loads(definition))


def run_input(
    offsets: tuple[int, int, int], start_mode: str = "auto", end_mode: str = "auto"
) -> dict[str, Any]:
    """Input for a run whose provision, start and end are whole seconds `offsets` from now."""
    base = math.floor(time.time())
    provision_at, start_at, end_at = (
        datetime.fromtimestamp(base + offset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for offset in offsets
    )
    return {
        "tenant_id": "t_1",
        "event_id": "ev_9",
        "version": 3,
        "provision_at": provision_at,
        "start_at": start_at,
        "end_at": end_at,
        "teardown_delay_seconds": 1,
        "start_mode": start_mode,
        "end_mode": end_mode,
    }


def test_lifecycle_auto_run_reaches_every_step_on_time(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder()
    machine = lifecycle_machine(stack, function_arn)  # first: moto's cold ANTLR parse can take a second
    payload = run_input((1, 2, 3))
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(machine, payload)

    assert result["status"] == "SUCCEEDED"
    assert [p["step"] for p in handler.payloads] == ["provision", "provisioned", "start", "stop", "teardown"]
    assert all(
        {k: p[k] for k in ("tenant_id", "event_id", "version")}
        == {"tenant_id": "t_1", "event_id": "ev_9", "version": 3}
        for p in handler.payloads
    )
    started = handler.calls[2][0] - datetime.fromisoformat(payload["start_at"]).timestamp()
    print(f"lifecycle start step relative to start_at: {started:+.3f}s")
    assert -1.0 <= started < 0.5


def test_lifecycle_manual_modes_leave_start_and_stop_to_actions(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder()
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(lifecycle_machine(stack, function_arn), run_input((0, 0, 1), "manual", "manual"))

    assert result["status"] == "SUCCEEDED"
    assert [p["step"] for p in handler.payloads] == ["provision", "provisioned"]


def test_lifecycle_teardown_phase_run(stack: Stack) -> None:
    """The run a manual stop starts: only the teardown delay and the teardown step."""
    function_arn = stack.function()
    handler = Recorder()
    payload = {**run_input((0, 0, 0)), "phase": "teardown", "teardown_delay_seconds": 0}
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(lifecycle_machine(stack, function_arn), payload)

    assert result["status"] == "SUCCEEDED"
    assert [p["step"] for p in handler.payloads] == ["teardown"]


def test_lifecycle_superseded_run_ends_quietly(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder(script=[RunSuperseded("event ev_9 is at version 4")])
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(lifecycle_machine(stack, function_arn), run_input((0, 5, 10)))

    assert result["status"] == "SUCCEEDED"
    assert [p["step"] for p in handler.payloads] == ["provision"], "no retries, no failure recorded"


def test_lifecycle_polls_until_the_driver_is_ready(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder(script=[{}, DriverNotReady("MediaLive channel 1 STARTING")])
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(lifecycle_machine(stack, function_arn), run_input((0, 0, 0), end_mode="manual"))

    assert result["status"] == "SUCCEEDED"
    assert [p["step"] for p in handler.payloads] == ["provision", "provisioned", "provisioned", "start"]
    assert 4.9 <= handler.calls[2][0] - handler.calls[1][0] < 6, "polled every 5 s"


def test_lifecycle_failing_driver_ends_in_failed_with_the_reason(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder(script=[DriverError("webhook provision: 127.0.0.1:9 refused the connection")] * 3)
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(lifecycle_machine(stack, function_arn), run_input((0, 5, 10)), timeout=12)

    assert result["status"] == "FAILED"
    assert [p["step"] for p in handler.payloads] == ["provision"] * 3 + ["fail"], "3 attempts in all"
    gaps = [round(b[0] - a[0]) for a, b in zip(handler.calls, handler.calls[1:3], strict=False)]
    assert gaps == [1, 2], "exponential backoff: IntervalSeconds 1, BackoffRate 2"
    failure = handler.payloads[-1]
    assert failure["error"] == "DriverError"
    assert (
        json.loads(failure["cause"])["errorMessage"]
        == "webhook provision: 127.0.0.1:9 refused the connection"
    )


class DriverRejected(Exception):
    """Stands in for a failure retrying cannot fix (a 4xx, a refused address): no Retry names it."""


def test_lifecycle_rejected_driver_fails_after_one_call(stack: Stack) -> None:
    function_arn = stack.function()
    handler = Recorder(script=[DriverRejected("webhook provision: hooks.example.com:443 answered HTTP 404")])
    with lambda_bridge.routed({function_arn: handler}):
        result = stack.run(lifecycle_machine(stack, function_arn), run_input((0, 5, 10)), timeout=12)

    assert result["status"] == "FAILED"
    assert [p["step"] for p in handler.payloads] == ["provision", "fail"], "not retried"
    assert handler.payloads[-1]["error"] == "DriverRejected"
