"""Inventory analytics on rows built here: exact velocity, cover, restock, reorder date, status.

Expected figures are worked out by hand in the comments (stock = available + inbound, D = in-stock
days of the 30-day window 2026-03-01..2026-03-30 before AS_OF, U = units sold in it), not taken
from the module under test.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.inventory import (
    POLICY,
    inventory_position,
    position_summary,
    sku_reorder_settings,
    status_counts,
    store_reorder_defaults,
    stranded_and_aging,
)
from amzinsight.analytics.metrics import store_metrics
from amzinsight.cache import data_version
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import (
    inventory_settings,
    inventory_snapshots,
    order_items,
    orders,
)
from amzinsight.edits.reorder_settings import save_inventory_settings
from amzinsight.errors import ConfigError
from amzinsight.stores import Store, add_store

pytestmark = [pytest.mark.postgres]

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
AS_OF = date(2026, 3, 31)
WINDOW = 30  # 2026-03-01 .. 2026-03-30


def snapshot(store: Store, day: date, sku: str, available: int | None, **extra) -> dict:
    row = {
        "store_id": store.id,
        "marketplace_id": extra.pop("marketplace_id", US),
        "snapshot_date": day,
        "sku": sku,
        "asin": f"B0{sku[:8]:0<8}",
        "product_name": f"{sku.title()} product",
        "fulfillable_quantity": available,
        "inbound_working_quantity": None,
        "inbound_shipped_quantity": None,
        "inbound_receiving_quantity": None,
        "reserved_quantity": 1,
        "unfulfillable_quantity": 0,
        "researching_quantity": 0,
        "inv_age_181_to_270_days": None,
        "is_stranded": None,
        "your_price": Decimal("19.99"),
        "currency": "USD",
    }
    row.update(extra)
    return row


class OrderBook:
    """Orders with one line each, numbered as they are added."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.orders: list[dict] = []
        self.items: list[dict] = []

    def add(
        self,
        day: date,
        sku: str,
        quantity: int,
        status: str = "Shipped",
        marketplace_id: str = US,
    ) -> None:
        order_id = f"111-{len(self.orders):07d}"
        self.orders.append(
            {
                "store_id": self.store.id,
                "amazon_order_id": order_id,
                "marketplace_id": marketplace_id,
                "purchase_local_date": day,
                "order_status": status,
                "currency": "USD",
            }
        )
        self.items.append(
            {
                "store_id": self.store.id,
                "amazon_order_id": order_id,
                "sku": sku,
                "asin": f"B0{sku[:8]:0<8}",
                "quantity": quantity,
                "currency": "USD",
                "item_price": Decimal("10.00") * quantity,
            }
        )

    def spread(self, sku: str, total: int, first: date, last: date) -> None:
        """`total` units over one order a day from first to last (the remainder on the first)."""
        days = (last - first).days + 1
        for offset in range(days):
            share = total // days + (total % days if offset == 0 else 0)
            if share:
                self.add(first + timedelta(days=offset), sku, share)


@pytest.fixture
def engine(migrated_database_url: str) -> Engine:
    return get_engine(migrated_database_url)


@pytest.fixture
def store(engine: Engine) -> Store:
    """Six US SKUs (and a CA twin) covering every band, a stockout and a per-SKU override."""
    store = add_store(engine, slug="acme", name="Acme", country_codes=["US", "CA"])
    rows = [
        # STEADY: always in stock; 100 available + 20 inbound; 3 unfulfillable
        snapshot(store, date(2026, 2, 1), "STEADY", 150),
        snapshot(
            store, AS_OF, "STEADY", 100, inbound_shipped_quantity=20, unfulfillable_quantity=3
        ),
        # STOCKOUT: 10 carried in from February, out of stock 03-11..03-20, 40 on AS_OF
        snapshot(store, date(2026, 2, 20), "STOCKOUT", 10),
        snapshot(store, date(2026, 3, 11), "STOCKOUT", 0),
        snapshot(store, date(2026, 3, 21), "STOCKOUT", 5),
        snapshot(store, AS_OF, "STOCKOUT", 40),
        snapshot(store, date(2026, 4, 2), "STOCKOUT", 0),  # after AS_OF: ignored
        # IDLE: stock, no sale in the window (one in February)
        snapshot(store, AS_OF, "IDLE", 50),
        # URGENT: 5 available + 10 inbound (working 4, receiving 6)
        snapshot(
            store,
            AS_OF,
            "URGENT",
            5,
            inbound_working_quantity=4,
            inbound_receiving_quantity=6,
        ),
        # GONE: out of stock since February, stranded
        snapshot(store, date(2026, 2, 25), "GONE", 0),
        snapshot(store, AS_OF, "GONE", 0, is_stranded=True),
        # SLOW: 300 available, 4 units aged 181+ days
        snapshot(store, AS_OF, "SLOW", 300, inv_age_181_to_270_days=4),
        # the CA twin of STEADY must not leak into US figures
        snapshot(store, AS_OF, "STEADY", 7, marketplace_id=CA, currency="CAD"),
    ]
    book = OrderBook(store)
    book.spread("STEADY", 60, date(2026, 3, 1), date(2026, 3, 30))
    book.spread("STOCKOUT", 30, date(2026, 3, 1), date(2026, 3, 10))
    book.spread("URGENT", 90, date(2026, 3, 1), date(2026, 3, 30))
    book.spread("SLOW", 30, date(2026, 3, 1), date(2026, 3, 30))
    book.add(date(2026, 2, 19), "IDLE", 2)  # before the window
    book.add(date(2026, 3, 5), "STOCKOUT", 4, status="Cancelled")  # cancelled: not counted
    book.add(AS_OF, "STOCKOUT", 5)  # AS_OF's own sales are not in the window
    book.add(date(2026, 3, 15), "STEADY", 9, marketplace_id=CA)  # another marketplace
    with engine.begin() as connection:
        connection.execute(sa.insert(inventory_snapshots), rows)
        connection.execute(sa.insert(orders), book.orders)
        connection.execute(sa.insert(order_items), book.items)
    # store defaults 20 / 10 / 30; STOCKOUT has its own 10 / 5 / 20
    save_inventory_settings(
        engine,
        store.id,
        [
            {"sku": "", "lead_time_days": 20, "safety_days": 10, "target_cover_days": 30},
            {"sku": "STOCKOUT", "lead_time_days": 10, "safety_days": 5, "target_cover_days": 20},
        ],
        actor="tester",
    )
    return store


def by_sku(engine: Engine, store: Store, as_of: date = AS_OF, days: int = WINDOW) -> dict:
    frame = inventory_position(engine, store.id, (US,), as_of, days)
    return {row["sku"]: row for row in frame.iter_rows(named=True)}


def test_steady_sku_uses_store_defaults(engine: Engine, store: Store) -> None:
    steady = by_sku(engine, store)["STEADY"]
    # U = 60, D = 30, stock = 120; defaults L 20 + S 10 = 30
    assert (steady["available"], steady["inbound"], steady["unfulfillable"]) == (100, 20, 3)
    assert (steady["units_sold"], steady["in_stock_days"], steady["window_days"]) == (60, 30, 30)
    assert steady["velocity"] == 2.0
    assert steady["days_of_cover"] == 60.0  # 120 / 2
    assert (steady["lead_time_days"], steady["safety_days"], steady["target_cover_days"]) == (
        20,
        10,
        30,
    )
    assert steady["restock_units"] == 0  # 2 x (20 + 10 + 30) = 120 - 120 = 0
    assert steady["reorder_date"] == AS_OF + timedelta(days=30)  # 60 - 20 - 10
    assert steady["status"] == "healthy"  # 60 > 30 + 14 and <= 120
    assert steady["your_price"] == Decimal("19.99") and steady["currency"] == "USD"


