"""A page run builds no download: the Finance page draws its CSV and XLSX buttons without calling
the builders (an XLSX of 10,000 rows takes seconds), which run only when a button is clicked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
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
