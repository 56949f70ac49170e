"""`store_metrics` on the fixture files: the KPIs are the totals of the files themselves.

Every fixture is imported into a store with only the US marketplace; expectations are computed
here from the files (csv, json, Decimal, zoneinfo), not from the parsers or the tables.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql

from amzinsight.analytics.metrics import marketplace_metrics, store_metrics
from amzinsight.config import Settings
from amzinsight.db.engine import dispose_engines
from amzinsight.errors import ConfigError
from amzinsight.ingest.imports import import_file
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, add_store
from tests.conftest import ADMIN_DSN

pytestmark = pytest.mark.postgres

FIXTURES = Path(__file__).parents[1] / "fixtures"
FILES = [
    "sales_and_traffic_2026-03-10.json",
    "all_orders.tsv",
    "settlement_v2.tsv",
    "fba_inventory.tsv",
    "inventory_summaries.json",
    "merchant_listings.tsv",
    "catalog_items.json",
    "product_ratings.csv",
]
NOW = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)  # 2026-03-11 in Los Angeles: the snapshot day
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
US_CHANNELS = {"Amazon.com", "Non-Amazon"}  # MCF orders belong to the store's marketplace
CA_CHANNELS = {"Amazon.ca"}

TOP_KEYS = {"store", "from", "to", "currency", "sales", "orders", "ads", "settlements", "inventory"}
SALES_KEYS = {
    "ordered_product_sales",
    "units_ordered",
    "total_order_items",
    "sessions",
    "page_views",
    "unit_session_percentage",
}
ORDERS_KEYS = {"orders", "order_items", "units", "item_price", "cancelled_orders"}
ADS_KEYS = {"impressions", "clicks", "spend", "sales", "orders", "acos", "roas", "tacos"}
SETTLEMENT_KEYS = {
    "settlement_id",
    "start",
    "end",
    "deposit_date",
    "total_amount",
    "lines_sum",
    "reconciled",
}
INVENTORY_KEYS = {"as_of", "skus", "fulfillable", "inbound", "reserved", "unfulfillable"}
ORDERS_KEYS_IN_ORDER = ("orders", "order_items", "units", "item_price", "cancelled_orders")
MONEY = re.compile(r"^-?\d+\.\d{2}$")


# --- setup ---------------------------------------------------------------------------------------


@pytest.fixture
def runtime(migrated_database_url: str, tmp_path: Path) -> Runtime:
    return build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path / "data"))


def load_fixtures(runtime: Runtime, store: Store, names: list[str] = FILES) -> None:
    for name in names:
        outcome = import_file(runtime.engine, runtime.archive, store, FIXTURES / name, now=NOW)
        assert outcome.status == "succeeded", name


@pytest.fixture
def us_store(runtime: Runtime) -> Store:
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    load_fixtures(runtime, store)
    return store


def metrics(
    runtime: Runtime, store: Store, start: str, end: str, marketplace: str | None = None
) -> dict[str, Any]:
    result = store_metrics(
        runtime.engine, store, date.fromisoformat(start), date.fromisoformat(end), marketplace
    )
    assert_shape(result)
    assert json.loads(json.dumps(result)) == result  # plain JSON: no Decimal, date or float NaN
    return result


def assert_shape(result: dict[str, Any]) -> None:
    """The exact keys at every level, money as 2-decimal strings, ratios as 4-place numbers."""
    assert set(result) == TOP_KEYS
    assert set(result["sales"]) == SALES_KEYS
    assert set(result["orders"]) == ORDERS_KEYS
    assert set(result["ads"]) == ADS_KEYS
    assert set(result["inventory"]) == INVENTORY_KEYS
    assert isinstance(result["settlements"], list)
    for settlement in result["settlements"]:
        assert set(settlement) == SETTLEMENT_KEYS
        assert MONEY.match(settlement["total_amount"]) and MONEY.match(settlement["lines_sum"])
        assert isinstance(settlement["reconciled"], bool)
    for value in (
        result["sales"]["ordered_product_sales"],
        result["orders"]["item_price"],
        result["ads"]["spend"],
        result["ads"]["sales"],
    ):
        assert isinstance(value, str) and MONEY.match(value), value
    for value in (
        result["sales"]["unit_session_percentage"],
        result["ads"]["acos"],
        result["ads"]["roas"],
        result["ads"]["tacos"],
    ):
        assert value is None or (isinstance(value, float) and round(value, 4) == value), value
    counts = [
        *(
            result["sales"][k]
            for k in SALES_KEYS - {"ordered_product_sales", "unit_session_percentage"}
        ),
        *(result["orders"][k] for k in ORDERS_KEYS - {"item_price"}),
        result["ads"]["impressions"],
        result["ads"]["clicks"],
        result["ads"]["orders"],
    ]
    assert all(type(count) is int for count in counts), counts
    stock = [result["inventory"][k] for k in INVENTORY_KEYS - {"as_of"}]
    if result["inventory"]["as_of"] is None:  # no snapshot yet: the stock is unknown, not zero
        assert stock == [None] * len(stock), stock
    else:
        assert all(type(count) is int for count in stock), stock


def rounded_ratio(numerator: Decimal | int, denominator: Decimal | int, scale: int = 1) -> float:
    value = Decimal(numerator) * scale / Decimal(denominator)
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


# --- expectations from the files ----------------------------------------------------------------


def read_tsv(name: str, delimiter: str = "\t") -> list[dict[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8", newline="") as document:
        return list(csv.DictReader(document, delimiter=delimiter, quoting=csv.QUOTE_NONE))


def expected_sales(start: str, end: str) -> dict[str, Any]:
    """Sum of the by-date totals in the range, as the issue defines the sales block."""
    document = json.loads(
        (FIXTURES / "sales_and_traffic_2026-03-10.json").read_text(), parse_float=Decimal
    )
    days = [
        day
        for day in document["salesAndTrafficByDate"]
        if date.fromisoformat(start) <= date.fromisoformat(day["date"]) <= date.fromisoformat(end)
    ]
    sales = sum((d["salesByDate"]["orderedProductSales"]["amount"] for d in days), Decimal(0))
    units = sum(d["salesByDate"]["unitsOrdered"] for d in days)
    sessions = sum(d["trafficByDate"]["sessions"] for d in days)
    return {
        "ordered_product_sales": f"{sales:.2f}",
        "units_ordered": units,
        "total_order_items": sum(d["salesByDate"]["totalOrderItems"] for d in days),
        "sessions": sessions,
        "page_views": sum(d["trafficByDate"]["pageViews"] for d in days),
        "unit_session_percentage": rounded_ratio(units, sessions, 100) if sessions else None,
    }


def expected_orders(
    start: str, end: str, channels: set[str], name: str = "all_orders.tsv"
) -> dict[str, Any]:
    """Orders by purchase date in Los Angeles; cancelled orders only counted as cancelled."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    lines = [
        line
        for line in read_tsv(name)
        if line["sales-channel"] in channels
        and first
        <= datetime.fromisoformat(line["purchase-date"]).astimezone(LOS_ANGELES).date()
        <= last
    ]
    live = [line for line in lines if line["order-status"] != "Cancelled"]
    price = sum((Decimal(line["item-price"] or "0") for line in live), Decimal(0))
    return {
        "orders": len({line["amazon-order-id"] for line in live}),
        "order_items": len(live),
        "units": sum(int(line["quantity"]) for line in live),
        "item_price": f"{price:.2f}",
        "cancelled_orders": len(
            {line["amazon-order-id"] for line in lines if line["order-status"] == "Cancelled"}
        ),
    }


