"""Starting a background job: an asynchronous invocation of a Lambda (`InvocationType=Event`).

Deployed, the import job's function (`ONAIR_IMPORT_FUNCTION`); locally the emulator's function of that
name, which local/lambda_bridge.py routes to the same handler in-process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class LambdaJobs:
    def __init__(self, function_name: str, client_factory: Callable[[], Any]) -> None:
        self.function_name = function_name
        self._client_factory = client_factory

    def start(self, payload: dict[str, Any]) -> None:
        """Queue one run of the function with `payload` (Lambda retries a failed run twice by itself)."""
        self._client_factory().invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )
