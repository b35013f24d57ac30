"""The webhook driver: each step is a signed JSON POST to the channel's URL, sent only where netguard allows.

Request: `POST <url>` with the JSON body `{"step", "event": {...the event as the API shows it},
"channel_id", "tenant_id", "at"}` (compact, keys sorted), headers `Content-Type: application/json`,
`X-Onair-Step: <step>` and, when the channel has a secret, `X-Onair-Signature: sha256=<hex>`: the
HMAC-SHA256 of the exact body bytes keyed with the secret (verify with `verify_signature`). `at` lets a
receiver refuse replays.

Delivery (docs/lifecycle.md, "Webhook delivery"):

- The URL is checked and its host resolved once per call (`netguard.vet`); the connection goes to one of
  the checked addresses, with the name in the Host header and in TLS SNI and certificate checks.
- One attempt per step call, bounded: `timeout` (default 5 s) for the whole exchange (connect, send,
  status line and headers, at most `MAX_RESPONSE_BYTES` of body, which is read and dropped). Redirects are
  never followed.
- 2xx is success. 408, 429 and 5xx, timeouts, refused or dropped connections, DNS failures and malformed
  answers raise `DriverError` (the state machine retries: 3 attempts in all). Other statuses (3xx, 4xx)
  and addresses webhooks may not call raise `DriverRejected` (the event fails at once).
- Reasons use a fixed vocabulary naming the step and the host (`webhook start: hooks.example.com:443
  answered HTTP 500`), never socket text. An API action is shown less (`reason`): any failure after a
  connection was tried reads `did not answer with a 2xx`, so a 409 never tells whether a host:port answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib.adapters import netguard
from chalicelib.adapters.netguard import Target, WebhookPolicy
from chalicelib.adapters.steps import DriverError, DriverRejected, StepResult
from chalicelib.domain.models import Channel, Event
from chalicelib.domain.time import format_instant

SIGNATURE_HEADER = "X-Onair-Signature"
STEP_HEADER = "X-Onair-Step"
DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
RETRIED_STATUSES = frozenset({408, 429})  # "try again later" in 4xx clothing; 5xx are retried too

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def sign(secret: str, body: bytes) -> str:
    """The `X-Onair-Signature` value for `body`: `sha256=` and the hex HMAC-SHA256 keyed with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` under `secret` (constant-time; for receivers and tests)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


class Webhook:
    """POSTs each step as signed JSON to the channel's URL; a 2xx within the timeout is success."""

    def __init__(
        self,
        url: str,
        secret: str | None,
        *,
        clock: Clock = _utcnow,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        policy: WebhookPolicy | None = None,
        resolve: netguard.Resolver | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.clock = clock
        self.timeout = timeout
        self.policy = policy or WebhookPolicy()
        self.resolve = resolve
        self.tls = tls

    def provision(self, event: Event, channel: Channel) -> StepResult:
        return self._post("provision", event, channel)

    def is_ready(self, event: Event, channel: Channel) -> bool:
        return True  # the receiver acknowledged provision with a 2xx; it has no separate readiness signal

    def start(self, event: Event, channel: Channel) -> StepResult:
        return self._post("start", event, channel)

    def stop(self, event: Event, channel: Channel) -> StepResult:
        return self._post("stop", event, channel)

    def teardown(self, event: Event, channel: Channel) -> StepResult:
        return self._post("teardown", event, channel)

    def body(self, step: str, event: Event, channel: Channel) -> bytes:
        """The exact bytes sent (and signed) for `step`."""
        document = {
            "step": step,
            "event": event.model_dump(mode="json"),
            "channel_id": channel.id,
            "tenant_id": event.tenant_id,
            "at": format_instant(self.clock()),
        }
        return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()

    def _post(self, step: str, event: Event, channel: Channel) -> StepResult:
        try:
            target = netguard.vet(self.url, self.policy, self.resolve)
        except netguard.Refused as refused:
            shown = _shown(self.url)
            raise DriverRejected(f"webhook {step}: {shown} address not allowed ({refused.why})") from None
        except netguard.Unresolved:
            raise _failed(step, _shown(self.url), "did not resolve") from None
        body = self.body(step, event, channel)
        headers = {"Content-Type": "application/json", "User-Agent": "onair-webhook", STEP_HEADER: step}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        status = self._send(step, target, body, headers)
        if 200 <= status < 300:
            return StepResult(step, f"webhook answered HTTP {status}")
        message = f"webhook {step}: {target.shown} answered HTTP {status}"
        if status >= 500 or status in RETRIED_STATUSES:
            raise DriverError(message, _hidden(step, target.shown))
        raise DriverRejected(message, _hidden(step, target.shown))

    def _send(self, step: str, target: Target, body: bytes, headers: dict[str, str]) -> int:
        """POST to the first checked address that takes the connection; the status, or a DriverError."""
        deadline = time.monotonic() + self.timeout
        outcome = "could not be reached"
        for address in target.addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                outcome = "timed out"
                break
            connection = _connection(target, address, remaining, self.tls)
            watchdog = threading.Timer(remaining, connection.abort)
            watchdog.daemon = True
            watchdog.start()
            try:
                connection.request("POST", target.path, body, headers)
                response = connection.getresponse()
                response.read(MAX_RESPONSE_BYTES)  # bounded; the rest goes with the connection
                if connection.aborted:  # a cut socket reads as the end of the headers: not an answer
                    raise TimeoutError
                return int(response.status)
            except Exception as error:  # every failure becomes one word of the vocabulary below
                outcome = "timed out" if connection.aborted else _outcome(error)
                if outcome != "refused the connection":
                    break  # only a refused connection is worth the next address
            finally:
                watchdog.cancel()
                connection.close()
        raise _failed(step, target.shown, outcome)


def _failed(step: str, shown: str, outcome: str) -> DriverError:
    return DriverError(f"webhook {step}: {shown} {outcome}", _hidden(step, shown))


def _hidden(step: str, shown: str) -> str:
    """What an API caller sees for any failure after a connection was tried: the same words for all."""
    return f"webhook {step}: {shown} did not answer with a 2xx"


def _outcome(error: Exception) -> str:
    """The fixed phrase for a failed exchange (never the exception's own text)."""
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed the connection without answering"
    if isinstance(error, http.client.HTTPException):
        return "sent a malformed response"
    if isinstance(error, ConnectionRefusedError):
        return "refused the connection"
    if isinstance(error, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return "failed the TLS handshake"
    if isinstance(error, ConnectionError):
        return "closed the connection without answering"
    return "could not be reached"


def _shown(url: str) -> str:
    """Host and port of a URL that did not vet (for the reason only), as `Target.shown` spells them."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        port = "?"
    return f"{parts.hostname or '?'}:{port}"


class _Pinned:
    """What both connection classes share: connect to `address`, name the host in Host (and SNI)."""

    address: str
    aborted: bool
    sock: Any
    timeout: float
    port: int

    def abort(self) -> None:
        """The whole exchange ran out of time: cut the socket so a blocked read returns at once."""
        self.aborted = True
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to cut
                sock.shutdown(socket.SHUT_RDWR)

    def _open(self) -> socket.socket:
        return socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    def __init__(self, target: Target, address: str, timeout: float) -> None:
        http.client.HTTPConnection.__init__(self, target.host, target.port, timeout=timeout)
        self.address, self.aborted = address, False

    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    def __init__(self, target: Target, address: str, timeout: float, tls: ssl.SSLContext | None) -> None:
        context = tls or ssl.create_default_context()
        http.client.HTTPSConnection.__init__(self, target.host, target.port, timeout=timeout, context=context)
        self.address, self.aborted, self.context = address, False, context

    def connect(self) -> None:
        self.sock = self.context.wrap_socket(self._open(), server_hostname=self.host)


def _connection(
    target: Target, address: str, timeout: float, tls: ssl.SSLContext | None
) -> _PinnedHTTP | _PinnedHTTPS:
    if target.scheme == "https":
        return _PinnedHTTPS(target, address, timeout, tls)
    return _PinnedHTTP(target, address, timeout)