def expected_inventory(name: str, as_of: str) -> dict[str, Any]:
    lines = read_tsv(name)
    return {
        "as_of": as_of,
        "skus": len({line["sku"] for line in lines}),
        "fulfillable": sum(int(line["afn-fulfillable-quantity"]) for line in lines),
        "inbound": sum(
            int(line["afn-inbound-working-quantity"])
            + int(line["afn-inbound-shipped-quantity"])
            + int(line["afn-inbound-receiving-quantity"])
            for line in lines
        ),
        "reserved": sum(int(line["afn-reserved-quantity"]) for line in lines),
        "unfulfillable": sum(int(line["afn-unsellable-quantity"]) for line in lines),
    }


def write_tsv(path: Path, lines: list[dict[str, str]]) -> Path:
    columns = list(lines[0])
    path.write_text(
        "\n".join(["\t".join(columns)] + ["\t".join(line[c] for c in columns) for line in lines])
        + "\n",
        encoding="utf-8",
    )
    return path


EXPECTED_SETTLEMENT = {
    "settlement_id": "27519934021",
    "start": "2026-03-03T18:31:09+00:00",
    "end": "2026-03-17T18:31:09+00:00",
    "deposit_date": "2026-03-19T18:31:09+00:00",
    "total_amount": "6.45",
    "lines_sum": "6.45",
    "reconciled": True,
}


