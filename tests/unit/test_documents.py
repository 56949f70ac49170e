"""Decoding documents as received: gzip or plain, Amazon's charset, and clear errors when broken."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from amzinsight.errors import ReportParseError
from amzinsight.ingest.documents import decode_document

TEXT = "sku\titem-name\nKT-1\tKäse board — large\n" * 5000


def _decode(tmp_path: Path, raw: bytes, charset: str | None = None) -> str:
    source = tmp_path / "raw"
    source.write_bytes(raw)
    return decode_document(source, tmp_path / "out", charset, "TEST_REPORT").read_text("utf-8")


def test_gzip_utf8_is_the_default(tmp_path: Path) -> None:
    assert _decode(tmp_path, gzip.compress(TEXT.encode("utf-8"))) == TEXT


def test_plain_files_and_a_bom_are_accepted(tmp_path: Path) -> None:
    assert _decode(tmp_path, b"\xef\xbb\xbf" + TEXT.encode("utf-8")) == TEXT


def test_the_declared_charset_is_used(tmp_path: Path) -> None:
    text = "sku\titem-name\nKT-1\tK\u00e4se board\n"
    assert _decode(tmp_path, gzip.compress(text.encode("cp1252")), "Cp1252") == text


def test_concatenated_gzip_members_are_read_whole(tmp_path: Path) -> None:
    raw = gzip.compress(b"sku\n") + gzip.compress(b"KT-1\n")
    assert _decode(tmp_path, raw) == "sku\nKT-1\n"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (gzip.compress(TEXT.encode())[:-400], "truncated"),
        (b"\x1f\x8b" + b"garbage" * 100, "not valid gzip"),
        (b"", "empty"),
        (gzip.compress("K\u00e4se".encode("cp1252")), "not valid UTF-8"),
    ],
    ids=["truncated", "corrupt", "empty", "wrong charset"],
)
def test_broken_documents_are_one_clear_error(tmp_path: Path, raw: bytes, message: str) -> None:
    with pytest.raises(ReportParseError, match=message) as raised:
        _decode(tmp_path, raw)
    assert str(raised.value).startswith("TEST_REPORT: ")


def test_unknown_charset_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReportParseError, match="x-klingon"):
        _decode(tmp_path, b"abc", "x-klingon")
