"""The raw archive, on a moto S3 server over HTTP and on a local folder: the same behaviour."""

from __future__ import annotations

import gzip
import hashlib
from datetime import date
from pathlib import Path

import pytest

from amzinsight.config import Settings
from amzinsight.errors import ServiceUnavailableError
from amzinsight.ingest.archive import (
    LocalArchive,
    RawArchive,
    S3Archive,
    archive_from_settings,
    archive_key,
    store_prefix,
)


@pytest.fixture(params=["s3", "local"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> RawArchive:
    if request.param == "s3":
        request.applymarker(pytest.mark.s3)
        request.getfixturevalue("s3_bucket")
        built = archive_from_settings(Settings())
        assert isinstance(built, S3Archive)
        return built
    built = archive_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(built, LocalArchive)
    return built


def _document(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "document.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def test_key_is_deterministic_and_starts_with_the_store() -> None:
    key = archive_key(
        "acme_us", "orders", "ATVPDKIKX0DER", date(2026, 1, 1), date(2026, 1, 31), "DOC/1", "tsv.gz"
    )
    assert key == "acme_us/orders/ATVPDKIKX0DER/2026-01-01_2026-01-31/DOC_1.tsv.gz"
    assert key.startswith(store_prefix("acme_us"))


def test_round_trip_keeps_every_byte(archive: RawArchive, tmp_path: Path) -> None:
    source = _document(tmp_path, "sku\tasin\nSKU-1\tB000TEST01\nSKU-ü\tB000TEST02\n" * 1000)
    stored = archive.put_file("acme_us/orders/doc.tsv.gz", source, {"report-id": "R1"})

    assert stored.bytes == source.stat().st_size
    assert stored.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    copy = tmp_path / "copy.gz"
    archive.download("acme_us/orders/doc.tsv.gz", copy)
    assert copy.read_bytes() == source.read_bytes()


def test_a_second_put_on_the_same_key_replaces_it(archive: RawArchive, tmp_path: Path) -> None:
    archive.put_file("acme_us/a.gz", _document(tmp_path, "first"))
    archive.put_file("acme_us/a.gz", _document(tmp_path, "second"))
    copy = tmp_path / "copy.gz"
    archive.download("acme_us/a.gz", copy)
    assert gzip.decompress(copy.read_bytes()) == b"second"
    assert list(archive.keys("acme_us/")) == ["acme_us/a.gz"]


def test_deleting_a_store_prefix_leaves_other_stores(archive: RawArchive, tmp_path: Path) -> None:
    document = _document(tmp_path, "x")
    for key in ["acme_us/orders/1.gz", "acme_us/settlement/2.gz", "acme_usa/orders/3.gz"]:
        archive.put_file(key, document)

    assert archive.delete_prefix(store_prefix("acme_us")) == 2

    assert list(archive.keys()) == ["acme_usa/orders/3.gz"]


def test_local_keys_cannot_escape_the_folder(tmp_path: Path) -> None:
    archive = LocalArchive(tmp_path / "archive")
    with pytest.raises(ValueError, match="leaves"):
        archive.put_file("../outside.gz", _document(tmp_path, "x"))


def test_unreachable_s3_is_one_clear_error(tmp_path: Path) -> None:
    settings = Settings(
        s3={
            "bucket": "amz-raw",
            "endpoint_url": "http://127.0.0.1:9",  # discard port: nothing listens
            "access_key_id": "testing",
            "secret_access_key": "testing",
        }
    )
    archive = archive_from_settings(settings)
    with pytest.raises(ServiceUnavailableError, match="amz-raw") as raised:
        archive.put_file("acme_us/a.gz", _document(tmp_path, "x"))
    assert "testing" not in str(raised.value)
