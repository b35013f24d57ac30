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
from typing import Any

import pytest

from chalicelib.adapters import drivers
from chalicelib.adapters.drivers import DriverError, DriverRejected, StepResult
from chalicelib.adapters.netguard import WebhookPolicy
from chalicelib.domain.models import Channel, Event, MediaLiveDriver, NoopDriver, WebhookDriver
from tests.refused_urls import REFUSED_URLS

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


# The receivers listen on loopback over http: what a local deployment allows (ONAIR_WEBHOOK_ALLOW_PRIVATE).
LOCAL = WebhookPolicy(https_only=False, allow_private=True)


def webhook(
    url: str, secret: str | None = SECRET, timeout: float = 2.0, policy: WebhookPolicy = LOCAL, **kw: object
) -> drivers.Webhook:
    return drivers.Webhook(url, secret, clock=lambda: NOW, timeout=timeout, policy=policy, **kw)


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


def closed_port() -> int:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_port_is_a_driver_error() -> None:
    port = closed_port()
    with pytest.raises(DriverError) as caught:
        webhook(f"http://127.0.0.1:{port}/hook").provision(make_event(), make_channel())
    assert str(caught.value) == f"webhook provision: 127.0.0.1:{port} refused the connection"
    assert type(caught.value) is DriverError, "retried by the state machine"


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
    with pytest.raises(DriverRejected, match="http or https"):
        webhook(url).provision(make_event(), make_channel())


def test_reasons_do_not_leak_url_tokens(receiver: Receiver) -> None:
    receiver.status = 500
    host = receiver.url.split("/")[2]
    with pytest.raises(DriverError) as caught:
        webhook(f"http://{host}/hook?token=abc123").start(make_event(), make_channel())
    assert str(caught.value) == f"webhook start: {host} answered HTTP 500"
    assert "abc123" not in caught.value.reason


# --- the factory -----------------------------------------------------------------------------------------


def test_driver_for_each_config() -> None:
    assert isinstance(drivers.driver_for(NoopDriver()), drivers.Noop)
    config = WebhookDriver(type="webhook", url="https://h.example/x", secret="k")
    hook = drivers.driver_for(config, timeout=3, policy=LOCAL)
    assert isinstance(hook, drivers.Webhook)
    assert (hook.url, hook.secret, hook.timeout, hook.policy) == ("https://h.example/x", "k", 3, LOCAL)
    assert drivers.driver_for(config).policy == WebhookPolicy(), "the strict policy unless told otherwise"
    live = drivers.driver_for(MediaLiveDriver(type="medialive", channel_id="1234567"))
    assert isinstance(live, drivers.MediaLive) and live.channel_id == "1234567"


def test_run_step_refuses_unknown_steps() -> None:
    with pytest.raises(ValueError):
        drivers.run_step(drivers.Noop(), "is_ready", make_event(), make_channel())


# --- webhook delivery: what is retried, what fails at once, what a caller is told ----------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(500, "DriverError", id="500 is retried"),
        pytest.param(502, "DriverError", id="502 is retried"),
        pytest.param(503, "DriverError", id="503 is retried"),
        pytest.param(408, "DriverError", id="408 request timeout is retried"),
        pytest.param(429, "DriverError", id="429 too many requests is retried"),
        pytest.param(400, "DriverRejected", id="400 fails at once"),
        pytest.param(401, "DriverRejected", id="401 fails at once"),
        pytest.param(404, "DriverRejected", id="404 fails at once"),
        pytest.param(410, "DriverRejected", id="410 fails at once"),
        pytest.param(301, "DriverRejected", id="a redirect fails at once and is never followed"),
    ],
)
def test_which_answers_are_retried(receiver: Receiver, status: int, error: str) -> None:
    receiver.status = status
    with pytest.raises(DriverError) as caught:
        webhook(receiver.url).start(make_event(), make_channel())
    # The state machine's Retry names the class: DriverError is retried, DriverRejected is not.
    assert type(caught.value).__name__ == error
    assert str(caught.value) == f"webhook start: {receiver.url.split('/')[2]} answered HTTP {status}"
    assert [r.path for r in receiver.requests] == ["/hooks/onair"], "no redirect followed"


