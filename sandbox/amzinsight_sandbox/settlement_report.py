"""GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2: Amazon's 14-day payouts, one per marketplace.

Amazon schedules these itself (they cannot be requested). Each holds the order lines shipped in
its period (Principal, Tax and the marketplace-facilitator tax withheld again, promotions,
Commission, FBA fees), the refunds posted in it, advertising charged as ServiceFee, the monthly
storage fee, the reserve Amazon holds back and releases, and now and then an FBA inventory
reimbursement. The first data row is the summary; its total-amount is the sum of every amount.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from amzinsight_sandbox.catalog import price_factor
from amzinsight_sandbox.config import SandboxAccount
from amzinsight_sandbox.orders import refunded_lines, sales_channel, shipped_lines
from amzinsight_sandbox.orders_report import money_text, product_frame
from amzinsight_sandbox.truth import AccountTruth, local_midnight

SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
SETTLEMENT_COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date",
    "total-amount", "currency", "transaction-type", "order-id", "merchant-order-id",
    "adjustment-id", "shipment-id", "marketplace-name", "amount-type", "amount-description",
    "amount", "fulfillment-id", "posted-date", "posted-date-time", "order-item-code",
    "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
    "promotion-id",
)  # fmt: skip
PERIOD_DAYS = 14
DEPOSIT_DELAY = timedelta(days=2, hours=3)
REFERRAL_RATE = 0.15
RESERVE_RATE = 0.05
_TRANSACTION_ORDER = {"Order": 0, "Refund": 1, "ServiceFee": 2, "other-transaction": 3}
# Detail rows before formatting: amounts in minor units, posted times in epoch seconds.
_DETAIL_SCHEMA: dict[str, type[pl.DataType]] = {
    "transaction-type": pl.Utf8,
    "order-id": pl.Utf8,
    "adjustment-id": pl.Utf8,
    "shipment-id": pl.Utf8,
    "marketplace-name": pl.Utf8,
    "amount-type": pl.Utf8,
    "amount-description": pl.Utf8,
    "amount_cents": pl.Int64,
    "fulfillment-id": pl.Utf8,
    "posted_ts": pl.Int64,
    "order-item-code": pl.Utf8,
    "merchant-adjustment-item-id": pl.Utf8,
    "sku": pl.Utf8,
    "quantity-purchased": pl.Utf8,
    "promotion-id": pl.Utf8,
    "sequence": pl.Int64,
}


@dataclass(frozen=True)
class SettlementPeriod:
    country_code: str
    number: int
    settlement_id: str
    start_ts: int
    end_ts: int
    deposit_ts: int
    report_id: str
    document_id: str

    @property
    def created(self) -> datetime:
        """Amazon makes the report available on the deposit day."""
        return datetime.fromtimestamp(self.deposit_ts, UTC)


def marketplace_periods(
    account: SandboxAccount, account_number: int, position: int
) -> Iterator[SettlementPeriod]:
    """Every 14-day period of one marketplace from the first, open-ended: the settlements, then
    the periods still open (the Finances API shows those before any settlement exists)."""
    marketplace = account.marketplace_list[position]
    first_day = account.today - timedelta(days=account.days - 1)
    rng = np.random.default_rng([account.seed, 6, position])
    anchor = (
        local_midnight(marketplace.time_zone, first_day)
        + int(rng.integers(1, PERIOD_DAYS)) * 86400
        + int(rng.integers(0, 86400))
    )
    first_id = int(rng.integers(10**10, 2 * 10**10))
    for number in itertools.count():
        start = anchor + number * PERIOD_DAYS * 86400
        end = start + PERIOD_DAYS * 86400
        report_id = str(40_000_000_000 + account_number * 10_000_000 + position * 10_000 + number)
        digest = hashlib.sha256(f"{account.seller_id}:{report_id}".encode()).hexdigest()
        yield SettlementPeriod(
            country_code=marketplace.country_code,
            number=number,
            settlement_id=str(first_id + number * 1_000_003),
            start_ts=start,
            end_ts=end,
            deposit_ts=end + int(DEPOSIT_DELAY.total_seconds()),
            report_id=report_id,
            document_id=(
                f"amzn1.spdoc.1.4.{account.region}.{digest[:8]}-{digest[8:12]}-"
                f"{digest[12:16]}-{digest[16:20]}-{digest[20:32]}.T{digest[32:38].upper()}.2110"
            ),
        )


def settlement_periods(account: SandboxAccount, account_number: int) -> list[SettlementPeriod]:
    """Every closed 14-day period inside the history, per marketplace, oldest first."""
    periods = []
    for position, marketplace in enumerate(account.marketplace_list):
        as_of = local_midnight(marketplace.time_zone, account.today + timedelta(days=1))
        for period in marketplace_periods(account, account_number, position):
            if period.deposit_ts > as_of:
                break
            periods.append(period)
    return periods


def _utc_text(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _days_closed_in(
    truth: AccountTruth, country_code: str, start_ts: int, end_ts: int
) -> list[int]:
    """Truth days whose local day ended inside (start, end]: each day belongs to one period."""
    tz = truth.marketplaces[country_code].marketplace.time_zone
    return [
        index
        for index in range(truth.days)
        if start_ts < local_midnight(tz, truth.day(index + 1)) <= end_ts
    ]


def _order_rows(lines: pl.DataFrame, refunds: bool) -> list[pl.DataFrame]:
    """One frame per amount component; rows are later sorted into Amazon's grouping."""
    fee = (pl.col("fba_fee_cents") * pl.col("quantity")).cast(pl.Int64)
    commission = pl.max_horizontal(
        ((pl.col("item_price") - pl.col("promotion_discount")) * REFERRAL_RATE).round(0),
        pl.col("quantity") * 30,
    ).cast(pl.Int64)
    if refunds:
        share = pl.col("refund_quantity") / pl.col("quantity")
        refunded_commission = (commission * share).round(0).cast(pl.Int64)
        tax_part = (pl.col("item_tax") * share).round(0).cast(pl.Int64)
        components = [
            ("ItemPrice", "Principal", -(pl.col("unit_price") * pl.col("refund_quantity"))),
            ("ItemPrice", "Tax", -tax_part),
            ("Promotion", "Principal", (pl.col("promotion_discount") * share).round(0)),
            ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", tax_part),
            ("ItemFees", "Commission", refunded_commission),
            (
                "ItemFees",
                "RefundCommission",
                -pl.min_horizontal((refunded_commission * 0.2).round(0), pl.lit(500)),
            ),
        ]
        posted = pl.col("refund_ts")
    else:
        components = [
            ("ItemPrice", "Principal", pl.col("item_price")),
            ("ItemPrice", "Tax", pl.col("item_tax")),
            ("Promotion", "Principal", -pl.col("promotion_discount")),
            ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -pl.col("item_tax")),
            ("ItemFees", "FBAPerUnitFulfillmentFee", -fee),
            ("ItemFees", "Commission", -commission),
        ]
        posted = pl.col("ship_ts")
    frames = []
    for sequence, (amount_type, description, amount) in enumerate(components):
        none = pl.lit(None, pl.Utf8)
        frames.append(
            lines.select(
                pl.lit("Refund" if refunds else "Order").alias("transaction-type"),
                pl.col("order_id").alias("order-id"),
                (pl.col("adjustment_id") if refunds else none).alias("adjustment-id"),
                (none if refunds else pl.col("shipment_id")).alias("shipment-id"),
                pl.col("marketplace_name").alias("marketplace-name"),
                pl.lit(amount_type).alias("amount-type"),
                pl.lit(description).alias("amount-description"),
                amount.cast(pl.Int64).alias("amount_cents"),
                pl.lit("AFN").alias("fulfillment-id"),
                posted.alias("posted_ts"),
                pl.col("order_item_code").alias("order-item-code"),
                (pl.col("adjustment_item_id") if refunds else none).alias(
                    "merchant-adjustment-item-id"
                ),
                pl.col("sku"),
                (none if refunds else pl.col("quantity").cast(pl.Utf8)).alias("quantity-purchased"),
                (pl.col("promotion_id") if amount_type == "Promotion" else none).alias(
                    "promotion-id"
                ),
                pl.lit(sequence, pl.Int64).alias("sequence"),
            )
        )
    return frames


