"""The Sales page's queries on rows written here, on the fixture report, and on the demo store.

Expected figures are worked out by hand in the comments (or from the fixture file with json and
Decimal), never from the functions under test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.metrics import store_metrics
from amzinsight.analytics.sales import (
    sales_by_asin,
    sales_kpis,
    sales_over_time,
    top_movers,
    with_comparison,
)
from amzinsight.config import Settings
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import (
    catalog_items,
    listings,
    sales_traffic_by_asin,
    sales_traffic_by_date,
)
from amzinsight.errors import ConfigError
from amzinsight.ingest.imports import import_file
from amzinsight.rules.periods import date_range_for, local_today
from amzinsight.runtime import build_runtime
from amzinsight.stores import Store, add_store, get_store

pytestmark = [pytest.mark.postgres]

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
FIXTURES = Path(__file__).parents[1] / "fixtures"
FEB_27, FEB_28, MAR_1, MAR_2, MAR_3, MAR_4 = (
    date(2026, 2, 27),  # a Friday: its week starts on Monday 23 February
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 3, 2),  # a Monday
    date(2026, 3, 3),
    date(2026, 3, 4),
)


def by_date(
    store: Store,
    market: str,
    day: date,
    sales: str,
    units: int,
    items: int,
    sessions: int,
    views: int,
    buy_box: str | None,
) -> dict[str, Any]:
    return {
        "store_id": store.id,
        "marketplace_id": market,
        "report_date": day,
        "currency": "USD" if market == US else "CAD",
        "ordered_product_sales": Decimal(sales),
        "units_ordered": units,
        "total_order_items": items,
        "sessions": sessions,
        "page_views": views,
        "buy_box_percentage": None if buy_box is None else Decimal(buy_box),
    }


def by_asin(
    store: Store,
    market: str,
    day: date,
    parent: str,
    child: str,
    sales: str,
    units: int,
    sessions: int,
    views: int,
    buy_box: str,
    sku: str = "",
) -> dict[str, Any]:
    return {
        "store_id": store.id,
        "marketplace_id": market,
        "report_date": day,
        "parent_asin": parent,
        "child_asin": child,
        "sku": sku,
        "currency": "USD" if market == US else "CAD",
        "ordered_product_sales": Decimal(sales),
        "units_ordered": units,
        "total_order_items": units,
        "sessions": sessions,
        "page_views": views,
        "buy_box_percentage": Decimal(buy_box),
    }


@pytest.fixture
def engine(migrated_database_url: str) -> Engine:
    return get_engine(migrated_database_url)


@pytest.fixture
def store(engine: Engine) -> Store:
    """US rows on 27 Feb, 1 and 2 March (and 4 March, outside most ranges); CA on 28 Feb, 2 March.

    US by date: sales 100.10 + 200.25 + 50.05 = 350.40, units 4 + 6 + 1 = 11, sessions
    50 + 70 + 30 = 150, page views 80 + 100 + 20 = 200, Buy Box 90 / 100 / 50 %.
    """
    shop = add_store(engine, slug="brewlane", name="Brewlane", country_codes=["US", "CA"])
    other = add_store(engine, slug="other", name="Other", country_codes=["US"])
    with engine.begin() as connection:
        connection.execute(
            sa.insert(sales_traffic_by_date),
            [
                by_date(shop, US, FEB_27, "100.10", 4, 3, 50, 80, "90.00"),
                by_date(shop, US, MAR_1, "200.25", 6, 6, 70, 100, "100.00"),
                by_date(shop, US, MAR_2, "50.05", 1, 1, 30, 20, "50.00"),
                by_date(shop, US, MAR_4, "7777.00", 70, 70, 700, 700, "10.00"),
                by_date(shop, CA, FEB_28, "999.99", 9, 9, 10, 10, "100.00"),
                by_date(shop, CA, MAR_2, "1.00", 1, 1, 5, 5, None),
                by_date(other, US, MAR_1, "5555.55", 55, 55, 55, 55, "55.00"),
            ],
        )
        connection.execute(
            sa.insert(sales_traffic_by_asin),
            [
                by_asin(shop, US, FEB_27, "P1", "C1", "60.00", 2, 30, 50, "80"),
                by_asin(shop, US, FEB_27, "C3", "C3", "40.10", 2, 20, 30, "100"),
                by_asin(shop, US, MAR_1, "P1", "C1", "100.00", 3, 40, 60, "100"),
                by_asin(shop, US, MAR_1, "P1", "C2", "100.25", 3, 30, 40, "100"),
                by_asin(shop, US, MAR_2, "P1", "C2", "50.05", 1, 30, 20, "50"),
                # A PARENT-granularity row and a SKU row would count the same sales twice.
                by_asin(shop, US, MAR_1, "P1", "", "999.00", 9, 9, 9, "9"),
                by_asin(shop, US, MAR_1, "P1", "C1", "999.00", 9, 9, 9, "9", sku="K-BLK"),
                by_asin(shop, US, MAR_4, "P1", "C1", "7777.00", 70, 700, 700, "10"),
                by_asin(shop, CA, FEB_28, "P1", "C1", "999.99", 9, 10, 10, "100"),
                by_asin(other, US, MAR_1, "P1", "C1", "5555.55", 55, 55, 55, "55"),
            ],
        )
        connection.execute(
            sa.insert(catalog_items),
            [
                {"store_id": shop.id, "marketplace_id": US, "asin": "C1", "item_name": "Kettle"},
                {"store_id": shop.id, "marketplace_id": US, "asin": "P1", "item_name": "Kettles"},
                {"store_id": shop.id, "marketplace_id": CA, "asin": "C3", "item_name": "Filtres"},
            ],
        )
        connection.execute(
            sa.insert(listings),
            [
                {
                    "store_id": shop.id,
                    "marketplace_id": US,
                    "sku": sku,
                    "asin": asin,
                    "item_name": name,
                }
                for sku, asin, name in (
                    ("K-BLK-MF", "C1", "Kettle (merchant)"),
                    ("K-BLK", "C1", "Kettle (FBA)"),
                    ("K-STL", "C2", "Steel kettle"),
                )
            ],
        )
    return shop


def test_kpis_sum_one_marketplace_and_weight_buy_box_by_page_views(
    engine: Engine, store: Store
) -> None:
    us = sales_kpis(engine, store.id, (US,), FEB_27, MAR_3)

    assert us.to_dicts() == [
        {
            "currency": "USD",
            "ordered_product_sales": Decimal("350.40"),
            "units_ordered": 11,
            "total_order_items": 10,
            "sessions": 150,
            "page_views": 200,
            "unit_session_percentage": 7.3333,  # 11 / 150 x 100
            # (90 x 80 + 100 x 100 + 50 x 20) / 200: not the plain mean of the days (80).
            "buy_box_percentage": 91.0,
            "days_reported": 3,
        }
    ]
    assert us.schema["ordered_product_sales"] == pl.Decimal(18, 2)


def test_kpis_of_the_other_marketplace_and_a_missing_buy_box(engine: Engine, store: Store) -> None:
    canada = sales_kpis(engine, store.id, (CA,), FEB_27, MAR_3).row(0, named=True)

    assert canada["currency"] == "CAD"
    assert canada["ordered_product_sales"] == Decimal("1000.99")
    assert (canada["units_ordered"], canada["sessions"], canada["page_views"]) == (10, 15, 15)
    assert canada["unit_session_percentage"] == 66.6667  # 10 / 15 x 100
    # 2 March has no Buy Box figure: its 5 page views stay out of the mean (else 66.6667).
    assert canada["buy_box_percentage"] == 100.0


def test_kpis_without_reports_are_null_not_zero(engine: Engine, store: Store) -> None:
    (row,) = sales_kpis(engine, store.id, (US,), date(2026, 1, 1), date(2026, 1, 31)).to_dicts()

    assert row["days_reported"] == 0 and row["currency"] == "USD"
    assert all(
        row[name] is None
        for name in (
            "ordered_product_sales",
            "units_ordered",
            "sessions",
            "page_views",
            "unit_session_percentage",
            "buy_box_percentage",
        )
    )


def test_mixed_currencies_unknown_marketplaces_and_reversed_ranges_are_config_errors(
    engine: Engine, store: Store
) -> None:
    with pytest.raises(ConfigError, match="several currencies"):
        sales_kpis(engine, store.id, (), FEB_27, MAR_3)  # all: USD and CAD
    with pytest.raises(ConfigError, match="no marketplace A1PA6795UKMFR9"):
        sales_kpis(engine, store.id, ("A1PA6795UKMFR9",), FEB_27, MAR_3)
    with pytest.raises(ConfigError, match="after it ends"):
        sales_over_time(engine, store.id, (US,), MAR_3, FEB_27, "day")
    with pytest.raises(ConfigError, match="granularity"):
        sales_over_time(engine, store.id, (US,), FEB_27, MAR_3, "quarter")


def test_days_have_one_row_each_and_unreported_days_are_null(engine: Engine, store: Store) -> None:
    days = sales_over_time(engine, store.id, (US,), FEB_27, MAR_3, "day")

    assert days["period"].to_list() == [FEB_27, FEB_28, MAR_1, MAR_2, MAR_3]
    assert days["ordered_product_sales"].to_list() == [
        Decimal("100.10"),
        None,
        Decimal("200.25"),
        Decimal("50.05"),
        None,
    ]
    assert days["days_reported"].to_list() == [1, 0, 1, 1, 0]
    assert days["buy_box_percentage"].to_list() == [90.0, None, 100.0, 50.0, None]


def test_weeks_start_on_monday_and_keep_only_days_in_range(engine: Engine, store: Store) -> None:
    weeks = sales_over_time(engine, store.id, (US,), date(2026, 2, 16), MAR_3, "week")

    assert weeks.select(
        "period", "ordered_product_sales", "units_ordered", "sessions", "days_reported"
    ).rows() == [
        (date(2026, 2, 16), None, None, None, 0),  # an empty week still has its row
        (date(2026, 2, 23), Decimal("300.35"), 10, 120, 2),  # 27 Feb + Sunday 1 March
        (date(2026, 3, 2), Decimal("50.05"), 1, 30, 1),  # 4 March is after the range
    ]
    # Buy Box (90 x 80 + 100 x 100) / 180; unit session % 10 / 120 and 1 / 30 x 100.
    assert weeks["buy_box_percentage"].to_list() == [None, 95.5556, 50.0]
    assert weeks["unit_session_percentage"].to_list() == [None, 8.3333, 3.3333]


def test_months_split_at_the_first(engine: Engine, store: Store) -> None:
    months = sales_over_time(engine, store.id, (US,), FEB_27, MAR_3, "month")

    assert months.select(
        "period", "ordered_product_sales", "page_views", "buy_box_percentage"
    ).rows() == [
        (date(2026, 2, 1), Decimal("100.10"), 80, 90.0),
        # (100 x 100 + 50 x 20) / 120
        (date(2026, 3, 1), Decimal("250.30"), 120, 91.6667),
    ]
    canada = sales_over_time(engine, store.id, (CA,), FEB_27, MAR_3, "month")
    assert canada["ordered_product_sales"].to_list() == [Decimal("999.99"), Decimal("1.00")]


def test_child_asins_with_skus_titles_and_sparklines(engine: Engine, store: Store) -> None:
    children = sales_by_asin(engine, store.id, (US,), FEB_27, MAR_3)

    assert children.select(
        "parent_asin", "child_asin", "sku", "title", "currency", "ordered_product_sales"
    ).rows() == [
        ("P1", "C1", "K-BLK, K-BLK-MF", "Kettle", "USD", Decimal("160.00")),
        ("P1", "C2", "K-STL", "Steel kettle", "USD", Decimal("150.30")),
        ("C3", "C3", None, None, "USD", Decimal("40.10")),  # the CA title is not the US one
    ]
    first = children.row(0, named=True)
    assert (first["units_ordered"], first["sessions"], first["page_views"]) == (5, 70, 110)
    assert first["unit_session_percentage"] == 7.1429  # 5 / 70 x 100
    assert first["buy_box_percentage"] == 90.9091  # (80 x 50 + 100 x 60) / 110
    # One value per day; 28 Feb and 3 March have no US report at all: null, not 0.
    assert children["daily_sales"].to_list() == [
        [60.0, None, 100.0, 0.0, None],
        [0.0, None, 100.25, 50.05, None],
        [40.1, None, 0.0, 0.0, None],
    ]
    # The children add up to the store total of the same days (by-date = sum of by-ASIN).
    assert children["ordered_product_sales"].sum() == Decimal("350.40")


def test_parents_roll_up_their_children(engine: Engine, store: Store) -> None:
    parents = sales_by_asin(engine, store.id, (US,), FEB_27, MAR_3, "parent")

    assert parents.select(
        "parent_asin", "children", "title", "ordered_product_sales", "units_ordered", "sessions"
    ).rows() == [
        ("P1", 2, "Kettles", Decimal("310.30"), 9, 130),
        ("C3", 1, None, Decimal("40.10"), 2, 20),
    ]
    assert parents["buy_box_percentage"].to_list() == [88.2353, 100.0]  # 15000 / 170
    assert parents["daily_sales"][0].to_list() == [60.0, None, 200.25, 50.05, None]
    canada = sales_by_asin(engine, store.id, (CA,), FEB_27, MAR_3, "parent")
    assert canada.select("parent_asin", "ordered_product_sales").rows() == [
        ("P1", Decimal("999.99"))
    ]
    with pytest.raises(ConfigError, match="ASIN level"):
        sales_by_asin(engine, store.id, (US,), FEB_27, MAR_3, "sku")


def test_no_asins_in_an_unreported_range(engine: Engine, store: Store) -> None:
    empty = sales_by_asin(engine, store.id, (US,), date(2026, 1, 1), date(2026, 1, 31))
    assert empty.is_empty() and "daily_sales" in empty.columns


def test_top_movers_are_the_largest_changes_either_way(engine: Engine, store: Store) -> None:
    # Current 1-2 March: C1 100.00, C2 150.30, C3 nothing; before (27-28 Feb): C1 60, C3 40.10.
    movers = top_movers(engine, store.id, (US,), MAR_1, MAR_2, FEB_27, FEB_28, 10)

    assert movers.select(
        "direction", "child_asin", "ordered_product_sales", "comparison_sales", "change"
    ).rows() == [
        ("gainer", "C2", Decimal("150.30"), Decimal("0.00"), Decimal("150.30")),
        ("gainer", "C1", Decimal("100.00"), Decimal("60.00"), Decimal("40.00")),
        ("loser", "C3", Decimal("0.00"), Decimal("40.10"), Decimal("-40.10")),
    ]
    assert movers["change_percentage"].to_list() == [None, 66.6667, -100.0]
    assert movers["units_ordered"].to_list() == [4, 3, 0]
    assert movers["comparison_units"].to_list() == [0, 2, 2]
    assert movers["title"].to_list() == ["Steel kettle", "Kettle", None]

    one_each = top_movers(engine, store.id, (US,), MAR_1, MAR_2, FEB_27, FEB_28, 1)
    assert one_each["child_asin"].to_list() == ["C2", "C3"]


def test_no_movers_when_a_range_has_no_report(engine: Engine, store: Store) -> None:
    before_any = top_movers(
        engine, store.id, (US,), MAR_1, MAR_2, date(2026, 1, 1), date(2026, 1, 2), 10
    )
    assert before_any.is_empty() and before_any.columns[:3] == [
        "direction",
        "parent_asin",
        "child_asin",
    ]


def test_comparison_periods_pair_by_position() -> None:
    current = pl.DataFrame({"period": [MAR_1, MAR_2, MAR_3], "sessions": [1, 2, 3]})
    previous = pl.DataFrame({"period": [FEB_27, FEB_28], "sessions": [10, 20]})

    paired = with_comparison(current, previous, ("sessions",))
    assert paired.rows() == [
        (MAR_1, 1, FEB_27, 10),
        (MAR_2, 2, FEB_28, 20),
        (MAR_3, 3, None, None),
    ]
    alone = with_comparison(current, None, ("sessions",))
    assert alone["comparison_sessions"].to_list() == [None, None, None]


# --- the fixture report and the demo store ------------------------------------------------------


def test_asins_of_the_fixture_report_are_its_by_asin_entries(
    migrated_database_url: str, tmp_path: Path
) -> None:
    runtime = build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path / "d"))
    shop = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    name = "sales_and_traffic_2026-03-10.json"
    now = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)
    assert import_file(runtime.engine, runtime.archive, shop, FIXTURES / name, now=now).status == (
        "succeeded"
    )
    document = json.loads((FIXTURES / name).read_text(), parse_float=Decimal)
    expected = sorted(
        (
            (
                entry["childAsin"],
                entry["salesByAsin"]["orderedProductSales"]["amount"].quantize(Decimal("0.01")),
                entry["salesByAsin"]["unitsOrdered"],
                entry["trafficByAsin"]["sessions"],
            )
            for entry in document["salesAndTrafficByAsin"]
        ),
        key=lambda entry: (-entry[1], entry[0]),
    )
    day = date(2026, 3, 10)

    children = sales_by_asin(runtime.engine, shop.id, (US,), day, day)
    kpis = sales_kpis(runtime.engine, shop.id, (US,), day, day).row(0, named=True)

    assert (
        children.select("child_asin", "ordered_product_sales", "units_ordered", "sessions").rows()
        == expected
    )
    assert kpis["ordered_product_sales"] == Decimal("511.36")
    assert kpis["buy_box_percentage"] == 98.5  # one day: Amazon's own figure
    assert _sales_block(kpis) == store_metrics(runtime.engine, shop, day, day)["sales"]


def _sales_block(kpis: dict[str, Any]) -> dict[str, Any]:
    """Our KPI row in store_metrics' `sales` shape (money as a 2-decimal string)."""
    amount = kpis["ordered_product_sales"]
    return {
        "ordered_product_sales": str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
        "units_ordered": kpis["units_ordered"],
        "total_order_items": kpis["total_order_items"],
        "sessions": kpis["sessions"],
        "page_views": kpis["page_views"],
        "unit_session_percentage": kpis["unit_session_percentage"],
    }


