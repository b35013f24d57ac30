"""Calls the local stack makes to its own emulator are answered in this process, without loopback HTTP.

The app's boto3 clients point at the emulator's URL (`AWS_ENDPOINT_URL`), as an SDK anywhere would. Over
HTTP every DynamoDB call costs a socket round trip, urllib3 on one side and werkzeug + Flask on the
other: about a third of the process's CPU under load, all of it under the one GIL. This `before-send`
handler (botocore's hook for answering a request without sending it, the one `mock_aws` uses) hands
requests addressed to the emulator straight to moto's request handling, the same code the HTTP server
runs, so they take the same lock and are journalled the same way. Other callers (the AWS CLI, your SDK)
still use the port; anything not recognised here goes over HTTP as before.
"""

from __future__ import annotations

from typing import Any

SERVICES = frozenset({"dynamodb", "events", "states", "lambda"})  # the hot paths; others use HTTP


def _scope(headers: Any) -> tuple[str, str] | None:
    """(service, region) from a SigV4 Authorization header."""
    auth = headers.get("Authorization")
    if isinstance(auth, bytes):
        auth = auth.decode()
    try:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
        _, _, region, service, _ = credential.split("/")
    except (AttributeError, IndexError, ValueError):
        return None
    return service, region


class InProcess:
    """The `before-send` handler: answers requests to `emulator_url` with moto, in this thread."""

    def __init__(self, emulator_url: str) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        base = emulator_url.rstrip("/")
        # moto's own clients (a Step Functions task invoking its Lambda) call http://localhost:<port>.
        self.prefixes = (base, base.replace("://127.0.0.1:", "://localhost:"))
        self.stubber = BotocoreStubber()
        self.stubber.enabled = True
        self._handlers: dict[str, Any] = {}  # JSON-protocol services: one handler for the path "/"
        self.answered = 0

    def _path(self, url: str) -> str | None:
        for prefix in self.prefixes:
            if url == prefix or url.startswith(prefix + "/") or url.startswith(prefix + "?"):
                return url[len(prefix) :] or "/"
        return None

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSPreparedRequest, AWSResponse
        from moto.core.botocore_stubber import MockRawResponse
        from moto.core.request import normalize_request

        path = self._path(request.url)
        scope = _scope(request.headers) if path is not None else None
        if path is None or scope is None or scope[0] not in SERVICES:
            return None
        service, region = scope
        aws = AWSPreparedRequest(
            method=request.method,
            url=f"https://{service}.{region}.amazonaws.com{path}",
            headers=request.headers,
            body=request.body,
            stream_output=request.stream_output,
        )
        handler = self._handlers.get(service) if path == "/" else None
        if handler is not None:  # what moto's stubber finds after matching ~250 URL patterns
            normalized = normalize_request(aws)
            answer = handler(normalized, normalized.raw_url, normalized.headers)
        else:
            answer = self.stubber.process_request(aws)
            if answer is not None and path == "/" and service != "lambda":
                self._handlers[service] = self._handler_for(service, aws.url)
        if answer is None:
            return None
        status, headers, body = answer
        self.answered += 1
        return AWSResponse(request.url, status, headers, MockRawResponse(body))

    @staticmethod
    def _handler_for(service: str, url: str) -> Any:
        """The method moto's stubber dispatches `url` to (as `BotocoreStubber.process_request` finds it)."""
        import re

        import moto.backend_index as backend_index
        import moto.backends as backends
        from moto.core import DEFAULT_ACCOUNT_ID

        for name, pattern in backend_index.backend_url_patterns:
            if pattern.match(url):
                backend = backends.get_backend(name)[DEFAULT_ACCOUNT_ID]["us-east-1"]  # type: ignore[call-overload]
                for rule, method in backend.urls.items():
                    if re.compile(rule).match(url):
                        return method
        return None


def install(emulator_url: str) -> InProcess:
    """Answer this process's calls to `emulator_url` in-process, for every botocore client made from now."""
    import botocore.handlers

    handler = InProcess(emulator_url)
    botocore.handlers.BUILTIN_HANDLERS.append(("before-send", handler))
    return handler


def uninstall(handler: InProcess) -> None:
    """Stop answering in-process (clients made from now on)."""
    import botocore.handlers

    if ("before-send", handler) in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.remove(("before-send", handler))