def _other_rows(
    truth: AccountTruth, period: SettlementPeriod, previous: SettlementPeriod | None
) -> list[dict[str, object]]:
    """Advertising, storage, reserves and reimbursements: rows without an order."""
    mt = truth.marketplaces[period.country_code]
    currency = mt.marketplace.currency
    factor = price_factor(currency)
    tz = mt.marketplace.time_zone
    rng = np.random.default_rng([truth.account.seed, 7, int(period.settlement_id)])
    rows: list[dict[str, object]] = []

    def row(
        transaction: str,
        amount_type: str,
        description: str,
        cents: int,
        ts: int,
        **extra: str,
    ) -> None:
        if cents:
            values: dict[str, object] = dict.fromkeys(_DETAIL_SCHEMA)
            values.update(
                {
                    "transaction-type": transaction,
                    "amount-type": amount_type,
                    "amount-description": description,
                    "amount_cents": int(cents),
                    "posted_ts": int(ts),
                    "sequence": 0,
                    **extra,
                }
            )
            rows.append(values)

    days = _days_closed_in(truth, period.country_code, period.start_ts, period.end_ts)
    # Sponsored Products is billed in arrears every few days, as "Cost of Advertising".
    position = 0
    while position < len(days):
        chunk = days[position : position + int(rng.integers(3, 6))]
        position += len(chunk)
        spend = int(mt.ad_spend_cents[:, chunk].sum())
        billed = max(period.start_ts, local_midnight(tz, truth.day(chunk[-1] + 1)) - 3600)
        row("ServiceFee", "Cost of Advertising", "TransactionTotalAmount", -spend, billed)

    # Monthly storage for the previous month, charged around the 9th.
    for day_index in days:
        day = truth.day(day_index)
        if day.day != 9:
            continue
        previous_month_end = day.replace(day=1) - timedelta(days=1)
        month_days = [
            truth.day_index(previous_month_end.replace(day=d))
            for d in range(1, previous_month_end.day + 1)
        ]
        month_days = [d for d in month_days if 0 <= d < truth.days]
        if not month_days:
            continue
        rate = 2.40 if previous_month_end.month >= 10 else 0.78
        volume = np.array([p.cubic_feet for p in truth.catalogue.products])
        average_units = mt.fulfillable[:, month_days].mean(axis=1)
        fee = round(float((average_units * volume).sum()) * rate * factor * 100)
        posted = local_midnight(tz, day) + 11 * 3600 + int(rng.integers(0, 3600))
        row("other-transaction", "other-transaction", "Storage Fee", -fee, posted)

    def reserve(of: SettlementPeriod) -> int:
        of_days = _days_closed_in(truth, of.country_code, of.start_ts, of.end_ts)
        return round(float(mt.shipped_sales_cents[:, of_days].sum()) * RESERVE_RATE)

    if previous is not None:
        row(
            "other-transaction",
            "other-transaction",
            "Previous Reserve Amount Balance",
            reserve(previous),
            period.start_ts + 60,
        )
    row(
        "other-transaction",
        "other-transaction",
        "Current Reserve Amount",
        -reserve(period),
        period.end_ts - 60,
    )

    if rng.random() < 0.35:
        product = truth.catalogue.products[int(rng.integers(len(truth.catalogue.products)))]
        quantity = int(rng.integers(1, 3))
        value = round(product.unit_cost_us_cents * factor * quantity * rng.uniform(0.9, 1.2))
        row(
            "other-transaction",
            "FBA Inventory Reimbursement",
            str(rng.choice(["Lost:Warehouse", "Damaged:Warehouse"])),
            value,
            period.start_ts + int(rng.integers(3600, PERIOD_DAYS * 86400 - 3600)),
            **{
                "marketplace-name": sales_channel(period.country_code),
                "fulfillment-id": "AFN",
                "sku": product.sku,
                "quantity-purchased": str(quantity),
            },
        )
    return rows


