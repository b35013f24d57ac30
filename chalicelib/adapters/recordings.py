"""Recordings: files in the S3 bucket under `<tenant>/<event>/…`, and what onair knows about them in DynamoDB.

- S3 holds the bytes (`ONAIR_RECORDINGS_BUCKET`; SSE, public access blocked, expiry by lifecycle rule).
- DynamoDB holds one item per file, `pk = T#<tenant>#REC#<event>`, `sk = FILE#<element id>` (key, size,
  content type, flavor, agent), so `GET /v1/events/{id}/recordings` is one Query plus local signing.
  The same partition holds the recording's last reported state (`sk = STATE`) and the marker that the
  "Capture At Risk" warning went out (`sk = RISK`), both one GetItem / conditional put away.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, Table
from chalicelib.domain.time import format_instant, parse_instant


@dataclass(frozen=True)
class StoredFile:
    """One uploaded file of a recording."""

    key: str
    size: int
    content_type: str
    flavor: str
    element_id: str
    agent: str
    at: datetime


def _pk(tenant_id: str, event_id: str) -> str:
    return f"T#{tenant_id}#REC#{event_id}"


def s3_client() -> Any:
    """The S3 client: path-style addressing when an endpoint (the local emulator) is configured."""
    from botocore.config import Config

    from chalicelib.adapters import aws

    style = "path" if os.environ.get("AWS_ENDPOINT_URL") else "auto"
    config = Config(
        retries={"max_attempts": 4, "mode": "standard"},
        s3={"addressing_style": style},
        signature_version="s3v4",  # pre-signed URLs signed with SigV4 (SigV2 is deprecated)
    )
    return aws.new_client("s3", config)


class RecordingStore:
    """Put and sign files in the bucket; record and list them in the table."""

    def __init__(self, table: Table, bucket: str, client_factory: Callable[[], Any] = s3_client) -> None:
        self.table = table
        self.bucket = bucket
        self._client_factory = client_factory
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:  # built on first use, once per store (never at import)
            self._client = self._client_factory()
        return self._client

    def put(self, tenant_id: str, event_id: str, stored: StoredFile, body: bytes) -> None:
        """Upload the bytes (SSE-S3), then record the file (so a listed file always exists)."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=stored.key,
            Body=body,
            ContentType=stored.content_type,
            ServerSideEncryption="AES256",
        )
        self.table.put(
            {
                "pk": _pk(tenant_id, event_id),
                "sk": f"FILE#{stored.element_id}",
                "key": stored.key,
                "size": stored.size,
                "content_type": stored.content_type,
                "flavor": stored.flavor,
                "agent": stored.agent,
                "at": format_instant(stored.at),
            }
        )

    def files(self, tenant_id: str, event_id: str) -> list[StoredFile]:
        """The event's files, oldest first (one Query; a recording has a handful)."""
        page = self.table.query(
            "pk = :pk AND begins_with(sk, :f)",
            {":pk": _pk(tenant_id, event_id), ":f": "FILE#"},
            limit=500,
            consistent=True,
        )
        return [
            StoredFile(
                key=i["key"],
                size=int(i["size"]),
                content_type=i["content_type"],
                flavor=i.get("flavor", ""),
                element_id=i["sk"].removeprefix("FILE#"),
                agent=i.get("agent", ""),
                at=parse_instant(i["at"]),
            )
            for i in page.items
        ]

    def download_url(self, key: str, seconds: int) -> str:
        """A pre-signed GET URL for one file (signed locally, no request)."""
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
            )
        )

    # -- the recording's reported state and its warnings ---------------------------------------------------

    def set_state(self, tenant_id: str, event_id: str, state: str, now: datetime) -> None:
        self.table.put(
            {"pk": _pk(tenant_id, event_id), "sk": "STATE", "state": state, "at": format_instant(now)}
        )

    def state(self, tenant_id: str, event_id: str) -> tuple[str, datetime] | None:
        item = self.table.get(_pk(tenant_id, event_id), "STATE")
        return (item["state"], parse_instant(item["at"])) if item else None

    def warn_once(self, tenant_id: str, event_id: str, now: datetime) -> bool:
        """Mark the event as warned about; False when it already was (each warning goes out once)."""
        try:
            self.table.put(
                {"pk": _pk(tenant_id, event_id), "sk": "RISK", "at": format_instant(now)},
                condition="attribute_not_exists(pk)",
            )
        except ConditionFailed:
            return False
        return True
