"""Excel workbooks (.xlsx, old .xls, plain or gzip) read as the CSV of their first worksheet.

Amazon Ads console exports and some Seller Central downloads are workbooks; the pipeline's
parsers read text, so the first worksheet becomes a UTF-8 CSV (RFC 4180 quoting) written row by
row. Cells are written as a person sees them in Excel: shortest round-trip digits for numbers,
ISO dates, TRUE/FALSE.

The reader is python-calamine (Rust, about 8x faster than openpyxl: 100,000 rows x 15 columns in
1.9 s against 15 s), which holds a whole sheet in memory (about 90 MB for that sheet). A sheet
whose XML is larger than CALAMINE_MAX_SHEET_BYTES is streamed by openpyxl (read-only) instead, so
memory stays bounded whatever the file. An .xls is always read by calamine: the format caps a sheet
at 65,536 rows.
"""

from __future__ import annotations

import csv
import gzip
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal
from xml.etree import ElementTree

import python_calamine

from amzinsight.errors import ReportParseError

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
GZIP_MAGIC = b"\x1f\x8b"
CALAMINE_MAX_SHEET_BYTES = 96 * 1024 * 1024
"""Uncompressed size of a sheet's XML above which openpyxl streams it: calamine holds about 1.8
times this in memory (96 MiB of XML is some 140,000 rows of 15 columns)."""

_CHUNK = 1024 * 1024
_ENCRYPTED_PACKAGE_ENTRY = "EncryptedPackage".encode("utf-16-le") + b"\x00\x00"
"""An OLE2 directory entry name: a password-protected .xlsx is an OLE2 file holding this stream."""

Container = Literal["zip", "ole2"]


def workbook_container(path: Path) -> Container | None:
    """'zip' or 'ole2' when the file (or the file inside its gzip) starts like a workbook.

    A zip that turns out not to be a workbook is still 'zip': it is refused with a sentence
    instead of being read as text. A corrupt gzip is not a workbook (the gzip path reports it).
    """
    with path.open("rb") as handle:
        head = handle.read(len(OLE2_MAGIC))
    if head.startswith(GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as inflated:
                head = inflated.read(len(OLE2_MAGIC))
        except (EOFError, OSError, zlib.error):
            return None
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head == OLE2_MAGIC:
        return "ole2"
    return None


@dataclass(frozen=True)
class Conversion:
    """What was read: the sheet's name and how many other sheets the workbook has."""

    sheet_name: str
    ignored_sheets: int

    def note(self) -> str:
        """One sentence for the run's notes."""
        ignored = ""
        if self.ignored_sheets:
            plural = "s" if self.ignored_sheets > 1 else ""
            ignored = f" ({self.ignored_sheets} other sheet{plural} ignored)"
        return f'Read the first sheet "{self.sheet_name}" of an Excel workbook{ignored}.'


def workbook_to_csv(path: Path, destination: Path, label: str) -> Conversion:
    """Write the first worksheet of the workbook at path as UTF-8 CSV at destination."""
    with _plain_workbook(path, label) as plain, _first_sheet(plain, label) as sheet:
        if sheet.xml_part is not None:
            _refuse_uncached_formulas(plain, sheet.xml_part, sheet.name, label)
        with destination.open("w", encoding="utf-8", newline="") as target:
            written = _write_rows(sheet.rows, csv.writer(target))
    if not written:
        raise ReportParseError(f"{label}: the first sheet of this Excel file is empty.")
    return Conversion(sheet.name, sheet.ignored_sheets)


def workbook_head(path: Path, label: str, size: int) -> bytes:
    """The first `size` bytes of the CSV workbook_to_csv would write, for report detection."""
    buffer = StringIO(newline="")
    with _plain_workbook(path, label) as plain, _first_sheet(plain, label) as sheet:
        # A character is at least one UTF-8 byte: `size` characters give `size` bytes or more.
        written = _write_rows(sheet.rows, csv.writer(buffer), lambda: buffer.tell() >= size)
    if not written:
        raise ReportParseError(f"{label}: the first sheet of this Excel file is empty.")
    return buffer.getvalue().encode("utf-8")[:size]


def cell_text(value: object) -> str:
    """A cell as a person sees it in Excel, in a form parsers read back exactly."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == 0:
            return "0"
        # repr is the shortest text that reads back as the same float (0.3, never
        # 0.30000000000000004 for a cell Excel shows as 0.3); Decimal drops the exponent.
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, datetime):
        moment = _nearest_second(value)
        if moment.time() == time(0):  # Excel has no date type: a date is a midnight datetime
            return moment.date().isoformat()
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return _nearest_second(datetime.combine(date(2000, 1, 1), value)).strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        seconds = round(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)


def _nearest_second(moment: datetime) -> datetime:
    """Excel stores times as fractions of a day: 13:45:07 may read back as 13:45:06.999999."""
    return (moment + timedelta(microseconds=500_000)).replace(microsecond=0)


def _write_rows(
    rows: Iterator[list[object]], writer: Any, enough: Callable[[], bool] = lambda: False
) -> int:
    """Rows written; empty rows are held back until a row with a value follows, so fully empty
    trailing rows (formatting Excel keeps past the data) are skipped. Stops once `enough()`."""
    written = pending_empty = 0
    for row in rows:
        texts = [cell_text(value) for value in row]
        if not any(texts):
            pending_empty += 1
            continue
        for _ in range(pending_empty):
            writer.writerow([""] * len(texts))
        writer.writerow(texts)
        written += pending_empty + 1
        pending_empty = 0
        if enough():
            break
    return written


@contextmanager
def _plain_workbook(path: Path, label: str) -> Iterator[Path]:
    """The workbook itself: a gzip'd one is inflated to a temporary file (zip readers seek)."""
    with path.open("rb") as handle:
        compressed = handle.read(2) == GZIP_MAGIC
    if not compressed:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="amz-workbook-") as scratch:
        plain = Path(scratch) / "workbook"
        try:
            with gzip.open(path, "rb") as source, plain.open("wb") as target:
                shutil.copyfileobj(source, target, _CHUNK)
        except (EOFError, OSError, zlib.error):
            raise ReportParseError(
                f"{label}: the file is not valid gzip (corrupt or truncated)."
            ) from None
        yield plain


