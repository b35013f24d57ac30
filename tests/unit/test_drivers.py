"""Drivers: noop, and webhook against a real HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.adapters import drivers
from chalicelib.adapters.drivers import DriverError, StepResult
from chalicelib.domain.models import Channel, Event, MediaLiveDriver, NoopDriver, WebhookDriver

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
SECRET = "s3cret-shared-with-the-receiver"


def make_channel(**driver: object) -> Channel:
    return Channel(
        id="ch_1",
        tenant_id="t_1",
        created_at=NOW,
        updated_at=NOW,
        name="Studio A",
        driver=driver or {"type": "noop"},
    )


def make_event() -> Event:
    return Event(
        id="ev_1",
        tenant_id="t_1",
        created_at=NOW,
        updated_at=NOW,
        title="Morning show",
        channel_id="ch_1",
        start=datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
        end=datetime(2027, 3, 1, 10, 0, tzinfo=UTC),
        metadata={"room": 4},
    )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver: records each request, answers `status` after `delay` seconds."""

    url: str = ""
    status: int = 204
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            time.sleep(state.delay)
            self.send_response(state.status)
            if 300 <= state.status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/onair"
    yield state
    server.shutdown()
    server.server_close()


def webhook(url: str, secret: str | None = SECRET, timeout: float = 2.0) -> drivers.Webhook:
    return drivers.Webhook(url, secret, clock=lambda: NOW, timeout=timeout)


# --- noop ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", drivers.STEPS)
def test_noop_succeeds_at_once(step: str) -> None:
    assert drivers.run_step(drivers.Noop(), step, make_event(), make_channel()) == StepResult(step, "noop")


def test_noop_is_ready_at_once() -> None:
    assert drivers.Noop().is_ready(make_event(), make_channel()) is True


# --- webhook: what is sent -------------------------------------------------------------------------------


@pytest.mark.parametrize("step", drivers.STEPS)
def test_webhook_posts_each_step_signed(receiver: Receiver, step: str) -> None:
    result = drivers.run_step(webhook(receiver.url), step, make_event(), make_channel())

    assert result == StepResult(step, "webhook answered HTTP 204")
    [request] = receiver.requests
    assert request.path == "/hooks/onair"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Onair-Step"] == step
    assert drivers.verify_signature(SECRET, request.body, request.headers["X-Onair-Signature"])
    document = json.loads(request.body)
    assert set(document) == {"step", "event", "channel_id", "tenant_id", "at"}
    assert (document["step"], document["channel_id"], document["tenant_id"], document["at"]) == (
        step,
        "ch_1",
        "t_1",
        "2027-03-01T08:00:00Z",
    )
    assert document["event"]["id"] == "ev_1"
    assert document["event"]["start"] == "2027-03-01T09:00:00Z"
    assert document["event"]["metadata"] == {"room": 4}


def test_the_signature_covers_the_exact_body(receiver: Receiver) -> None:
    webhook(receiver.url).start(make_event(), make_channel())
    [request] = receiver.requests
    header = request.headers["X-Onair-Signature"]

    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert request.body == webhook(receiver.url).body("start", make_event(), make_channel())
    assert not drivers.verify_signature(SECRET, request.body + b" ", header), "any changed byte breaks it"
    assert not drivers.verify_signature("another secret", request.body, header), "another key breaks it"
    assert not drivers.verify_signature(SECRET, request.body, None)


def test_no_secret_means_no_signature_header(receiver: Receiver) -> None:
    webhook(receiver.url, secret=None).provision(make_event(), make_channel())
    assert "X-Onair-Signature" not in receiver.requests[0].headers


def test_webhook_is_ready_after_a_successful_provision(receiver: Receiver) -> None:
    assert webhook(receiver.url).is_ready(make_event(), make_channel()) is True
    assert receiver.requests == [], "readiness needs no request"


# --- webhook: what counts as success ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "ok"),
    [
        pytest.param(200, True, id="200 is success"),
        pytest.param(202, True, id="202 accepted is success"),
        pytest.param(204, True, id="204 no content is success"),
        pytest.param(302, False, id="a redirect is refused, never followed as a GET"),
        pytest.param(308, False, id="a permanent redirect is refused too"),
        pytest.param(400, False, id="400 is a driver error"),
        pytest.param(404, False, id="404 is a driver error"),
        pytest.param(500, False, id="500 is a driver error"),
        pytest.param(503, False, id="503 is a driver error"),
    ],
)
def test_webhook_status_codes(receiver: Receiver, status: int, ok: bool) -> None:
    receiver.status = status
    hook = webhook(receiver.url)
    if ok:
        assert hook.start(make_event(), make_channel()).detail == f"webhook answered HTTP {status}"
    else:
        with pytest.raises(DriverError, match=f"HTTP {status}"):
            hook.start(make_event(), make_channel())
    assert len(receiver.requests) == 1, "one request per step: retries belong to the state machine"


def test_unreachable_port_is_a_driver_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DriverError, match="unreachable") as caught:
        webhook(f"http://127.0.0.1:{port}/hook").provision(make_event(), make_channel())
    assert caught.value.reason.startswith("webhook provision: 127.0.0.1:")


def test_a_slow_receiver_times_out(receiver: Receiver) -> None:
    receiver.delay = 1.0
    began = time.monotonic()
    with pytest.raises(DriverError, match="timed out"):
        webhook(receiver.url, timeout=0.2).stop(make_event(), make_channel())
    assert time.monotonic() - began < 0.9


def test_default_timeout_is_five_seconds() -> None:
    assert drivers.Webhook("http://example.invalid/", None).timeout == 5.0


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("file:///etc/passwd", id="file URLs are never opened"),
        pytest.param("ftp://example.com/x", id="ftp is refused"),
        pytest.param("not a url", id="no scheme"),
    ],
)
def test_only_http_urls(url: str) -> None:
    with pytest.raises(DriverError, match="http or https"):
        webhook(url).provision(make_event(), make_channel())


def test_reasons_do_not_leak_url_tokens(receiver: Receiver) -> None:
    receiver.status = 500
    host = receiver.url.split("/")[2]
    with pytest.raises(DriverError) as caught:
        webhook(f"http://{host}/hook?token=abc123").start(make_event(), make_channel())
    assert caught.value.reason == f"webhook start: {host} answered HTTP 500"


# --- the factory -----------------------------------------------------------------------------------------


def test_driver_for_each_config() -> None:
    assert isinstance(drivers.driver_for(NoopDriver()), drivers.Noop)
    hook = drivers.driver_for(WebhookDriver(type="webhook", url="https://h.example/x", secret="k"), timeout=3)
    assert isinstance(hook, drivers.Webhook)
    assert (hook.url, hook.secret, hook.timeout) == ("https://h.example/x", "k", 3)
    live = drivers.driver_for(MediaLiveDriver(type="medialive", channel_id="1234567"))
    assert isinstance(live, drivers.MediaLive) and live.channel_id == "1234567"


def test_run_step_refuses_unknown_steps() -> None:
    with pytest.raises(ValueError):
        drivers.run_step(drivers.Noop(), "is_ready", make_event(), make_channel())
