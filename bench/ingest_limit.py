"""How large a recording the deployed ingest path (API Gateway → Lambda) accepts, from the limits.

    python -m bench.ingest_limit

pyCA sends a track as one multipart/form-data POST to `/ingest/addTrack`. Behind API Gateway (REST) the
body may be at most 10 MiB; the Lambda invocation payload (the whole proxy event, JSON) at most 6 MB
(6,291,456 bytes), and `multipart/form-data` is a binary media type, so the body travels base64-encoded
(4/3 larger). This builds the event API Gateway would send for pyCA's request (its headers, a mediapackage
as pyCA carries it, a typical request context) and finds the largest track whose event still fits.
"""

from __future__ import annotations

import base64
import json

API_GATEWAY_BODY_LIMIT = 10 * 1024 * 1024
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
BOUNDARY = "------------------------d74496d66958873e"
MEDIAPACKAGE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><mediapackage '
    'xmlns="http://mediapackage.opencastproject.org" id="evt_01m8kw81r0hb035hnb2zw7fdmb" '
    'start="2030-01-07T09:00:00Z"><media/><metadata/><attachments/><publications/></mediapackage>'
)
HEADERS = {
    "Host": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
    "Authorization": 'Digest username="pyca-room-101", realm="Opencast", '
    'nonce="1795963479.4d752b0712eaf413.09205b054c4b930e8d13ceabed48fd47", uri="/api/ingest/addTrack", '
    'cnonce="MjU0NjQ5YmQ2ZDBlNjM0NjdkMmE4OGRhZTBhZDk4NzA=", nc=00000001, qop=auth, '
    'response="0c1d7ab7f5a0d0a8c2f4a1d6f2e3b4c5", algorithm=MD5',
    "Accept": "*/*",
    "X-Requested-Auth": "Digest",
    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    "X-Amzn-Trace-Id": "Root=1-6745c1a2-0123456789abcdef01234567",
    "X-Forwarded-For": "203.0.113.10",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
}


def body(track_bytes: int) -> bytes:
    """pyCA's addTrack body (curl's multipart) with a track of `track_bytes`."""
    fields = [("mediaPackage", MEDIAPACKAGE), ("flavor", "presenter/source")]
    out = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'.encode()
        for n, v in fields
    )
    out += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="BODY1"; '
        f'filename="recording-1795963517-evt_01m8kw81r0hb035hnb2zw7fdmb.webm"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return out + b"\0" * track_bytes + f"\r\n--{BOUNDARY}--\r\n".encode()


def event_size(track_bytes: int) -> tuple[int, int]:
    """(body bytes, proxy event bytes) for a track of `track_bytes`."""
    raw = body(track_bytes)
    headers = {**HEADERS, "Content-Length": str(len(raw))}
    event = {
        "resource": "/ingest/addTrack",
        "path": "/ingest/addTrack",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/ingest/addTrack",
            "httpMethod": "POST",
            "extendedRequestId": "Ab1CdEfGhIjKlMn=",
            "requestTime": "07/Jan/2030:09:00:00 +0000",
            "path": "/api/ingest/addTrack",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "api",
            "domainPrefix": "abcdef1234",
            "requestTimeEpoch": 1893920400000,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.10", "userAgent": None},
            "domainName": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
            "apiId": "abcdef1234",
        },
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }
    return len(raw), len(json.dumps(event))


def largest_track() -> tuple[int, int, int]:
    """The largest track (bytes) whose request passes both limits, with its body and event sizes."""
    low, high = 0, API_GATEWAY_BODY_LIMIT
    while low < high:
        middle = (low + high + 1) // 2
        raw, event = event_size(middle)
        if raw <= API_GATEWAY_BODY_LIMIT and event <= LAMBDA_PAYLOAD_LIMIT:
            low = middle
        else:
            high = middle - 1
    raw, event = event_size(low)
    return low, raw, event


def main() -> None:
    track, raw, event = largest_track()
    print(f"API Gateway body limit        {API_GATEWAY_BODY_LIMIT:>12,} bytes")
    print(f"Lambda payload limit (event)  {LAMBDA_PAYLOAD_LIMIT:>12,} bytes")
    print(f"largest pyCA track accepted   {track:>12,} bytes ({track / 2**20:.2f} MiB)")
    print(f"  its multipart body          {raw:>12,} bytes; proxy event {event:,} bytes")
    print(f"share of the 10 MiB gateway limit usable: {raw / API_GATEWAY_BODY_LIMIT:.2f}")
    print(f"an hour of 1080p at 4 Mbit/s (1.8 GB) is {1.8e9 / track:,.0f}x that")


if __name__ == "__main__":
    main()