@dataclass(frozen=True)
class _Sheet:
    name: str
    ignored_sheets: int
    rows: Iterator[list[object]]
    xml_part: str | None
    """The sheet's part in an .xlsx zip (checked for formulas without a saved result)."""


@contextmanager
def _first_sheet(plain: Path, label: str) -> Iterator[_Sheet]:
    with plain.open("rb") as handle:
        magic = handle.read(len(OLE2_MAGIC))
    if magic == OLE2_MAGIC:
        with _xls_first_sheet(plain, label) as sheet:
            yield sheet
        return
    with _xlsx_first_sheet(plain, label) as sheet:
        yield sheet


@contextmanager
def _xls_first_sheet(plain: Path, label: str) -> Iterator[_Sheet]:
    if _is_encrypted_package(plain):
        raise ReportParseError(_password_protected(label))
    try:
        with python_calamine.CalamineWorkbook.from_path(plain) as book:
            worksheets = _calamine_worksheets(book)
            if not worksheets:
                raise ReportParseError(f"{label}: this Excel file has no worksheet.")
            name = worksheets[0]
            rows = _calamine_rows(book.get_sheet_by_name(name))
            yield _Sheet(name, len(book.sheet_names) - 1, rows, xml_part=None)
    except python_calamine.PasswordError:
        raise ReportParseError(_password_protected(label)) from None
    except python_calamine.CalamineError as error:
        raise ReportParseError(
            f"{label}: this is an old Excel .xls file that cannot be read ({_short(error)}): "
            "open it in Excel and save as .xlsx or CSV."
        ) from None


