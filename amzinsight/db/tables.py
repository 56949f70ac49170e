"""Every PostgreSQL table as a SQLAlchemy Core `Table`: the contract that loaders and analytics use.

Rules kept by tests/test_migrations.py:
- every table but `stores` and `audit_log` has `store_id` -> stores.id ON DELETE CASCADE, so
  deleting a store deletes its data; `audit_log` keeps its rows (store_id set null, slug kept);
- every fact table has a unique natural key for `INSERT ... ON CONFLICT` upserts. Key columns are
  NOT NULL, with '' standing for "absent" (a NULL would make every such row distinct);
- money is NUMERIC with a `currency` column in the same table, never float;
- report dates are the marketplace's local date (`report_date`, `snapshot_date`); timestamps are UTC
  timestamptz; Amazon Ads ids are text (numbers in reports, strings in the entity API).

CHECK constraints cover only our own vocabularies (region, run status, recommendation kind, ...).
Values that Amazon sends (order status, match type, campaign state, ...) stay unchecked text, so a
new value from Amazon cannot fail a whole load. Adding a value to one of our CHECKs is a migration
that drops and recreates the constraint; that is why there are no PostgreSQL enum types.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    # Names longer than PostgreSQL's 63 characters are truncated by SQLAlchemy with a hash suffix.
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

MONEY = sa.Numeric(14, 2)
"""Amounts: sales, fees, prices, budgets, ad cost."""
BID = sa.Numeric(12, 4)
"""Bids, CPCs and unit costs, where sub-cent values matter."""
RATIO = sa.Numeric(9, 4)
"""Percentages (0-100 as Amazon reports them) and ratios (target ACoS as a fraction)."""
CURRENCY = sa.CHAR(3)
"""ISO 4217 code."""
COUNTRY = sa.CHAR(2)
"""ISO 3166-1 alpha-2 code, as Amazon uses it (GB for the UK)."""

STORE_REGIONS = ("na", "eu", "fe")
SYNC_SOURCES = ("sp_api", "ads_api", "upload", "replay")
AMAZON_SOURCES = ("sp_api", "ads_api")  # runs that called Amazon; uploads and replays did not
SYNC_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ADS_TARGET_KINDS = (
    "keyword",
    "product_target",
    "negative_keyword",
    "campaign_negative_keyword",
    "negative_product_target",
)
RECOMMENDATION_KINDS = ("bid", "harvest", "negative")
RECOMMENDATION_STATUSES = ("proposed", "approved", "rejected", "applied", "failed", "undone")
# Who proposed a recommendation: a writer replaces only its own proposals (a recompute of the
# bidder once deleted the keywords the Assistant had sent that day).
RECOMMENDATION_SOURCES = ("bidder", "assistant")
BID_CHANGE_FIELDS = ("bid", "state", "negative")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.BigInteger, primary_key=True)


def _store_id() -> sa.Column[Any]:
    return sa.Column(
        "store_id",
        sa.BigInteger,
        sa.ForeignKey("stores.id", ondelete="CASCADE"),
        nullable=False,
    )


def _key_text(name: str, comment: str | None = None) -> sa.Column[Any]:
    """A natural-key text column where '' means absent (NULLs never conflict in a unique key)."""
    return sa.Column(name, sa.Text, nullable=False, server_default="", comment=comment)


def _created_at(name: str = "created_at") -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _lineage() -> list[sa.Column[Any]]:
    """When a row was last written, and by which sync run.

    sync_run_id is lineage, not a foreign key: a key check per row costs about 3 s per million
    rows loaded (bench/README.md), and runs are only ever deleted together with their store.
    """
    return [
        _created_at("loaded_at"),
        sa.Column("sync_run_id", sa.BigInteger, nullable=True, comment="the run that wrote it"),
    ]


def _ads_performance() -> list[sa.Column[Any]]:
    """The Sponsored Products metrics every daily ads fact shares (windows are attribution days)."""
    columns: list[sa.Column[Any]] = [
        sa.Column("impressions", sa.Integer),
        sa.Column("clicks", sa.Integer),
        sa.Column("cost", MONEY),
        sa.Column("currency", CURRENCY),
    ]
    for window in ("1d", "7d", "14d", "30d"):
        columns.append(sa.Column(f"purchases_{window}", sa.Integer))
    for window in ("1d", "7d", "14d", "30d"):
        columns.append(sa.Column(f"sales_{window}", MONEY))
    for window in ("1d", "7d", "14d", "30d"):
        columns.append(sa.Column(f"units_sold_clicks_{window}", sa.Integer))
    for window in ("7d", "14d"):
        columns.append(sa.Column(f"purchases_same_sku_{window}", sa.Integer))
    for window in ("7d", "14d"):
        columns.append(
            sa.Column(f"sales_same_sku_{window}", MONEY, comment=f"attributedSalesSameSku{window}")
        )
    for window in ("7d", "14d"):
        columns.append(sa.Column(f"units_sold_same_sku_{window}", sa.Integer))
    return columns


# --- stores and their accounts ------------------------------------------------------------------

stores = sa.Table(
    "stores",
    metadata,
    _id(),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("seller_id", sa.Text),
    sa.Column("is_sandbox", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sp_api_endpoint", sa.Text, comment="null: Amazon's real host for the region"),
    sa.Column("lwa_token_url", sa.Text, comment="null: Amazon's real LWA token URL"),
    sa.Column("ads_api_endpoint", sa.Text, comment="null: Amazon's real host for the region"),
    _created_at(),
    sa.Column(
        "data_version",
        sa.BigInteger,
        nullable=False,
        server_default="0",
        comment="bumped by each ingestion run; part of every cache key",
    ),
    sa.CheckConstraint("slug ~ '^[a-z][a-z0-9_]*$'", name="slug_format"),
    sa.CheckConstraint(_in("region", STORE_REGIONS), name="region"),
    comment="one seller account in one region",
)

marketplaces = sa.Table(
    "marketplaces",
    metadata,
    _id(),
    _store_id(),
    sa.Column("marketplace_id", sa.Text, nullable=False, comment="Amazon's, e.g. ATVPDKIKX0DER"),
    sa.Column("country_code", COUNTRY),
    sa.Column("currency", CURRENCY, nullable=False),
    sa.Column("time_zone", sa.Text, nullable=False, comment="IANA name; decides the local date"),
    sa.Column("domain", sa.Text, comment="e.g. amazon.com"),
    sa.Column("is_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    _created_at(),
    sa.UniqueConstraint("store_id", "marketplace_id"),
    comment="one marketplace a store sells in",
)

ads_profiles = sa.Table(
    "ads_profiles",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("marketplace_id", sa.Text),
    sa.Column("country_code", COUNTRY),
    sa.Column("currency", CURRENCY),
    sa.Column("time_zone", sa.Text),
    sa.Column("account_type", sa.Text, comment="seller, vendor or agency, as Amazon sends it"),
    sa.Column("account_name", sa.Text),
    sa.Column("account_id", sa.Text, comment="Amazon's accountInfo.id"),
    sa.Column("is_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    _created_at(),
    sa.UniqueConstraint("store_id", "profile_id"),
    comment="one Amazon Ads profile (one per store marketplace)",
)

# --- ingestion bookkeeping ----------------------------------------------------------------------

raw_reports = sa.Table(
    "raw_reports",
    metadata,
    _id(),
    _store_id(),
    sa.Column("archive_key", sa.Text, nullable=False, unique=True),
    sa.Column("sha256", sa.CHAR(64), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("amazon_report_id", sa.Text),
    sa.Column("amazon_document_id", sa.Text),
    sa.Column("report_type", sa.Text, nullable=False, comment="our report key, e.g. sales_traffic"),
    sa.Column("marketplace_id", sa.Text),
    sa.Column("content_type", sa.Text),
    sa.Column("compression", sa.Text, comment="e.g. GZIP; null when stored as received, plain"),
    sa.Column("data_start", sa.Date),
    sa.Column("data_end", sa.Date),
    _created_at("fetched_at"),
    sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    sa.CheckConstraint("bytes >= 0", name="bytes_non_negative"),
    sa.Index(None, "store_id", "report_type"),
    comment="one raw report document in the archive",
)

api_meter_slots = sa.Table(
    "api_meter_slots",
    metadata,
    _id(),
    _store_id(),
    sa.Column("meter_key", sa.Text, nullable=False, comment="the meter and a digest of the app"),
    sa.Column("holder", sa.Text, nullable=False, comment="who reserved it: a sync window's job"),
    sa.Column("slot_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used", sa.Boolean, nullable=False, server_default=sa.false()),
    _created_at(),
    sa.UniqueConstraint("store_id", "meter_key", "holder", "slot_at"),
    sa.Index(None, "meter_key", "slot_at"),
    sa.Index(None, "meter_key", "holder"),
    comment=(
        "calls reserved under a metered Amazon operation (Sales and Traffic reports) by a store's "
        "sync; the meter counts every store on the same application"
    ),
)

store_access_checks = sa.Table(
    "store_access_checks",
    metadata,
    _id(),
    _store_id(),
    sa.Column("api", sa.Text, nullable=False, comment="the Amazon API or role checked"),
    sa.Column("position", sa.SmallInteger, nullable=False, comment="the order they are shown in"),
    sa.Column(
        "ok", sa.Boolean, comment="true reachable, false missing, null not checked or unknown"
    ),
    sa.Column("sentence", sa.Text, nullable=False, comment="what was found and what to do"),
    _created_at("checked_at"),
    sa.UniqueConstraint("store_id", "api"),
    comment=(
        "the last check of which Amazon APIs a store's credentials reach, one row per API; "
        "each check replaces the store's rows"
    ),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    _id(),
    _store_id(),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("report_type", sa.Text, nullable=False, comment="our report key, e.g. sales_traffic"),
    sa.Column("marketplace_id", sa.Text),
    sa.Column("window_start", sa.Date),
    sa.Column("window_end", sa.Date),
    sa.Column("status", sa.Text, nullable=False, server_default="queued"),
    sa.Column("rows_parsed", sa.Integer),
    sa.Column("rows_upserted", sa.Integer),
    sa.Column(
        "raw_report_id",
        sa.BigInteger,
        sa.ForeignKey("raw_reports.id", ondelete="SET NULL"),
        index=True,
    ),
    sa.Column("amazon_report_id", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column(
        "notes",
        sa.Text,
        comment="what a person should know about a run that loaded, e.g. parts of a file not "
        "loaded",
    ),
    sa.Column("job_id", sa.Text, comment="RQ job id, deterministic per store/report/window"),
    sa.Column("triggered_by", sa.Text, comment="schedule, a user name, cli, ..."),
    _created_at("requested_at"),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("duration_ms", sa.Integer),
    sa.CheckConstraint(_in("source", SYNC_SOURCES), name="source"),
    sa.CheckConstraint(_in("status", SYNC_STATUSES), name="status"),
    sa.CheckConstraint("window_start <= window_end", name="window_order"),
    comment="one ingestion run of one report type for one window",
)
sa.Index(
    "ix_sync_runs_store_id_report_type_finished_at",
    sync_runs.c.store_id,
    sync_runs.c.report_type,
    sync_runs.c.finished_at.desc(),
)
sa.Index(None, sync_runs.c.status)
sa.Index(None, sync_runs.c.job_id)

# --- sales and traffic (GET_SALES_AND_TRAFFIC_REPORT) --------------------------------------------

sales_traffic_by_date = sa.Table(
    "sales_traffic_by_date",
    metadata,
    _id(),
    _store_id(),
    sa.Column("marketplace_id", sa.Text, nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),
    sa.Column("currency", CURRENCY),
    sa.Column("ordered_product_sales", MONEY),
    sa.Column("ordered_product_sales_b2b", MONEY),
    sa.Column("units_ordered", sa.Integer),
    sa.Column("units_ordered_b2b", sa.Integer),
    sa.Column("total_order_items", sa.Integer),
    sa.Column("total_order_items_b2b", sa.Integer),
    sa.Column("units_refunded", sa.Integer),
    sa.Column("refund_rate", RATIO, comment="percent, 0-100"),
    sa.Column("units_shipped", sa.Integer),
    sa.Column("orders_shipped", sa.Integer),
    sa.Column("shipped_product_sales", MONEY),
    sa.Column("claims_granted", sa.Integer),
    sa.Column("claims_amount", MONEY),
    sa.Column("page_views", sa.Integer),
    sa.Column("page_views_b2b", sa.Integer),
    sa.Column("browser_page_views", sa.Integer),
    sa.Column("mobile_app_page_views", sa.Integer),
    sa.Column("sessions", sa.Integer),
    sa.Column("sessions_b2b", sa.Integer),
    sa.Column("browser_sessions", sa.Integer),
    sa.Column("mobile_app_sessions", sa.Integer),
    sa.Column("buy_box_percentage", RATIO),
    sa.Column("buy_box_percentage_b2b", RATIO),
    sa.Column("order_item_session_percentage", RATIO),
    sa.Column("order_item_session_percentage_b2b", RATIO),
    sa.Column("unit_session_percentage", RATIO),
    sa.Column("unit_session_percentage_b2b", RATIO),
    sa.Column("average_offer_count", sa.Integer),
    sa.Column("average_parent_items", sa.Integer),
    sa.Column("feedback_received", sa.Integer, comment="seller feedback, not product reviews"),
    sa.Column("negative_feedback_received", sa.Integer),
    sa.Column("received_negative_feedback_rate", RATIO),
    *_lineage(),
    sa.UniqueConstraint("store_id", "marketplace_id", "report_date"),
    sa.Index(None, "store_id", "report_date"),
    comment="store totals per marketplace per day",
)

sales_traffic_by_asin = sa.Table(
    "sales_traffic_by_asin",
    metadata,
    _id(),
    _store_id(),
    sa.Column("marketplace_id", sa.Text, nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),
    sa.Column("parent_asin", sa.Text, nullable=False),
    _key_text("child_asin", "'' in PARENT-granularity rows"),
    _key_text("sku", "'' unless the report was requested at SKU granularity"),
    sa.Column("currency", CURRENCY),
    sa.Column("ordered_product_sales", MONEY),
    sa.Column("ordered_product_sales_b2b", MONEY),
    sa.Column("units_ordered", sa.Integer),
    sa.Column("units_ordered_b2b", sa.Integer),
    sa.Column("total_order_items", sa.Integer),
    sa.Column("total_order_items_b2b", sa.Integer),
    sa.Column("sessions", sa.Integer),
    sa.Column("sessions_b2b", sa.Integer),
    sa.Column("browser_sessions", sa.Integer),
    sa.Column("mobile_app_sessions", sa.Integer),
    sa.Column("session_percentage", RATIO, comment="this ASIN's share of all sessions, 0-100"),
    sa.Column("page_views", sa.Integer),
    sa.Column("page_views_b2b", sa.Integer),
    sa.Column("browser_page_views", sa.Integer),
    sa.Column("mobile_app_page_views", sa.Integer),
    sa.Column("page_views_percentage", RATIO, comment="this ASIN's share of all page views"),
    sa.Column("buy_box_percentage", RATIO),
    sa.Column("buy_box_percentage_b2b", RATIO),
    sa.Column("unit_session_percentage", RATIO),
    sa.Column("unit_session_percentage_b2b", RATIO),
    *_lineage(),
    sa.UniqueConstraint(
        "store_id", "marketplace_id", "report_date", "parent_asin", "child_asin", "sku"
    ),
    sa.Index(None, "store_id", "report_date"),
    sa.Index(None, "store_id", "child_asin", "report_date"),
    sa.Index(None, "store_id", "parent_asin", "report_date"),
    comment="one parent/child ASIN (and SKU) per marketplace per day",
)

# --- orders (GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL) ---------------------------------

orders = sa.Table(
    "orders",
    metadata,
    _id(),
    _store_id(),
    sa.Column("amazon_order_id", sa.Text, nullable=False),
    sa.Column("merchant_order_id", sa.Text),
    sa.Column("marketplace_id", sa.Text),
    sa.Column("purchase_date", sa.DateTime(timezone=True)),
    sa.Column("purchase_local_date", sa.Date, comment="purchase_date in the marketplace time zone"),
    sa.Column("last_updated_date", sa.DateTime(timezone=True)),
    sa.Column("order_status", sa.Text),
    sa.Column("fulfillment_channel", sa.Text, comment="Amazon (FBA) or Merchant"),
    sa.Column("sales_channel", sa.Text, comment="e.g. Amazon.com, Non-Amazon (MCF)"),
    sa.Column("order_channel", sa.Text),
    sa.Column("ship_service_level", sa.Text),
    # Shipping address parts only (never a buyer's name, email or phone); redacted after the
    # retention period, when ship_redacted_at is set.
    sa.Column("ship_city", sa.Text),
    sa.Column("ship_state", sa.Text),
    sa.Column("ship_postal_code", sa.Text),
    sa.Column("ship_country", sa.Text),
    sa.Column("ship_redacted_at", sa.DateTime(timezone=True)),
    sa.Column("is_business_order", sa.Boolean),
    sa.Column("is_replacement_order", sa.Boolean),
    sa.Column("purchase_order_number", sa.Text),
    sa.Column("currency", CURRENCY),
    *_lineage(),
    sa.UniqueConstraint("store_id", "amazon_order_id"),
    sa.Index(None, "store_id", "purchase_local_date"),
    comment="one Amazon order",
)

order_items = sa.Table(
    "order_items",
    metadata,
    _id(),
    _store_id(),
    sa.Column("amazon_order_id", sa.Text, nullable=False),
    _key_text("sku"),
    _key_text("asin"),
    sa.Column(
        "line_no",
        sa.Integer,
        nullable=False,
        server_default="1",
        comment="1, 2, ... for repeated lines of the same sku and asin in one order",
    ),
    sa.Column("order_item_id", sa.Text, comment="only in files that carry order-item-id"),
    sa.Column("product_name", sa.Text),
    sa.Column("item_status", sa.Text),
    sa.Column("quantity", sa.Integer),
    sa.Column("currency", CURRENCY),
    sa.Column("item_price", MONEY, comment="line total: unit price x quantity"),
    sa.Column("item_tax", MONEY),
    sa.Column("shipping_price", MONEY),
    sa.Column("shipping_tax", MONEY),
    sa.Column("gift_wrap_price", MONEY),
    sa.Column("gift_wrap_tax", MONEY),
    sa.Column("item_promotion_discount", MONEY),
    sa.Column("ship_promotion_discount", MONEY),
    sa.Column("promotion_ids", sa.Text),
    *_lineage(),
    sa.UniqueConstraint("store_id", "amazon_order_id", "sku", "asin", "line_no"),
    sa.CheckConstraint("line_no >= 1", name="line_no_positive"),
    comment="one order line (sku) of an Amazon order",
)

# --- settlements (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2) -------------------------------------

settlements = sa.Table(
    "settlements",
    metadata,
    _id(),
    _store_id(),
    sa.Column("settlement_id", sa.Text, nullable=False),
    sa.Column("settlement_start", sa.DateTime(timezone=True)),
    sa.Column("settlement_end", sa.DateTime(timezone=True)),
    sa.Column("deposit_date", sa.DateTime(timezone=True)),
    sa.Column("total_amount", MONEY, comment="the deposit; can be negative"),
    sa.Column("currency", CURRENCY),
    sa.Column("marketplace_name", sa.Text),
    sa.Column("lines_total", MONEY, comment="sum of the detail lines, to reconcile"),
    sa.Column("line_count", sa.Integer),
    sa.Column(
        "raw_report_id",
        sa.BigInteger,
        sa.ForeignKey("raw_reports.id", ondelete="SET NULL"),
        index=True,
    ),
    *_lineage(),
    sa.UniqueConstraint("store_id", "settlement_id"),
    sa.Index(None, "store_id", "deposit_date"),
    comment="one settlement (the file's summary row)",
)

settlement_lines = sa.Table(
    "settlement_lines",
    metadata,
    _id(),
    _store_id(),
    sa.Column("settlement_id", sa.Text, nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False, comment="1-based detail row in the file"),
    sa.Column("transaction_type", sa.Text),
    sa.Column("order_id", sa.Text),
    sa.Column("merchant_order_id", sa.Text),
    sa.Column("adjustment_id", sa.Text),
    sa.Column("shipment_id", sa.Text),
    sa.Column("marketplace_name", sa.Text),
    sa.Column("amount_type", sa.Text),
    sa.Column("amount_description", sa.Text),
    sa.Column("amount", MONEY),
    sa.Column("currency", CURRENCY),
    sa.Column("fulfillment_id", sa.Text, comment="AFN (FBA) or MFN"),
    sa.Column("posted_date", sa.Date),
    sa.Column("posted_at", sa.DateTime(timezone=True)),
    sa.Column("order_item_code", sa.Text),
    sa.Column("merchant_order_item_id", sa.Text),
    sa.Column("merchant_adjustment_item_id", sa.Text),
    sa.Column("sku", sa.Text),
    sa.Column("quantity_purchased", sa.Integer),
    sa.Column("promotion_id", sa.Text),
    *_lineage(),
    sa.UniqueConstraint("store_id", "settlement_id", "line_no"),
    sa.CheckConstraint("line_no >= 1", name="line_no_positive"),
    sa.Index(None, "store_id", "order_id"),
    sa.Index(None, "store_id", "sku"),
    sa.Index(None, "store_id", "posted_date"),
    comment="one amount line (transaction, item, amount type) of a settlement",
)

# --- Finances API v2024-06-19 listTransactions (history beyond the 90 days getReports lists) ------

finance_transactions = sa.Table(
    "finance_transactions",
    metadata,
    _id(),
    _store_id(),
    sa.Column("transaction_id", sa.Text, nullable=False, comment="Amazon's transactionId"),
    sa.Column("transaction_type", sa.Text, comment="Shipment, Refund, ServiceFee, ..."),
    sa.Column("description", sa.Text, comment="e.g. Order Payment, Refund Order"),
    sa.Column(
        "status",
        sa.Text,
        comment="DEFERRED (held, not paid yet), RELEASED or DEFERRED_RELEASED, as last seen",
    ),
    sa.Column("marketplace_id", sa.Text),
    sa.Column("marketplace_name", sa.Text),
    sa.Column("posted_at", sa.DateTime(timezone=True)),
    sa.Column("posted_date", sa.Date, comment="the marketplace's local date of posted_at"),
    sa.Column("total_amount", MONEY),
    sa.Column("currency", CURRENCY),
    sa.Column("order_id", sa.Text),
    sa.Column("settlement_id", sa.Text, comment="SETTLEMENT_ID, once Amazon groups it"),
    sa.Column("event_group_id", sa.Text, comment="FINANCIAL_EVENT_GROUP_ID"),
    sa.Column("maturity_at", sa.DateTime(timezone=True), comment="when deferred money is due"),
    *_lineage(),
    sa.UniqueConstraint("store_id", "transaction_id"),
    sa.Index(None, "store_id", "posted_date"),
    sa.Index(None, "store_id", "status"),
    comment="one Finances API transaction (status updated on every pull)",
)

finance_transaction_lines = sa.Table(
    "finance_transaction_lines",
    metadata,
    _id(),
    _store_id(),
    sa.Column("transaction_id", sa.Text, nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False, comment="1-based amount in the transaction"),
    sa.Column("status", sa.Text, comment="the transaction's status (DEFERRED lines are not paid)"),
    sa.Column("settlement_id", sa.Text),
    sa.Column("breakdown", sa.Text, comment="Amazon's breakdown path, e.g. AmazonFees/Commission"),
    # The same columns as settlement_lines, in the settlement report's vocabulary, so both
    # sources read as one ledger (amzinsight/analytics/ledger.py; docs/amazon-formats.md).
    sa.Column("transaction_type", sa.Text),
    sa.Column("order_id", sa.Text),
    sa.Column("adjustment_id", sa.Text),
    sa.Column("shipment_id", sa.Text),
    sa.Column("marketplace_name", sa.Text),
    sa.Column("amount_type", sa.Text),
    sa.Column("amount_description", sa.Text),
    sa.Column("amount", MONEY),
    sa.Column("currency", CURRENCY),
    sa.Column("fulfillment_id", sa.Text, comment="AFN (FBA) or MFN"),
    sa.Column("posted_date", sa.Date),
    sa.Column("posted_at", sa.DateTime(timezone=True)),
    sa.Column("merchant_adjustment_item_id", sa.Text),
    sa.Column("sku", sa.Text),
    sa.Column("asin", sa.Text),
    sa.Column("quantity_purchased", sa.Integer),
    *_lineage(),
    sa.UniqueConstraint("store_id", "transaction_id", "line_no"),
    sa.CheckConstraint("line_no >= 1", name="line_no_positive"),
    sa.Index(None, "store_id", "posted_date"),
    sa.Index(None, "store_id", "order_id"),
    sa.Index(None, "store_id", "settlement_id"),
    comment="one amount of a Finances API transaction, in settlement-line terms",
)

# --- inventory -----------------------------------------------------------------------------------

inventory_snapshots = sa.Table(
    "inventory_snapshots",
    metadata,
    _id(),
    _store_id(),
    sa.Column("marketplace_id", sa.Text, nullable=False),
    sa.Column("snapshot_date", sa.Date, nullable=False),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("fnsku", sa.Text),
    sa.Column("asin", sa.Text),
    sa.Column("product_name", sa.Text),
    sa.Column("condition", sa.Text),
    sa.Column("your_price", MONEY),
    sa.Column("currency", CURRENCY),
    sa.Column("mfn_fulfillable_quantity", sa.Integer),
    sa.Column("warehouse_quantity", sa.Integer),
    sa.Column("fulfillable_quantity", sa.Integer),
    sa.Column("inbound_working_quantity", sa.Integer),
    sa.Column("inbound_shipped_quantity", sa.Integer),
    sa.Column("inbound_receiving_quantity", sa.Integer),
    sa.Column("reserved_quantity", sa.Integer),
    sa.Column("unfulfillable_quantity", sa.Integer),
    sa.Column("researching_quantity", sa.Integer),
    sa.Column("pending_removal_quantity", sa.Integer),
    sa.Column("total_quantity", sa.Integer),
    sa.Column("inv_age_0_to_90_days", sa.Integer),
    sa.Column("inv_age_91_to_180_days", sa.Integer),
    sa.Column("inv_age_181_to_270_days", sa.Integer),
    sa.Column("inv_age_271_to_365_days", sa.Integer),
    sa.Column("inv_age_365_plus_days", sa.Integer),
    sa.Column("units_shipped_t7", sa.Integer),
    sa.Column("units_shipped_t30", sa.Integer),
    sa.Column("units_shipped_t60", sa.Integer),
    sa.Column("units_shipped_t90", sa.Integer),
    sa.Column("is_stranded", sa.Boolean),
    *_lineage(),
    sa.UniqueConstraint("store_id", "marketplace_id", "snapshot_date", "sku"),
    sa.Index(None, "store_id", "snapshot_date"),
    sa.Index(None, "store_id", "asin"),
    # one SKU's snapshots by day: the stock it carried into a sales window is one index lookup
    sa.Index(None, "store_id", "marketplace_id", "sku", "snapshot_date"),
    comment="one SKU's FBA inventory per marketplace per snapshot day",
)

inventory_settings = sa.Table(
    "inventory_settings",
    metadata,
    _id(),
    _store_id(),
    _key_text("sku", "'' is the store default"),
    sa.Column("lead_time_days", sa.Integer),
    sa.Column("safety_days", sa.Integer),
    sa.Column("target_cover_days", sa.Integer),
    _created_at("updated_at"),
    sa.UniqueConstraint("store_id", "sku"),
    sa.CheckConstraint(
        "lead_time_days >= 0 AND safety_days >= 0 AND target_cover_days >= 0",
        name="days_non_negative",
    ),
    comment="reorder settings per SKU ('' = store default)",
)

# --- listings, catalog, ratings, costs -----------------------------------------------------------

listings = sa.Table(
    "listings",
    metadata,
    _id(),
    _store_id(),
    sa.Column("marketplace_id", sa.Text, nullable=False),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("asin", sa.Text),
    sa.Column("listing_id", sa.Text),
    sa.Column("item_name", sa.Text),
    sa.Column("item_description", sa.Text),
    sa.Column("price", MONEY),
    sa.Column("currency", CURRENCY),
    sa.Column("quantity", sa.Integer, comment="empty for FBA listings"),
    sa.Column("open_date", sa.Date, comment="local date; the report writes it with a zone name"),
    sa.Column("fulfillment_channel", sa.Text, comment="DEFAULT (merchant) or AMAZON_NA, ..."),
    sa.Column("status", sa.Text),
    sa.Column("item_condition", sa.Text),
    sa.Column("image_url", sa.Text),
    sa.Column("bullet_points", JSONB, comment="list of strings"),
    sa.Column("backend_search_terms", sa.Text),
    sa.Column("product_type", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    *_lineage(),
    sa.UniqueConstraint("store_id", "marketplace_id", "sku"),
    sa.Index(None, "store_id", "asin"),
    comment="one seller SKU's listing per marketplace (latest state)",
)

catalog_items = sa.Table(
    "catalog_items",
    metadata,
    _id(),
    _store_id(),
    sa.Column("marketplace_id", sa.Text, nullable=False),
    sa.Column("asin", sa.Text, nullable=False),
    sa.Column("parent_asin", sa.Text),
    sa.Column("item_name", sa.Text),
    sa.Column("brand", sa.Text),
    sa.Column("manufacturer", sa.Text),
    sa.Column("model_number", sa.Text),
    sa.Column("item_classification", sa.Text, comment="BASE_PRODUCT, VARIATION_PARENT, ..."),
    sa.Column("browse_node", sa.Text, comment="browseClassification.classificationId"),
    sa.Column("category", sa.Text, comment="browseClassification.displayName"),
    sa.Column("product_type", sa.Text),
    sa.Column("bullet_points", JSONB, comment="list of strings"),
    sa.Column("description", sa.Text),
    sa.Column("images_count", sa.Integer),
    sa.Column("main_image_url", sa.Text),
    sa.Column("sales_rank", sa.Integer),
    sa.Column("sales_rank_category", sa.Text),
    sa.Column("list_price", MONEY),
    sa.Column("currency", CURRENCY),
    sa.Column("attributes", JSONB, comment="Catalog Items API attributes, as returned"),
    _created_at("fetched_at"),
    *_lineage(),
    sa.UniqueConstraint("store_id", "marketplace_id", "asin"),
    sa.Index(None, "store_id", "parent_asin"),
    comment="one ASIN's catalog data per marketplace (latest state)",
)

product_ratings = sa.Table(
    "product_ratings",
    metadata,
    _id(),
    _store_id(),
    sa.Column("marketplace_id", sa.Text, nullable=False),
    sa.Column("asin", sa.Text, nullable=False),
    sa.Column("snapshot_date", sa.Date, nullable=False),
    sa.Column("rating", sa.Numeric(3, 2), comment="average stars, 1-5"),
    sa.Column("review_count", sa.Integer),
    sa.Column(
        "source",
        sa.Text,
        nullable=False,
        server_default="manual",
        comment="manual, import, ...: SP-API has no ratings",
    ),
    *_lineage(),
    sa.UniqueConstraint("store_id", "marketplace_id", "asin", "snapshot_date"),
    sa.CheckConstraint("rating >= 0 AND rating <= 5", name="rating_range"),
    sa.CheckConstraint("review_count >= 0", name="review_count_non_negative"),
    comment="one ASIN's star rating and review count per marketplace per day",
)

cogs = sa.Table(
    "cogs",
    metadata,
    _id(),
    _store_id(),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("unit_cost", BID, nullable=False, comment="landed cost of one unit"),
    sa.Column("currency", CURRENCY, nullable=False),
    sa.Column("note", sa.Text),
    _created_at(),
    sa.UniqueConstraint("store_id", "sku", "effective_from"),
    sa.CheckConstraint("unit_cost >= 0", name="unit_cost_non_negative"),
    comment="one SKU's unit cost from a date on",
)

# --- Amazon Ads entities (snapshots of the campaign-management API) -----------------------------

ads_campaigns = sa.Table(
    "ads_campaigns",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("state", sa.Text, comment="ENABLED, PAUSED, ARCHIVED"),
    sa.Column("targeting_type", sa.Text, comment="MANUAL or AUTO"),
    sa.Column("budget", MONEY),
    sa.Column("currency", CURRENCY),
    sa.Column("budget_type", sa.Text),
    sa.Column("bidding_strategy", sa.Text),
    sa.Column("portfolio_id", sa.Text),
    sa.Column("start_date", sa.Date),
    sa.Column("end_date", sa.Date),
    sa.Column(
        "target_acos",
        RATIO,
        comment="set by a user, as a fraction (0.25); syncs must not overwrite it",
    ),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    *_lineage(),
    sa.UniqueConstraint("store_id", "profile_id", "campaign_id"),
    comment="one Sponsored Products campaign (latest state)",
)

ads_ad_groups = sa.Table(
    "ads_ad_groups",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("ad_group_id", sa.Text, nullable=False),
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("state", sa.Text),
    sa.Column("default_bid", BID),
    sa.Column("currency", CURRENCY),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    *_lineage(),
    sa.UniqueConstraint("store_id", "profile_id", "ad_group_id"),
    sa.Index(None, "store_id", "campaign_id"),
    comment="one Sponsored Products ad group (latest state)",
)

ads_targets = sa.Table(
    "ads_targets",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("target_id", sa.Text, nullable=False, comment="keywordId, targetId or negative id"),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("ad_group_id", sa.Text, comment="null for campaign negatives"),
    sa.Column("keyword_text", sa.Text),
    sa.Column("expression", sa.Text, comment='product targeting expression, e.g. asin="B0..."'),
    sa.Column("match_type", sa.Text),
    sa.Column("state", sa.Text),
    sa.Column("bid", BID),
    sa.Column("currency", CURRENCY),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    *_lineage(),
    sa.UniqueConstraint("store_id", "profile_id", "target_id"),
    sa.CheckConstraint(_in("kind", ADS_TARGET_KINDS), name="kind"),
    sa.Index(None, "store_id", "campaign_id"),
    sa.Index(None, "store_id", "ad_group_id"),
    comment="one keyword, product target or negative (latest state)",
)

# --- Amazon Ads daily facts (Sponsored Products v3 reports, one report per day) ----------------

ads_campaign_daily = sa.Table(
    "ads_campaign_daily",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),
    sa.Column("campaign_id", sa.Text, nullable=False),
    _key_text("ad_group_id", "'' in campaign-level rows"),
    sa.Column("campaign_name", sa.Text),
    sa.Column("campaign_status", sa.Text),
    sa.Column("campaign_budget_amount", MONEY),
    sa.Column("campaign_budget_type", sa.Text),
    sa.Column("campaign_bidding_strategy", sa.Text),
    sa.Column("ad_group_name", sa.Text),
    sa.Column("ad_status", sa.Text),
    sa.Column("top_of_search_impression_share", RATIO),
    *_ads_performance(),
    *_lineage(),
    sa.UniqueConstraint("store_id", "profile_id", "report_date", "campaign_id", "ad_group_id"),
    sa.Index(None, "store_id", "report_date"),
    sa.Index(None, "store_id", "campaign_id", "report_date"),
    comment="one campaign (or campaign ad group) per day (spCampaigns)",
)

ads_target_daily = sa.Table(
    "ads_target_daily",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),
    sa.Column("target_id", sa.Text, nullable=False, comment="keywordId in spTargeting"),
    sa.Column("campaign_id", sa.Text),
    sa.Column("ad_group_id", sa.Text),
    sa.Column("campaign_name", sa.Text),
    sa.Column("ad_group_name", sa.Text),
    sa.Column("keyword_text", sa.Text, comment="keyword, or the targeting expression"),
    sa.Column("targeting", sa.Text),
    sa.Column("match_type", sa.Text),
    sa.Column("keyword_type", sa.Text),
    sa.Column("keyword_bid", BID),
    sa.Column("ad_keyword_status", sa.Text),
    sa.Column("top_of_search_impression_share", RATIO),
    *_ads_performance(),
    sa.Column("sales_other_sku_7d", MONEY),
    sa.Column("units_sold_other_sku_7d", sa.Integer),
    *_lineage(),
    sa.UniqueConstraint("store_id", "profile_id", "report_date", "target_id"),
    sa.Index(None, "store_id", "report_date"),
    sa.Index(None, "store_id", "target_id", "report_date"),
    sa.Index(None, "store_id", "campaign_id", "report_date"),
    comment="one keyword or product target per day (spTargeting)",
)

ads_search_term_daily = sa.Table(
    "ads_search_term_daily",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("ad_group_id", sa.Text, nullable=False),
    sa.Column("target_id", sa.Text, nullable=False, comment="keywordId in spSearchTerm"),
    sa.Column("search_term", sa.Text, nullable=False, comment="'*' for placements without one"),
    sa.Column("campaign_name", sa.Text),
    sa.Column("ad_group_name", sa.Text),
    sa.Column("keyword_text", sa.Text),
    sa.Column("targeting", sa.Text),
    sa.Column("match_type", sa.Text),
    sa.Column("keyword_type", sa.Text),
    sa.Column("keyword_bid", BID),
    *_ads_performance(),
    sa.Column("sales_other_sku_7d", MONEY),
    sa.Column("units_sold_other_sku_7d", sa.Integer),
    *_lineage(),
    sa.UniqueConstraint(
        "store_id",
        "profile_id",
        "report_date",
        "campaign_id",
        "ad_group_id",
        "target_id",
        "search_term",
    ),
    # no (store_id, report_date) index: the key's (store_id, profile_id, report_date) prefix
    # serves date ranges per profile, and a million-row load maintains one index fewer
    sa.Index(None, "store_id", "search_term"),
    comment="one customer search term per target per day (spSearchTerm; clicked terms only)",
)

ads_advertised_product_daily = sa.Table(
    "ads_advertised_product_daily",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("ad_group_id", sa.Text, nullable=False),
    sa.Column("ad_id", sa.Text, nullable=False),
    sa.Column("campaign_name", sa.Text),
    sa.Column("ad_group_name", sa.Text),
    sa.Column("advertised_asin", sa.Text),
    sa.Column("advertised_sku", sa.Text),
    *_ads_performance(),
    sa.Column("sales_other_sku_7d", MONEY),
    sa.Column("units_sold_other_sku_7d", sa.Integer),
    *_lineage(),
    sa.UniqueConstraint(
        "store_id", "profile_id", "report_date", "campaign_id", "ad_group_id", "ad_id"
    ),
    # covering: a date range's spend per advertised ASIN and profile reads the index alone
    sa.Index(
        None,
        "store_id",
        "report_date",
        postgresql_include=["profile_id", "advertised_asin", "cost"],
    ),
    sa.Index(None, "store_id", "advertised_asin", "report_date"),
    comment="one product ad per day (spAdvertisedProduct)",
)

ads_purchased_product_daily = sa.Table(
    "ads_purchased_product_daily",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("ad_group_id", sa.Text, nullable=False),
    _key_text("keyword_id", "'' when the row has none"),
    sa.Column("advertised_asin", sa.Text, nullable=False),
    sa.Column("purchased_asin", sa.Text, nullable=False),
    sa.Column("campaign_name", sa.Text),
    sa.Column("ad_group_name", sa.Text),
    sa.Column("advertised_sku", sa.Text),
    sa.Column("keyword_text", sa.Text),
    sa.Column("keyword_type", sa.Text),
    sa.Column("match_type", sa.Text),
    sa.Column("currency", CURRENCY),
    *[
        sa.Column(f"{metric}_other_sku_{window}", kind)
        for metric, kind in (
            ("units_sold", sa.Integer),
            ("sales", MONEY),
            ("purchases", sa.Integer),
        )
        for window in ("1d", "7d", "14d", "30d")
    ],
    *_lineage(),
    sa.UniqueConstraint(
        "store_id",
        "profile_id",
        "report_date",
        "campaign_id",
        "ad_group_id",
        "keyword_id",
        "advertised_asin",
        "purchased_asin",
    ),
    sa.Index(None, "store_id", "report_date"),
    sa.Index(None, "store_id", "purchased_asin", "report_date"),
    comment="one other ASIN bought after an ad click, per ad and day (spPurchasedProduct)",
)

# --- bid recommendations and the changes applied -------------------------------------------------

bid_recommendations = sa.Table(
    "bid_recommendations",
    metadata,
    _id(),
    _store_id(),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column(
        "entity_id", sa.Text, nullable=False, comment="target id, or a hash of the search term"
    ),
    sa.Column("generated_for", sa.Date, nullable=False, comment="the data day it is based on"),
    sa.Column("campaign_id", sa.Text),
    sa.Column("ad_group_id", sa.Text),
    sa.Column("target_id", sa.Text),
    sa.Column("search_term", sa.Text),
    sa.Column("match_type", sa.Text),
    sa.Column("current_bid", BID),
    sa.Column("recommended_bid", BID),
    sa.Column("currency", CURRENCY),
    sa.Column("target_acos", RATIO, comment="as a fraction (0.25)"),
    sa.Column("reason", sa.Text),
    sa.Column("evidence", JSONB, comment="the numbers behind the reason"),
    sa.Column("status", sa.Text, nullable=False, server_default="proposed"),
    sa.Column("decided_by", sa.Text),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    _created_at(),
    sa.Column("source", sa.Text, nullable=False, server_default="bidder"),
    sa.UniqueConstraint("store_id", "profile_id", "kind", "entity_id", "generated_for"),
    sa.CheckConstraint(_in("kind", RECOMMENDATION_KINDS), name="kind"),
    sa.CheckConstraint(_in("status", RECOMMENDATION_STATUSES), name="status"),
    sa.CheckConstraint(_in("source", RECOMMENDATION_SOURCES), name="source"),
    sa.Index(None, "store_id", "generated_for"),
    sa.Index(None, "store_id", "status"),
    comment="one bid, harvest or negative recommendation per entity per day",
)

bid_changes = sa.Table(
    "bid_changes",
    metadata,
    _id(),
    _store_id(),
    sa.Column(
        "recommendation_id",
        sa.BigInteger,
        sa.ForeignKey("bid_recommendations.id", ondelete="SET NULL"),
        index=True,
    ),
    sa.Column("profile_id", sa.Text, nullable=False),
    sa.Column("entity_type", sa.Text, nullable=False, comment="keyword, product_target, ..."),
    sa.Column("entity_id", sa.Text, comment="null until Amazon returns the id of a new entity"),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("before_value", sa.Text),
    sa.Column("after_value", sa.Text),
    sa.Column("before_bid", BID),
    sa.Column("after_bid", BID),
    sa.Column("currency", CURRENCY),
    sa.Column("applied_by", sa.Text, nullable=False),
    _created_at("applied_at"),
    sa.Column("amazon_response", JSONB),
    sa.Column("succeeded", sa.Boolean),
    sa.Column(
        "undone_by_change_id",
        sa.BigInteger,
        sa.ForeignKey("bid_changes.id", ondelete="SET NULL"),
    ),
    sa.UniqueConstraint("store_id", "recommendation_id", "applied_at"),
    sa.CheckConstraint(_in("field", BID_CHANGE_FIELDS), name="field"),
    sa.Index(None, "store_id", "applied_at"),
    comment="one change applied through the Ads API (audit)",
)

# --- audit and corrections -----------------------------------------------------------------------

audit_log = sa.Table(
    "audit_log",
    metadata,
    _id(),
    sa.Column(
        "store_id",
        sa.BigInteger,
        sa.ForeignKey("stores.id", ondelete="SET NULL"),
        comment="null once the store is deleted; store_slug keeps who it was",
    ),
    sa.Column("store_slug", sa.Text),
    sa.Column("action", sa.Text, nullable=False, comment="correction, deletion, export, ..."),
    sa.Column("table_name", sa.Text),
    sa.Column("row_key", JSONB, comment="the row's natural key"),
    sa.Column("field", sa.Text),
    sa.Column("old_value", sa.Text),
    sa.Column("new_value", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("actor", sa.Text, nullable=False),
    _created_at(),
    sa.Index(None, "store_id", "created_at"),
    comment="one audited action; outlives the store it names",
)

data_corrections = sa.Table(
    "data_corrections",
    metadata,
    _id(),
    _store_id(),
    sa.Column("table_name", sa.Text, nullable=False),
    sa.Column(
        "row_key",
        sa.Text,
        nullable=False,
        comment="natural key as canonical JSON (sorted keys, no spaces)",
    ),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("old_value", sa.Text),
    sa.Column("new_value", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column(
        "audit_log_id",
        sa.BigInteger,
        sa.ForeignKey("audit_log.id", ondelete="SET NULL"),
    ),
    _created_at(),
    sa.UniqueConstraint("store_id", "table_name", "row_key", "field"),
    comment="one corrected field of one stored row, for syncs to respect",
)
