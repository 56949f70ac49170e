"""Report parsers against the project's own fixture files (tests/fixtures/README.md lists their
totals): one contract test over every registered report, totals checked against the raw text,
and the malformed documents a user can meet.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from amzinsight.errors import ConfigError, ReportParseError
from amzinsight.reports import REPORTS, detect_report, get_report
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec
from amzinsight.reports.flatfile import ROW, Field, local_date, money, parse_values, timestamp

FIXTURES = Path(__file__).parents[1] / "fixtures"
FIXTURE_OF = {
    "sales_traffic": "sales_and_traffic_2026-03-10.json",
    "sales_traffic_history": "amazon_files/sales_traffic_kiosk_2026-03-10.jsonl",
    "orders": "all_orders.tsv",
    "settlement": "settlement_v2.tsv",
    "settlement_flat_file": "amazon_files/settlement_flat_file.tsv",
    "fba_inventory": "fba_inventory.tsv",
    "inventory_summaries": "inventory_summaries.json",
    "listings": "merchant_listings.tsv",
    "catalog": "catalog_items.json",
    "ratings": "product_ratings.csv",
    "finance_transactions": "amazon_files/finances_list_transactions.json",
    "sp_entities": "ads_sp_entities.json",  # Amazon Ads daily reports: tests/test_reports_ads.py
}
TSV_KEYS = [key for key, name in FIXTURE_OF.items() if name.endswith((".tsv", ".csv"))]
US = "ATVPDKIKX0DER"
CONTEXT = ParseContext(
    marketplace_id=US,
    currency="USD",
    time_zone="America/Los_Angeles",
    data_start=date(2026, 3, 10),
    data_end=date(2026, 3, 10),
    snapshot_date=date(2026, 3, 11),
)
PIPELINE_COLUMNS = {"id", "store_id", "sync_run_id", "loaded_at"}


def parsed(key: str, path: Path | None = None, context: ParseContext = CONTEXT) -> ParsedReport:
    return REPORTS[key].parse(path or FIXTURES / FIXTURE_OF[key], context)


def frame_of(report: ParsedReport, table_name: str) -> pl.DataFrame:
    (rows,) = [rows for rows in report.tables if rows.table.name == table_name]
    return rows.frame


def raw_rows(name: str, delimiter: str = "\t") -> list[dict[str, str]]:
    """The fixture read independently of the parsers: plain csv, every cell a string."""
    with (FIXTURES / name).open(encoding="utf-8", newline="") as document:
        return list(csv.DictReader(document, delimiter=delimiter, quoting=csv.QUOTE_NONE))


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def tsv(rows: list[dict[str, str]], columns: list[str]) -> str:
    lines = ["\t".join(columns)] + ["\t".join(row.get(c, "") for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def allowed_dtypes(column: sa.Column) -> tuple[pl.DataType, ...]:
    """The polars types a frame may use for a table column (JSONB travels as JSON text)."""
    kind = column.type
    if isinstance(kind, sa.Numeric):
        return (pl.Decimal(38, kind.scale or 0),)
    if isinstance(kind, sa.DateTime):
        return (pl.Datetime("us", "UTC"),)
    if isinstance(kind, sa.Date):
        return (pl.Date(),)
    if isinstance(kind, sa.Boolean):
        return (pl.Boolean(),)
    if isinstance(kind, sa.Integer):
        return (pl.Int32(), pl.Int64())
    return (pl.String(),)


# --- the contract every registered report keeps -------------------------------------------------


def test_every_registered_report_has_a_fixture() -> None:
    # Amazon Ads documents (API reports, console exports): tests/unit/test_reports_ads.py.
    seller = {
        k for k, spec in REPORTS.items() if spec.acquisition != "ads" and not spec.ads_profile
    }
    assert seller == set(FIXTURE_OF)
    assert all(spec.key == key for key, spec in REPORTS.items())


@pytest.mark.parametrize("key", sorted(FIXTURE_OF))
def test_contract(key: str) -> None:
    report = parsed(key)
    assert report.tables and report.rows > 0
    for rows in report.tables:
        table_columns = {column.name: column for column in rows.table.columns}
        frame = rows.frame
        assert set(frame.columns) <= set(table_columns), set(frame.columns) - set(table_columns)
        assert not PIPELINE_COLUMNS & set(frame.columns)
        natural_key = next(
            constraint
            for constraint in rows.table.constraints
            if isinstance(constraint, sa.UniqueConstraint) and "store_id" in constraint.columns
        )
        assert rows.key == tuple(c.name for c in natural_key.columns if c.name != "store_id")
        assert frame.select(pl.col(rows.key).null_count()).sum_horizontal().item() == 0
        assert not frame.select(pl.struct(rows.key).is_duplicated().any()).item()
        for name, dtype in frame.schema.items():
            assert not dtype.is_float(), f"{rows.table.name}.{name} is a float"
            allowed = allowed_dtypes(table_columns[name])
            assert dtype in allowed, f"{rows.table.name}.{name}: {dtype}, not one of {allowed}"


@pytest.mark.parametrize("key", sorted(FIXTURE_OF))
def test_detect_knows_its_own_document_and_no_other(key: str) -> None:
    spec = REPORTS[key]
    for other_key, name in FIXTURE_OF.items():
        head = (FIXTURES / name).read_bytes()[: 64 * 1024]
        assert spec.detect(head) is (other_key == key), (key, name)
    assert detect_report((FIXTURES / FIXTURE_OF[key]).read_bytes()) is spec


def test_specs_say_how_each_report_is_fetched() -> None:
    def shape(spec: ReportSpec) -> tuple[object, ...]:
        return (spec.acquisition, spec.window, spec.extension, spec.lookback_days)

    assert shape(REPORTS["sales_traffic"]) == ("create", "day", "json", 3)
    assert REPORTS["sales_traffic"].max_window_days == 1
    assert REPORTS["sales_traffic"].report_options == {
        "dateGranularity": "DAY",
        "asinGranularity": "CHILD",
    }
    assert shape(REPORTS["orders"]) == ("create", "range", "tsv", 3)
    assert REPORTS["orders"].max_window_days == 30
    assert shape(REPORTS["settlement"]) == ("list", "none", "tsv", 0)
    assert REPORTS["settlement"].max_window_days == 0
    assert shape(REPORTS["settlement_flat_file"]) == ("file", "none", "tsv", 0)
    assert shape(REPORTS["fba_inventory"]) == ("create", "snapshot", "tsv", 0)
    assert shape(REPORTS["inventory_summaries"]) == ("api", "snapshot", "json", 0)
    assert shape(REPORTS["listings"]) == ("create", "snapshot", "tsv", 0)
    assert shape(REPORTS["catalog"]) == ("api", "snapshot", "json", 0)
    assert shape(REPORTS["ratings"]) == ("file", "none", "csv", 0)
    for key in ("inventory_summaries", "catalog", "ratings"):
        assert REPORTS[key].amazon_report_type is None
    assert REPORTS["inventory_summaries"].api_operation == "getInventorySummaries"
    assert REPORTS["catalog"].api_operation == "getCatalogItem"
    region_wide = {key for key, spec in REPORTS.items() if not spec.per_marketplace}
    assert region_wide == {"orders", "settlement", "settlement_flat_file", "finance_transactions"}
    assert shape(REPORTS["finance_transactions"]) == ("api", "range", "json", 14)
    assert REPORTS["finance_transactions"].max_window_days == 30  # Amazon allows up to 180


def test_get_report_names_the_known_keys() -> None:
    assert get_report("orders") is REPORTS["orders"]
    with pytest.raises(
        ConfigError, match="use one of sales_traffic, sales_traffic_history, orders"
    ):
        get_report("returns")


def test_detect_report_refuses_unknown_and_empty_documents() -> None:
    with pytest.raises(ReportParseError, match="not a report type AmzInsight knows"):
        detect_report(b"date\tcampaign\tclicks\n2026-03-10\tSP exact\t4\n")
    with pytest.raises(ReportParseError, match="empty"):
        detect_report(b"")


# --- totals, checked against the files themselves -----------------------------------------------


def test_settlement_lines_add_up_to_the_deposit() -> None:
    rows = raw_rows("settlement_v2.tsv")
    summary, details = rows[0], rows[1:]
    amounts = sum(Decimal(row["amount"]) for row in details)
    report = parsed("settlement")
    settlement = frame_of(report, "settlements").row(0, named=True)
    lines = frame_of(report, "settlement_lines")

    assert settlement["total_amount"] == Decimal(summary["total-amount"]) == amounts
    assert settlement["lines_total"] == amounts == Decimal("6.45")
    assert settlement["line_count"] == lines.height == len(details) == 30
    assert settlement["settlement_id"] == "27519934021"
    assert settlement["deposit_date"] == datetime.fromisoformat("2026-03-19T18:31:09+00:00")
    assert settlement["marketplace_name"] == "Amazon.com"
    assert lines["line_no"].to_list() == list(range(1, 31))
    assert lines["currency"].unique().to_list() == ["USD"]
    by_type = {
        row["transaction_type"]: row["amount"]
        for row in lines.group_by("transaction_type").agg(pl.col("amount").sum()).to_dicts()
    }
    assert by_type == {
        "Order": Decimal("95.34"),
        "Refund": Decimal("-35.19"),
        "ServiceFee": Decimal("-48.75"),
        "other-transaction": Decimal("-4.95"),
    }
    first = lines.row(0, named=True)
    assert first["posted_date"] == date(2026, 3, 11)
    assert first["posted_at"] == datetime.fromisoformat("2026-03-11T04:12:55+00:00")
    assert first["quantity_purchased"] == 1


def test_orders_match_the_file() -> None:
    rows = raw_rows("all_orders.tsv")
    report = parsed("orders")
    orders = frame_of(report, "orders")
    items = frame_of(report, "order_items")

    assert orders.height == len({row["amazon-order-id"] for row in rows}) == 11
    assert items.height == len(rows) == 14
    item_price_by_currency: dict[str, Decimal] = {}
    for row in rows:
        if row["item-price"]:
            price = Decimal(row["item-price"])
            item_price_by_currency[row["currency"]] = (
                item_price_by_currency.get(row["currency"], Decimal(0)) + price
            )
    parsed_by_currency = {
        row["currency"]: row["item_price"]
        for row in items.group_by("currency").agg(pl.col("item_price").sum()).to_dicts()
    }
    assert parsed_by_currency == item_price_by_currency
    assert parsed_by_currency == {"USD": Decimal("406.37"), "CAD": Decimal("57.99")}
    assert items["quantity"].sum() == sum(int(row["quantity"]) for row in rows) == 19


def test_orders_values_by_case() -> None:
    report = parsed("orders")
    orders = {row["amazon_order_id"]: row for row in frame_of(report, "orders").to_dicts()}
    items = frame_of(report, "order_items")

    cancelled = items.filter(pl.col("amazon_order_id") == "112-3058817-6641029").row(0, named=True)
    assert cancelled["quantity"] == 0
    assert cancelled["item_price"] is None and cancelled["item_tax"] is None
    assert cancelled["currency"] == "USD"  # the marketplace's, as the line has none
    assert orders["112-3058817-6641029"]["order_status"] == "Cancelled"

    canada = orders["702-5513990-8046217"]
    assert (canada["marketplace_id"], canada["currency"]) == ("A2EUQ1WTGCTBG2", "CAD")
    assert orders["S01-6672019-3348571"]["marketplace_id"] == US  # Non-Amazon: the store's
    assert orders["113-9921476-1183520"]["order_status"] == "Pending"
    assert orders["113-9921476-1183520"]["merchant_order_id"] is None

    late_evening = orders["111-7730418-2290641"]
    assert late_evening["purchase_date"] == datetime.fromisoformat("2026-03-10T06:15:33+00:00")
    assert late_evening["purchase_local_date"] == date(2026, 3, 9)  # Los Angeles

    business = orders["114-2267051-9930418"]
    assert business["is_business_order"] is True
    assert business["purchase_order_number"] == "PO-88213"

    promotion = items.filter(pl.col("amazon_order_id") == "114-6604381-4417253").row(0, named=True)
    assert promotion["item_promotion_discount"] == Decimal("-1.80")
    assert promotion["ship_promotion_discount"] == Decimal("-5.99")
    assert promotion["promotion_ids"] == "BL-FILTERS-10PCT,Core Free Shipping Promotion 2026"

    repeated = items.filter(pl.col("amazon_order_id") == "114-8839270-1604452")
    assert repeated["line_no"].to_list() == [1, 2]
    assert repeated["item_promotion_discount"].to_list() == [None, Decimal("-0.90")]


def test_sales_and_traffic_by_date_equals_the_sum_of_asins() -> None:
    report = parsed("sales_traffic")
    by_date = frame_of(report, "sales_traffic_by_date")
    by_asin = frame_of(report, "sales_traffic_by_asin")
    document = json.loads((FIXTURES / FIXTURE_OF["sales_traffic"]).read_text())

    assert by_date.height == 1 and by_asin.height == len(document["salesAndTrafficByAsin"]) == 5
    day = by_date.row(0, named=True)
    summed = by_asin.select(
        pl.col(
            "ordered_product_sales",
            "ordered_product_sales_b2b",
            "units_ordered",
            "units_ordered_b2b",
            "total_order_items",
            "total_order_items_b2b",
            "sessions",
            "sessions_b2b",
            "browser_sessions",
            "mobile_app_sessions",
            "page_views",
            "page_views_b2b",
            "browser_page_views",
            "mobile_app_page_views",
        ).sum()
    ).row(0, named=True)
    assert {name: day[name] for name in summed} == summed
    assert day["ordered_product_sales"] == Decimal("511.36")
    assert (day["units_ordered"], day["sessions"], day["page_views"]) == (18, 280, 386)
    assert day["report_date"] == date(2026, 3, 10) and day["currency"] == "USD"
    assert day["unit_session_percentage"] == Decimal("6.43")  # 0-100, as Amazon gives it
    assert by_asin["report_date"].unique().to_list() == [date(2026, 3, 10)]
    assert by_asin["sku"].unique().to_list() == [""]  # CHILD granularity has no sku
    assert by_asin["child_asin"].str.len_chars().min() == 10
    assert by_asin["marketplace_id"].unique().to_list() == [US]


def test_both_inventory_sources_give_the_same_rows() -> None:
    from_report = frame_of(parsed("fba_inventory"), "inventory_snapshots")
    from_api = frame_of(parsed("inventory_summaries"), "inventory_snapshots")
    rows = raw_rows("fba_inventory.tsv")

    assert from_report["fulfillable_quantity"].sum() == 629
    assert from_report["total_quantity"].sum() == 817
    assert from_report["warehouse_quantity"].sum() == sum(
        int(row["afn-warehouse-quantity"]) for row in rows
    )
    assert from_report["unfulfillable_quantity"].to_list() == [
        int(row["afn-unsellable-quantity"]) for row in rows
    ]
    assert from_report["your_price"].sum() == sum(Decimal(row["your-price"]) for row in rows)
    assert from_report["snapshot_date"].unique().to_list() == [date(2026, 3, 11)]
    shared = [name for name in from_api.columns if name != "condition"]
    assert from_api.select(shared).equals(from_report.select(shared))
    assert from_report.select(
        (
            pl.col("warehouse_quantity")
            == pl.col("fulfillable_quantity")
            + pl.col("unfulfillable_quantity")
            + pl.col("reserved_quantity")
        ).all()
    ).item()


def test_listings_keep_fba_mfn_inactive_and_utf8() -> None:
    listings = {row["sku"]: row for row in frame_of(parsed("listings"), "listings").to_dicts()}
    assert len(listings) == len(raw_rows("merchant_listings.tsv")) == 7
    assert listings["BL-KETTLE-1L-BLK"]["quantity"] is None  # FBA
    assert listings["BL-KETTLE-1L-BLK"]["fulfillment_channel"] == "AMAZON_NA"
    assert listings["BL-FILTER-100-MF"]["quantity"] == 140
    assert listings["BL-FILTER-100-MF"]["item_name"] == (
        "Brewlane Ungebleichte Kaffeefilter Größe 02 — 100 Stück"
    )
    assert listings["BL-SCALE-01"]["status"] == "Inactive"
    assert listings["BL-GRINDER-MAN"]["open_date"] == date(2025, 9, 22)
    assert listings["BL-GRINDER-MAN"]["price"] == Decimal("34.50")
    assert listings["BL-GRINDER-MAN"]["asin"] == "B0FTK3N1C5"


def test_catalog_items_for_the_document_marketplace() -> None:
    items = {row["asin"]: row for row in frame_of(parsed("catalog"), "catalog_items").to_dicts()}
    assert len(items) == 8
    kettle = items["B0FTK2M3L8"]
    assert kettle["parent_asin"] == "B0FTK2PAR1"
    assert kettle["item_name"] == "Brewlane Gooseneck Pour-Over Kettle, 1.0 L, Matte Black"
    assert (kettle["list_price"], kettle["currency"]) == (Decimal("39.99"), "USD")
    assert json.loads(kettle["bullet_points"])[0] == "1.0 L gooseneck spout for a slow, even pour"
    assert len(json.loads(kettle["bullet_points"])) == 4  # the fr_CA bullet is Canada's
    assert kettle["images_count"] == 5  # MAIN and PT01-PT04, each at two sizes
    assert kettle["main_image_url"].endswith("71aBLKMAIN.jpg")  # the 1500 px one
    assert (kettle["sales_rank"], kettle["sales_rank_category"]) == (4821, "Kitchen & Dining")
    assert (kettle["browse_node"], kettle["category"]) == ("289824", "Tea Kettles")
    assert kettle["product_type"] == "KETTLE"
    assert json.loads(kettle["attributes"])["list_price"][0]["value"] == 39.99
    grinder = items["B0FTK3N1C5"]
    assert (grinder["sales_rank"], grinder["sales_rank_category"]) == (41, "Manual Coffee Grinders")
    assert items["B0FTK2PAR1"]["item_classification"] == "VARIATION_PARENT"
    assert items["B0FTK2PAR1"]["parent_asin"] is None
    assert sum(row["list_price"] or 0 for row in items.values()) == Decimal("210.42")


def test_ratings_as_given() -> None:
    ratings = frame_of(parsed("ratings"), "product_ratings")
    rows = raw_rows("product_ratings.csv", ",")
    assert ratings.height == len(rows) == 10
    assert ratings["review_count"].sum() == sum(int(row["review_count"]) for row in rows)
    assert ratings["source"].unique().to_list() == ["import"]
    assert ratings["marketplace_id"].unique().to_list() == [US]
    first = ratings.row(0, named=True)
    assert (first["asin"], first["snapshot_date"], first["rating"]) == (
        "B0FTK2M3L8",
        date(2026, 3, 10),
        Decimal("4.60"),
    )


# --- documents a user can meet ------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(FIXTURE_OF))
def test_zero_byte_document_is_refused(key: str, tmp_path: Path) -> None:
    path = write(tmp_path, "empty", b"")
    with pytest.raises(ReportParseError, match="empty document"):
        parsed(key, path)


@pytest.mark.parametrize("key", TSV_KEYS)
def test_header_only_file_gives_empty_typed_frames(key: str, tmp_path: Path) -> None:
    header = (FIXTURES / FIXTURE_OF[key]).read_text(encoding="utf-8").splitlines()[0]
    full = parsed(key)
    report = parsed(key, write(tmp_path, "header_only", header + "\n"))
    assert report.rows == 0
    for empty, rows in zip(report.tables, full.tables, strict=True):
        assert empty.frame.schema == rows.frame.schema


@pytest.mark.parametrize("key", sorted(FIXTURE_OF))
def test_garbage_bytes_are_refused(key: str, tmp_path: Path) -> None:
    path = write(tmp_path, "garbage", bytes(range(256)) * 40)
    with pytest.raises(ReportParseError):
        parsed(key, path)


@pytest.mark.parametrize("key", sorted(FIXTURE_OF))
def test_another_report_fed_to_a_parser_is_refused(key: str) -> None:
    for other_key, name in FIXTURE_OF.items():
        if other_key != key:
            with pytest.raises(ReportParseError):
                parsed(key, FIXTURES / name)


def test_settlement_without_amount_column(tmp_path: Path) -> None:
    rows = raw_rows("settlement_v2.tsv")
    columns = [name for name in rows[0] if name != "amount"]
    path = write(tmp_path, "settlement.tsv", tsv(rows, columns))
    with pytest.raises(
        ReportParseError,
        match=r"^GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2 line 1: missing column 'amount'",
    ):
        parsed("settlement", path)


def test_non_numeric_amount_names_its_line(tmp_path: Path) -> None:
    rows = raw_rows("settlement_v2.tsv")
    rows[5]["amount"] = "abc"  # data row 6 = file line 7
    path = write(tmp_path, "settlement.tsv", tsv(rows, list(rows[0])))
    with pytest.raises(ReportParseError) as raised:
        parsed("settlement", path)
    assert str(raised.value) == (
        "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2 line 7: amount 'abc' is not a number"
    )


def test_settlement_without_summary_row_is_refused(tmp_path: Path) -> None:
    rows = raw_rows("settlement_v2.tsv")
    path = write(tmp_path, "settlement.tsv", tsv(rows[1:], list(rows[0])))
    with pytest.raises(ReportParseError, match="line 2: the first row is not the settlement"):
        parsed("settlement", path)


def test_settlement_that_does_not_reconcile_still_loads(tmp_path: Path) -> None:
    rows = raw_rows("settlement_v2.tsv")
    rows[0]["total-amount"] = "100.00"
    report = parsed("settlement", write(tmp_path, "s.tsv", tsv(rows, list(rows[0]))))
    settlement = frame_of(report, "settlements").row(0, named=True)
    assert (settlement["total_amount"], settlement["lines_total"]) == (
        Decimal("100.00"),
        Decimal("6.45"),
    )


def test_settlement_in_eu_formats(tmp_path: Path) -> None:
    columns = list(raw_rows("settlement_v2.tsv")[0])
    summary = {
        "settlement-id": "1",
        "settlement-start-date": "03.03.2026 18:31:09 UTC",
        "settlement-end-date": "17.03.2026 18:31:09 UTC",
        "deposit-date": "19.03.2026 18:31:09 UTC",
        "total-amount": "1.222,05",
        "currency": "EUR",
    }
    line = {
        "settlement-id": "1",
        "transaction-type": "Order",
        "amount-type": "ItemPrice",
        "amount-description": "Principal",
        "posted-date": "09/03/26",
        "posted-date-time": "09.03.2026 10:00:00 UTC",
    }
    lines = [{**line, "amount": "1.234,56"}, {**line, "amount": "-12,51"}]
    report = parsed(
        "settlement",
        write(tmp_path, "eu.tsv", tsv([summary, *lines], columns)),
        ParseContext(marketplace_id="A1PA6795UKMFR9", currency="EUR"),
    )
    settlement = frame_of(report, "settlements").row(0, named=True)
    assert settlement["total_amount"] == settlement["lines_total"] == Decimal("1222.05")
    assert settlement["settlement_start"] == datetime.fromisoformat("2026-03-03T18:31:09+00:00")
    first = frame_of(report, "settlement_lines").row(0, named=True)
    assert first["posted_date"] == date(2026, 3, 9)  # day-first outside the US
    assert first["posted_at"] == datetime.fromisoformat("2026-03-09T10:00:00+00:00")


def test_line_with_a_stray_tab_names_its_line(tmp_path: Path) -> None:
    text = (FIXTURES / "fba_inventory.tsv").read_text(encoding="utf-8").splitlines()
    text[3] = text[3].replace("Manual Burr", "Manual\tBurr")
    with pytest.raises(ReportParseError, match="line 4: 22 fields but the header has 21"):
        parsed("fba_inventory", write(tmp_path, "inv.tsv", "\n".join(text) + "\n"))


def test_document_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    text = (FIXTURES / "merchant_listings.tsv").read_text(encoding="utf-8")
    with pytest.raises(ReportParseError, match="not UTF-8"):
        parsed("listings", write(tmp_path, "cp1252.tsv", text.encode("cp1252", errors="replace")))


def test_bom_crlf_blank_lines_and_reordered_extra_columns(tmp_path: Path) -> None:
    rows = raw_rows("all_orders.tsv")
    columns = [*reversed(list(rows[0])), "is-iba", "customized-url"]
    content = tsv(rows, columns).replace("\n", "\r\n", 3).replace("\r\n", "\r\n\r\n", 1)
    path = write(tmp_path, "orders.tsv", b"\xef\xbb\xbf" + content.encode("utf-8"))
    report = parsed("orders", path)
    for mine, fixture in zip(report.tables, parsed("orders").tables, strict=True):
        assert mine.frame.equals(fixture.frame)


def test_orders_never_keep_buyer_details(tmp_path: Path) -> None:
    rows = raw_rows("all_orders.tsv")
    pii = {
        "buyer-email": "jane.doe@marketplace.amazon.com",
        "buyer-name": "Jane Doe",
        "buyer-phone-number": "+1 206-555-0142",
        "recipient-name": "Jane Q. Doe",
        "ship-address-1": "1200 Secret Lane",
        "ship-address-2": "Apt 9",
        "ship-address-3": "c/o Nobody",
    }
    for row in rows:
        row.update(pii)
    report = parsed("orders", write(tmp_path, "pii.tsv", tsv(rows, [*rows[0], *pii])))
    for part in report.tables:
        assert not {name.replace("-", "_") for name in pii} & set(part.frame.columns)
        cells = part.frame.select(pl.col(pl.String)).to_dicts()
        assert not any(value in pii.values() for row in cells for value in row.values())


def test_orders_with_a_bad_timestamp_names_the_line(tmp_path: Path) -> None:
    rows = raw_rows("all_orders.tsv")
    rows[2]["purchase-date"] = "yesterday"
    with pytest.raises(
        ReportParseError,
        match=r"GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL line 4: purchase-date "
        r"'yesterday' is not a date and time",
    ):
        parsed("orders", write(tmp_path, "o.tsv", tsv(rows, list(rows[0]))))


def test_sales_and_traffic_over_several_days_leaves_out_its_asin_total(tmp_path: Path) -> None:
    """Per-ASIN figures of a longer range are one total with no date: never stored as a day."""
    document = json.loads((FIXTURES / FIXTURE_OF["sales_traffic"]).read_text())
    document["reportSpecification"]["dataEndTime"] = "2026-03-11"
    path = write(tmp_path, "st.json", json.dumps(document))
    report = parsed("sales_traffic", path)
    assert frame_of(report, "sales_traffic_by_asin").height == 0
    assert frame_of(report, "sales_traffic_by_date").height == 1
    (note,) = report.notes
    assert "per-ASIN figures of this file cover 2026-03-10..2026-03-11 as one total" in note
    assert report.covers == (date(2026, 3, 10), date(2026, 3, 11))


@pytest.mark.parametrize("granularity", ["WEEK", "MONTH"])
def test_sales_and_traffic_by_week_or_month_is_refused(tmp_path: Path, granularity: str) -> None:
    document = json.loads((FIXTURES / FIXTURE_OF["sales_traffic"]).read_text())
    document["reportSpecification"]["reportOptions"]["dateGranularity"] = granularity
    path = write(tmp_path, "st.json", json.dumps(document))
    with pytest.raises(ReportParseError, match=f"by {granularity.lower()} .*not days"):
        parsed("sales_traffic", path)


def test_sales_and_traffic_quirks(tmp_path: Path) -> None:
    document = json.loads((FIXTURES / FIXTURE_OF["sales_traffic"]).read_text())
    del document["reportSpecification"]["dataStartTime"]
    del document["reportSpecification"]["dataEndTime"]
    del document["reportSpecification"]["marketplaceIds"]
    traffic = document["salesAndTrafficByDate"][0]["trafficByDate"]
    traffic["browerPageViews"] = traffic.pop("browserPageViews")  # Amazon's own typo
    path = write(tmp_path, "st.json", json.dumps(document))
    context = ParseContext(marketplace_id="A1F83G8C2ARO7P", data_start=date(2026, 3, 10))
    report = parsed("sales_traffic", path, context)
    assert frame_of(report, "sales_traffic_by_date")["browser_page_views"].to_list() == [141]
    by_asin = frame_of(report, "sales_traffic_by_asin")
    assert by_asin["report_date"].unique().to_list() == [date(2026, 3, 10)]
    assert by_asin["marketplace_id"].unique().to_list() == ["A1F83G8C2ARO7P"]


def test_sales_and_traffic_bad_number_names_its_entry(tmp_path: Path) -> None:
    document = json.loads((FIXTURES / FIXTURE_OF["sales_traffic"]).read_text())
    document["salesAndTrafficByAsin"][3]["salesByAsin"]["unitsOrdered"] = "three"
    with pytest.raises(
        ReportParseError,
        match=r"salesAndTrafficByAsin\[3\]: salesByAsin.unitsOrdered 'three' is not a whole",
    ):
        parsed("sales_traffic", write(tmp_path, "st.json", json.dumps(document)))


def test_snapshot_reports_need_their_context() -> None:
    with pytest.raises(ReportParseError, match="snapshot date"):
        parsed("fba_inventory", context=ParseContext(marketplace_id=US))
    with pytest.raises(ReportParseError, match="marketplace"):
        parsed("listings", context=ParseContext())


def test_listings_open_date_that_cannot_be_read_is_null(tmp_path: Path) -> None:
    rows = raw_rows("merchant_listings.tsv")
    rows[0]["open-date"] = "sometime in spring"
    rows[1]["open-date"] = "08/07/2016 10:12:40 BST"
    path = write(tmp_path, "l.tsv", tsv(rows, list(rows[0])))
    uk = ParseContext(marketplace_id="A1F83G8C2ARO7P", currency="GBP")
    listings = frame_of(parsed("listings", path, uk), "listings")
    assert listings["open_date"].to_list()[:2] == [None, date(2016, 7, 8)]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("B0FTK2M3L8,2026-03-12,5.5,10", "line 2: rating 5.5000 is not between 1.0 and 5.0"),
        ("B0FTK2M3L8,2026-03-12,0.5,10", "line 2: rating 0.5000 is not between 1.0 and 5.0"),
        ("B0FTK2M3L8,2026-03-12,4.5,-1", "line 2: review_count -1 is negative"),
        ("B0FTK2M3L8,2026-03-12,four,1", "line 2: rating 'four' is not a number"),
        (",2026-03-12,4.5,1", "line 2: asin is empty"),
    ],
)
def test_ratings_are_validated(tmp_path: Path, line: str, problem: str) -> None:
    path = write(tmp_path, "r.csv", f"asin,date,rating,review_count\n{line}\n")
    with pytest.raises(ReportParseError, match=problem):
        parsed("ratings", path)


def test_ratings_header_any_case_with_marketplace_column(tmp_path: Path) -> None:
    content = "ASIN,Date,Rating,Review_Count,Marketplace_ID\nB0X,2026-03-12,4.25,7,A1PA6795UKMFR9\n"
    ratings = frame_of(parsed("ratings", write(tmp_path, "r.csv", content)), "product_ratings")
    assert ratings.row(0, named=True) == {
        "marketplace_id": "A1PA6795UKMFR9",
        "asin": "B0X",
        "snapshot_date": date(2026, 3, 12),
        "rating": Decimal("4.25"),
        "review_count": 7,
        "source": "import",
    }


def test_large_orders_file_parses(tmp_path: Path) -> None:
    """200k lines (100k orders): the parse is vectorised, so this takes about a second."""
    lines = (FIXTURES / "all_orders.tsv").read_text(encoding="utf-8").splitlines()
    header, template = lines[0], lines[1].split("\t")
    path = tmp_path / "big.tsv"
    with path.open("w", encoding="utf-8") as document:
        document.write(header + "\n")
        for number in range(200_000):
            template[0] = f"111-{number // 2:07d}-0000000"
            template[2] = f"2026-03-{1 + number % 28:02d}T{number % 24:02d}:15:33+00:00"
            template[11] = f"SKU-{number % 2}"
            document.write("\t".join(template) + "\n")
    report = parsed("orders", path)
    assert frame_of(report, "orders").height == 100_000
    assert frame_of(report, "order_items").height == 200_000


# --- value formats ------------------------------------------------------------------------------

amounts = st.decimals(
    min_value=Decimal("-99999999999.99"),
    max_value=Decimal("99999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


def eu(text: str) -> str:
    return text.translate(str.maketrans(",.", ".,"))


@given(st.lists(amounts, min_size=1, max_size=40))
def test_money_round_trips_us_and_eu_formats(values: list[Decimal]) -> None:
    written = {
        "us_grouped": [f"{value:,.2f}" for value in values],
        "us_plain": [f"{value:.2f}" for value in values],
        "eu_grouped": [eu(f"{value:,.2f}") for value in values],
        "eu_plain": [eu(f"{value:.2f}") for value in values],
    }
    frame = pl.DataFrame(written)
    read = frame.select(money(pl.col(name)) for name in written)
    through_parser = parse_values(
        frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64)),
        {name: Field(name, "money") for name in written},
        report_type="test",
    )
    for name in written:
        assert read[name].to_list() == values, name
        assert through_parser[name].to_list() == values, name


def test_money_edge_forms() -> None:
    read = pl.DataFrame(
        {"text": ["1,234", "12,50", " -3.10 ", "", None, "+0.5", "1.234.567,89", "abc"]}
    ).select(money(pl.col("text")))
    assert read.to_series().to_list() == [
        Decimal("1234.00"),
        Decimal("12.50"),
        Decimal("-3.10"),
        None,
        None,
        Decimal("0.50"),
        Decimal("1234567.89"),
        None,
    ]


def test_timestamp_forms() -> None:
    utc = datetime.fromisoformat
    text = [
        "2020-02-18T05:05:21+00:00",
        "2003-10-03T16:00:00-07:00",
        "2023-01-01 00:00:00 UTC",
        "03.02.2024 10:00:00 UTC",
        "2025-03-12T06:41:18Z",
        "2025-03-02",
        "not a time",
    ]
    read = pl.DataFrame({"text": text}).select(timestamp(pl.col("text"))).to_series()
    assert read.to_list() == [
        utc("2020-02-18T05:05:21+00:00"),
        utc("2003-10-03T23:00:00+00:00"),
        utc("2023-01-01T00:00:00+00:00"),
        utc("2024-02-03T10:00:00+00:00"),
        utc("2025-03-12T06:41:18+00:00"),
        utc("2025-03-02T00:00:00+00:00"),
        None,
    ]


@pytest.mark.parametrize(
    ("values", "day_first", "expected"),
    [
        (["09/06/25"], True, [date(2025, 6, 9)]),  # outside the US: day first
        (["09/06/25"], False, [date(2025, 9, 6)]),  # the US: month first
        (["09/06/25", "13/06/25"], False, [date(2025, 6, 9), date(2025, 6, 13)]),  # values decide
        (["09/06/25", "09/13/25"], True, [date(2025, 9, 6), date(2025, 9, 13)]),
        (["2022-07-11 01:34:18 PDT", "29/09/2025 16:19:39 BST"], True, None),
    ],
)
def test_slash_date_rule(values: list[str], day_first: bool, expected: list[date] | None) -> None:
    read = pl.DataFrame({"text": values}).select(local_date(pl.col("text"), day_first))
    assert read.to_series().to_list() == (expected or [date(2022, 7, 11), date(2025, 9, 29)])