def test_stockout_days_are_left_out_of_velocity_and_the_sku_override_wins(
    engine: Engine, store: Store
) -> None:
    stockout = by_sku(engine, store)["STOCKOUT"]
    # out of stock 03-11 .. 03-20: D = 30 - 10 = 20; U = 30 (cancelled and AS_OF sales left out)
    assert (stockout["units_sold"], stockout["in_stock_days"]) == (30, 20)
    assert stockout["velocity"] == 1.5
    assert stockout["days_of_cover"] == 26.7  # 40 / 1.5 = 26.67
    assert (stockout["lead_time_days"], stockout["safety_days"]) == (10, 5)
    assert stockout["target_cover_days"] == 20
    assert stockout["restock_units"] == 13  # ceil(1.5 x 35 - 40) = ceil(12.5)
    assert stockout["reorder_date"] == date(2026, 4, 11)  # floor(26.67 - 15) = 11
    assert stockout["status"] == "reorder soon"  # 15 < 26.67 <= 15 + 14


def test_no_sales_with_stock_is_overstock_without_a_cover(engine: Engine, store: Store) -> None:
    idle = by_sku(engine, store)["IDLE"]
    assert (idle["units_sold"], idle["in_stock_days"], idle["velocity"]) == (0, 30, 0.0)
    assert idle["days_of_cover"] is None
    assert idle["restock_units"] == 0
    assert idle["reorder_date"] is None
    assert idle["status"] == "overstock"
    assert "no sales" in idle["reason"]


def test_urgent_past_and_high_cover_bands(engine: Engine, store: Store) -> None:
    rows = by_sku(engine, store)
    urgent = rows["URGENT"]
    # U = 90, D = 30: 3 a day; stock 5 + 10 = 15: 5 days of cover, L + S = 30
    assert (urgent["inbound"], urgent["velocity"], urgent["days_of_cover"]) == (10, 3.0, 5.0)
    assert urgent["restock_units"] == 165  # 3 x 60 - 15
    assert urgent["reorder_date"] == AS_OF  # already past: today
    assert urgent["status"] == "order now"
    slow = rows["SLOW"]
    # U = 30, D = 30: 1 a day; 300 days of cover
    assert (slow["velocity"], slow["days_of_cover"], slow["restock_units"]) == (1.0, 300.0, 0)
    assert slow["reorder_date"] == AS_OF + timedelta(days=270)  # 300 - 30
    assert slow["status"] == "overstock"
    gone = rows["GONE"]
    # out of stock through the whole window: no in-stock day, demand unmeasurable
    assert (gone["in_stock_days"], gone["velocity"], gone["days_of_cover"]) == (0, None, None)
    assert gone["restock_units"] is None
    assert (gone["reorder_date"], gone["status"]) == (AS_OF, "order now")


def test_only_the_chosen_marketplace_and_its_latest_snapshot(engine: Engine, store: Store) -> None:
    frame = inventory_position(engine, store.id, (US,), AS_OF, WINDOW)
    assert frame["sku"].to_list() == ["GONE", "IDLE", "SLOW", "STEADY", "STOCKOUT", "URGENT"]
    assert set(frame["snapshot_date"]) == {AS_OF}
    canada = inventory_position(engine, store.id, (CA,), AS_OF, WINDOW).row(0, named=True)
    assert (canada["sku"], canada["available"], canada["units_sold"]) == ("STEADY", 7, 9)
    assert inventory_position(engine, store.id, (), AS_OF, WINDOW).is_empty()
    assert inventory_position(engine, store.id, (US,), date(2026, 1, 31), WINDOW).is_empty()


