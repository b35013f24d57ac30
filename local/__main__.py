"""`make run`: start the local stack, print the URL and the key, stop cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from local.stack import LocalStack, Options


def main() -> int:
    # Locally the per-request JSON lines are opt-in (ONAIR_LOG_LEVEL=INFO make run); warnings always show.
    os.environ.setdefault("ONAIR_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log is noise here
    stack = LocalStack(Options.from_env())
    stack.start()
    print(f"onair is running at {stack.url}", flush=True)
    print(f"API key (operator, admin of tenant 'default'): {stack.api_key}", flush=True)
    print(f"AWS emulator (moto, for the AWS CLI or SDKs): {stack.emulator.url}", flush=True)
    print(f"Docs: {stack.url}/v1/docs  ·  data lives in memory and is gone when this stops", flush=True)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stopping.wait()
    print("stopping onair…", flush=True)
    stack.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
