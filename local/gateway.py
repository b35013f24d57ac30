"""Chalice's local server, with one change: unknown paths get a 404 problem (API Gateway answers them
with 403 "Missing Authentication Token"; infra maps that to the same 404 in AWS)."""

from __future__ import annotations

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


class Gateway(LocalGateway):
    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            self._generate_lambda_event(method, path, headers, body)
        except ValueError:
            return not_found_response(path.split("?")[0]).to_dict()
        return super().handle_request(method, path, headers, body)


class Handler(ChaliceRequestHandler):
    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Config
    ) -> None:
        self.local_gateway = Gateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        # Methods no route takes (TRACE, QUERY, ...): 405 problem+json rather than http.server's bare 501.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        response = problem(
            405, "method-not-allowed", "Method not allowed", f"{self.command} is not supported."
        )
        self._send_http_response(405, dict(response.headers), response.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are logged as JSON by the app


class Server(ThreadedHTTPServer):
    # socketserver's default backlog of 5 resets connections when clients burst (it is 128 on a Lambda).
    request_queue_size = 128


def create_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    """What chalice.local.create_local_server does, with our handler and a real listen backlog."""
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=Handler, server_cls=Server)
