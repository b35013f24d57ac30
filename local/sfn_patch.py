"""moto 5.2.5's Step Functions, fit for a long-running local stack: finished runs are let go, and Wait
states wake when they should.

moto keeps every execution it ever started, with its history, its copy of the state machine and the
threads it ran on (~0.4 MB and ~5 threads' worth of objects each): a stack that runs events for days
grows with every run, and every StartExecution and DescribeExecution walks the whole list.

`start_execution` below first forgets the executions of events whose runs have all finished more than
`RETAIN` ago. Runs are grouped by event (an execution is named `<event id>-<run id>[-td][-n]`,
`chalicelib/adapters/stepfunctions.py`): a group goes only as a whole, so the suffix walk that
`Runs.start` and `Runs.stop` do over `-2`, `-3`... never meets a gap while one of its runs still runs.
AWS keeps a finished execution's name for 90 days; here, once the group is gone, the name is free again,
which the walk handles like a name never used. Recent runs stay visible to the AWS CLI for `RETAIN`.

A Wait state with a `TimestampPath` waited `int(seconds to go)`: up to a second short (the lifecycle
steps then slept the rest in their task, holding a request thread). `_timestamp_seconds` and
`_wait_interval` below wait the exact remainder.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

MOTO_VERSION = "5.2.5"
RETAIN = datetime.timedelta(minutes=10)

_original: Callable[..., Any] | None = None
stats = {"forgotten": 0}


def group(name: str) -> str:
    """The event an execution belongs to: its name up to the first '-'."""
    return name.split("-", 1)[0]


def forget_finished(
    executions: list[Any], now: datetime.datetime, retain: datetime.timedelta = RETAIN
) -> int:
    """Remove, in place, the executions of events whose runs all finished before `now - retain`."""
    running: set[str] = set()
    last_stop: dict[str, datetime.datetime] = {}
    for execution in executions:
        key = group(execution.name)
        if execution.status == "RUNNING" or execution.stop_date is None:
            running.add(key)
        else:
            last_stop[key] = max(last_stop.get(key, execution.stop_date), execution.stop_date)
    cutoff = now - retain
    gone = {key for key, stopped in last_stop.items() if key not in running and stopped < cutoff}
    if not gone:
        return 0
    before = len(executions)
    executions[:] = [e for e in executions if group(e.name) not in gone]
    stats["forgotten"] += before - len(executions)
    return before - len(executions)


def _start_execution(backend: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
    assert _original is not None
    machine = backend.describe_state_machine(state_machine_arn)
    forget_finished(machine.executions, datetime.datetime.now(tz=datetime.UTC))
    return _original(backend, state_machine_arn, *args, **kwargs)


def _timestamp_seconds(wait: Any, env: Any) -> float:
    """`Timestamp._get_wait_seconds` without the truncation to whole seconds."""
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException

    wait.string.eval(env=env)
    text = env.stack.pop()
    timestamp = wait._from_timestamp_string(timestamp=text)
    if timestamp is None:
        raise FailureEventException(wait._create_failure_event(env, text))
    return (timestamp - datetime.datetime.now()).total_seconds()  # naive local time, as moto compares


def _wait_interval(wait: Any, env: Any, wait_seconds: float) -> None:
    """Wait `wait_seconds` (fractions too), unless the execution stops meanwhile."""
    deadline = time.monotonic() + wait_seconds
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(remaining)


def install() -> None:
    """Patch moto's Step Functions backend once (idempotent)."""
    global _original
    import moto
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"local/sfn_patch.py patches moto {MOTO_VERSION} internals; found {moto.__version__}"
        )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    if _original is None:
        _original = StepFunctionsParserBackend.start_execution
        StepFunctionsParserBackend.start_execution = _start_execution  # type: ignore[method-assign]
        Timestamp._get_wait_seconds = _timestamp_seconds  # type: ignore[method-assign, assignment]
        WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign, assignment]
