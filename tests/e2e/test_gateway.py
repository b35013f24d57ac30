"""The local gateway's HTTP framing, over raw sockets: every body is read (or refused) before the answer,
and every 405 names what the path allows."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from local import process as local_process

KEY = "onair_e2e-gateway-key-0123456789"


@pytest.fixture(scope="module")
def stack() -> Iterator[local_process.StackProcess]:
    started = local_process.start(KEY, env={"ONAIR_MAX_BODY_BYTES": "4096"})
    yield started
    started.kill()


def address(stack: local_process.StackProcess) -> tuple[str, int]:
    host, port = stack.url.removeprefix("http://").split(":")
    return host, int(port)


def request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    head = {"Host": "onair", "Authorization": f"Bearer {KEY}", **(headers or {})}
    if body and "Transfer-Encoding" not in head:
        head.setdefault("Content-Length", str(len(body)))
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in head.items()), "", ""]
    return "\r\n".join(lines).encode() + body


def responses(stack: local_process.StackProcess, raw: bytes, expect: int) -> list[dict[str, Any]]:
    """Send `raw` on one kept-alive connection; read answers until `expect` came or the server closed it."""
    found: list[dict[str, Any]] = []
    with socket.create_connection(address(stack), timeout=10) as conn:
        conn.sendall(raw)
        reader = conn.makefile("rb")
        while len(found) < expect + 1:  # one more than expected: a smuggled request would show up here
            conn.settimeout(1.5 if len(found) >= expect else 10)
            try:
                status_line = reader.readline()
            except TimeoutError:
                break
            if not status_line:
                break
            headers: dict[str, str] = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = reader.read(length) if length else b""
            found.append({"status": int(status_line.split()[1]), "headers": headers, "body": body})
    return found


def allowed(response: dict[str, Any]) -> set[str]:
    return {m.strip() for m in response["headers"].get("allow", "").split(",") if m.strip()}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/v1/events", {"GET", "POST"}),
        ("QUERY", "/v1/events/evt_01abc", {"GET", "PATCH", "DELETE"}),
        ("PUT", "/v1/events", {"GET", "POST"}),  # a method the app knows, answered by the app
        ("DELETE", "/v1/health", {"GET"}),
    ],
)
def test_every_405_names_the_methods_the_path_allows(stack, method: str, path: str, allow: set[str]) -> None:
    [answer] = responses(stack, request(method, path), expect=1)
    assert answer["status"] == 405
    assert allowed(answer) == allow, answer["headers"]
    assert answer["headers"]["content-type"] == "application/problem+json"
    assert json.loads(answer["body"])["status"] == 405
    assert answer["headers"].get("x-request-id")


def test_head_is_a_405_with_allow_and_no_body(stack) -> None:
    raw = request("HEAD", "/v1/events") + request("GET", "/v1/health")
    with socket.create_connection(address(stack), timeout=10) as conn:
        conn.sendall(raw)
        conn.settimeout(3)
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    first, second = data.split(b"HTTP/1.1 ")[1:3]
    assert first.startswith(b"405") and b"Allow: GET, POST" in first
    assert first.endswith(b"\r\n\r\n"), "no body after a HEAD answer's headers"
    assert second.startswith(b"200"), "the connection still frames the next request"


def test_a_body_sent_with_an_unknown_method_is_not_read_as_the_next_request(stack) -> None:
    smuggled = request("GET", "/v1/health")
    raw = request("FROB", "/v1/events", smuggled) + request("GET", "/v1/nowhere")
    answers = responses(stack, raw, expect=2)
    assert [a["status"] for a in answers] == [405, 404], "the body was read and dropped, not answered"


def test_a_chunked_body_is_read_whole(stack) -> None:
    body = json.dumps({"name": "Chunked room"}).encode()
    chunked = b"".join(
        [f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:7], body[7:])] + [b"0\r\n\r\n"]
    )
    raw = request(
        "POST",
        "/v1/channels",
        chunked,
        {"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
    ) + request("GET", "/v1/nowhere")
    answers = responses(stack, raw, expect=2)
    assert [a["status"] for a in answers] == [201, 404]
    assert json.loads(answers[0]["body"])["name"] == "Chunked room"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Length": str(10 * 1024 * 1024)}, b"x" * 1024, 413),  # refused before reading 10 MiB
        ({"Content-Length": "ten"}, b"", 400),
        ({"Transfer-Encoding": "chunked"}, b"zz\r\nhello\r\n0\r\n\r\n", 400),
        ({"Transfer-Encoding": "gzip"}, b"x", 400),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_and_the_connection_closed(
    stack, headers: dict[str, str], body: bytes, status: int
) -> None:
    raw = request("POST", "/v1/channels", body, {"Content-Type": "application/json", **headers})
    answers = responses(stack, raw + request("GET", "/v1/health"), expect=1)
    assert [a["status"] for a in answers] == [status], "nothing after the refusal is answered"
    assert answers[0]["headers"].get("connection") == "close"
    assert answers[0]["headers"]["content-type"] == "application/problem+json"


def test_a_body_over_the_limit_in_chunks_is_refused(stack) -> None:
    chunk = b"x" * 3000
    chunked = b"".join([f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"] * 2) + b"0\r\n\r\n"
    raw = request("POST", "/v1/channels", chunked, {"Transfer-Encoding": "chunked"})
    [answer] = responses(stack, raw, expect=1)
    assert answer["status"] == 413