# --- the blocks ---------------------------------------------------------------------------------


def test_the_whole_shape_for_the_fixture_days(runtime: Runtime, us_store: Store) -> None:
    result = metrics(runtime, us_store, "2026-03-09", "2026-03-31")

    assert result == {
        "store": "brewlane",
        "from": "2026-03-09",
        "to": "2026-03-31",
        "currency": "USD",
        "sales": {
            "ordered_product_sales": "511.36",
            "units_ordered": 18,
            "total_order_items": 16,
            "sessions": 280,
            "page_views": 386,
            "unit_session_percentage": 6.4286,
        },
        "orders": {
            "orders": 9,
            "order_items": 12,
            "units": 18,
            "item_price": "406.37",
            "cancelled_orders": 1,
        },
        "ads": {
            "impressions": 0,
            "clicks": 0,
            "spend": "0.00",
            "sales": "0.00",
            "orders": 0,
            "acos": None,
            "roas": None,
            "tacos": 0.0,  # no spend over 511.36 of sales: defined, and zero
        },
        "settlements": [EXPECTED_SETTLEMENT],
        "inventory": {
            "as_of": "2026-03-11",
            "skus": 6,
            "fulfillable": 629,
            "inbound": 144,
            "reserved": 38,
            "unfulfillable": 6,
        },
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-03-10", "2026-03-10"), ("2026-03-01", "2026-03-31"), ("2026-03-11", "2026-03-12")],
)
def test_sales_are_the_sum_of_the_by_date_totals(
    runtime: Runtime, us_store: Store, start: str, end: str
) -> None:
    assert metrics(runtime, us_store, start, end)["sales"] == expected_sales(start, end)


def test_sales_for_the_fixture_day_are_the_readme_figures(
    runtime: Runtime, us_store: Store
) -> None:
    sales = metrics(runtime, us_store, "2026-03-10", "2026-03-10")["sales"]
    assert sales == {
        "ordered_product_sales": "511.36",
        "units_ordered": 18,
        "total_order_items": 16,
        "sessions": 280,
        "page_views": 386,
        # 18 units / 280 sessions x 100 = 6.428571...: rounded to 4 places, not Amazon's 6.43.
        "unit_session_percentage": 6.4286,
    }


@pytest.mark.parametrize(
    ("start", "end", "figures"),
    [
        # 111-7730418-2290641 was bought at 06:15 UTC on 03-10: 23:15 on 03-09 in Los Angeles.
        ("2026-03-09", "2026-03-10", (9, 12, 18, "406.37", 1)),
        ("2026-03-10", "2026-03-10", (8, 10, 15, "317.40", 1)),
        ("2026-03-09", "2026-03-09", (1, 2, 3, "88.97", 0)),
        ("2026-03-11", "2026-03-31", (0, 0, 0, "0.00", 0)),
    ],
)
def test_orders_count_on_their_local_purchase_date(
    runtime: Runtime, us_store: Store, start: str, end: str, figures: tuple[Any, ...]
) -> None:
    block = metrics(runtime, us_store, start, end)["orders"]

    assert block == expected_orders(start, end, US_CHANNELS)
    assert block == dict(zip(ORDERS_KEYS_IN_ORDER, figures, strict=True))


