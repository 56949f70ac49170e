"""`import_file`: a report file a person downloaded goes through the same pipeline as a sync.

Every fixture is imported with its type detected, into a real PostgreSQL, with the raw file archived
in a moto S3 server over HTTP (and, for the same tests, in the local-folder archive). The totals
are computed here from the fixture files with csv, json and Decimal, never from the parsers.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from amzinsight.config import Settings
from amzinsight.db import tables
from amzinsight.errors import AmzInsightError, ReportParseError
from amzinsight.ingest.archive import LocalArchive, S3Archive
from amzinsight.ingest.imports import import_file
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, add_store

pytestmark = pytest.mark.postgres

FIXTURES = Path(__file__).parents[1] / "fixtures"
FIXTURE_OF = {
    "sales_traffic": "sales_and_traffic_2026-03-10.json",
    "sales_traffic_history": "amazon_files/sales_traffic_kiosk_2026-03-10.jsonl",
    "orders": "all_orders.tsv",
    "finance_transactions": "amazon_files/finances_list_transactions.json",
    "settlement": "settlement_v2.tsv",
    "settlement_flat_file": "amazon_files/settlement_flat_file.tsv",
    "fba_inventory": "fba_inventory.tsv",
    "inventory_summaries": "inventory_summaries.json",
    "listings": "merchant_listings.tsv",
    "catalog": "catalog_items.json",
    "ratings": "product_ratings.csv",
}
US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
NOW = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)
"""13:00 on 2026-03-11 in Los Angeles: the snapshot date of the inventory and listings files."""
SNAPSHOT = date(2026, 3, 11)
BOOKKEEPING = {"sync_runs", "raw_reports"}
DATA_TABLES = [table for table in tables.metadata.sorted_tables if table.name not in BOOKKEEPING]
"""Every table a load may write, stores included (an import bumps the store's data version)."""


# --- runtime, store and reading back -------------------------------------------------------------


def _runtime(database_url: str, data_dir: Path) -> Runtime:
    return build_runtime(Settings(database_url=database_url, data_dir=data_dir))


@pytest.fixture(params=[pytest.param("s3", marks=pytest.mark.s3), "local"])
def runtime(request: pytest.FixtureRequest, migrated_database_url: str, tmp_path: Path) -> Runtime:
    """The same tests on both archives: S3 (moto over HTTP) and the local folder."""
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    built = _runtime(migrated_database_url, tmp_path / "data")
    expected = S3Archive if request.param == "s3" else LocalArchive
    assert isinstance(built.archive, expected)
    return built


@pytest.fixture
def s3_runtime(migrated_database_url: str, s3_bucket: str, tmp_path: Path) -> Runtime:
    built = _runtime(migrated_database_url, tmp_path / "data")
    assert isinstance(built.archive, S3Archive) and built.archive.bucket == s3_bucket
    return built


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Store:
    runtime = request.getfixturevalue(
        "runtime" if "runtime" in request.fixturenames else "s3_runtime"
    )
    return add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])


def fixture_path(key: str) -> Path:
    return FIXTURES / FIXTURE_OF[key]


def rows_of(runtime: Runtime, table: sa.Table) -> list[dict[str, Any]]:
    with runtime.engine.connect() as connection:
        result = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [dict(row) for row in result.mappings()]


def snapshot(runtime: Runtime, skip: set[str] = frozenset()) -> dict[str, list[dict[str, Any]]]:
    """Every data table, whole rows (ids, loaded_at and lineage included)."""
    return {table.name: rows_of(runtime, table) for table in DATA_TABLES if table.name not in skip}


def the_run(runtime: Runtime, run_id: int) -> dict[str, Any]:
    (run,) = [run for run in rows_of(runtime, tables.sync_runs) if run["id"] == run_id]
    return run


def archived_bytes(runtime: Runtime, key: str, tmp_path: Path) -> bytes:
    local = tmp_path / f"archived-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    runtime.archive.download(key, local)
    return local.read_bytes()


def assert_archived_as_received(
    runtime: Runtime, run: dict[str, Any], path: Path, tmp_path: Path
) -> dict[str, Any]:
    """The run's raw_reports row names an object that is the file, byte for byte."""
    content = path.read_bytes()
    (raw,) = [
        row for row in rows_of(runtime, tables.raw_reports) if row["id"] == run["raw_report_id"]
    ]
    assert raw["store_id"] == run["store_id"]
    assert raw["sha256"] == hashlib.sha256(content).hexdigest()
    assert raw["bytes"] == len(content)
    assert list(runtime.archive.keys(raw["archive_key"])) == [raw["archive_key"]]
    stored = archived_bytes(runtime, raw["archive_key"], tmp_path)
    assert stored == content
    assert hashlib.sha256(stored).hexdigest() == raw["sha256"]
    if isinstance(runtime.archive, S3Archive):
        head = runtime.archive.client.head_object(
            Bucket=runtime.archive.bucket, Key=runtime.archive._full(raw["archive_key"])
        )
        assert head["ContentLength"] == len(content)
        assert head["Metadata"]["sha256"] == raw["sha256"]
    return raw


