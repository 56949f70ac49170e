"""Which text encoding a document is in when nobody declared one (an upload, a replay).

The rule (docs/amazon-formats.md, "Encodings of files without a charset"):

1. A UTF-8 byte-order mark, or bytes that are valid UTF-8 throughout: UTF-8.
2. Otherwise the two encodings Amazon serves flat files in are tried: windows-1252 (US and Europe;
   a superset of ISO-8859-1 for printable text) and cp932 (Shift_JIS as Windows writes it; Japan).
   A reading counts only when every byte decodes and every non-ASCII character it gives belongs to
   the writing that encoding exists for: Latin letters and typographic signs, never three
   non-ASCII characters in a row, for windows-1252; Japanese scripts, full-width forms and JIS
   symbols for cp932. Mojibake fails that test: a Japanese file read as windows-1252 gives runs
   such as "•Û‰·" (or bytes windows-1252 leaves undefined); a French one read as cp932 mostly
   gives private-use characters or bytes that are no cp932 character.
3. Exactly one reading counts: it is used, whatever the marketplace. Both count: the marketplace
   decides (Japan: cp932; every other: windows-1252); without a marketplace the file is refused as
   ambiguous. Neither counts: the file is refused.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass

from amzinsight.errors import ReportParseError

UTF8 = "utf-8-sig"
WINDOWS_1252 = "cp1252"
CP932 = "cp932"
JAPAN = "A1VC38T7YXB528"

ENCODING_NAMES = {UTF8: "UTF-8", WINDOWS_1252: "windows-1252", CP932: "Shift_JIS (cp932)"}

# Non-ASCII characters a windows-1252 flat file really holds: the Latin letters of European
# languages and the typographic signs sellers type (quotes, dashes, euro, degree, ...).
_LATIN_TEXT = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff"  # À..ÿ without × ÷
    "\u0152\u0153\u0160\u0161\u0178\u017d\u017e"  # Œ œ Š š Ÿ Ž ž
    "\u00a0\u00a1\u00a3\u00a5\u00a7\u00a9\u00aa\u00ab\u00ae\u00b0-\u00b3\u00b5\u00b7"
    "\u00ba\u00bb\u00bc-\u00bf\u00d7"
    "\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026\u20ac\u2122"
)
# Non-ASCII characters a cp932 flat file really holds: kana, kanji, full- and half-width forms,
# and the JIS X 0208 symbol rows (Greek, Cyrillic, arrows, box drawing, circled numbers, units).
_JAPANESE_TEXT = (
    "\u00a7\u00a8\u00b0\u00b1\u00b4\u00b6\u00d7\u00f7"
    "\u0391-\u03c9\u0401-\u0451"
    "\u2010-\u2312\u2460-\u24ff\u2500-\u257f\u25a0-\u26ff"
    "\u3000-\u30ff\u3200-\u33ff\u4e00-\u9fff\uf900-\ufaff\uff01-\uff9f\uffe0-\uffe5"
)
_NOT_TEXT = {
    # Latin text alternates accented and plain letters: three non-ASCII characters in a row are
    # the two-byte characters of a cp932 file, not a European word ("保温" -> "•Û‰·").
    WINDOWS_1252: re.compile(f"[^\\x00-\\x7f{_LATIN_TEXT}]|[^\\x00-\\x7f]{{3}}"),
    CP932: re.compile(f"[^\\x00-\\x7f{_JAPANESE_TEXT}]"),
}


@dataclass(frozen=True)
class EncodingChoice:
    codec: str
    """A Python codec name: utf-8-sig, cp1252 or cp932."""
    reason: str
    """Why, in words, for the log and the run."""

    @property
    def name(self) -> str:
        return ENCODING_NAMES[self.codec]


def reads_as_text(chunks: Iterable[bytes], codec: str) -> bool:
    """True when every byte decodes in `codec` and gives only characters of its writing."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    not_text = _NOT_TEXT.get(codec)
    try:
        for chunk in chunks:
            text = decoder.decode(chunk)
            if not_text is not None and not_text.search(text):
                return False
        tail = decoder.decode(b"", final=True)
        if not_text is not None and not_text.search(tail):
            return False
    except UnicodeDecodeError:
        return False
    return True


def choose_encoding(fits: Iterable[str], marketplace_id: str | None, label: str) -> EncodingChoice:
    """Steps 2 and 3 of the rule, given which legacy readings count (`reads_as_text`)."""
    readable = [codec for codec in (WINDOWS_1252, CP932) if codec in set(fits)]
    if len(readable) == 1:
        codec = readable[0]
        return EncodingChoice(codec, f"not UTF-8; only {ENCODING_NAMES[codec]} reads as text")
    if not readable:
        raise ReportParseError(
            f"{label}: the document is not valid UTF-8 text, nor windows-1252 or Shift_JIS "
            "(cp932) text; download it again from Amazon, or save it as UTF-8, and import it again."
        )
    if marketplace_id is None:
        raise ReportParseError(
            f"{label}: the document is not valid UTF-8 text and reads as both windows-1252 and "
            "Shift_JIS (cp932); import it for a marketplace (--marketplace) so the encoding "
            "Amazon uses there decides, or save it as UTF-8."
        )
    codec = CP932 if marketplace_id == JAPAN else WINDOWS_1252
    return EncodingChoice(
        codec,
        f"not UTF-8; reads as windows-1252 and as Shift_JIS (cp932); marketplace "
        f"{marketplace_id} uses {ENCODING_NAMES[codec]}",
    )


def detect_encoding(data: bytes, marketplace_id: str | None, label: str) -> EncodingChoice:
    """The whole rule for bytes in memory (a document's head, a small file)."""
    if data.startswith(codecs.BOM_UTF8) or reads_as_text([data], "utf-8"):
        return EncodingChoice(UTF8, "UTF-8")
    fits = [codec for codec in (WINDOWS_1252, CP932) if reads_as_text([data], codec)]
    return choose_encoding(fits, marketplace_id, label)


def head_as_utf8(head: bytes, marketplace_id: str | None) -> bytes:
    """A document's first bytes as UTF-8 (for type detection), read by the rule above.

    The head may end inside a character, so its last few bytes are left out of the judgement; a
    head that no rule reads is returned as it is (detection then says what it sees).
    """
    if head.startswith(codecs.BOM_UTF8):
        return head
    # UTF-8 first, at every cut: valid UTF-8 must never be read as a legacy encoding.
    if any(reads_as_text([head[: len(head) - cut]], "utf-8") for cut in range(4)):
        return head
    for cut in range(2):  # a cp932 head may end between a character's two bytes
        sample = head[: len(head) - cut]
        fits = [codec for codec in (WINDOWS_1252, CP932) if reads_as_text([sample], codec)]
        try:
            choice = choose_encoding(fits, marketplace_id, "head")
        except ReportParseError:
            continue
        return sample.decode(choice.codec).encode("utf-8")
    return head
