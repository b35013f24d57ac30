"""Timetable files in S3 (`ONAIR_IMPORTS_BUCKET`, `<tenant>/<import>`): what a client PUTs through a
pre-signed URL, or what it sent inline; the import job reads it back. The bucket expires them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.recordings import s3_client
from chalicelib.domain.errors import ValidationFailed


def upload_key(tenant_id: str, import_id: str) -> str:
    return f"{tenant_id}/{import_id}"


class UploadStore:
    def __init__(self, bucket: str, client_factory: Callable[[], Any] = s3_client) -> None:
        self.bucket = bucket
        self._client_factory = client_factory
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:  # built on first use (never at import)
            self._client = self._client_factory()
        return self._client

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ServerSideEncryption="AES256")

    def upload_url(self, key: str, seconds: int) -> str:
        """A pre-signed PUT URL for the file (signed locally, no request): `curl -T file "$URL"`."""
        return str(
            self.client.generate_presigned_url(
                "put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
            )
        )

    def size(self, key: str) -> int | None:
        """The stored file's size, or None when nothing was uploaded."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def get(self, key: str, limit: int) -> bytes:
        """The file's bytes; `ValidationFailed` at /content when it is missing or larger than `limit`."""
        size = self.size(key)
        if size is None:
            raise ValidationFailed.one("/content", "nothing was uploaded to the upload_url")
        if size > limit:
            raise ValidationFailed.one(
                "/content", f"is {size} bytes; an import file may have at most {limit}"
            )
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