def read_tsv(path: Path, delimiter: str = "\t") -> list[dict[str, str]]:
    """The fixture read independently of the parsers: plain csv, every cell a string."""
    with path.open(encoding="utf-8", newline="") as document:
        return list(csv.DictReader(document, delimiter=delimiter, quoting=csv.QUOTE_NONE))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def money(cell: str) -> Decimal:
    return Decimal(cell) if cell.strip() else Decimal(0)


def total(rows: list[dict[str, Any]], column: str) -> Any:
    return sum((row[column] for row in rows if row[column] is not None), start=0)


# --- expectations, computed from the files ------------------------------------------------------


def check_sales_traffic_history(runtime: Runtime, path: Path) -> None:
    """A Data Kiosk document of one day loads exactly as the same day's report does."""
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    (day,) = [record for record in records if "childAsin" not in record]
    trends = [record for record in records if "childAsin" in record]
    (row,) = rows_of(runtime, tables.sales_traffic_by_date)
    asins = {row["child_asin"]: row for row in rows_of(runtime, tables.sales_traffic_by_asin)}

    assert (row["report_date"], row["marketplace_id"]) == (
        date.fromisoformat(day["startDate"]),
        day["marketplaceId"],
    )
    assert row["ordered_product_sales"] == Decimal(
        str(day["sales"]["orderedProductSales"]["amount"])
    )
    assert (row["units_ordered"], row["sessions"], row["page_views"]) == (
        day["sales"]["unitsOrdered"],
        day["traffic"]["sessions"],
        day["traffic"]["pageViews"],
    )
    assert set(asins) == {record["childAsin"] for record in trends}
    for record in trends:
        stored = asins[record["childAsin"]]
        assert (stored["parent_asin"], stored["sku"]) == (record["parentAsin"], "")
        assert stored["ordered_product_sales"] == Decimal(
            str(record["sales"]["orderedProductSales"]["amount"])
        )
        assert (stored["units_ordered"], stored["sessions"]) == (
            record["sales"]["unitsOrdered"],
            record["traffic"]["sessions"],
        )


def check_sales_traffic(runtime: Runtime, path: Path) -> None:
    document = read_json(path)
    (day,) = document["salesAndTrafficByDate"]
    entries = document["salesAndTrafficByAsin"]
    sales, traffic = day["salesByDate"], day["trafficByDate"]
    (row,) = rows_of(runtime, tables.sales_traffic_by_date)
    asins = rows_of(runtime, tables.sales_traffic_by_asin)

    assert (row["marketplace_id"], row["report_date"], row["currency"]) == (
        US,
        date.fromisoformat(day["date"]),
        sales["orderedProductSales"]["currencyCode"],
    )
    assert row["ordered_product_sales"] == sales["orderedProductSales"]["amount"]
    assert row["ordered_product_sales_b2b"] == sales["orderedProductSalesB2B"]["amount"]
    assert row["units_ordered"] == sales["unitsOrdered"]
    assert row["units_ordered_b2b"] == sales["unitsOrderedB2B"]
    assert row["total_order_items"] == sales["totalOrderItems"]
    assert row["total_order_items_b2b"] == sales["totalOrderItemsB2B"]
    assert row["sessions"] == traffic["sessions"]
    assert row["browser_sessions"] == traffic["browserSessions"]
    assert row["mobile_app_sessions"] == traffic["mobileAppSessions"]
    assert row["sessions_b2b"] == traffic["sessionsB2B"]
    assert row["page_views"] == traffic["pageViews"]
    assert row["browser_page_views"] == traffic["browserPageViews"]
    assert row["mobile_app_page_views"] == traffic["mobileAppPageViews"]
    assert row["page_views_b2b"] == traffic["pageViewsB2B"]
    # The README's figures, which the file must keep.
    assert row["ordered_product_sales"] == Decimal("511.36")
    assert (row["units_ordered"], row["total_order_items"]) == (18, 16)
    assert (row["sessions"], row["browser_sessions"], row["mobile_app_sessions"]) == (280, 104, 176)
    assert (row["page_views"], row["browser_page_views"], row["mobile_app_page_views"]) == (
        386,
        141,
        245,
    )
    assert row["ordered_product_sales_b2b"] == Decimal("57.97")
    assert (row["units_ordered_b2b"], row["total_order_items_b2b"]) == (3, 2)
    assert (row["sessions_b2b"], row["page_views_b2b"]) == (7, 9)

    assert len(asins) == len(entries) == 5
    assert {(a["parent_asin"], a["child_asin"]) for a in asins} == {
        (e["parentAsin"], e["childAsin"]) for e in entries
    }
    assert {a["report_date"] for a in asins} == {date(2026, 3, 10)}
    file_sums = {
        "ordered_product_sales": sum(
            e["salesByAsin"]["orderedProductSales"]["amount"] for e in entries
        ),
        "units_ordered": sum(e["salesByAsin"]["unitsOrdered"] for e in entries),
        "total_order_items": sum(e["salesByAsin"]["totalOrderItems"] for e in entries),
        "sessions": sum(e["trafficByAsin"]["sessions"] for e in entries),
        "page_views": sum(e["trafficByAsin"]["pageViews"] for e in entries),
    }
    for column, file_sum in file_sums.items():
        assert total(asins, column) == file_sum == row[column], column


def check_orders(runtime: Runtime, path: Path) -> None:
    lines = read_tsv(path)
    items = rows_of(runtime, tables.order_items)
    orders = {o["amazon_order_id"]: o for o in rows_of(runtime, tables.orders)}

    assert len(items) == len(lines) == 14
    assert set(orders) == {line["amazon-order-id"] for line in lines}
    assert len(orders) == 11
    # Money per currency; the cancelled line leaves currency empty and takes the marketplace's.
    file_price: Counter[str] = Counter()
    for line in lines:
        if line["item-price"]:
            file_price[line["currency"]] += Decimal(line["item-price"])
    stored_price: Counter[str] = Counter()
    for item in items:
        if item["item_price"] is not None:
            stored_price[item["currency"]] += item["item_price"]
    assert stored_price == file_price == {"USD": Decimal("406.37"), "CAD": Decimal("57.99")}
    assert total(items, "quantity") == sum(int(line["quantity"]) for line in lines) == 19
    for source, column in [
        ("item-tax", "item_tax"),
        ("shipping-price", "shipping_price"),
        ("shipping-tax", "shipping_tax"),
        ("gift-wrap-price", "gift_wrap_price"),
        ("gift-wrap-tax", "gift_wrap_tax"),
        ("item-promotion-discount", "item_promotion_discount"),
        ("ship-promotion-discount", "ship_promotion_discount"),
    ]:
        assert total(items, column) == sum(money(line[source]) for line in lines), column
    for line in lines:
        order = orders[line["amazon-order-id"]]
        assert order["order_status"] == line["order-status"]
        assert order["sales_channel"] == line["sales-channel"]
        assert order["marketplace_id"] == (CA if line["sales-channel"] == "Amazon.ca" else US)
        purchased = datetime.fromisoformat(line["purchase-date"])
        assert order["purchase_date"] == purchased

    assert orders["111-7730418-2290641"]["purchase_local_date"] == date(2026, 3, 9)
    others = {o["purchase_local_date"] for i, o in orders.items() if i != "111-7730418-2290641"}
    assert others == {date(2026, 3, 10)}
    cancelled = [i for i in items if i["amazon_order_id"] == "112-3058817-6641029"]
    assert [(i["quantity"], i["item_price"], i["currency"]) for i in cancelled] == [
        (0, None, "USD")
    ]
    repeated = [i for i in items if i["amazon_order_id"] == "114-8839270-1604452"]
    assert sorted(i["line_no"] for i in repeated) == [1, 2]
    business = orders["114-2267051-9930418"]
    assert business["is_business_order"] is True
    assert business["purchase_order_number"] == "PO-88213"
    (promotion,) = [i for i in items if i["amazon_order_id"] == "114-6604381-4417253"]
    assert promotion["item_promotion_discount"] == Decimal("-1.80")
    assert promotion["ship_promotion_discount"] == Decimal("-5.99")
    mcf = orders["S01-6672019-3348571"]
    assert (mcf["sales_channel"], mcf["marketplace_id"], mcf["merchant_order_id"]) == (
        "Non-Amazon",
        US,
        "ORD-40981",
    )
    pending = orders["113-9921476-1183520"]
    assert (pending["order_status"], pending["fulfillment_channel"]) == ("Pending", "Merchant")
    assert pending["merchant_order_id"] is None
    assert orders["702-5513990-8046217"]["currency"] == "CAD"


def check_settlement_flat_file(runtime: Runtime, path: Path) -> None:
    """Each amount cell of the older layout is one line; they add up to the deposit."""
    summary, *details = read_tsv(path)
    (settlement,) = rows_of(runtime, tables.settlements)
    lines = rows_of(runtime, tables.settlement_lines)
    amounts = [
        Decimal(value)
        for row in details
        for name, value in row.items()
        if name.endswith("-amount") and name != "total-amount" and value.strip()
    ]
    assert settlement["settlement_id"] == summary["settlement-id"] == "27519934021"
    assert settlement["total_amount"] == Decimal(summary["total-amount"]) == sum(amounts)
    assert settlement["lines_total"] == sum(line["amount"] for line in lines) == sum(amounts)
    assert settlement["line_count"] == len(lines) == len(amounts) == 31