@pytest.fixture
def raw_server() -> Iterator[tuple[str, list[bytes]]]:
    """A TCP server that answers each connection with the bytes the test queues (then closes)."""
    answers: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    running = True

    def serve() -> None:
        while running:
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    answer = answers.pop(0) if answers else b""
                    for chunk in answer.split(b"|"):  # "|" marks a pause of 0.2 s (a slow drip)
                        conn.sendall(chunk)
                        if len(answer.split(b"|")) > 1:
                            time.sleep(0.2)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook", answers
    running = False
    thread.join(2)
    listener.close()


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        pytest.param(b"HTTP/1.1 20O OK\r\n\r\n", "sent a malformed response", id="a malformed status line"),
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n", "sent a malformed response", id="not HTTP at all"),
        pytest.param(b"", "closed the connection without answering", id="closed without a word"),
    ],
)
def test_malformed_answers_are_retried_and_named_in_the_vocabulary(
    raw_server: tuple[str, list[bytes]], answer: bytes, outcome: str
) -> None:
    url, answers = raw_server
    answers.append(answer)
    with pytest.raises(DriverError) as caught:
        webhook(url).start(make_event(), make_channel())
    assert type(caught.value) is DriverError, "retried, never a failure after one call"
    assert str(caught.value) == f"webhook start: {url.split('/')[2]} {outcome}"
    assert "OpenSSH" not in str(caught.value) and "20O" not in str(caught.value), "never the raw answer"


def test_a_slow_drip_is_cut_at_the_timeout(raw_server: tuple[str, list[bytes]]) -> None:
    url, answers = raw_server
    answers.append(b"HTTP/1.1 200 OK\r\n" + b"|".join(b"X-Drip: %d\r\n" % i for i in range(50)))
    began = time.monotonic()
    with pytest.raises(DriverError, match="timed out"):
        webhook(url, timeout=0.5).start(make_event(), make_channel())
    assert time.monotonic() - began < 1.5, "the whole exchange is bounded, not each read"


