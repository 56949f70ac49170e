"""Excel workbooks read as the CSV of their first worksheet (amzinsight/ingest/spreadsheets.py).

Workbooks are written here with openpyxl. The .xls fixture (tests/fixtures/excel/) was written
once with xlwt, which the project does not depend on: sheet "Sponsored Products" (Date 2026-03-10
in a date format, Campaign Name "Piña 保温", Clicks 12, Spend 1234.56) and a sheet "Notes".
"""

from __future__ import annotations

import csv
import gzip
import struct
import zipfile
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart

from amzinsight.errors import ReportParseError
from amzinsight.ingest import spreadsheets
from amzinsight.ingest.documents import decode_document
from amzinsight.ingest.imports import _head
from amzinsight.ingest.spreadsheets import (
    OLE2_MAGIC,
    cell_text,
    workbook_container,
    workbook_head,
    workbook_to_csv,
)

XLS_FIXTURE = Path(__file__).parents[1] / "fixtures" / "excel" / "sponsored_products.xls"

HEADER = ["Date", "Campaign Name", "Ad Group Name", "Spend", "Sales", "CTR", "Clicks", "Note"]


@pytest.fixture(params=["calamine", "openpyxl"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every conversion test runs with both readers: openpyxl streams the sheets over the size
    calamine is trusted with, and both must write the same CSV."""
    if request.param == "openpyxl":
        monkeypatch.setattr(spreadsheets, "CALAMINE_MAX_SHEET_BYTES", 0)
    return str(request.param)


def wall_clock(day: date, clock: time) -> datetime:
    """A datetime as Excel holds one: wall-clock time, with no time zone."""
    return datetime.combine(day, clock)


def write_report(path: Path, extra_sheet: bool = True) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sponsored Products"
    sheet.append(HEADER)
    sheet.append(
        [date(2026, 3, 10), "Piña Kaffee", "保温 ケトル", 1234.56, 0.3, 0.0327, 12, 'a, "quoted"']
    )
    sheet.append(
        [wall_clock(date(2026, 3, 11), time(13, 45, 7)), "Kettles", None, 3.0, 1e-07, 0.5, 0, None]
    )
    sheet.append([None, None, None, None, None, None, None, None])  # an empty row inside the data
    sheet.append([date(2026, 3, 12), "Grinders", "", 0.1, 12345678.9, 1, True, "line\nbreak"])
    sheet.cell(row=40, column=2).number_format = "0.00"  # formatting past the data: no values
    if extra_sheet:
        book.create_sheet("Totals").append(["ignored", 1])
    book.save(path)
    return path


EXPECTED_ROWS = [
    HEADER,
    ["2026-03-10", "Piña Kaffee", "保温 ケトル", "1234.56", "0.3", "0.0327", "12", 'a, "quoted"'],
    ["2026-03-11 13:45:07", "Kettles", "", "3", "0.0000001", "0.5", "0", ""],
    [""] * 8,
    ["2026-03-12", "Grinders", "", "0.1", "12345678.9", "1", "TRUE", "line\nbreak"],
]


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_first_sheet_becomes_utf8_csv(tmp_path: Path, reader: str) -> None:
    workbook = write_report(tmp_path / "report.xlsx")
    destination = tmp_path / "report.csv"

    conversion = workbook_to_csv(workbook, destination, "sp-report")

    assert read_csv(destination) == EXPECTED_ROWS
    raw = destination.read_bytes()
    assert raw.decode("utf-8").startswith("Date,Campaign Name,")
    assert b'"a, ""quoted"""' in raw  # RFC 4180 quoting
    assert conversion.sheet_name == "Sponsored Products"
    assert conversion.ignored_sheets == 1
    assert conversion.note() == (
        'Read the first sheet "Sponsored Products" of an Excel workbook (1 other sheet ignored).'
    )


def test_both_readers_write_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workbook = write_report(tmp_path / "report.xlsx")
    workbook_to_csv(workbook, tmp_path / "calamine.csv", "sp")
    monkeypatch.setattr(spreadsheets, "CALAMINE_MAX_SHEET_BYTES", 0)
    workbook_to_csv(workbook, tmp_path / "openpyxl.csv", "sp")
    assert (tmp_path / "calamine.csv").read_bytes() == (tmp_path / "openpyxl.csv").read_bytes()


def test_data_that_starts_past_a1_keeps_its_columns(tmp_path: Path, reader: str) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["B2"] = "SKU"
    sheet["C2"] = "Units"
    sheet["B3"] = "BL-KETTLE-1L-BLK"
    sheet["C3"] = 4
    book.save(tmp_path / "offset.xlsx")

    workbook_to_csv(tmp_path / "offset.xlsx", tmp_path / "offset.csv", "offset")

    assert read_csv(tmp_path / "offset.csv") == [
        ["", "", ""],
        ["", "SKU", "Units"],
        ["", "BL-KETTLE-1L-BLK", "4"],
    ]


def test_a_chart_sheet_first_is_passed_over_for_the_first_worksheet(
    tmp_path: Path, reader: str
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Data"
    sheet.append(["SKU", "Units"])
    sheet.append(["BL-SCALE-01", 2])
    book.create_chartsheet("Chart", 0).add_chart(BarChart())
    book.save(tmp_path / "charted.xlsx")

    conversion = workbook_to_csv(tmp_path / "charted.xlsx", tmp_path / "charted.csv", "charted")

    assert conversion.sheet_name == "Data"
    assert read_csv(tmp_path / "charted.csv") == [["SKU", "Units"], ["BL-SCALE-01", "2"]]


def test_gzipped_workbook_is_read(tmp_path: Path, reader: str) -> None:
    workbook = write_report(tmp_path / "report.xlsx")
    packed = tmp_path / "report.xlsx.gz"
    packed.write_bytes(gzip.compress(workbook.read_bytes()))

    assert workbook_container(packed) == "zip"
    workbook_to_csv(packed, tmp_path / "report.csv", "sp")

    assert read_csv(tmp_path / "report.csv") == EXPECTED_ROWS


def test_xls_is_recognised_by_its_magic_bytes() -> None:
    assert workbook_container(XLS_FIXTURE) == "ole2"


def test_xls_first_sheet_becomes_csv(tmp_path: Path) -> None:
    conversion = workbook_to_csv(XLS_FIXTURE, tmp_path / "old.csv", "old")

    assert read_csv(tmp_path / "old.csv") == [
        ["Date", "Campaign Name", "Clicks", "Spend"],
        ["2026-03-10", "Piña 保温", "12", "1234.56"],
    ]
    assert (conversion.sheet_name, conversion.ignored_sheets) == ("Sponsored Products", 1)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("Piña", "Piña"),
        (True, "TRUE"),
        (False, "FALSE"),
        (42, "42"),
        (3.0, "3"),
        (-0.0, "0"),
        (1234.56, "1234.56"),
        (0.1 + 0.2, "0.30000000000000004"),  # a cell Excel shows as 0.3 holds 0.3, not this sum
        (0.3, "0.3"),
        (1.5e-07, "0.00000015"),
        (1e20, "100000000000000000000"),
        (-12.5, "-12.5"),
        (date(2026, 3, 10), "2026-03-10"),
        (wall_clock(date(2026, 3, 10), time(0)), "2026-03-10"),
        (wall_clock(date(2026, 3, 10), time(13, 45, 6, 999_999)), "2026-03-10 13:45:07"),
        (wall_clock(date(2026, 3, 10), time(23, 59, 59, 600_000)), "2026-03-11"),
        (time(13, 5), "13:05:00"),
        (timedelta(hours=30, minutes=1), "30:01:00"),
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_head_is_the_start_of_the_csv(tmp_path: Path, reader: str) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for number in range(3000):
        sheet.append([date(2026, 3, 10), f"Campaign Piña {number}", "保温", number * 1.25])
    book.save(tmp_path / "long.xlsx")
    workbook_to_csv(tmp_path / "long.xlsx", tmp_path / "long.csv", "long")

    head = workbook_head(tmp_path / "long.xlsx", "long", 4096)

    assert len(head) == 4096
    assert head == (tmp_path / "long.csv").read_bytes()[:4096]


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def with_sheet_xml(workbook: Path, edit: Callable[[bytes], bytes]) -> Path:
    """The workbook with its first sheet's XML edited (openpyxl cannot write cached results)."""
    with zipfile.ZipFile(workbook) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = edit(members[sheet])
    edited = workbook.with_name("edited.xlsx")
    return zip_of(edited, members)


def formula_workbook(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Spend", "Sales", "ACOS", "Label"])
    sheet.append([10, 40, "=A2/B2", '=IF(A2>100,"high","")'])
    path = tmp_path / "formulas.xlsx"
    book.save(path)
    return path


def test_formula_without_a_saved_result_is_refused(tmp_path: Path, reader: str) -> None:
    with pytest.raises(ReportParseError) as raised:
        workbook_to_csv(formula_workbook(tmp_path), tmp_path / "out.csv", "acos")

    message = str(raised.value)
    assert message.startswith("acos: cell C2 of sheet ")
    assert "formula with no saved result" in message
    assert "save it again" in message


def test_formula_saved_results_are_read(tmp_path: Path, reader: str) -> None:
    def cache(xml: bytes) -> bytes:
        xml = xml.replace(b"<f>A2/B2</f><v />", b"<f>A2/B2</f><v>0.25</v>")
        return xml.replace(b'<c r="D2">', b'<c r="D2" t="str">').replace(
            b"</f><v /></c></row>", b"</f><v></v></c></row>"
        )

    edited = with_sheet_xml(formula_workbook(tmp_path), cache)
    assert b"<v>0.25</v>" in zipfile.ZipFile(edited).read("xl/worksheets/sheet1.xml")

    workbook_to_csv(edited, tmp_path / "out.csv", "acos")

    assert read_csv(tmp_path / "out.csv") == [
        ["Spend", "Sales", "ACOS", "Label"],
        ["10", "40", "0.25", ""],
    ]


def test_an_error_result_reads_as_empty(tmp_path: Path, reader: str) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Spend", "Sales", "ACOS"])
    sheet.append([10, 0, "=A2/B2"])
    book.save(tmp_path / "errors.xlsx")
    edited = with_sheet_xml(
        tmp_path / "errors.xlsx",
        lambda xml: xml.replace(
            b'<c r="C2"><f>A2/B2</f><v /></c>', b'<c r="C2" t="e"><f>A2/B2</f><v>#DIV/0!</v></c>'
        ),
    )

    workbook_to_csv(edited, tmp_path / "out.csv", "acos")

    assert read_csv(tmp_path / "out.csv") == [["Spend", "Sales", "ACOS"], ["10", "0", ""]]


def test_an_empty_first_sheet_is_refused(tmp_path: Path, reader: str) -> None:
    book = openpyxl.Workbook()
    book.create_sheet("Data").append(["not", "read"])
    book.save(tmp_path / "empty.xlsx")

    with pytest.raises(ReportParseError, match="the first sheet of this Excel file is empty"):
        workbook_to_csv(tmp_path / "empty.xlsx", tmp_path / "out.csv", "empty")
    with pytest.raises(ReportParseError, match="the first sheet of this Excel file is empty"):
        workbook_head(tmp_path / "empty.xlsx", "empty", 1024)


def test_a_zip_of_reports_is_not_a_workbook(tmp_path: Path) -> None:
    archive = zip_of(tmp_path / "reports.zip", {"orders.tsv": b"order-id\tsku\n1\tA\n"})

    assert workbook_container(archive) == "zip"
    with pytest.raises(ReportParseError) as raised:
        workbook_to_csv(archive, tmp_path / "out.csv", "orders")
    assert str(raised.value) == (
        "orders: this is a zip archive, not an Excel workbook: "
        "unzip it and import the report file inside."
    )


@pytest.mark.parametrize("cut", ["junk", "truncated"])
def test_a_damaged_zip_is_refused_with_a_sentence(tmp_path: Path, cut: str) -> None:
    if cut == "junk":
        content = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(200))
    else:
        content = write_report(tmp_path / "whole.xlsx").read_bytes()[:3000]
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(content)

    with pytest.raises(ReportParseError) as raised:
        workbook_to_csv(damaged, tmp_path / "out.csv", "sp")
    assert "is damaged (not a readable zip): download or export it again" in str(raised.value)


def test_an_ole2_file_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "report.xls"
    broken.write_bytes(OLE2_MAGIC + bytes(4000))

    with pytest.raises(ReportParseError) as raised:
        workbook_to_csv(broken, tmp_path / "out.csv", "old")
    message = str(raised.value)
    assert message.startswith("old: this is an old Excel .xls file that cannot be read (")
    assert message.endswith("open it in Excel and save as .xlsx or CSV.")


def encrypted_ooxml(path: Path) -> Path:
    """An OLE2 file laid out like a password-protected .xlsx: a directory sector whose entries
    are the streams Excel writes for one (the content of those streams does not matter)."""
    header = OLE2_MAGIC + bytes(512 - len(OLE2_MAGIC))
    entries = b""
    for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage"):
        encoded = (name + "\0").encode("utf-16-le")
        entries += encoded.ljust(64, b"\0") + struct.pack("<H", len(encoded)).ljust(64, b"\0")
    path.write_bytes(header + entries.ljust(512, b"\0") + bytes(4096))
    return path


def test_a_password_protected_workbook_is_refused(tmp_path: Path) -> None:
    locked = encrypted_ooxml(tmp_path / "locked.xlsx")

    assert workbook_container(locked) == "ole2"
    with pytest.raises(ReportParseError) as raised:
        workbook_to_csv(locked, tmp_path / "out.csv", "sp")
    assert str(raised.value) == (
        "sp: this Excel file is password-protected: save it without a password."
    )


def test_text_and_corrupt_gzip_are_not_workbooks(tmp_path: Path) -> None:
    text = tmp_path / "orders.tsv"
    text.write_bytes(b"order-id\tsku\n")
    corrupt = tmp_path / "orders.tsv.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00garbage")

    assert workbook_container(text) is None
    assert workbook_container(corrupt) is None


# --- through the pipeline's decoding step and import detection -------------------------------


def test_decode_document_writes_the_csv_and_a_note(tmp_path: Path) -> None:
    workbook = write_report(tmp_path / "upload.bin")
    notes: list[str] = []

    decoded = decode_document(workbook, tmp_path / "document.tsv", None, "sp", notes=notes)

    assert decoded == tmp_path / "document.tsv"
    assert read_csv(decoded) == EXPECTED_ROWS
    assert notes == [
        'Read the first sheet "Sponsored Products" of an Excel workbook (1 other sheet ignored).'
    ]


def test_decode_document_reads_a_gzipped_xls_without_notes(tmp_path: Path) -> None:
    packed = tmp_path / "old.xls.gz"
    packed.write_bytes(gzip.compress(XLS_FIXTURE.read_bytes()))

    decoded = decode_document(packed, tmp_path / "document.csv", None, "sp", compression="GZIP")

    assert decoded.read_text(encoding="utf-8").splitlines()[1] == "2026-03-10,Piña 保温,12,1234.56"


def test_decode_document_refuses_a_zip_with_the_sentence(tmp_path: Path) -> None:
    archive = zip_of(tmp_path / "reports.zip", {"a.csv": b"x\n"})

    with pytest.raises(ReportParseError, match="this is a zip archive, not an Excel workbook"):
        decode_document(archive, tmp_path / "document.csv", None, "upload")


def test_decode_document_still_reads_text(tmp_path: Path) -> None:
    text = tmp_path / "listings.tsv"
    text.write_bytes("sku\tname\nBL-1\tGröße\n".encode("cp1252"))
    notes: list[str] = []

    decoded = decode_document(text, tmp_path / "document.tsv", None, "listings", notes=notes)

    assert decoded.read_text(encoding="utf-8") == "sku\tname\nBL-1\tGröße\n"
    assert not any("Excel" in note for note in notes)


def test_import_detection_sees_the_csv_header(tmp_path: Path) -> None:
    workbook = write_report(tmp_path / "Sponsored_Products_Search_term_report.xlsx")

    head = _head(workbook)

    assert head.startswith(b"Date,Campaign Name,Ad Group Name,Spend,")
    assert "Piña Kaffee,保温 ケトル".encode() in head
    assert not head.startswith(b"PK")