def test_summary_and_bands_equal_store_metrics(engine: Engine, store: Store) -> None:
    frame = inventory_position(engine, store.id, (US,), AS_OF, WINDOW)
    summary = position_summary(frame)
    inventory = store_metrics(engine, store, date(2026, 3, 1), AS_OF, US)["inventory"]
    assert summary.skus == inventory["skus"] == 6
    assert summary.available == inventory["fulfillable"] == 100 + 40 + 50 + 5 + 0 + 300
    assert summary.inbound == inventory["inbound"] == 30
    assert summary.at_risk == 3  # URGENT, GONE (order now), STOCKOUT (reorder soon)
    assert summary.median_cover_days == 43.3  # median of 60, 26.67, 5, 300: (26.67 + 60) / 2
    assert dict(status_counts(frame).iter_rows()) == {
        "order now": 2,
        "reorder soon": 1,
        "healthy": 1,
        "overstock": 2,
        "unknown": 0,
    }
    empty = position_summary(frame.clear())
    assert (empty.skus, empty.available, empty.median_cover_days) == (None, None, None)


def test_units_sold_unknown_without_any_order_in_the_window(engine: Engine, store: Store) -> None:
    # window 2026-01-20 .. 2026-02-18: no order at all, so no zero sales either
    steady = by_sku(engine, store, as_of=date(2026, 2, 19))["STEADY"]
    assert (steady["snapshot_date"], steady["available"]) == (date(2026, 2, 1), 150)
    assert (steady["units_sold"], steady["velocity"], steady["restock_units"]) == (None, None, None)
    assert (steady["days_of_cover"], steady["status"]) == (None, "unknown")


def test_window_is_the_days_before_as_of_and_must_be_positive(engine: Engine, store: Store) -> None:
    # 7 days 03-24 .. 03-30: STOCKOUT sold nothing then (cancelled and AS_OF lines still out)
    week = by_sku(engine, store, days=7)
    assert (week["STEADY"]["units_sold"], week["STEADY"]["in_stock_days"]) == (14, 7)
    assert week["STOCKOUT"]["units_sold"] == 0
    assert week["STOCKOUT"]["in_stock_days"] == 7  # back in stock since 03-21
    with pytest.raises(ConfigError, match="at least one day"):
        inventory_position(engine, store.id, (US,), AS_OF, 0)


def test_stranded_and_aging(engine: Engine, store: Store) -> None:
    frame = stranded_and_aging(engine, store.id, (US,), AS_OF, WINDOW)
    issues = dict(zip(frame["sku"], frame["issues"], strict=True))
    assert issues == {
        "GONE": "stranded",
        "IDLE": "no sales in 30 days",
        "SLOW": "4 aged 181+ days",
        "STEADY": "3 unfulfillable",
    }
    idle = frame.filter(frame["sku"] == "IDLE").row(0, named=True)
    assert (idle["available"], idle["units_sold"]) == (50, 0)
    assert idle["last_sale_date"] == date(2026, 2, 19)
    # without order data nothing is called unsold
    early = stranded_and_aging(engine, store.id, (US,), date(2026, 2, 19), WINDOW)
    assert early.is_empty()


def test_settings_read_back_with_store_defaults(engine: Engine, store: Store) -> None:
    defaults = store_reorder_defaults(engine, store.id).row(0, named=True)
    assert (defaults["lead_time_days"], defaults["safety_days"]) == (20, 10)
    assert defaults["target_cover_days"] == 30
    save_inventory_settings(engine, store.id, [{"sku": "ORPHAN", "safety_days": 0}], actor="tester")
    frame = sku_reorder_settings(engine, store.id, (US,), AS_OF)
    rows = {row["sku"]: row for row in frame.iter_rows(named=True)}
    assert list(rows) == ["GONE", "IDLE", "ORPHAN", "SLOW", "STEADY", "STOCKOUT", "URGENT"]
    assert (rows["STOCKOUT"]["lead_time_days"], rows["STOCKOUT"]["target_cover_days"]) == (10, 20)
    assert rows["STEADY"]["lead_time_days"] is None  # follows the store default
    assert rows["ORPHAN"]["title"] is None and rows["ORPHAN"]["safety_days"] == 0


