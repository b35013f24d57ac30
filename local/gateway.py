"""Chalice's local server, with the HTTP framing API Gateway does for us in AWS.

- Unknown paths get a 404 problem (API Gateway answers them with 403 "Missing Authentication Token";
  infra maps that to the same 404 in AWS).
- Every request's body is read whole before anything is answered (`Content-Length`, or
  `Transfer-Encoding: chunked`), or refused with the connection closed: 413 above
  `ONAIR_MAX_BODY_BYTES` (`ONAIR_MAX_INGEST_BYTES` for a recorder's uploads under `/ingest/`), 400 for
  a length or chunk that is not a number. Otherwise the unread rest of a
  body would be parsed as the next request on a kept-alive connection.
- A method the path does not serve (HEAD, TRACE, QUERY, anything) is a 405 problem with `Allow` naming
  the methods it does serve; GET/POST/PUT/PATCH/DELETE get theirs from the app
  (`chalicelib.api.routing`), with the same `Allow`.
"""

from __future__ import annotations

import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    ThreadedHTTPServer,
)

from chalicelib.api.errors import problem
from chalicelib.api.http import not_found_response
from chalicelib.api.routing import METHODS, allowed_methods
from local import priority

MAX_LINE = 65536  # a chunk-size line longer than this is not HTTP


class Refused(Exception):
    """The request's body cannot be read; the answer is sent and the connection closed."""

    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail


class Gateway(LocalGateway):
    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            self._generate_lambda_event(method, path, headers, body)
        except ValueError:
            return not_found_response(path.split("?")[0]).to_dict()
        return super().handle_request(method, path, headers, body)

    def allowed(self, path: str) -> list[str] | None:
        """The methods the route matching `path` serves, or None when no route matches it."""
        try:
            route = self.event_converter._route_matcher.match_route(path).route
        except ValueError:
            return None
        return allowed_methods(self._app_object.routes[route])


class Handler(ChaliceRequestHandler):
    max_body_bytes = 256 * 1024
    max_ingest_bytes = 1024**3

    @property
    def body_limit(self) -> int:
        """Recorders upload tracks to /ingest/ (in AWS, large ones go straight to S3: docs/recorders.md)."""
        return self.max_ingest_bytes if self.path.startswith("/ingest/") else self.max_body_bytes

    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Config
    ) -> None:
        self.local_gateway = Gateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        # Methods no route takes (TRACE, QUERY, ...) are answered like any other, rather than with
        # http.server's bare 501 that leaves their body unread.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except Refused as refused:
            self.close_connection = True
            self._send_problem(
                refused.status, refused.slug, refused.title, refused.detail, {"Connection": "close"}
            )
            return
        if self.command not in METHODS and self.command != "OPTIONS":
            path = self.path.split("?")[0]
            allowed = self.local_gateway.allowed(path)
            if allowed is None:
                response = not_found_response(path)
                self._send(response.status_code, dict(response.headers), response.body)
            else:
                detail = f"{self.command} is not supported; use one of: {', '.join(allowed)}."
                self._send_problem(
                    405, "method-not-allowed", "Method not allowed", detail, {"Allow": ", ".join(allowed)}
                )
            return
        self._answer(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle

    def _answer(self, body: bytes | None) -> None:
        """What chalice's `_generic_handle` does, with the body already read."""
        from chalice.local import LocalGatewayException

        try:
            priority.let_steps_go_first()
            with self.server.slots:  # at most `concurrency` requests in the app at once (see Server)
                response = self.local_gateway.handle_request(
                    method=self.command, path=self.path, headers=dict(self.headers), body=body
                )
            headers = response["headers"].copy()
            headers.update(response["multiValueHeaders"])
            response = self._handle_binary(response)
            self._send_http_response(response["statusCode"], headers, response["body"])
        except LocalGatewayException as error:
            self._send_error_response(error)

    def _read_body(self) -> bytes | None:
        encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if encoding and encoding != "identity":
            if encoding != "chunked":
                raise Refused(
                    400,
                    "malformed-request",
                    "Malformed request",
                    f"Transfer-Encoding {encoding!r} is not supported.",
                )
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        try:
            size = int(length)
            if size < 0:
                raise ValueError(length)
        except ValueError:
            raise Refused(
                400, "malformed-request", "Malformed request", "Content-Length is not a number."
            ) from None
        if size > self.body_limit:
            raise self._too_large()
        return self.rfile.read(size) if size else None

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size < 0 or len(line) > MAX_LINE:
                    raise ValueError(line)
            except ValueError:
                raise Refused(
                    400, "malformed-request", "Malformed request", "A chunk size is not a number."
                ) from None
            if size == 0:
                while self.rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > self.body_limit:
                raise self._too_large()
            chunks.append(self.rfile.read(size))
            self.rfile.readline(MAX_LINE + 1)  # the CRLF after the chunk

    def _too_large(self) -> Refused:
        detail = f"The body exceeds {self.body_limit} bytes."
        return Refused(413, "payload-too-large", "Request body too large", detail)

    def _send_problem(self, status: int, slug: str, title: str, detail: str, headers: dict[str, str]) -> None:
        response = problem(status, slug, title, detail, headers)
        self._send(status, dict(response.headers), response.body)

    def _send(self, status: int, headers: dict[str, str], body: str) -> None:
        headers.setdefault("X-Request-Id", str(uuid.uuid4()))
        if self.command == "HEAD":  # a HEAD answer has the headers of the GET and no body
            self.send_response(status)
            self.send_header("Content-Length", str(len(body.encode())))
            self._send_headers(headers)
            return
        self._send_http_response(status, headers, body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are logged as JSON by the app


class Server(ThreadedHTTPServer):
    """One thread per connection, as chalice's server; at most `concurrency` of them in the app at once.

    Everything runs in one process under one GIL (the app, the emulator, the lifecycle runs). With 16
    busy connections the interpreter time-slices 16 requests, so each takes 16 times its own work and a
    lifecycle step gets a sixteenth of the CPU: under load, starts drifted seconds late. Letting a few in
    at a time (in arrival order) serves the same throughput with shorter, fairer waits, and leaves the
    lifecycle runs, which take no slot, their share. A slow webhook holds one slot, not the API.
    """

    # socketserver's default backlog of 5 resets connections when clients burst (it is 128 on a Lambda).
    request_queue_size = 128
    daemon_threads = True  # a request still running at shutdown must not hold the process
    block_on_close = False
    concurrency = 4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = threading.Semaphore(self.concurrency)


def create_server(
    app: Chalice, config: Config, host: str, port: int, max_body_bytes: int, max_ingest_bytes: int
) -> LocalDevServer:
    """What chalice.local.create_local_server does, with our handler and a real listen backlog."""
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    limits = {"max_body_bytes": max_body_bytes, "max_ingest_bytes": max_ingest_bytes}
    handler = type("BoundHandler", (Handler,), limits)
    server = type(
        "BoundServer", (Server,), {"concurrency": int(os.environ.get("ONAIR_LOCAL_CONCURRENCY", "4"))}
    )
    return LocalDevServer(app, config, host, port, handler_cls=handler, server_cls=server)
