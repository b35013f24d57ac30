"""The local stand-in for the EventBridge scheduled rule: calls the scheduled handler every N seconds."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("onair.local.clock")


def scheduled_event() -> dict[str, Any]:
    """The event an EventBridge scheduled rule delivers; Chalice's handler wrapper reads every field."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/onair-local-tick"],
        "detail": {},
    }


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
            self.handler(scheduled_event(), None)
        except Exception:
            log.exception("scheduled handler failed")
        self.ticks += 1

    def stop(self) -> None:
        self._stop_event.set()