def test_settings_fall_back_to_the_policy(engine: Engine) -> None:
    store = add_store(engine, slug="fresh", name="Fresh", country_codes=["US"])
    defaults = store_reorder_defaults(engine, store.id).row(0, named=True)
    assert (defaults["lead_time_days"], defaults["safety_days"]) == (
        POLICY.lead_time_days,
        POLICY.safety_days,
    )
    # a SKU with only a lead time inherits safety and target cover from the policy
    with engine.begin() as connection:
        connection.execute(sa.insert(inventory_snapshots), [snapshot(store, AS_OF, "SOLO", 10)])
    save_inventory_settings(
        engine, store.id, [{"sku": "SOLO", "lead_time_days": 7}], actor="tester"
    )
    solo = by_sku(engine, store)["SOLO"]
    assert (solo["lead_time_days"], solo["safety_days"], solo["target_cover_days"]) == (
        7,
        POLICY.safety_days,
        POLICY.target_cover_days,
    )


def test_saving_changes_the_restock_and_blank_rows_remove_overrides(
    engine: Engine, store: Store
) -> None:
    version = data_version(engine, store.id)
    written = save_inventory_settings(
        engine,
        store.id,
        [{"sku": "STEADY", "lead_time_days": 40.0, "safety_days": math.nan}],
        actor="tester",
    )
    assert written == 1
    assert data_version(engine, store.id) == version + 1  # cached figures go stale
    steady = by_sku(engine, store)["STEADY"]
    # L 40 + S 10 (store default) + T 30 = 80: 2 x 80 - 120 = 40
    assert (steady["lead_time_days"], steady["safety_days"]) == (40, 10)
    assert steady["restock_units"] == 40
    assert steady["status"] == "reorder soon"  # 40 + 10 < 60 <= 40 + 10 + 14
    assert steady["reorder_date"] == AS_OF + timedelta(days=10)  # 60 - 50

    save_inventory_settings(
        engine,
        store.id,
        [{"sku": "STOCKOUT", "lead_time_days": None, "safety_days": None}],
        actor="tester",
    )
    with engine.connect() as connection:
        skus = connection.execute(
            sa.select(inventory_settings.c.sku).where(inventory_settings.c.store_id == store.id)
        ).scalars()
        assert sorted(skus) == ["", "STEADY"]
    stockout = by_sku(engine, store)["STOCKOUT"]
    # back on the store defaults 20 / 10 / 30: ceil(1.5 x 60 - 40) = 50
    assert (stockout["lead_time_days"], stockout["restock_units"]) == (20, 50)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"sku": "STEADY", "lead_time_days": 0}, "SKU STEADY: lead time 0 is out of range"),
        ({"sku": "STEADY", "safety_days": -1}, "safety days -1 is out of range: use 0 to 365"),
        ({"sku": "", "target_cover_days": 400}, "store default: target cover 400 is out of range"),
        ({"sku": "STEADY", "lead_time_days": 2.5}, "lead time must be a whole number of days"),
        ({"sku": "STEADY", "safety_days": "ten"}, "safety days must be a whole number"),
        ({"sku": "STEADY", "lead_time_days": True}, "lead time must be a whole number"),
        ({"sku": None, "lead_time_days": 5}, "a settings row has no SKU"),
    ],
)
def test_invalid_settings_are_refused_and_nothing_is_written(
    engine: Engine, store: Store, row: dict, message: str
) -> None:
    version = data_version(engine, store.id)
    valid = {"sku": "IDLE", "lead_time_days": 9}
    with pytest.raises(ConfigError, match="Reorder settings not saved") as raised:
        save_inventory_settings(engine, store.id, [valid, row], actor="tester")
    assert message in str(raised.value)
    assert data_version(engine, store.id) == version
    assert by_sku(engine, store)["IDLE"]["lead_time_days"] == 20  # the valid row waited too


def test_a_sku_listed_twice_is_refused(engine: Engine, store: Store) -> None:
    with pytest.raises(ConfigError, match="SKU IDLE is listed twice"):
        save_inventory_settings(
            engine,
            store.id,
            [{"sku": "IDLE", "lead_time_days": 9}, {"sku": "IDLE", "lead_time_days": 8}],
            actor="tester",
        )