def settlement_details(
    truth: AccountTruth, period: SettlementPeriod, previous: SettlementPeriod | None
) -> pl.DataFrame:
    """One row per amount of a period, in the document's order, before formatting: what the
    settlement flat file and the Finances API's transactions are both made from."""
    mt = truth.marketplaces[period.country_code]
    factor = price_factor(mt.marketplace.currency)
    products = product_frame(truth).with_columns(
        (pl.col("fba_fee_us_cents") * factor).round(0).cast(pl.Int64).alias("fba_fee_cents")
    )
    channel = sales_channel(period.country_code)

    def enrich(lines: pl.DataFrame) -> pl.DataFrame:
        return lines.join(products, on="product", how="left", maintain_order="left").with_columns(
            pl.lit(channel).alias("marketplace_name")
        )

    shipped = enrich(shipped_lines(truth, period.country_code, period.start_ts, period.end_ts))
    refunded = enrich(refunded_lines(truth, period.country_code, period.start_ts, period.end_ts))
    frames = _order_rows(shipped, refunds=False) + _order_rows(refunded, refunds=True)
    others = _other_rows(truth, period, previous)
    if others:
        frames.append(pl.DataFrame(others, schema=_DETAIL_SCHEMA))
    details = (
        pl.concat(frames)
        .filter(pl.col("amount_cents") != 0)
        .with_columns(
            pl.col("transaction-type").replace_strict(_TRANSACTION_ORDER).alias("group"),
        )
        .sort("group", "posted_ts", "order-item-code", "sequence", nulls_last=True)
        .drop("group")
    )
    return details