def check_settlement(runtime: Runtime, path: Path) -> None:
    summary, *details = read_tsv(path)
    (settlement,) = rows_of(runtime, tables.settlements)
    lines = sorted(rows_of(runtime, tables.settlement_lines), key=lambda line: line["line_no"])

    assert settlement["settlement_id"] == summary["settlement-id"] == "27519934021"
    assert settlement["total_amount"] == Decimal(summary["total-amount"]) == Decimal("6.45")
    assert settlement["lines_total"] == sum(Decimal(d["amount"]) for d in details)
    assert settlement["lines_total"] == settlement["total_amount"]
    assert settlement["line_count"] == len(details) == len(lines) == 30
    assert settlement["currency"] == summary["currency"] == "USD"
    assert settlement["settlement_start"] == datetime(2026, 3, 3, 18, 31, 9, tzinfo=UTC)
    assert settlement["settlement_end"] == datetime(2026, 3, 17, 18, 31, 9, tzinfo=UTC)
    assert settlement["deposit_date"] == datetime(2026, 3, 19, 18, 31, 9, tzinfo=UTC)
    assert [line["line_no"] for line in lines] == list(range(1, 31))
    for line, source in zip(lines, details, strict=True):
        assert line["amount"] == Decimal(source["amount"])
        assert line["transaction_type"] == source["transaction-type"]
        assert line["amount_description"] == source["amount-description"]
        assert line["settlement_id"] == settlement["settlement_id"]
    by_type: Counter[str] = Counter()
    for source in details:
        by_type[source["transaction-type"]] += Decimal(source["amount"])
    stored_by_type: Counter[str] = Counter()
    for line in lines:
        stored_by_type[line["transaction_type"]] += line["amount"]
    assert stored_by_type == by_type
    assert by_type == {
        "Order": Decimal("95.34"),
        "Refund": Decimal("-35.19"),
        "ServiceFee": Decimal("-48.75"),
        "other-transaction": Decimal("-4.95"),
    }


INVENTORY_TOTALS = {
    "fulfillable_quantity": 629,
    "unfulfillable_quantity": 6,
    "reserved_quantity": 38,
    "warehouse_quantity": 673,
    "total_quantity": 817,
}


def check_inventory_rows(rows: list[dict[str, Any]], expected: dict[str, dict[str, int]]) -> None:
    """expected: per SKU, column -> quantity, read from the file."""
    assert {row["sku"] for row in rows} == set(expected)
    assert {(row["marketplace_id"], row["snapshot_date"]) for row in rows} == {(US, SNAPSHOT)}
    for row in rows:
        for column, quantity in expected[row["sku"]].items():
            assert row[column] == quantity, (row["sku"], column)
    for column, quantity in INVENTORY_TOTALS.items():
        assert total(rows, column) == sum(e[column] for e in expected.values()) == quantity
    inbound = sum(
        row["inbound_working_quantity"]
        + row["inbound_shipped_quantity"]
        + row["inbound_receiving_quantity"]
        for row in rows
    )
    assert inbound == 144


def check_fba_inventory(runtime: Runtime, path: Path) -> None:
    lines = read_tsv(path)
    assert len(lines) == 6
    expected = {
        line["sku"]: {
            "fulfillable_quantity": int(line["afn-fulfillable-quantity"]),
            "unfulfillable_quantity": int(line["afn-unsellable-quantity"]),
            "reserved_quantity": int(line["afn-reserved-quantity"]),
            "warehouse_quantity": int(line["afn-warehouse-quantity"]),
            "total_quantity": int(line["afn-total-quantity"]),
            "inbound_working_quantity": int(line["afn-inbound-working-quantity"]),
            "inbound_shipped_quantity": int(line["afn-inbound-shipped-quantity"]),
            "inbound_receiving_quantity": int(line["afn-inbound-receiving-quantity"]),
        }
        for line in lines
    }
    rows = rows_of(runtime, tables.inventory_snapshots)
    check_inventory_rows(rows, expected)
    assert {row["sku"]: row["your_price"] for row in rows} == {
        line["sku"]: Decimal(line["your-price"]) for line in lines
    }


def check_inventory_summaries(runtime: Runtime, path: Path) -> None:
    document = read_json(path)
    assert date.fromisoformat(document["snapshotDate"]) == SNAPSHOT
    expected = {}
    for summary in document["inventorySummaries"]:
        details = summary["inventoryDetails"]
        fulfillable = details["fulfillableQuantity"]
        unfulfillable = details["unfulfillableQuantity"]["totalUnfulfillableQuantity"]
        reserved = details["reservedQuantity"]["totalReservedQuantity"]
        expected[summary["sellerSku"]] = {
            "fulfillable_quantity": fulfillable,
            "unfulfillable_quantity": unfulfillable,
            "reserved_quantity": reserved,
            # The API has no warehouse figure; the report's is fulfillable + unsellable + reserved.
            "warehouse_quantity": fulfillable + unfulfillable + reserved,
            "total_quantity": summary["totalQuantity"],
            "inbound_working_quantity": details["inboundWorkingQuantity"],
            "inbound_shipped_quantity": details["inboundShippedQuantity"],
            "inbound_receiving_quantity": details["inboundReceivingQuantity"],
        }
    assert len(expected) == 6
    check_inventory_rows(rows_of(runtime, tables.inventory_snapshots), expected)


