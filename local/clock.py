"""The local stand-in for the EventBridge scheduled rule: calls the scheduled handler every N seconds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("onair.local.clock")


class LocalClock(threading.Thread):
    """Calls `handler(event, context)` as the rule would, until stopped."""

    def __init__(self, handler: Callable[[Any, Any], Any], period: float) -> None:
        super().__init__(name="onair-clock", daemon=True)
        self.handler = handler
        self.period = period
        self.ticks = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.period):
            self.tick()

    def tick(self) -> None:
        try:
            self.handler({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, None)
        except Exception:
            log.exception("scheduled handler failed")
        self.ticks += 1

    def stop(self) -> None:
        self._stop_event.set()
