"""`make run`: start the local stack, print the URL and the key, stop within seconds on Ctrl-C or SIGTERM.

Start-up problems the user can fix (an old Python, a busy port, a data directory in use) are one line on
stderr with a hint, never a traceback. This file runs on any Python 3 far enough to say which one it needs.
"""

import logging
import os
import signal
import sys
import threading

REQUIRED = (3, 11)
STOP_DEADLINE_SECONDS = 10.0  # past this, a stop that is stuck somewhere exits anyway


def fail(message):
    sys.stderr.write("onair: " + message + "\n")
    sys.stderr.flush()
    return 1


def main():
    if sys.version_info < REQUIRED:
        need, found = ".".join(map(str, REQUIRED)), ".".join(map(str, sys.version_info[:2]))
        return fail(
            f"needs Python {need} or newer, this is {found}; run `make clean run PYTHON=python{need}`"
        )
    try:
        from local.stack import LocalStack, Options, StartupError
    except ImportError as error:
        return fail(
            f"the package {error.name!r} is missing; start the stack with `make run`, which installs it"
        )

    # Locally the per-request JSON lines are opt-in (ONAIR_LOG_LEVEL=INFO make run); warnings always show.
    os.environ.setdefault("ONAIR_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log is noise here
    try:
        stack = LocalStack(Options.from_env())
        stack.start()
    except StartupError as error:
        fail(str(error))
        os._exit(1)  # threads already started (the emulator) must not keep the process alive
    print(f"onair is running at {stack.url}", flush=True)
    print(f"API key (operator, admin of tenant 'default'): {stack.api_key}", flush=True)
    print(f"AWS emulator (moto, for the AWS CLI or SDKs): {stack.emulator.url}", flush=True)
    print(f"Docs: {stack.url}/v1/docs  ·  {stack.data_summary}", flush=True)
    stopping = threading.Event()

    def on_signal(signum, _frame):
        if stopping.is_set():  # a second Ctrl-C: do not wait for the clean stop
            os._exit(128 + signum)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stopping.wait()
    print("stopping onair…", flush=True)
    # Request threads and lifecycle runs (moto sleeps their Wait states in threads) may still be busy;
    # nothing of theirs needs to finish once the data is saved, so the process ends without waiting.
    watchdog = threading.Timer(STOP_DEADLINE_SECONDS, lambda: os._exit(1))
    watchdog.daemon = True
    watchdog.start()
    stack.stop()
    print("stopped", flush=True)
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