def check_listings(runtime: Runtime, path: Path) -> None:
    lines = {line["seller-sku"]: line for line in read_tsv(path)}
    rows = {row["sku"]: row for row in rows_of(runtime, tables.listings)}

    assert set(rows) == set(lines) and len(rows) == 7
    for sku, row in rows.items():
        line = lines[sku]
        assert row["marketplace_id"] == US and row["currency"] == "USD"
        assert row["item_name"] == line["item-name"]
        assert row["price"] == Decimal(line["price"])
        assert row["quantity"] == (int(line["quantity"]) if line["quantity"] else None)
        assert row["fulfillment_channel"] == line["fulfillment-channel"]
        assert row["status"] == line["status"]
        assert row["asin"] == line["asin1"]
    channels = Counter(row["fulfillment_channel"] for row in rows.values())
    assert channels == {"AMAZON_NA": 5, "DEFAULT": 2}
    assert all(
        r["quantity"] is None for r in rows.values() if r["fulfillment_channel"] != "DEFAULT"
    )
    assert Counter(row["status"] for row in rows.values()) == {"Active": 6, "Inactive": 1}
    assert rows["BL-FILTER-100-MF"]["quantity"] == 140
    assert "Größe 02 — 100 Stück" in rows["BL-FILTER-100-MF"]["item_name"]
    assert (rows["BL-SCALE-01"]["status"], rows["BL-SCALE-01"]["quantity"]) == ("Inactive", 0)
    assert total(list(rows.values()), "price") == sum(
        Decimal(line["price"]) for line in lines.values()
    )


def check_catalog(runtime: Runtime, path: Path) -> None:
    document = read_json(path)
    rows = {row["asin"]: row for row in rows_of(runtime, tables.catalog_items)}

    def us_entry(section: list[dict[str, Any]] | None) -> dict[str, Any]:
        return next((e for e in section or [] if e.get("marketplaceId") == US), {})

    expected_prices: dict[str, Decimal] = {}
    for item in document["items"]:
        prices = [
            entry
            for entry in (item.get("attributes") or {}).get("list_price") or []
            if entry.get("marketplace_id") in (None, US)
        ]
        if prices:
            expected_prices[item["asin"]] = prices[0]["value"]
    assert set(rows) == {item["asin"] for item in document["items"]} and len(rows) == 8
    for item in document["items"]:
        row = rows[item["asin"]]
        assert row["marketplace_id"] == US
        assert row["item_classification"] == us_entry(item["summaries"])["itemClassification"]
        assert row["list_price"] == expected_prices.get(item["asin"])
    classes = Counter(row["item_classification"] for row in rows.values())
    assert classes == {"VARIATION_PARENT": 2, "BASE_PRODUCT": 6}
    assert sum(1 for row in rows.values() if row["parent_asin"]) == 4
    assert total(list(rows.values()), "list_price") == sum(expected_prices.values())
    assert sum(expected_prices.values()) == Decimal("210.42")
    # The Canada entries of B0FTK2M3L8 are ignored.
    assert (rows["B0FTK2M3L8"]["list_price"], rows["B0FTK2M3L8"]["currency"]) == (
        Decimal("39.99"),
        "USD",
    )
    ranked = rows["B0FTK3N1C5"]
    assert (ranked["sales_rank"], ranked["sales_rank_category"]) == (41, "Manual Coffee Grinders")


def check_ratings(runtime: Runtime, path: Path) -> None:
    lines = read_tsv(path, ",")
    rows = rows_of(runtime, tables.product_ratings)

    assert len(rows) == len(lines) == 10
    stored = {(r["asin"], r["snapshot_date"]): (r["rating"], r["review_count"]) for r in rows}
    assert stored == {
        (line["asin"], date.fromisoformat(line["date"])): (
            Decimal(line["rating"]),
            int(line["review_count"]),
        )
        for line in lines
    }
    assert {r["marketplace_id"] for r in rows} == {US}
    reviews: Counter[date] = Counter()
    for row in rows:
        reviews[row["snapshot_date"]] += row["review_count"]
    assert reviews == {date(2026, 3, 10): 8627, date(2026, 3, 11): 8648}


