"""The Sync page's plan through AppTest: one row per report type a sync would fetch for the demo
store, with its calls and time, computed without asking Amazon anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.reports import report_title

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")


def test_the_plan_lists_each_report_with_its_calls_and_time(
    demo_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_copy)
    with get_engine(demo_copy).connect() as connection:
        slots_before = connection.execute(
            sa.select(sa.func.count()).select_from(tables.api_meter_slots)
        ).scalar()
    at = AppTest.from_file(ENTRY, default_timeout=90)
    at.run()
    at.switch_page(str(ROOT / "pages" / "sync.py")).run()
    assert not at.exception, [e.value for e in at.exception]

    (plan,) = [block for block in at.expander if block.label.startswith("Plan:")]
    (table,) = plan.dataframe
    frame = table.value
    titles = list(frame["report"])
    for key in ("sales_traffic", "sales_traffic_history", "listings", "catalog"):
        assert report_title(key) in titles, (key, titles)
    rows = frame.set_index("report")
    # The demo store sells 12 ASINs in each of US and CA: one catalog lookup each.
    assert rows.loc[report_title("catalog"), "calls"] == "24 catalog lookups (one per known ASIN)"
    assert (
        "Data Kiosk queries (24 known ASINs)"
        in rows.loc[report_title("sales_traffic_history")]["calls"]
    )
    assert "Amazon's meter" in rows.loc[report_title("sales_traffic"), "calls"]
    assert all(frame["eta"].str.len() > 0)
    with get_engine(demo_copy).connect() as connection:  # planning took no slot
        slots_after = connection.execute(
            sa.select(sa.func.count()).select_from(tables.api_meter_slots)
        ).scalar()
    assert slots_after == slots_before