def test_cad_orders_are_not_in_the_us_marketplace(runtime: Runtime, us_store: Store) -> None:
    block = metrics(runtime, us_store, "2026-03-01", "2026-03-31")["orders"]
    everything = expected_orders("2026-03-01", "2026-03-31", US_CHANNELS | CA_CHANNELS)

    assert block == expected_orders("2026-03-01", "2026-03-31", US_CHANNELS)
    assert everything["item_price"] == "464.36" and block["item_price"] == "406.37"
    assert (everything["orders"], block["orders"]) == (10, 9)


def test_a_cancelled_order_counts_only_as_cancelled(runtime: Runtime, tmp_path: Path) -> None:
    """Amazon leaves a cancelled line at 0 units; give it units and money to see they stay out."""
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    lines = read_tsv("all_orders.tsv")
    for line in lines:
        if line["order-status"] == "Cancelled":
            line.update({"quantity": "2", "item-price": "118.00", "currency": "USD"})
    path = write_tsv(tmp_path / "orders_cancelled_with_units.tsv", lines)
    import_file(runtime.engine, runtime.archive, store, path, now=NOW)

    block = metrics(runtime, store, "2026-03-10", "2026-03-10")["orders"]

    assert block == expected_orders("2026-03-10", "2026-03-10", US_CHANNELS, str(path))
    assert block == {
        "orders": 8,
        "order_items": 10,
        "units": 15,
        "item_price": "317.40",
        "cancelled_orders": 1,
    }


def test_a_store_with_two_currencies_is_one_block_per_marketplace(runtime: Runtime) -> None:
    store = add_store(
        runtime.engine, slug="brewlane_na", name="Brewlane", country_codes=["US", "CA"]
    )
    load_fixtures(runtime, store, ["all_orders.tsv", "sales_and_traffic_2026-03-10.json"])

    with pytest.raises(ConfigError) as raised:
        store_metrics(runtime.engine, store, date(2026, 3, 1), date(2026, 3, 31))
    message = str(raised.value)
    assert "USD" in message and "CAD" in message and "--marketplace" in message
    assert "\n" not in message

    canada = metrics(runtime, store, "2026-03-01", "2026-03-31", "A2EUQ1WTGCTBG2")
    assert canada["currency"] == "CAD"
    assert canada["orders"] == expected_orders("2026-03-01", "2026-03-31", CA_CHANNELS)
    assert canada["orders"]["item_price"] == "57.99" and canada["orders"]["units"] == 1
    assert canada["sales"]["ordered_product_sales"] == "0.00"  # the S&T file is the US one
    assert canada["settlements"] == []  # a USD settlement is not a CAD one

    us = metrics(runtime, store, "2026-03-01", "2026-03-31", "US")  # a country code works too
    assert us["currency"] == "USD"
    assert us["orders"] == expected_orders("2026-03-01", "2026-03-31", US_CHANNELS)
    assert us["sales"] == expected_sales("2026-03-01", "2026-03-31")

    # Every marketplace at once, each in its own currency: what `metrics` prints by default.
    every = marketplace_metrics(runtime.engine, store, date(2026, 3, 1), date(2026, 3, 31))
    assert json.loads(json.dumps(every)) == every
    assert list(every) == ["store", "from", "to", "marketplaces"]
    assert (every["store"], every["from"], every["to"]) == (
        "brewlane_na",
        "2026-03-01",
        "2026-03-31",
    )
    by_country = {block["country_code"]: block for block in every["marketplaces"]}
    assert set(by_country) == {"US", "CA"}
    for block, single in ((by_country["US"], us), (by_country["CA"], canada)):
        assert block == {
            "marketplace_id": "ATVPDKIKX0DER" if block is by_country["US"] else "A2EUQ1WTGCTBG2",
            "country_code": block["country_code"],
            **{key: value for key, value in single.items() if key not in ("store", "from", "to")},
        }


