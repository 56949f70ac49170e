"""A page run builds no download: the Finance page draws its CSV and XLSX buttons without calling
the builders (an XLSX of 10,000 rows takes seconds), which run only when a button is clicked."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

import app.components
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.rules.periods import local_today
from amzinsight.stores import add_store

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
FINANCE = str(ROOT / "pages" / "finance.py")
LISTINGS = str(ROOT / "pages" / "listings.py")
US = "ATVPDKIKX0DER"


def test_rendering_a_page_builds_no_download(
    migrated_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    sold = local_today("America/Los_Angeles") - timedelta(days=3)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(tables.orders).values(
                store_id=store.id, amazon_order_id="111-0000001-0000000", marketplace_id=US,
                purchase_date=datetime(sold.year, sold.month, sold.day, 20, tzinfo=UTC),
                purchase_local_date=sold, order_status="Shipped", currency="USD",
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(tables.order_items).values(
                store_id=store.id, amazon_order_id="111-0000001-0000000", sku="MUG-1",
                asin="B0MUG00001", quantity=2, item_price=Decimal("30.00"), currency="USD",
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(tables.cogs).values(
                store_id=store.id, sku="MUG-1", effective_from=sold, unit_cost=Decimal("11.50"),
                currency="USD",
            )
        )  # fmt: skip
    built: list[str] = []
    monkeypatch.setattr(app.components, "csv_bytes", lambda frame: built.append("csv") or b"")
    monkeypatch.setattr(app.components, "xlsx_bytes", lambda frame: built.append("xlsx") or b"")

    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(FINANCE).run()
    at.run()  # a rerun, as any widget change causes

    assert not at.exception, [e.value for e in at.exception]
    labels = [button.label for button in at.get("download_button")]
    assert labels.count("XLSX") >= 2, labels  # profit per ASIN and the unit costs, at least
    assert built == []


def test_a_hostile_search_term_downloads_from_a_page_as_text(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Listings page's search-term table, downloaded as a click would: a shopper term that is
    a formula arrives as text in the CSV (leading apostrophe) and in the XLSX (a string cell)."""
    from tests.integration.test_listings import (
        ASIN,
        DAY,
        END,
        START,
        insert,
        insert_ads,
        insert_listing,
    )

    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme", country_codes=["US"])
    insert_listing(engine, store)
    insert_ads(engine, store)
    hostile = '=hyperlink("http://x","y")'  # reports hold terms in lower case
    insert(
        engine,
        tables.ads_search_term_daily,
        [
            {
                "store_id": store.id, "profile_id": "p1", "report_date": DAY,
                "campaign_id": "c1", "ad_group_id": "g1", "target_id": "t2",
                "search_term": hostile, "clicks": 40, "impressions": 800,
                "cost": Decimal("9.00"), "currency": "USD", "purchases_7d": 5,
                "sales_7d": Decimal("150.00"),
            }
        ],
    )  # fmt: skip
    builders: dict[str, Any] = {}

    def download_button(self: DeltaGenerator, label: str, data: Any, **options: Any) -> bool:
        builders[options["key"]] = data
        return False

    monkeypatch.setattr(DeltaGenerator, "download_button", download_button)

    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.query_params["asin"] = ASIN
    at.switch_page(LISTINGS).run()
    at.sidebar.selectbox(key="filters_preset").set_value("Custom").run()
    at.sidebar.date_input(key="filters_custom_range").set_value((START, END)).run()
    assert not at.exception, [e.value for e in at.exception]

    csv_rows = list(csv.DictReader(io.StringIO(builders["listings_terms_csv"]().decode())))
    first = csv_rows[0]  # the most orders first
    assert (first["search_term"], first["clicks"], first["spend"]) == ("'" + hostile, "40", "9.00")
    assert [row["search_term"] for row in csv_rows[1:]] == [
        "gooseneck kettle",
        "tea maker",
        "barista pour over",
    ]
    starts = tuple("=+-@\t\r\n")
    assert not [value for row in csv_rows for value in row.values() if value.startswith(starts)]

    sheet = openpyxl.load_workbook(io.BytesIO(builders["listings_terms_xlsx"]())).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    term = sheet.cell(row=2, column=header.index("search_term") + 1)
    spend = sheet.cell(row=2, column=header.index("spend") + 1)
    assert (term.value, term.data_type) == ("'" + hostile, "s")
    assert (spend.value, spend.data_type) == (9, "n")
    assert not [cell for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]


def test_the_sync_history_download_keeps_a_hostile_error_as_text(
    migrated_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed upload's error quotes the file's own text: the history CSV writes it as text."""
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    with engine.begin() as connection:
        connection.execute(
            sa.insert(tables.sync_runs).values(
                store_id=store.id, source="upload", report_type="sales_traffic",
                status="failed", error="=1+1 is not a report header", rows_parsed=-1,
                triggered_by="@admin",
            )
        )  # fmt: skip
    builders: dict[str, Any] = {}

    def download_button(label: str, build: Any, **options: Any) -> None:
        builders[options["key"]] = build

    # the page draws this button on `st` itself: record it where the page imports it from
    monkeypatch.setattr(app.components, "download_button", download_button)
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(str(ROOT / "pages" / "sync.py")).run()
    assert not at.exception, [e.value for e in at.exception]

    (row,) = csv.DictReader(io.StringIO(builders["sync_history_download"]().decode()))
    assert (row["error"], row["triggered_by"]) == ("'=1+1 is not a report header", "'@admin")
    assert (row["status"], row["rows_parsed"]) == ("failed", "-1")  # a number stays a number
