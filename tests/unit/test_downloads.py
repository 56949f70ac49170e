"""Downloads are built on click: the page run hands Streamlit a builder, never the file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import polars as pl
import pytest
from streamlit.delta_generator import DeltaGenerator

import app.components
from app.components import csv_bytes, download_buttons, xlsx_bytes

FRAME = pl.DataFrame(
    {
        "sku": ["MUG-1", "CUP-1"],
        "units": [2, 1],
        "at": [datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 3, 2, 8, tzinfo=UTC)],
    }
)


@pytest.fixture
def offered(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every download button drawn: its label, the data it was given and its options."""
    drawn: list[dict[str, Any]] = []

    def download_button(self: DeltaGenerator, label: str, data: Any, **options: Any) -> bool:
        drawn.append({"label": label, "data": data, **options})
        return False

    monkeypatch.setattr(DeltaGenerator, "download_button", download_button)
    return drawn


def test_drawing_the_buttons_builds_no_file(
    offered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    real_csv, real_xlsx = csv_bytes, xlsx_bytes
    monkeypatch.setattr(app.components, "csv_bytes", lambda f: built.append("csv") or real_csv(f))
    monkeypatch.setattr(
        app.components, "xlsx_bytes", lambda f: built.append("xlsx") or real_xlsx(f)
    )

    download_buttons(FRAME, "acme-sales", key="sales")

    assert [(b["label"], b["file_name"], b["key"]) for b in offered] == [
        ("CSV", "acme-sales.csv", "sales_csv"),
        ("XLSX", "acme-sales.xlsx", "sales_xlsx"),
    ]
    assert built == []  # nothing until a click
    assert all(callable(b["data"]) and b["on_click"] == "ignore" for b in offered)

    csv, xlsx = (b["data"]() for b in offered)  # what a click runs
    assert built == ["csv", "xlsx"]
    assert csv == real_csv(FRAME)
    assert csv.decode().splitlines()[0] == "sku,units,at"
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert [cell.value for cell in sheet[1]] == ["sku", "units", "at"]
    noon_utc = datetime(2026, 3, 1, 12, tzinfo=UTC).replace(tzinfo=None)  # XLSX has no zones
    assert [cell.value for cell in sheet[2]] == ["MUG-1", 2, noon_utc]


def test_a_pandas_frame_changed_after_drawing_downloads_as_shown(
    offered: list[dict[str, Any]],
) -> None:
    shown = FRAME.to_pandas()
    download_buttons(shown, "acme", key="acme", xlsx=False)
    shown["units"] = [0, 0]  # a later line of the page reuses the frame

    (button,) = offered
    assert button["data"]().decode().splitlines()[1].startswith("MUG-1,2,")


def test_a_hostile_search_term_downloads_as_text_and_negative_money_as_a_number() -> None:
    frame = pl.DataFrame(
        {
            "search_term": ['=HYPERLINK("http://x","y")', "-2+3", "gooseneck kettle"],
            "profit": [Decimal("-12.50"), Decimal("3.00"), Decimal("-0.01")],
            "clicks": [-1, 2, 3],
        }
    )

    csv_rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode())))
    assert csv_rows == [
        ["search_term", "profit", "clicks"],
        ['\'=HYPERLINK("http://x","y")', "-12.50", "-1"],
        ["'-2+3", "3.00", "2"],
        ["gooseneck kettle", "-0.01", "3"],
    ]

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(frame))).active
    assert sheet is not None
    rows = [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert rows == [
        [('\'=HYPERLINK("http://x","y")', "s"), (-12.5, "n"), (-1, "n")],
        [("'-2+3", "s"), (3.0, "n"), (2, "n")],
        [("gooseneck kettle", "s"), (-0.01, "n"), (3, "n")],
    ]
    # the same from a pandas frame, as some pages pass
    assert csv_bytes(frame.to_pandas()) == csv_bytes(frame)