@pytest.mark.parametrize(
    ("start", "end", "included"),
    [
        ("2026-03-19", "2026-03-19", True),
        ("2026-03-01", "2026-03-31", True),
        ("2026-03-18", "2026-03-18", False),
        ("2026-03-20", "2026-03-31", False),
        ("2026-03-03", "2026-03-17", False),  # the settlement period is not the deposit date
    ],
)
def test_settlements_are_those_deposited_in_the_range(
    runtime: Runtime, us_store: Store, start: str, end: str, included: bool
) -> None:
    settlements = metrics(runtime, us_store, start, end)["settlements"]
    assert settlements == ([EXPECTED_SETTLEMENT] if included else [])


def test_a_settlement_that_does_not_add_up_is_not_reconciled(
    runtime: Runtime, tmp_path: Path
) -> None:
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    summary, *details = read_tsv("settlement_v2.tsv")
    details[0]["amount"] = str(Decimal(details[0]["amount"]) + Decimal("1.10"))
    import_file(
        runtime.engine, runtime.archive, store, write_tsv(tmp_path / "s.tsv", [summary, *details])
    )

    (settlement,) = metrics(runtime, store, "2026-03-19", "2026-03-19")["settlements"]

    assert settlement["total_amount"] == "6.45"
    assert settlement["lines_sum"] == "7.55"
    assert settlement["reconciled"] is False


def test_the_deposit_day_does_not_depend_on_the_database_time_zone(
    migrated_database_url: str, tmp_path: Path
) -> None:
    """18:31 UTC on 03-19 is already 03-20 in Tokyo; the deposit date is Amazon's (UTC) one."""
    name = migrated_database_url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET timezone TO 'Asia/Tokyo'").format(sql.Identifier(name))
        )
    dispose_engines()  # new sessions pick up the database's time zone
    runtime = build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path / "d"))
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    load_fixtures(runtime, store, ["settlement_v2.tsv"])

    assert metrics(runtime, store, "2026-03-19", "2026-03-19")["settlements"] == [
        EXPECTED_SETTLEMENT
    ]
    assert metrics(runtime, store, "2026-03-20", "2026-03-20")["settlements"] == []


def test_inventory_is_the_close_of_the_ranges_last_day(runtime: Runtime, tmp_path: Path) -> None:
    """A day's snapshot is its opening stock: a range ending on the 10th closes with the 11th's
    snapshot, as the Inventory page reads it; earlier ends take the latest snapshot before."""
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    earlier = read_tsv("fba_inventory.tsv")[:4]
    for line in earlier:
        for column in ("afn-fulfillable-quantity", "afn-inbound-shipped-quantity"):
            line[column] = str(int(line[column]) + 5)
    path = write_tsv(tmp_path / "fba_inventory_0305.tsv", earlier)
    import_file(
        runtime.engine, runtime.archive, store, path, now=datetime(2026, 3, 5, 20, tzinfo=UTC)
    )
    load_fixtures(runtime, store, ["fba_inventory.tsv"])  # snapshot 2026-03-11

    at_eleven = metrics(runtime, store, "2026-03-01", "2026-03-11")["inventory"]
    later = metrics(runtime, store, "2026-03-01", "2026-03-31")["inventory"]
    at_tenth = metrics(runtime, store, "2026-03-01", "2026-03-10")["inventory"]
    at_ninth = metrics(runtime, store, "2026-03-01", "2026-03-09")["inventory"]
    at_fourth = metrics(runtime, store, "2026-03-04", "2026-03-04")["inventory"]
    before_any = metrics(runtime, store, "2026-03-01", "2026-03-03")["inventory"]

    latest = expected_inventory("fba_inventory.tsv", "2026-03-11")
    assert at_eleven == later == at_tenth == latest
    assert latest == {
        "as_of": "2026-03-11",
        "skus": 6,
        "fulfillable": 629,
        "inbound": 144,
        "reserved": 38,
        "unfulfillable": 6,
    }
    assert at_ninth == at_fourth == expected_inventory(str(path), "2026-03-05")
    # The first four SKUs of the fixture, each with 5 more fulfillable and 5 more inbound units.
    assert at_ninth["skus"] == 4 and at_ninth["fulfillable"] == 629 - 410 + 4 * 5
    assert at_ninth["inbound"] == 144 + 4 * 5
    assert before_any == {
        "as_of": None,
        "skus": None,
        "fulfillable": None,
        "inbound": None,
        "reserved": None,
        "unfulfillable": None,
    }