def test_a_huge_answer_is_not_read_to_the_end(raw_server: tuple[str, list[bytes]]) -> None:
    url, answers = raw_server
    answers.append(b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n" + b"x" * 1_000_000)
    began = time.monotonic()
    assert webhook(url).start(make_event(), make_channel()).detail == "webhook answered HTTP 200"
    assert time.monotonic() - began < 1.5


def test_a_caller_is_never_told_whether_a_host_port_answers(receiver: Receiver) -> None:
    receiver.status = 500
    shown = receiver.url.split("/")[2]
    with pytest.raises(DriverError) as answered:
        webhook(receiver.url).start(make_event(), make_channel())
    port = closed_port()
    with pytest.raises(DriverError) as refused:
        webhook(f"http://127.0.0.1:{port}/").start(make_event(), make_channel())
    # What an action's 409 shows (`reason`) reads alike; the recorded message says what happened.
    assert answered.value.reason == f"webhook start: {shown} did not answer with a 2xx"
    assert refused.value.reason == f"webhook start: 127.0.0.1:{port} did not answer with a 2xx"
    assert "500" not in answered.value.reason and "refused" not in refused.value.reason


def test_the_call_connects_to_the_address_it_checked(receiver: Receiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    lookups: list[str] = []

    def resolve(host: str, port: int, timeout: float) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    hook = webhook(f"http://hooks.test:{port}/hooks/onair", resolve=resolve)
    assert hook.start(make_event(), make_channel()).detail == "webhook answered HTTP 204"
    assert lookups == ["hooks.test"], "one lookup, and the connection went to its answer"
    assert receiver.requests[0].headers["Host"] == f"hooks.test:{port}", "the name travels in Host"


# --- webhook addresses: refused forms with private addresses not allowed ---------------------------------


@pytest.mark.parametrize(("url", "why"), REFUSED_URLS)
def test_refused_addresses_are_never_called(url: str, why: str) -> None:
    called: list[tuple[str, int]] = []
    original = socket.create_connection

    def spy(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        called.append(address)
        return original(address, *args, **kwargs)

    strict_about_addresses = WebhookPolicy(https_only=False, allow_private=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "create_connection", spy)
        with pytest.raises(DriverRejected) as caught:
            webhook(url, policy=strict_about_addresses).provision(make_event(), make_channel())
    assert "address not allowed" in str(caught.value)
    assert why.split()[0] in str(caught.value)
    assert called == [], "no connection was even tried"


def test_link_local_stays_refused_when_private_addresses_are_allowed() -> None:
    with pytest.raises(DriverRejected, match="link-local"):
        webhook("http://169.254.169.254/", policy=LOCAL).start(make_event(), make_channel())


def test_a_name_that_resolves_to_a_refused_address_is_refused() -> None:
    hook = webhook(
        "https://innocent.example/hook",
        policy=WebhookPolicy(),
        resolve=lambda host, port, timeout: ["93.184.216.34", "169.254.169.254"],
    )
    with pytest.raises(DriverRejected) as caught:
        hook.start(make_event(), make_channel())
    assert str(caught.value) == (
        "webhook start: innocent.example:443 address not allowed "
        "(resolves to a link-local address, which webhooks may not call)"
    ), "one refused answer among several refuses the name; the address itself is not shown"


def test_a_name_that_does_not_resolve_is_retried() -> None:
    def nowhere(host: str, port: int, timeout: float) -> list[str]:
        from chalicelib.adapters.netguard import Unresolved

        raise Unresolved(host)

    with pytest.raises(DriverError) as caught:
        webhook("https://gone.example/", policy=WebhookPolicy(), resolve=nowhere).start(
            make_event(), make_channel()
        )
    assert type(caught.value) is DriverError
    assert str(caught.value) == "webhook start: gone.example:443 did not resolve"


def test_the_cloud_calls_https_only(receiver: Receiver) -> None:
    cloud = WebhookPolicy(https_only=True, allow_private=True)
    with pytest.raises(DriverRejected, match="must be an https URL"):
        webhook(receiver.url, policy=cloud).start(make_event(), make_channel())
    assert receiver.requests == []


# --- webhook over TLS: the name is what is verified, the checked address is where it goes ----------------


def certificate(tmp_path: Any, name: str) -> tuple[str, str]:
    """A self-signed certificate for `name` (and its key), as PEM files."""
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_receiver(tmp_path: Any) -> Iterator[tuple[Receiver, list[str | None], str]]:
    """An https receiver on loopback presenting a certificate for `hooks.test`; records SNI names."""
    import ssl

    state, names = Receiver(), []
    cert, key = certificate(tmp_path, "hooks.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"https://hooks.test:{server.server_address[1]}/hooks/onair"
    yield state, names, cert
    server.shutdown()
    server.server_close()


def trusting(cert: str) -> Any:
    import ssl

    return ssl.create_default_context(cafile=cert)


def test_https_sends_the_name_in_sni_and_host_and_verifies_it(
    tls_receiver: tuple[Receiver, list[str | None], str],
) -> None:
    receiver, names, cert = tls_receiver
    port = receiver.url.split(":")[2].split("/")[0]
    hook = webhook(
        receiver.url,
        policy=WebhookPolicy(https_only=True, allow_private=True),
        resolve=lambda host, port, timeout: ["127.0.0.1"],
        tls=trusting(cert),
    )
    assert hook.start(make_event(), make_channel()).detail == "webhook answered HTTP 204"
    assert names == ["hooks.test"], "SNI names the host, not the address connected to"
    assert receiver.requests[0].headers["Host"] == f"hooks.test:{port}"


def test_a_certificate_for_another_name_fails_the_handshake(
    tls_receiver: tuple[Receiver, list[str | None], str], tmp_path: Any
) -> None:
    receiver, _, cert = tls_receiver
    port = receiver.url.split(":")[2].split("/")[0]
    hook = webhook(
        f"https://elsewhere.test:{port}/hooks/onair",
        policy=WebhookPolicy(https_only=True, allow_private=True),
        resolve=lambda host, port, timeout: ["127.0.0.1"],
        tls=trusting(cert),
    )
    with pytest.raises(DriverError) as caught:
        hook.start(make_event(), make_channel())
    assert str(caught.value) == f"webhook start: elsewhere.test:{port} failed the TLS handshake"
    assert receiver.requests == []
