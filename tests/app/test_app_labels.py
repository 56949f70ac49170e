"""What a person reads on every page is for people: no column names, report keys, "None" or ISO
timestamps; the Sales sparklines coloured by direction over reported days only."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from amzinsight.reports import REPORT_TITLES, REPORTS, report_title
from app.labels import format_bytes, format_date, format_timestamp, humanise, marketplace_label

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PAGES = ["home", "sales", "inventory", "finance", "listings", "assistant", "sync", "privacy"]
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
REPORT_KEYS = [key for key in REPORTS if "_" in key]
CODE = re.compile(r"`[^`]*`")  # commands and file formats in code spans are meant literally


def _headers(frame) -> list[str]:
    """The column headers the table shows: column_config labels, hidden columns left out."""
    config: dict[str, Any] = json.loads(frame.proto.columns or "{}")
    order = list(frame.proto.column_order) or list(frame.value.columns)
    shown = []
    for name in order:
        settings = config.get(name, {})
        if settings.get("hidden"):
            continue
        shown.append(settings.get("label") or name)
    return shown


def _cells(frame) -> list[Any]:
    values = frame.value
    order = list(frame.proto.column_order) or list(values.columns)
    return [cell for name in order for cell in values[name].tolist()]


def _is_missing(cell: Any) -> bool:
    return cell is None or (isinstance(cell, float) and math.isnan(cell))


def _problems(at: AppTest, page: str) -> list[str]:
    found = []
    for index, frame in enumerate(at.dataframe):
        where = f"{page} table {index}"
        for header in _headers(frame):
            if "_" in header:
                found.append(f"{where}: header {header!r}")
        cells = _cells(frame)
        if any(_is_missing(cell) for cell in cells) and not frame.proto.HasField("placeholder"):
            found.append(f"{where}: missing values show as None (no placeholder)")
        for cell in cells:
            if isinstance(cell, str) and (cell in ("None", "nan") or ISO_TIMESTAMP.search(cell)):
                found.append(f"{where}: cell {cell!r}")
            if isinstance(cell, str) and cell in REPORT_KEYS:
                found.append(f"{where}: report key {cell!r}")
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        names = [trace.get("name") or "" for trace in figure["data"]]
        layout = figure["layout"]
        titles = [
            (layout.get(axis) or {}).get("title", {}).get("text") or ""
            for axis in ("xaxis", "yaxis")
        ]
        found += [f"{page} chart: {text!r}" for text in names + titles if "_" in text]
    found += [f"{page} tile: {m.label!r}" for m in at.metric if "_" in m.label]
    for kind in ("markdown", "caption", "text", "info", "warning", "error", "success"):
        for element in at.get(kind):
            text = CODE.sub("", str(element.value))
            if ISO_TIMESTAMP.search(text):
                found.append(f"{page} {kind}: ISO timestamp in {text[:120]!r}")
            for key in REPORT_KEYS:
                if re.search(rf"\b{key}\b", text):
                    found.append(f"{page} {kind}: report key {key!r} in {text[:120]!r}")
    return found


def test_every_page_shows_human_labels_on_the_demo_store(
    demo_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    problems: list[str] = []
    tables = 0
    for page in PAGES:
        at.switch_page(str(ROOT / "pages" / f"{page}.py")).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        tables += len(at.dataframe)
        problems += _problems(at, page)
        if page == "sales":
            _check_sparklines(at)
    assert tables >= 15  # the walk saw the pages' tables, not empty states
    assert not problems, "\n".join(problems)


def _check_sparklines(at: AppTest) -> None:
    """Green when rising, red when falling (not the theme's red), over reported days only."""
    (table,) = [t for t in at.dataframe if "daily_sales" in t.value.columns]
    chart = json.loads(table.proto.columns)["daily_sales"]["type_config"]
    assert chart["type"] == "line_chart" and chart["color"] == "auto"
    lines = table.value["daily_sales"].tolist()
    assert lines and all(len(line) > 1 for line in lines)
    assert not any(_is_missing(value) for line in lines for value in line)


def test_every_report_has_a_title_and_pages_format_for_people() -> None:
    assert set(REPORTS) <= set(REPORT_TITLES)
    assert all("_" not in title for title in REPORT_TITLES.values())
    assert report_title("sales_traffic") == "Sales and Traffic"
    assert report_title("sp_search_term") == "Sponsored Products search terms"
    assert report_title("some_new_report") == "Some new report"
    moment = datetime(2026, 12, 3, 7, 15, 36, 784735, tzinfo=UTC)
    assert format_timestamp(moment) == "03 Dec 2026 07:15 UTC"
    assert format_timestamp("2026-12-03T07:15:36.784735+00:00") == "03 Dec 2026 07:15 UTC"
    assert format_timestamp(moment, "America/Los_Angeles") == "02 Dec 2026 23:15 PST"
    assert format_timestamp(None, missing="never") == "never"
    assert format_date(date(2026, 3, 1)) == format_date("2026-03-01") == "01 Mar 2026"
    assert format_bytes(1_573_574) == "1.5 MB"
    assert format_bytes(2048) == "2.0 KB"
    assert format_bytes(812) == "812 bytes"
    assert humanise("unit_cost") == "Unit cost" and humanise("sku") == "SKU"
    assert marketplace_label("ATVPDKIKX0DER") == "US" and marketplace_label(None) == "all"
