"""Turn a document as received (gzip or plain, any charset) into a UTF-8 file a parser can read.

Streams in chunks: a 1 GB report never sits in memory. The charset is Amazon's (from the download's
Content-Type); without one it is UTF-8 when the bytes are, else windows-1252 or Shift_JIS by the
rule in amzinsight/ingest/encodings.py (never latin-1 blindly, as some clients assume).
"""

from __future__ import annotations

import codecs
import logging
import zlib
from collections.abc import Iterator
from pathlib import Path

from amzinsight.errors import ReportParseError
from amzinsight.ingest.encodings import CP932, WINDOWS_1252, choose_encoding, reads_as_text
from amzinsight.ingest.spreadsheets import workbook_container, workbook_to_csv

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
_CHUNK = 1024 * 1024


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def decode_document(
    raw: Path,
    destination: Path,
    charset: str | None,
    label: str,
    compression: str | None = None,
    marketplace_id: str | None = None,
    notes: list[str] | None = None,
) -> Path:
    """Decompress and transcode raw into UTF-8 at destination.

    Gzip is recognised by its magic bytes (files people upload say nothing); when Amazon declared
    GZIP, a document without them is corrupt rather than plain text. Without a charset, a document
    that is not UTF-8 is read as windows-1252 or cp932 when exactly one of them gives text, or
    by its marketplace when both do (amzinsight/ingest/encodings.py); otherwise it is refused.
    The encoding so chosen is added to `notes` (the run records them).
    An Excel workbook (.xlsx or .xls, also gzip'd) becomes the CSV of its first worksheet, and
    `notes` say which sheet was read (amzinsight/ingest/spreadsheets.py).
    """
    if workbook_container(raw) is not None:
        conversion = workbook_to_csv(raw, destination, label)
        if notes is not None:
            notes.append(conversion.note())
        return destination
    try:
        return _transcode(raw, destination, charset, label, compression)
    except UnicodeDecodeError as error:
        if charset is not None:
            raise ReportParseError(
                f"{label}: the document is not valid {charset} text "
                f"(byte {error.start} of a block cannot be decoded)."
            ) from None
    try:
        fits = [codec for codec in (WINDOWS_1252, CP932) if reads_as_text(_chunks(raw), codec)]
    except zlib.error:
        raise ReportParseError(f"{label}: the document is not valid gzip (corrupt).") from None
    choice = choose_encoding(fits, marketplace_id, label)
    logger.info("%s has no declared charset: read as %s (%s)", label, choice.name, choice.reason)
    if notes is not None:
        notes.append(f"The file is not UTF-8; it was read as {choice.name} ({choice.reason}).")
    return _transcode(raw, destination, choice.codec, label, compression)


def _chunks(raw: Path) -> Iterator[bytes]:
    """The decompressed bytes of a document that already decompressed cleanly once."""
    inflater = zlib.decompressobj(wbits=47) if is_gzip(raw) else None
    with raw.open("rb") as source:
        while chunk := source.read(_CHUNK):
            if inflater is not None:
                chunk = inflater.decompress(chunk)
                while inflater.eof and inflater.unused_data:
                    rest = inflater.unused_data
                    inflater = zlib.decompressobj(wbits=47)
                    chunk += inflater.decompress(rest)
            yield chunk
        if inflater is not None:
            yield inflater.flush()


def _transcode(
    raw: Path, destination: Path, charset: str | None, label: str, compression: str | None
) -> Path:
    """One streamed pass; a UnicodeDecodeError is left to the caller (it may try the rule)."""
    try:
        decoder = codecs.getincrementaldecoder(_codec_name(charset))(errors="strict")
    except LookupError:
        raise ReportParseError(
            f"{label}: Amazon declared an unknown charset {charset!r}."
        ) from None
    transcode = _codec_name(charset) != "utf-8-sig"
    compressed = is_gzip(raw)
    if not compressed and (compression or "").upper() == "GZIP" and raw.stat().st_size:
        raise ReportParseError(f"{label}: the document is not valid gzip (corrupt).")
    inflater = zlib.decompressobj(wbits=47) if compressed else None
    written = 0
    try:
        with raw.open("rb") as source, destination.open("wb") as target:
            while chunk := source.read(_CHUNK):
                if inflater is not None:
                    chunk = inflater.decompress(chunk)
                    while inflater.eof and inflater.unused_data:  # concatenated gzip members
                        rest = inflater.unused_data
                        inflater = zlib.decompressobj(wbits=47)
                        chunk += inflater.decompress(rest)
                written += target.write(_utf8(decoder, chunk, transcode))
            if inflater is not None:
                tail = inflater.flush()
                if not inflater.eof:
                    raise ReportParseError(
                        f"{label}: the gzip document is truncated (it ends before its last block)."
                    )
                written += target.write(_utf8(decoder, tail, transcode))
            target.write(_utf8(decoder, b"", transcode, final=True))
    except zlib.error:
        raise ReportParseError(f"{label}: the document is not valid gzip (corrupt).") from None
    if written == 0:
        raise ReportParseError(f"{label}: the document is empty.")
    return destination


def _utf8(
    decoder: codecs.IncrementalDecoder, chunk: bytes, transcode: bool, final: bool = False
) -> bytes:
    """UTF-8 out. A UTF-8 document is only checked (and its byte-order mark dropped), not
    re-encoded: the bytes that pass the decoder are already what the parser needs."""
    text = decoder.decode(chunk, final=final)
    # An ASCII block decoded cleanly, so no character was split across blocks: same bytes.
    if not transcode and chunk.isascii():
        return chunk
    return text.encode("utf-8")


def document_head(path: Path) -> bytes:
    """The first bytes of a decoded document, for report type detection."""
    with path.open("rb") as handle:
        return handle.read(HEAD_BYTES)


def _codec_name(charset: str | None) -> str:
    name = (charset or "utf-8").strip().lower()
    # utf-8-sig drops a byte-order mark that some exports start with.
    return "utf-8-sig" if name in {"utf-8", "utf8"} else name
