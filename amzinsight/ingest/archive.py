"""The raw-report archive: every document Amazon sent, kept byte for byte before it is parsed.

S3 (or an S3-compatible store) via boto3 when a bucket is configured, otherwise a folder under the
data directory. Keys start with the store's slug, so deleting a store's raw files is one prefix.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from amzinsight.config import Settings
from amzinsight.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ArchivedObject:
    key: str
    sha256: str
    bytes: int


class RawArchive(Protocol):
    """What the pipeline, `replay` and data deletion need from an archive."""

    def put_file(
        self, key: str, path: Path, metadata: dict[str, str] | None = None
    ) -> ArchivedObject:
        """Store a file under key (replacing any object there) and return its size and digest."""
        ...

    def download(self, key: str, destination: Path) -> None:
        """Write the object to destination (streamed, never held whole in memory)."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under prefix, relative to the archive root."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under prefix; returns how many were deleted."""
        ...


def archive_key(
    store_slug: str,
    report_type: str,
    marketplace_id: str | None,
    data_start: date | None,
    data_end: date | None,
    document_id: str,
    extension: str,
) -> str:
    """A deterministic key: the same document always lands on the same key (re-pulls overwrite)."""
    window = f"{data_start or 'na'}_{data_end or 'na'}"
    safe_document = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in document_id)
    return "/".join(
        [store_slug, report_type, marketplace_id or "all", window, f"{safe_document}.{extension}"]
    )


def store_prefix(store_slug: str) -> str:
    return f"{store_slug}/"


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class LocalArchive:
    """Raw files under a folder; writes go through a temporary file and an atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"archive key {key!r} leaves the archive folder")
        return path

    def put_file(
        self, key: str, path: Path, metadata: dict[str, str] | None = None
    ) -> ArchivedObject:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = file_digest(path)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as temporary:
            with path.open("rb") as source:
                shutil.copyfileobj(source, temporary, _CHUNK)
            temporary.flush()
            os.fsync(temporary.fileno())
        os.replace(temporary.name, target)
        return ArchivedObject(key=key, sha256=digest, bytes=size)

    def download(self, key: str, destination: Path) -> None:
        source = self._path(key)
        if not source.is_file():
            raise FileNotFoundError(f"no archived object {key!r}")
        shutil.copyfile(source, destination)

    def keys(self, prefix: str = "") -> Iterator[str]:
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete_prefix(self, prefix: str) -> int:
        doomed = list(self.keys(prefix))
        for key in doomed:
            self._path(key).unlink()
        for directory in sorted(self.root.rglob("*"), reverse=True):
            if directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
        return len(doomed)


class S3Archive:
    """Raw files in an S3 bucket under a prefix; large files go up as multipart uploads."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(
        self, key: str, path: Path, metadata: dict[str, str] | None = None
    ) -> ArchivedObject:
        digest, size = file_digest(path)
        extra = {"Metadata": {**(metadata or {}), "sha256": digest}}
        self._call(
            "upload",
            self.client.upload_file,
            str(path),
            self.bucket,
            self._full(key),
            ExtraArgs=extra,
        )
        return ArchivedObject(key=key, sha256=digest, bytes=size)

    def download(self, key: str, destination: Path) -> None:
        self._call(
            "download", self.client.download_file, self.bucket, self._full(key), str(destination)
        )

    def keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        strip = len(self._full(""))
        pages = self._call(
            "list", lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=self._full(prefix)))
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][strip:]

    def delete_prefix(self, prefix: str) -> int:
        doomed = list(self.keys(prefix))
        for start in range(0, len(doomed), 1000):  # DeleteObjects takes at most 1,000 keys
            batch = [{"Key": self._full(key)} for key in doomed[start : start + 1000]]
            self._call(
                "delete",
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )
        return len(doomed)

    def _call(self, action: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(*args, **kwargs)
        except (BotoCoreError, ClientError) as error:
            raise ServiceUnavailableError(
                f"The raw archive (S3 bucket {self.bucket}) failed to {action}: "
                f"{type(error).__name__}; nothing was written to the database."
            ) from error


def archive_from_settings(settings: Settings) -> RawArchive:
    """S3 when AMZ_S3_BUCKET is set, otherwise DATA_DIR/archive."""
    if not settings.s3.bucket:
        return LocalArchive(settings.data_dir / "archive")
    import boto3
    from botocore.config import Config

    secret = settings.s3.secret_access_key
    client = boto3.client(
        "s3",
        region_name=settings.s3.region,
        endpoint_url=settings.s3.endpoint_url,
        aws_access_key_id=settings.s3.access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )
    return S3Archive(client, settings.s3.bucket, settings.s3.prefix)