def check_finance_transactions(runtime: Runtime, path: Path) -> None:
    transactions = read_json(path)["transactions"]
    heads = {row["transaction_id"]: row for row in rows_of(runtime, tables.finance_transactions)}
    lines = rows_of(runtime, tables.finance_transaction_lines)

    assert set(heads) == {t["transactionId"] for t in transactions} and len(heads) == 4
    for transaction in transactions:
        head = heads[transaction["transactionId"]]
        amount = transaction["totalAmount"]
        assert (head["total_amount"], head["currency"]) == (
            Decimal(str(amount["currencyAmount"])),
            amount["currencyCode"],
        )
        own = [line for line in lines if line["transaction_id"] == transaction["transactionId"]]
        assert total(own, "amount") == head["total_amount"]  # every amount adds up to Amazon's
    assert {row["status"] for row in heads.values()} == {"RELEASED", "DEFERRED"}
    assert len(lines) == 12  # SEK shipment 7 charges, deferred one 3, fee and reimbursement 1


CHECKS: dict[str, Callable[[Runtime, Path], None]] = {
    "sales_traffic": check_sales_traffic,
    "sales_traffic_history": check_sales_traffic_history,
    "orders": check_orders,
    "settlement": check_settlement,
    "settlement_flat_file": check_settlement_flat_file,
    "fba_inventory": check_fba_inventory,
    "inventory_summaries": check_inventory_summaries,
    "listings": check_listings,
    "catalog": check_catalog,
    "ratings": check_ratings,
    "finance_transactions": check_finance_transactions,
}
TABLES_OF = {
    "sales_traffic": ("sales_traffic_by_date", "sales_traffic_by_asin"),
    "sales_traffic_history": ("sales_traffic_by_date", "sales_traffic_by_asin"),
    "orders": ("orders", "order_items"),
    "settlement": ("settlements", "settlement_lines"),
    "settlement_flat_file": ("settlements", "settlement_lines"),
    "fba_inventory": ("inventory_snapshots",),
    "inventory_summaries": ("inventory_snapshots",),
    "listings": ("listings",),
    "catalog": ("catalog_items",),
    "ratings": ("product_ratings",),
    "finance_transactions": ("finance_transactions", "finance_transaction_lines"),
}


def test_every_report_type_has_a_fixture_and_a_check() -> None:
    from amzinsight.ingest.sync import is_ads
    from amzinsight.reports import REPORTS

    # Amazon Ads reports are imported per profile: test_ads_sync.py (API documents) and
    # test_ads_console*.py (console exports) cover them.
    seller_reports = {
        key for key, spec in REPORTS.items() if not is_ads(spec) and not spec.ads_profile
    }
    assert seller_reports == set(FIXTURE_OF) == set(CHECKS) == set(TABLES_OF)
    assert all(fixture_path(key).is_file() for key in FIXTURE_OF)


# --- every fixture through import ---------------------------------------------------------------


@pytest.mark.parametrize("key", list(FIXTURE_OF))
def test_each_fixture_imports_with_its_type_detected(
    runtime: Runtime, store: Store, key: str, tmp_path: Path
) -> None:
    path = fixture_path(key)

    outcome = import_file(runtime.engine, runtime.archive, store, path, now=NOW)

    written = {name: rows_of(runtime, tables.metadata.tables[name]) for name in TABLES_OF[key]}
    loaded = sum(len(rows) for rows in written.values())
    assert outcome.status == "succeeded" and outcome.error is None
    assert loaded > 0 and outcome.rows_parsed == loaded and outcome.rows_upserted == loaded
    run = the_run(runtime, outcome.run_id)
    assert run["report_type"] == key  # detected from the file: no --type was given
    assert (run["source"], run["status"], run["triggered_by"]) == ("upload", "succeeded", "import")
    assert (run["rows_parsed"], run["rows_upserted"]) == (loaded, loaded)
    assert run["error"] is None and run["finished_at"] is not None
    assert run["store_id"] == store.id
    raw = assert_archived_as_received(runtime, run, path, tmp_path)
    assert raw["archive_key"] == outcome.archive_key
    assert raw["archive_key"].startswith(f"{store.slug}/{key}/")
    assert (raw["report_type"], raw["compression"]) == (key, None)
    for rows in written.values():
        assert {(row["store_id"], row["sync_run_id"]) for row in rows} == {(store.id, run["id"])}
    # Nothing else was written.
    others = snapshot(runtime, skip={"stores", "marketplaces", *TABLES_OF[key]})
    assert all(rows == [] for rows in others.values()), others
    CHECKS[key](runtime, path)