@contextmanager
def _xlsx_first_sheet(plain: Path, label: str) -> Iterator[_Sheet]:
    try:
        with zipfile.ZipFile(plain) as archive:
            name, part, sheet_count = _xlsx_first_worksheet(archive, label)
            sheet_bytes = archive.getinfo(part).file_size
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ElementTree.ParseError):
        raise ReportParseError(
            f"{label}: this file starts like a zip archive or an Excel workbook but is damaged "
            "(not a readable zip): download or export it again."
        ) from None
    try:
        if sheet_bytes <= CALAMINE_MAX_SHEET_BYTES:
            with python_calamine.CalamineWorkbook.from_path(plain) as book:
                rows = _calamine_rows(book.get_sheet_by_name(name))
                yield _Sheet(name, sheet_count - 1, rows, part)
        else:
            yield _Sheet(name, sheet_count - 1, _openpyxl_rows(plain, name), part)
    except python_calamine.PasswordError:
        raise ReportParseError(_password_protected(label)) from None
    except (
        python_calamine.CalamineError,
        zipfile.BadZipFile,
        zlib.error,
        KeyError,
        ValueError,
        ElementTree.ParseError,
    ) as error:
        raise ReportParseError(
            f"{label}: this Excel workbook cannot be read ({_short(error)}): "
            "open it in Excel and save it again."
        ) from None


def _calamine_worksheets(book: python_calamine.CalamineWorkbook) -> list[str]:
    """Worksheet names in workbook order (chart sheets and macro sheets hold no table)."""
    return [
        sheet.name
        for sheet in book.sheets_metadata
        if sheet.typ == python_calamine.SheetTypeEnum.WorkSheet
    ]


def _calamine_rows(sheet: python_calamine.CalamineSheet) -> Iterator[list[object]]:
    """Rows from column A: calamine starts each row at the sheet's first used column."""
    left: list[object] = [""] * sheet.start[1] if sheet.start else []
    for row in sheet.iter_rows():
        yield [*left, *row]


def _openpyxl_rows(plain: Path, name: str) -> Iterator[list[object]]:
    """Streamed rows of a sheet too large to hold in memory (openpyxl read-only)."""
    import openpyxl  # only for the largest sheets: it takes a while to import

    # A file object, not the path: openpyxl refuses a path not named .xlsx (an upload may not be).
    with plain.open("rb") as handle:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        try:
            sheet = book[name]
            # A sheet's declared size is often missing or wrong, and finding it costs a whole
            # pass over the XML: rows come as written, padded here to the widest one so far.
            sheet.reset_dimensions()
            width = 0
            for cells in sheet.iter_rows():
                # An error (#DIV/0!) reads as empty, as calamine reads it: not a value to load.
                row = [None if cell.data_type == "e" else cell.value for cell in cells]
                width = max(width, len(row))
                yield [*row, *[None] * (width - len(row))]
        finally:
            book.close()


def _xlsx_first_worksheet(archive: zipfile.ZipFile, label: str) -> tuple[str, str, int]:
    """(name, zip part, number of sheets) of the first worksheet, from the workbook's own index.

    A zip without a workbook part (a zip of CSV reports, for one) is refused with what it is.
    """
    names = set(archive.namelist())
    workbook_part = _relationship_target(archive, "_rels/.rels", "", "/officeDocument")
    if workbook_part is None or workbook_part not in names:
        workbook_part = "xl/workbook.xml" if "xl/workbook.xml" in names else None
    if workbook_part is None:
        raise ReportParseError(
            f"{label}: this is a zip archive, not an Excel workbook: "
            "unzip it and import the report file inside."
        )
    folder = str(PurePosixPath(workbook_part).parent)
    rels = f"{folder}/_rels/{PurePosixPath(workbook_part).name}.rels"
    targets = _relationships(archive, rels, folder)
    sheets = [
        (element.get("name", ""), element)
        for element in _xml(archive.read(workbook_part)).iter()
        if _local(element.tag) == "sheet"
    ]
    for name, element in sheets:
        rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        kind, target = targets.get(rel_id or "", ("", ""))
        if kind.endswith("/worksheet") and target in names:
            return name, target, len(sheets)
    raise ReportParseError(f"{label}: this Excel file has no worksheet.")


