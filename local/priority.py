"""Lifecycle steps go first: while one runs, the local API lets no new request into the app (for a moment).

The whole stack shares one interpreter lock. A step (provision, start, stop...) running beside four busy
requests gets a fifth of the CPU, and with no provisioning lead an event's start waits for three steps in
a row. So while a step runs, a request arriving at the API waits (at most `MAX_HOLD`) before it enters the
app; requests already in the app carry on. In AWS each step has a Lambda of its own, so there is nothing
like this to do there.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

MAX_HOLD = 0.5  # seconds a request may wait for lifecycle steps before it goes in anyway

_running = 0
_idle = threading.Condition()


def step(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`handler` (the state machine's task), marked as a lifecycle step while it runs."""

    @functools.wraps(handler)
    def run(payload: Any) -> Any:
        global _running
        with _idle:
            _running += 1
        try:
            return handler(payload)
        finally:
            with _idle:
                _running -= 1
                if not _running:
                    _idle.notify_all()

    return run


def let_steps_go_first(hold: float = MAX_HOLD) -> None:
    """Wait until no lifecycle step runs, or `hold` seconds."""
    with _idle:
        if _running:
            _idle.wait_for(lambda: _running == 0, hold)
