"""Domain notifications to the EventBridge bus `onair-<stage>`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("onair.publisher")


class EventBridgePublisher:
    """Puts `source: onair` events; a failure is logged, never turned into a failed API call."""

    def __init__(self, bus_name: str, client_factory: Callable[[], Any]) -> None:
        self.bus_name = bus_name
        self._client_factory = client_factory

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": "onair",
            "DetailType": detail_type,
            "Detail": json.dumps(detail, default=str),
            "EventBusName": self.bus_name,
        }
        try:
            out = self._client_factory().put_events(Entries=[entry])
            if out.get("FailedEntryCount"):
                log.error("notification rejected", extra={"detail_type": detail_type, "result": out})
        except Exception:
            log.exception("notification failed", extra={"detail_type": detail_type})