@pytest.mark.parametrize("market", [US, CA])
def test_demo_store_last_30_days_equal_store_metrics(demo_database_url: str, market: str) -> None:
    engine = get_engine(demo_database_url)
    demo = get_store(engine, "demo")
    place = demo.marketplace(market)
    window = date_range_for("Last 30 days", local_today(place.time_zone))

    kpis = sales_kpis(engine, demo.id, (market,), window.start, window.end).row(0, named=True)
    metrics = store_metrics(engine, demo, window.start, window.end, market)

    assert kpis["days_reported"] == 30 and kpis["currency"] == metrics["currency"]
    assert kpis["units_ordered"] > 0
    assert _sales_block(kpis) == metrics["sales"]
    assert 0 < kpis["buy_box_percentage"] <= 100

    for granularity in ("day", "week", "month"):
        periods = sales_over_time(engine, demo.id, (market,), window.start, window.end, granularity)
        assert periods["ordered_product_sales"].sum() == kpis["ordered_product_sales"]
        assert periods["sessions"].sum() == kpis["sessions"]
    children = sales_by_asin(engine, demo.id, (market,), window.start, window.end)
    parents = sales_by_asin(engine, demo.id, (market,), window.start, window.end, "parent")
    assert children["ordered_product_sales"].sum() == kpis["ordered_product_sales"]
    assert parents["ordered_product_sales"].sum() == kpis["ordered_product_sales"]
    assert children["daily_sales"].list.len().unique().to_list() == [30]