def test_inventory_is_the_latest_snapshot_days_skus_as_on_the_inventory_page(
    runtime: Runtime, tmp_path: Path
) -> None:
    """A SKU left out of the latest snapshot is not carried forward from an older one: page and
    CLI count the same snapshot day."""
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    lines = read_tsv("fba_inventory.tsv")
    import_file(
        runtime.engine,
        runtime.archive,
        store,
        write_tsv(tmp_path / "fba_inventory_0305.tsv", lines),  # all six SKUs on 03-05
        now=datetime(2026, 3, 5, 20, tzinfo=UTC),
    )
    four = write_tsv(tmp_path / "fba_inventory_0311.tsv", lines[:4])  # four of them on 03-11
    import_file(runtime.engine, runtime.archive, store, four, now=NOW)
    both = metrics(runtime, store, "2026-03-01", "2026-03-31")["inventory"]
    assert both == expected_inventory(str(four), "2026-03-11")
    assert both["skus"] == 4


def test_a_range_without_data_has_every_key_with_zeros_and_unknown_stock(
    runtime: Runtime, us_store: Store
) -> None:
    result = metrics(runtime, us_store, "2026-02-01", "2026-02-28")

    assert result == {
        "store": "brewlane",
        "from": "2026-02-01",
        "to": "2026-02-28",
        "currency": "USD",
        "sales": {
            "ordered_product_sales": "0.00",
            "units_ordered": 0,
            "total_order_items": 0,
            "sessions": 0,
            "page_views": 0,
            "unit_session_percentage": None,
        },
        "orders": {
            "orders": 0,
            "order_items": 0,
            "units": 0,
            "item_price": "0.00",
            "cancelled_orders": 0,
        },
        "ads": {
            "impressions": 0,
            "clicks": 0,
            "spend": "0.00",
            "sales": "0.00",
            "orders": 0,
            "acos": None,
            "roas": None,
            "tacos": None,
        },
        "settlements": [],
        "inventory": {
            "as_of": None,
            "skus": None,
            "fulfillable": None,
            "inbound": None,
            "reserved": None,
            "unfulfillable": None,
        },
    }


def test_a_store_with_no_data_at_all(runtime: Runtime) -> None:
    store = add_store(runtime.engine, slug="empty", name="Empty", country_codes=["US"])
    result = metrics(runtime, store, "2026-03-10", "2026-03-10")
    assert result["sales"]["unit_session_percentage"] is None
    assert result["orders"]["item_price"] == "0.00" and result["settlements"] == []


def test_ratios_round_to_four_places_and_money_to_two() -> None:
    from amzinsight.analytics.metrics import money, ratio

    assert ratio(18, 280, scale=100) == 6.4286
    assert ratio(1, 3) == 0.3333 and ratio(2, 3) == 0.6667
    assert ratio(5, 0) is None and ratio(0, 0) is None and ratio(5, None) is None
    assert ratio(0, 7) == 0.0
    assert money(Decimal("6.445")) == "6.45" and money(None) == "0.00" and money(3) == "3.00"
    assert money(Decimal("-4.95")) == "-4.95"


def test_bad_ranges_and_marketplaces_are_config_errors(runtime: Runtime, us_store: Store) -> None:
    with pytest.raises(ConfigError, match="after"):
        store_metrics(runtime.engine, us_store, date(2026, 3, 11), date(2026, 3, 10))
    with pytest.raises(ConfigError, match="no marketplace 'DE'"):
        store_metrics(runtime.engine, us_store, date(2026, 3, 10), date(2026, 3, 10), "DE")