@pytest.mark.s3
@pytest.mark.parametrize("key", list(FIXTURE_OF))
def test_the_same_file_imported_twice_leaves_identical_rows(
    s3_runtime: Runtime, store: Store, key: str
) -> None:
    runtime = s3_runtime
    path = fixture_path(key)
    first = import_file(runtime.engine, runtime.archive, store, path, now=NOW)
    before = snapshot(runtime, skip={"stores"})

    second = import_file(runtime.engine, runtime.archive, store, path, now=NOW)

    assert second.status == "succeeded" and second.run_id != first.run_id
    assert second.rows_parsed == first.rows_parsed > 0
    assert first.rows_upserted == first.rows_parsed and second.rows_upserted == 0
    assert snapshot(runtime, skip={"stores"}) == before
    runs = rows_of(runtime, tables.sync_runs)
    assert [(r["status"], r["rows_upserted"]) for r in runs] == [
        ("succeeded", first.rows_parsed),
        ("succeeded", 0),
    ]
    # The same bytes land on the same archive key: one raw_reports row, one object.
    assert second.archive_key == first.archive_key
    (raw,) = rows_of(runtime, tables.raw_reports)
    assert {r["raw_report_id"] for r in runs} == {raw["id"]}
    assert list(runtime.archive.keys(f"{store.slug}/")) == [raw["archive_key"]]


def _comparable(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, str], ...]]:
    """Rows without what differs between two loads of the same data (ids, store, run, time)."""
    skip = {"id", "store_id", "sync_run_id", "loaded_at", "fetched_at"}
    return sorted(
        tuple(sorted((name, repr(value)) for name, value in row.items() if name not in skip))
        for row in rows
    )


@pytest.mark.s3
@pytest.mark.parametrize("key", list(FIXTURE_OF))
def test_a_gzipped_file_imports_the_same_rows(
    s3_runtime: Runtime, key: str, tmp_path: Path
) -> None:
    runtime = s3_runtime
    plain_store = add_store(runtime.engine, slug="plain", name="Plain", country_codes=["US"])
    gz_store = add_store(runtime.engine, slug="zipped", name="Zipped", country_codes=["US"])
    plain = fixture_path(key)
    packed = tmp_path / f"{plain.name}.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))

    from_plain = import_file(runtime.engine, runtime.archive, plain_store, plain, now=NOW)
    from_gzip = import_file(runtime.engine, runtime.archive, gz_store, packed, now=NOW)

    assert from_gzip.status == "succeeded"
    assert (from_gzip.rows_parsed, from_gzip.rows_upserted) == (
        from_plain.rows_parsed,
        from_plain.rows_upserted,
    )
    for name in TABLES_OF[key]:
        rows = rows_of(runtime, tables.metadata.tables[name])
        mine = [r for r in rows if r["store_id"] == gz_store.id]
        theirs = [r for r in rows if r["store_id"] == plain_store.id]
        assert mine and _comparable(mine) == _comparable(theirs), name
    run = the_run(runtime, from_gzip.run_id)
    assert run["report_type"] == key
    raw = assert_archived_as_received(runtime, run, packed, tmp_path)
    assert raw["compression"] == "GZIP" and raw["archive_key"].endswith(".gz")


# --- bad input ----------------------------------------------------------------------------------


def _truncated_gzip(tmp_path: Path) -> Path:
    packed = gzip.compress(fixture_path("orders").read_bytes(), mtime=0)
    path = tmp_path / "all_orders.tsv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    return path


def _settlement_as_orders(tmp_path: Path) -> Path:
    path = tmp_path / "settlement.tsv"
    path.write_bytes(fixture_path("settlement").read_bytes())
    return path


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.tsv"
    path.write_bytes(b"")
    return path


def _garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.bin"
    path.write_bytes(b"\x89\xfe" + random.Random(7).randbytes(4094))
    return path