def settlement_document(
    truth: AccountTruth, period: SettlementPeriod, previous: SettlementPeriod | None
) -> str:
    """The flat file: header, summary row, then one row per amount."""
    currency = truth.marketplaces[period.country_code].marketplace.currency
    details = settlement_details(truth, period, previous)
    total = int(details["amount_cents"].sum()) if details.height else 0
    posted = pl.from_epoch(pl.col("posted_ts"), time_unit="s")
    rows = details.select(
        pl.lit(period.settlement_id).alias("settlement-id"),
        *(pl.lit(None, pl.Utf8).alias(name) for name in SETTLEMENT_COLUMNS[1:6]),
        pl.col("transaction-type"),
        pl.col("order-id"),
        pl.col("order-id").alias("merchant-order-id"),  # the order id again for FBA orders
        pl.col("adjustment-id"),
        pl.col("shipment-id"),
        pl.col("marketplace-name"),
        pl.col("amount-type"),
        pl.col("amount-description"),
        money_text(pl.col("amount_cents")).alias("amount"),
        pl.col("fulfillment-id"),
        posted.dt.strftime("%Y-%m-%d").alias("posted-date"),
        posted.dt.strftime("%Y-%m-%d %H:%M:%S UTC").alias("posted-date-time"),
        pl.col("order-item-code"),
        pl.lit(None, pl.Utf8).alias("merchant-order-item-id"),
        pl.col("merchant-adjustment-item-id"),
        pl.col("sku"),
        pl.col("quantity-purchased"),
        pl.col("promotion-id"),
    )
    summary = [
        period.settlement_id,
        _utc_text(period.start_ts),
        _utc_text(period.end_ts),
        _utc_text(period.deposit_ts),
        _cents_text(total),
        currency,
    ] + [""] * (len(SETTLEMENT_COLUMNS) - 6)
    header = "\t".join(SETTLEMENT_COLUMNS)
    body = rows.write_csv(separator="\t", quote_style="never", null_value="", include_header=False)
    return f"{header}\n" + "\t".join(summary) + "\n" + body


def _cents_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
