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

        self.prefix = emulator_url.rstrip("/")
        self.stubber = BotocoreStubber()
        self.stubber.enabled = True
        self.answered = 0

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSPreparedRequest, AWSResponse
        from moto.core.botocore_stubber import MockRawResponse

        url = request.url
        if not (url == self.prefix or url.startswith(self.prefix + "/") or url.startswith(self.prefix + "?")):
            return None
        scope = _scope(request.headers)
        if scope is None or scope[0] not in SERVICES:
            return None
        service, region = scope
        aws = AWSPreparedRequest(
            method=request.method,
            url=f"https://{service}.{region}.amazonaws.com{url[len(self.prefix) :] or '/'}",
            headers=request.headers,
            body=request.body,
            stream_output=request.stream_output,
        )
        answer = self.stubber.process_request(aws)
        if answer is None:
            return None
        status, headers, body = answer
        self.answered += 1
        return AWSResponse(url, status, headers, MockRawResponse(body))


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