def _relationship_target(
    archive: zipfile.ZipFile, rels: str, folder: str, kind_suffix: str
) -> str | None:
    for kind, target in _relationships(archive, rels, folder).values():
        if kind.endswith(kind_suffix):
            return target
    return None


def _relationships(archive: zipfile.ZipFile, rels: str, folder: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, zip part) of a .rels part; empty when there is none."""
    try:
        root = _xml(archive.read(rels))
    except KeyError:
        return {}
    except ElementTree.ParseError:
        raise zipfile.BadZipFile(rels) from None
    found = {}
    for element in root:
        target = element.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else _join(folder, target)
        found[element.get("Id", "")] = (element.get("Type", ""), part)
    return found


def _join(folder: str, target: str) -> str:
    """A relative part name resolved against its folder ('../' included)."""
    parts: list[str] = [p for p in folder.split("/") if p]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _xml(content: bytes) -> ElementTree.Element:
    """A small index part of the workbook. ElementTree fetches no external entity, and the expat
    Python ships (2.4 and later) caps entity expansion; openpyxl parses the same parts this way."""
    return ElementTree.fromstring(content)  # noqa: S314


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_ANY_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]")
_FORMULA_CELL = re.compile(
    rb"<(?:[\w.-]+:)?c\b([^>]*)>\s*<(?:[\w.-]+:)?f\b(?:[^>]*/>|[^>]*>[^<]*</(?:[\w.-]+:)?f>)\s*"
    rb"(<(?:[\w.-]+:)?v\s*/>|<(?:[\w.-]+:)?v>\s*</(?:[\w.-]+:)?v>|</(?:[\w.-]+:)?c>)"
)
_REFERENCE = re.compile(rb'\br="([A-Z]+[0-9]+)"')


def _refuse_uncached_formulas(plain: Path, part: str, sheet_name: str, label: str) -> None:
    """Refuse a formula whose result was never saved (a workbook written by a program, not
    Excel): reading it as empty would load wrong numbers. One streamed pass over the sheet XML;
    blocks without a formula tag are skipped by one regex search."""
    with zipfile.ZipFile(plain) as archive, archive.open(part) as sheet:
        for block in _row_blocks(sheet):
            if not _ANY_FORMULA.search(block):
                continue
            for match in _FORMULA_CELL.finditer(block):
                attributes, ending = match.group(1), match.group(2)
                # A formula whose result is "" is saved as t="str" with an empty value.
                if b't="str"' in attributes and not ending.endswith(b"c>"):
                    continue
                reference = _REFERENCE.search(attributes)
                where = f"cell {reference.group(1).decode()}" if reference else "a cell"
                raise ReportParseError(
                    f'{label}: {where} of sheet "{sheet_name}" holds a formula with no saved '
                    "result: open the file in Excel and save it again, so Excel stores it."
                )


def _row_blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """The XML in blocks that end just after a row tag, so no cell is split between blocks."""
    tail = b""
    while chunk := stream.read(_CHUNK):
        block = tail + chunk
        cut = block.rfind(b"row>")
        if cut < 0:
            tail = block
            continue
        cut += len(b"row>")
        tail = block[cut:]
        yield block[:cut]
    if tail:
        yield tail


def _is_encrypted_package(plain: Path) -> bool:
    """True for an OLE2 file with an 'EncryptedPackage' directory entry (a password-protected
    .xlsx). Directory entries are 128 bytes, aligned to 128 in the file; blocks are read on that
    alignment so an entry is never split."""
    with plain.open("rb") as handle:
        offset = 0
        while block := handle.read(_CHUNK):
            position = block.find(_ENCRYPTED_PACKAGE_ENTRY)
            while position >= 0:
                if (offset + position) % 128 == 0:
                    return True
                position = block.find(_ENCRYPTED_PACKAGE_ENTRY, position + 1)
            offset += len(block)
    return False


def _password_protected(label: str) -> str:
    return f"{label}: this Excel file is password-protected: save it without a password."


def _short(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."