def _unknown_text(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("date\tnote\n2026-03-10\tcall the supplier\n", encoding="utf-8")
    return path


def _carriage_returns_only(tmp_path: Path) -> Path:
    """A CSV saved with classic Mac line ends: one "line" full of bare \r for csv to choke on."""
    path = tmp_path / "ratings_mac.csv"
    path.write_bytes(fixture_path("ratings").read_bytes().replace(b"\n", b"\r"))
    return path


BAD_INPUTS = {
    "truncated gzip": (_truncated_gzip, None, r"gzip.*truncated"),
    "wrong --type": (_settlement_as_orders, "orders", r"missing column 'amazon-order-id'"),
    "empty file": (_empty, None, r"empty"),
    "garbage bytes": (_garbage, None, r"not valid UTF-8"),
    "unknown report": (_unknown_text, None, r"not a report type AmzInsight knows.*--type"),
    "bare CRs": (_carriage_returns_only, None, r"not a report type AmzInsight knows.*--type"),
    "bare CRs as ratings": (_carriage_returns_only, "ratings", r"missing column 'asin'"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_clearly_changes_nothing_and_keeps_the_file(
    runtime: Runtime, store: Store, case: str, tmp_path: Path
) -> None:
    for key in ("orders", "settlement", "fba_inventory"):
        import_file(runtime.engine, runtime.archive, store, fixture_path(key), now=NOW)
    before = snapshot(runtime)
    runs_before = rows_of(runtime, tables.sync_runs)
    make, report_key, message = BAD_INPUTS[case]
    path = make(tmp_path)

    with pytest.raises(AmzInsightError, match=message) as raised:
        import_file(runtime.engine, runtime.archive, store, path, report_key, now=NOW)

    error = str(raised.value)
    assert isinstance(raised.value, ReportParseError)
    assert error.strip() == error and "\n" not in error and 10 < len(error) < 400
    assert "Traceback" not in error and "Error:" not in error
    assert snapshot(runtime) == before  # data tables, and the store's data version
    runs = rows_of(runtime, tables.sync_runs)
    assert runs[: len(runs_before)] == runs_before
    (run,) = runs[len(runs_before) :]
    assert (run["source"], run["status"], run["error"]) == ("upload", "failed", error)
    assert run["report_type"] == (report_key or "unrecognised")
    assert run["rows_upserted"] is None and run["finished_at"] is not None
    assert run["raw_report_id"] is not None
    assert_archived_as_received(runtime, run, path, tmp_path)


def test_a_file_that_is_not_there_is_a_clear_error(runtime: Runtime, store: Store) -> None:
    with pytest.raises(AmzInsightError, match=r"missing\.tsv is not a file"):
        import_file(runtime.engine, runtime.archive, store, Path("/nowhere/missing.tsv"))
    assert rows_of(runtime, tables.sync_runs) == []


def test_a_value_the_table_cannot_hold_fails_the_run_and_rolls_back_every_table(
    s3_runtime: Runtime, store: Store, tmp_path: Path
) -> None:
    """orders is written before order_items: a bad quantity must undo both, with a clear error."""
    runtime = s3_runtime
    lines = read_tsv(fixture_path("orders"))
    lines[-1]["quantity"] = "99999999999"  # beyond PostgreSQL's integer
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=list(lines[0]),
        delimiter="\t",
        lineterminator="\n",
        quoting=csv.QUOTE_NONE,
    )
    writer.writeheader()
    writer.writerows(lines)
    path = tmp_path / "orders.tsv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    before = snapshot(runtime)

    with pytest.raises(AmzInsightError, match="99999999999") as raised:
        import_file(runtime.engine, runtime.archive, store, path, now=NOW)

    assert "\n" not in str(raised.value) and "order_items" in str(raised.value)
    assert snapshot(runtime) == before
    (run,) = rows_of(runtime, tables.sync_runs)
    assert (run["status"], run["error"]) == ("failed", str(raised.value))
    assert_archived_as_received(runtime, run, path, tmp_path)


# --- buyer details never reach the database -----------------------------------------------------

PLANTED = {
    "buyer-email": "zq7pii.buyer@marketplace.amazon.com",
    "buyer-name": "Zelda Quintrell",
    "buyer-phone-number": "+1 206-555-0199",
    "recipient-name": "Quintrell Recipient",
    "ship-address-1": "4417 Hiddenvale Terrace",
    "ship-address-2": "Suite Zq7",
    "ship-address-3": "c/o Quintrell Holdings",
    "bill-address-1": "88 Billingvale Road",
}


def tables_containing(runtime: Runtime, needle: str) -> list[str]:
    """Every table (of every kind, bookkeeping included) with a row whose text holds needle."""
    with runtime.engine.connect() as connection:
        names = connection.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ).scalars()
        return [
            name
            for name in names
            if connection.execute(
                sa.select(sa.func.count())
                .select_from(sa.table(name).alias("t"))
                .where(sa.literal_column("t::text").ilike(f"%{needle}%"))
            ).scalar_one()
        ]


@pytest.mark.s3
def test_buyer_details_in_an_orders_file_never_reach_the_database(
    s3_runtime: Runtime, store: Store, tmp_path: Path
) -> None:
    runtime = s3_runtime
    lines = read_tsv(fixture_path("orders"))
    for line in lines:
        line.update(PLANTED)
    columns = list(lines[0])
    path = tmp_path / "orders_with_buyers.tsv"
    path.write_text(
        "\n".join(["\t".join(columns)] + ["\t".join(line[c] for c in columns) for line in lines])
        + "\n",
        encoding="utf-8",
    )

    outcome = import_file(runtime.engine, runtime.archive, store, path, now=NOW)

    assert outcome.status == "succeeded" and outcome.rows_parsed == 25
    # The search finds what was meant to be kept, so an empty answer below means something.
    assert "orders" in tables_containing(runtime, "SEATTLE")
    assert "order_items" in tables_containing(runtime, "Gooseneck Pour-Over Kettle")
    for column, value in PLANTED.items():
        assert tables_containing(runtime, value) == [], column
    with runtime.engine.connect() as connection:
        for table in tables.metadata.sorted_tables:
            for column in table.columns:
                assert not any(word in column.name for word in ("buyer", "recipient", "address"))
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(tables.orders)).scalar() == 11
        )
    # Only the raw archive keeps the file as received (it is the evidence of what Amazon sent).
    run = the_run(runtime, outcome.run_id)
    assert_archived_as_received(runtime, run, path, tmp_path)
