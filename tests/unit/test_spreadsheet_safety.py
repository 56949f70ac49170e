"""The formula-injection guard: text that a spreadsheet would run gets a leading apostrophe
(CSV), or stays exact text with Excel's quote prefix (XLSX); numbers never change."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pandas as pd
import polars as pl
import pytest
from openpyxl import Workbook

from amzinsight.spreadsheet_safety import (
    keep_text_as_text,
    neutralised,
    neutralised_text,
    starts_formula,
)

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "=1+1",
    "@SUM(A1)",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "-5\n=1+1",  # a number on its first line only
]
HARMLESS = ["gooseneck kettle", "kettle -2 l", "1+1", "'quoted", "", "２4", "＝1+1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text: str) -> None:
    assert starts_formula(text)
    assert neutralised_text(text) == "'" + text


@pytest.mark.parametrize("text", [*HARMLESS, "-24.90", "+1", "-1,250.50", "-12%"])
def test_other_text_and_text_that_is_only_a_number_stay_as_they_are(text: str) -> None:
    assert not starts_formula(text)
    assert neutralised_text(text) == text


def test_a_polars_frame_changes_text_cells_and_names_only() -> None:
    frame = pl.DataFrame(
        {
            "search_term": [*HOSTILE[:3], "mug", None],
            "kind": pl.Series(["-x", "a", "b", "c", "d"], dtype=pl.Categorical),
            "spend": [Decimal("-12.50"), Decimal("1.00"), None, Decimal(0), Decimal("-0.01")],
            "delta": [-1.5, 0.0, 2.0, -3.0, None],
            "units": [-2, 1, 0, 3, 4],
            "day": [date(2026, 3, 1)] * 5,
            "=sum": ["a", "b", "c", "d", "e"],
        }
    )

    safe = neutralised(frame)

    assert safe.columns == ["search_term", "kind", "spend", "delta", "units", "day", "'=sum"]
    assert safe["search_term"].to_list() == [
        '\'=HYPERLINK("http://x","y")',
        "'=1+1",
        "'@SUM(A1)",
        "mug",
        None,
    ]
    assert safe["kind"].to_list() == ["'-x", "a", "b", "c", "d"]
    # numbers and dates keep their type and value: negative money is still a number
    assert safe.schema["spend"] == frame.schema["spend"]
    assert safe["spend"].to_list() == frame["spend"].to_list()
    assert safe.select("delta", "units", "day").equals(frame.select("delta", "units", "day"))
    assert frame["search_term"][1] == "=1+1"  # the frame given is not changed


def test_a_pandas_frame_changes_str_cells_only() -> None:
    frame = pd.DataFrame(
        {
            "search_term": ["=1+1", "mug", None],
            "mixed": ["@x", Decimal("-3.50"), -7],
            "spend": [-12.5, 0.0, 1.25],
        }
    )

    safe = neutralised(frame)

    assert safe["search_term"].tolist()[:2] == ["'=1+1", "mug"]
    assert safe["search_term"].isna().tolist() == [False, False, True]
    assert safe["mixed"].tolist() == ["'@x", Decimal("-3.50"), -7]
    assert safe["spend"].dtype == "float64" and safe["spend"].tolist() == [-12.5, 0.0, 1.25]
    assert frame["search_term"][0] == "=1+1"


def test_an_openpyxl_sheet_keeps_text_exact_and_never_a_formula() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*HOSTILE, "gooseneck kettle", -12.5, -3])
    assert sheet["A1"].data_type == "f"  # what openpyxl does with a string starting with "="

    keep_text_as_text(sheet)
    buffer = io.BytesIO()
    book.save(buffer)

    read = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert read is not None
    cells = list(read[1])
    texts, kettle, money, units = cells[: len(HOSTILE)], cells[-3], cells[-2], cells[-1]
    # XML reads a raw CR back as LF (openpyxl writes it unescaped): the only change
    assert [cell.value for cell in texts] == [text.replace("\r", "\n") for text in HOSTILE]
    assert [(cell.data_type, cell.quotePrefix) for cell in texts] == [("s", True)] * len(HOSTILE)
    assert (kettle.value, kettle.data_type, kettle.quotePrefix) == ("gooseneck kettle", "s", False)
    assert (money.value, money.data_type) == (-12.5, "n")
    assert (units.value, units.data_type) == (-3, "n")
