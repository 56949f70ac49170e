"""The encoding rule for documents nobody declared a charset for (amzinsight/ingest/encodings.py):
UTF-8 when the bytes are, else the legacy reading that gives text, else the marketplace's, else a
one-line refusal. Never mojibake."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from amzinsight.errors import ReportParseError
from amzinsight.ingest.documents import decode_document
from amzinsight.ingest.encodings import (
    CP932,
    UTF8,
    WINDOWS_1252,
    detect_encoding,
    head_as_utf8,
    reads_as_text,
)

DE = "A1PA6795UKMFR9"
JP = "A1VC38T7YXB528"
US = "ATVPDKIKX0DER"
LATIN = "sku\titem-name\nKT-1\tPiña colada\nKT-2\tGrün Tee, Größe L\n"
JAPANESE = "sku\titem-name\nKT-1\t保温ボトル 500ml\nKT-2\t日本茶\n"


@pytest.mark.parametrize("marketplace", [None, DE, JP, US])
def test_utf8_with_or_without_bom_is_utf8_whatever_the_marketplace(marketplace: str | None) -> None:
    text = LATIN + JAPANESE
    assert detect_encoding(text.encode("utf-8"), marketplace, "X").codec == UTF8
    assert detect_encoding(b"\xef\xbb\xbf" + text.encode("utf-8"), marketplace, "X").codec == UTF8


@pytest.mark.parametrize("marketplace", [None, DE, JP, US])
def test_a_windows_1252_file_is_read_as_windows_1252_even_for_japan(
    marketplace: str | None,
) -> None:
    raw = LATIN.encode("cp1252")
    choice = detect_encoding(raw, marketplace, "X")
    assert choice.codec == WINDOWS_1252
    assert raw.decode(choice.codec) == LATIN


@pytest.mark.parametrize("marketplace", [None, DE, JP, US])
def test_a_cp932_file_is_never_read_as_windows_1252(marketplace: str | None) -> None:
    raw = JAPANESE.encode("cp932")
    choice = detect_encoding(raw, marketplace, "X")
    assert choice.codec == CP932
    assert raw.decode(choice.codec) == JAPANESE


def test_japanese_read_as_windows_1252_is_not_text() -> None:
    # "保温" in cp932 decodes in windows-1252 without an error, as "•Û‰·": that is not text.
    assert "保温".encode("cp932").decode("cp1252") == "•Û‰·"
    assert not reads_as_text(["保温".encode("cp932")], WINDOWS_1252)
    assert reads_as_text(["保温".encode("cp932")], CP932)


def test_when_both_readings_give_text_the_marketplace_decides() -> None:
    raw = "Crème brûlée".encode("cp1252")  # also two kanji and ASCII in cp932
    assert reads_as_text([raw], WINDOWS_1252) and reads_as_text([raw], CP932)
    assert detect_encoding(raw, DE, "X").codec == WINDOWS_1252
    assert detect_encoding(raw, US, "X").codec == WINDOWS_1252
    assert detect_encoding(raw, JP, "X").codec == CP932


def test_ambiguous_without_a_marketplace_is_refused_in_one_line() -> None:
    with pytest.raises(ReportParseError) as raised:
        detect_encoding("Crème brûlée".encode("cp1252"), None, "LISTINGS")
    message = str(raised.value)
    assert message.startswith("LISTINGS: ") and "\n" not in message
    assert "reads as both windows-1252 and Shift_JIS" in message


def test_bytes_no_encoding_reads_are_refused_in_one_line() -> None:
    raw = b"Gr\xfcn \x81 tea\n"  # 0x81: undefined in windows-1252; 0xFC 'n': no cp932 character
    with pytest.raises(ReportParseError) as raised:
        detect_encoding(raw, DE, "LISTINGS")
    message = str(raised.value)
    assert message.startswith("LISTINGS: ") and "\n" not in message
    assert "nor windows-1252 or Shift_JIS (cp932)" in message


@pytest.mark.parametrize(
    ("text", "codec", "marketplace"),
    [(LATIN, "cp1252", DE), (JAPANESE, "cp932", JP), (JAPANESE, "cp932", DE)],
)
def test_decode_document_writes_the_text_as_utf8_and_notes_the_encoding(
    tmp_path: Path, text: str, codec: str, marketplace: str
) -> None:
    for raw in (text.encode(codec), gzip.compress(text.encode(codec))):
        source = tmp_path / "raw"
        source.write_bytes(raw)
        notes: list[str] = []
        out = decode_document(
            source, tmp_path / "out", None, "X", marketplace_id=marketplace, notes=notes
        )
        assert out.read_text("utf-8") == text
        name = "windows-1252" if codec == "cp1252" else "Shift_JIS (cp932)"
        assert notes == [
            f"The file is not UTF-8; it was read as {name} (not UTF-8; only {name} reads as text)."
        ]


def test_a_utf8_document_adds_no_note(tmp_path: Path) -> None:
    source = tmp_path / "raw"
    source.write_bytes(JAPANESE.encode("utf-8"))
    notes: list[str] = []
    out = decode_document(source, tmp_path / "out", None, "X", marketplace_id=DE, notes=notes)
    assert out.read_text("utf-8") == JAPANESE and notes == []


def test_a_declared_charset_is_still_obeyed(tmp_path: Path) -> None:
    source = tmp_path / "raw"
    source.write_bytes(JAPANESE.encode("cp932"))
    out = decode_document(source, tmp_path / "out", "Shift_JIS", "X", marketplace_id=DE)
    assert out.read_text("utf-8") == JAPANESE
    source.write_bytes(b"Gr\xfcn \x81 tea\n")
    with pytest.raises(ReportParseError, match="not valid Cp1252 text"):
        decode_document(source, tmp_path / "out", "Cp1252", "X", marketplace_id=DE)


def test_the_head_for_detection_is_utf8_even_when_cut_inside_a_character() -> None:
    japanese = ("出品者SKU\t商品名\n" + "JP-1\t保温ボトル\n" * 50).encode("cp932")
    assert head_as_utf8(japanese[:-1], JP).decode("utf-8").startswith("出品者SKU\t商品名")
    utf8 = ("seller-sku\titem-name\n" + "JP-1\t保温ボトル\n" * 50).encode("utf-8")
    assert head_as_utf8(utf8[:-1], DE) == utf8[:-1]
    assert head_as_utf8("Händler-SKU\n".encode("cp1252"), DE) == "Händler-SKU\n".encode()
