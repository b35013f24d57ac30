"""SIGTERM stops the local stack within seconds, whatever it is doing, and keeps what it acknowledged."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from local import process as local_process
from tests.e2e.test_local_stack import Http
from tests.e2e.test_restart import event_body, wait_for

KEY = "onair_e2e-shutdown-key-0123456789"
EXIT_WITHIN_SECONDS = 5.0


def silent_webhook() -> tuple[socket.socket, str]:
    """A webhook receiver that accepts connections and never answers: a step calling it hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}/hook"


def test_sigterm_mid_request_with_runs_waiting_exits_within_seconds_and_keeps_the_data(
    tmp_path: Path,
) -> None:
    env = {"ONAIR_DATA_DIR": str(tmp_path / "data")}
    stack = local_process.start(KEY, env=env)
    listener, hook = silent_webhook()
    try:
        http = Http(stack.url, KEY)
        quiet = http("POST", "/v1/channels", {"name": "Quiet", "teardown_delay_seconds": 1})[2]["id"]
        hanging = http("POST", "/v1/channels", {"name": "Hook", "driver": {"type": "webhook", "url": hook}})[
            2
        ]
        now = time.time()
        on_air = http("POST", "/v1/events", event_body(quiet, "On air", now + 2, 600))[2]["id"]
        waiting = http("POST", "/v1/events", event_body(quiet, "Later", now + 3600, 60))[2]["id"]
        manual = {**event_body(hanging["id"], "Manual", now + 7200, 60), "start_mode": "manual"}
        stuck = http("POST", "/v1/events", manual)[2]["id"]
        assert wait_for(http, on_air, {"live"}, 20) == "live"  # its run now sleeps until the end

        # Mid-request: one action waits on the silent webhook, one upload has sent half its body.
        acting = threading.Thread(
            target=lambda: http("POST", f"/v1/events/{stuck}/actions", {"action": "provision"}), daemon=True
        )
        acting.start()
        host, port = stack.url.removeprefix("http://").split(":")
        upload = socket.create_connection((host, int(port)), timeout=5)
        upload.sendall(b'POST /v1/channels HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"name": "Ha')
        listener.settimeout(10)
        listener.accept()  # the action reached the webhook and is waiting for its answer
        acknowledged = http("PATCH", f"/v1/events/{waiting}", {"title": "Renamed just before SIGTERM"})
        assert acknowledged[0] == 200

        started = time.monotonic()
        code = stack.terminate(timeout=30)
        took = time.monotonic() - started
        assert took < EXIT_WITHIN_SECONDS, f"exited {took:.1f} s after SIGTERM"
        assert code == 0 and "stopped" in stack.output
        upload.close()
    finally:
        listener.close()
        if stack.process.poll() is None:
            stack.kill()

    again = local_process.start(KEY, env=env)
    try:
        http = Http(again.url, KEY)
        assert http("GET", f"/v1/events/{waiting}")[2]["title"] == "Renamed just before SIGTERM"
    finally:
        again.kill()
