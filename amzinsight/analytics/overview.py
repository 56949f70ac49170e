"""The Overview page's figures: the store's headline KPIs and the alerts worth a look this morning.

The KPIs are `store_metrics` (what `amzinsight metrics` prints) reshaped into one row, so the page
and the CLI can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.ads_performance import ads_kpis
from amzinsight.analytics.inventory import inventory_position
from amzinsight.analytics.metrics import store_metrics
from amzinsight.analytics.settlement_risk import settlements_at_risk
from amzinsight.db.tables import settlements
from amzinsight.errors import ConfigError
from amzinsight.marketplaces import marketplace_for
from amzinsight.reports import report_title
from amzinsight.stores import get_store_by_id

MONEY = pl.Decimal(18, 2)

KPI_SCHEMA = pl.Schema(
    {
        "currency": pl.String(),
        "revenue": MONEY,
        "units": pl.Int64(),
        "sessions": pl.Int64(),
        "conversion": pl.Float64(),
        "ad_spend": MONEY,
        "ad_sales": MONEY,
        "acos": pl.Float64(),
        "tacos": pl.Float64(),
        "net_payout": MONEY,
        "settlements": pl.Int64(),
    }
)


def overview_kpis(
    engine: Engine, store_id: int, marketplace_id: str, start: date, end: date
) -> pl.DataFrame:
    """One row: revenue, units, sessions, conversion, ad spend, ACoS, TACoS, net payout.

    Conversion is units per session (Amazon's unit session percentage, as a fraction); net payout
    is the total of the settlements deposited in the range (null when none was).
    """
    metrics = store_metrics(engine, get_store_by_id(engine, store_id), start, end, marketplace_id)
    sales, ads = metrics["sales"], metrics["ads"]
    deposits = [Decimal(s["total_amount"]) for s in metrics["settlements"]]
    usp = sales["unit_session_percentage"]
    row = {
        "currency": metrics["currency"],
        "revenue": Decimal(sales["ordered_product_sales"]),
        "units": sales["units_ordered"],
        "sessions": sales["sessions"],
        "conversion": None if usp is None else usp / 100,
        "ad_spend": Decimal(ads["spend"]),
        "ad_sales": Decimal(ads["sales"]),
        "acos": ads["acos"],
        "tacos": ads["tacos"],
        "net_payout": sum(deposits, Decimal(0)) if deposits else None,
        "settlements": len(deposits),
    }
    return pl.DataFrame([row], schema=KPI_SCHEMA, orient="row")


@dataclass(frozen=True)
class AlertPolicy:
    """When an alert is raised; every threshold in one place."""

    acos_recent_days: int = 7
    acos_baseline_days: int = 28
    acos_spike_ratio: float = 1.3  # recent ACoS at least 30% above the baseline's
    acos_min_recent_spend: Decimal = Decimal("20")  # below this, a spike is noise
    settlement_lookback_days: int = 90
    failed_import_days: int = 7  # a refused file is news for a week, not forever


ALERT_SCHEMA = pl.Schema(
    {
        "severity": pl.String(),  # "error" or "warning"
        "kind": pl.String(),  # failed_sync, failed_import, settlement_at_risk, acos_spike,
        # settlement_mismatch, stockout_risk
        "message": pl.String(),
        "page": pl.String(),  # where to look next
    }
)


def overview_alerts(
    engine: Engine,
    store_id: int,
    marketplace_id: str,
    today: date,
    policy: AlertPolicy = AlertPolicy(),
) -> pl.DataFrame:
    """Failed syncs and imports, an ACoS spike, settlements that do not reconcile, SKUs about to
    stock out: each computed from the current rows, so an alert goes once its cause is gone."""
    alerts = run_alerts(engine, store_id, today, policy).to_dicts()
    alerts.extend(data_alerts(engine, store_id, marketplace_id, today, policy).to_dicts())
    return pl.DataFrame(alerts, schema=ALERT_SCHEMA, orient="row")


def data_alerts(
    engine: Engine,
    store_id: int,
    marketplace_id: str,
    today: date,
    policy: AlertPolicy = AlertPolicy(),
) -> pl.DataFrame:
    """The alerts read from the store's data (ACoS, settlements, stock): safe to cache by the
    store's data version, which every load that changes rows bumps."""
    alerts = _acos_spike(engine, store_id, marketplace_id, today, policy)
    alerts.extend(_settlement_mismatches(engine, store_id, marketplace_id, today, policy))
    alerts.extend(_stockout_risk(engine, store_id, marketplace_id, today))
    return pl.DataFrame(alerts, schema=ALERT_SCHEMA, orient="row")


# Per report type and marketplace, the latest finished sync (or replay) and the latest finished
# import, each kept only when it failed after the last success of that report and marketplace
# (from any source). A file whose type was not recognised has no report of its own: any later
# successful import clears it. Imports also expire after :import_days days.
FAILED_RUNS_SQL = sa.text(
    """
    WITH finished AS (
        SELECT report_type, marketplace_id, status, error, finished_at,
               source = 'upload' AS is_import
        FROM sync_runs
        WHERE store_id = :store_id AND status IN ('succeeded', 'failed')
          AND finished_at IS NOT NULL
    ),
    latest AS (
        SELECT DISTINCT ON (report_type, marketplace_id, is_import) *
        FROM finished
        ORDER BY report_type, marketplace_id, is_import, finished_at DESC
    )
    SELECT l.report_type, l.marketplace_id, l.is_import, l.error, l.finished_at
    FROM latest l
    WHERE l.status = 'failed'
      AND (NOT l.is_import OR l.finished_at >= CAST(:import_since AS timestamptz))
      AND NOT EXISTS (
          SELECT 1 FROM finished s
          WHERE s.status = 'succeeded' AND s.finished_at > l.finished_at
            AND (
                (s.report_type = l.report_type
                 AND s.marketplace_id IS NOT DISTINCT FROM l.marketplace_id)
                OR (l.report_type = 'unrecognised' AND s.is_import)
            )
      )
    ORDER BY l.is_import, l.report_type, l.marketplace_id
    """
)


def run_alerts(
    engine: Engine, store_id: int, today: date, policy: AlertPolicy = AlertPolicy()
) -> pl.DataFrame:
    """Syncs and imports whose latest run failed and that nothing has succeeded since.

    Read from sync_runs, not from the store's data: a failed run changes no data version, so the
    page must not cache this.
    """
    since = datetime.combine(today - timedelta(days=policy.failed_import_days), time(), UTC)
    with engine.connect() as connection:
        rows = connection.execute(
            FAILED_RUNS_SQL, {"store_id": store_id, "import_since": since}
        ).all()
    alerts = []
    for row in rows:
        title = report_title(row.report_type)
        where = f" ({_country(row.marketplace_id)})" if row.marketplace_id else ""
        error = row.error or "no error was recorded"
        if row.is_import:
            unknown = row.report_type == "unrecognised"
            what = "a file" if unknown else f"a {title} file{where}"
            alerts.append(
                {
                    "severity": "warning",
                    "kind": "failed_import",
                    "message": (
                        f"Importing {what} failed on {row.finished_at:%d %b %Y}: {error} "
                        f"(This alert goes after {policy.failed_import_days} days, or once "
                        f"{'a file' if unknown else 'that report'} imports or syncs.)"
                    ),
                    "page": "sync",
                }
            )
        else:
            alerts.append(
                {
                    "severity": "error",
                    "kind": "failed_sync",
                    "message": f"The latest {title} sync{where} failed: {error}",
                    "page": "sync",
                }
            )
    for unloaded in settlements_at_risk(engine, store_id, today):
        if unloaded.at_risk:  # a later success of another settlement hides the failed_sync alert
            alerts.append(
                {
                    "severity": "error",
                    "kind": "settlement_at_risk",
                    "message": (
                        f"Settlement {_period(unloaded.period_start, unloaded.period_end)} was "
                        "listed by Amazon but could not be downloaded; Amazon lists it until "
                        f"about {unloaded.listed_until:%d %b %Y}: sync settlements again before "
                        "then."
                    ),
                    "page": "sync",
                }
            )
    return pl.DataFrame(alerts, schema=ALERT_SCHEMA, orient="row")


def _period(start: date | None, end: date | None) -> str:
    """`01 Aug 2026 to 14 Aug 2026` (alerts are plain text)."""
    return " to ".join(f"{day:%d %b %Y}" if day else "an unknown day" for day in (start, end))


def _money(amount: Decimal, currency: str) -> str:
    """`35.00 USD` (`3,500 JPY`): the currency's decimals and its code (alerts are plain text)."""
    places = 0 if currency == "JPY" else 2
    return f"{amount:,.{places}f} {currency}"


def _country(marketplace_id: str) -> str:
    try:
        return marketplace_for(marketplace_id).country_code
    except ConfigError:
        return marketplace_id


def _acos_spike(
    engine: Engine, store_id: int, marketplace_id: str, today: date, policy: AlertPolicy
) -> list[dict[str, str]]:
    """Last N complete days' 7-day ACoS against the N days before them."""
    recent_start = today - timedelta(days=policy.acos_recent_days)
    baseline_start = recent_start - timedelta(days=policy.acos_baseline_days)
    markets = (marketplace_id,)
    yesterday, before_recent = today - timedelta(days=1), recent_start - timedelta(days=1)
    recent = ads_kpis(engine, store_id, markets, recent_start, yesterday).row(0, named=True)
    base = ads_kpis(engine, store_id, markets, baseline_start, before_recent).row(0, named=True)
    recent_spend, recent_sales = recent["spend"], recent["sales_7d"]
    if not recent_spend or recent_spend < policy.acos_min_recent_spend:
        return []
    if not base["sales_7d"] or not base["spend"]:
        return []
    baseline = base["spend"] / base["sales_7d"]
    days = policy.acos_recent_days
    if not recent_sales:
        currency = get_store_by_id(engine, store_id).marketplace(marketplace_id).currency
        spent = _money(recent_spend, currency)
        message = f"Ads spent {spent} in the last {days} days without a sale."
    else:
        recent_acos = recent_spend / recent_sales
        if recent_acos < baseline * Decimal(str(policy.acos_spike_ratio)):
            return []
        message = (
            f"ACoS (7-day) rose to {recent_acos:.1%} in the last {days} days, "
            f"from {baseline:.1%} over the {policy.acos_baseline_days} days before."
        )
    return [
        {"severity": "warning", "kind": "acos_spike", "message": message, "page": "advertising"}
    ]


def _settlement_mismatches(
    engine: Engine, store_id: int, marketplace_id: str, today: date, policy: AlertPolicy
) -> list[dict[str, str]]:
    since = today - timedelta(days=policy.settlement_lookback_days)
    store = get_store_by_id(engine, store_id)
    currency = store.marketplace(marketplace_id).currency
    query = (
        sa.select(
            settlements.c.settlement_id, settlements.c.total_amount, settlements.c.lines_total
        )
        .where(
            settlements.c.store_id == store_id,
            settlements.c.currency == currency,
            settlements.c.settlement_end >= since,
            settlements.c.lines_total.is_distinct_from(settlements.c.total_amount),
        )
        .order_by(settlements.c.settlement_end)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        {
            "severity": "error",
            "kind": "settlement_mismatch",
            "message": (
                f"Settlement {row.settlement_id} does not reconcile: its lines sum to "
                f"{_money(row.lines_total, currency) if row.lines_total is not None else 'nothing'}"
                f", Amazon's total is {_money(row.total_amount, currency)}."
            ),
            "page": "finance",
        }
        for row in rows
    ]


def _stockout_risk(
    engine: Engine, store_id: int, marketplace_id: str, today: date
) -> list[dict[str, str]]:
    """SKUs whose days of cover are within lead time and safety days (the Inventory page's rule)."""
    position = inventory_position(engine, store_id, (marketplace_id,), today)
    urgent = position.filter(pl.col("status") == "order now")
    if urgent.is_empty():
        return []
    named = ", ".join(urgent.sort("days_of_cover", nulls_last=False)["sku"].head(5).to_list())
    more = f" and {urgent.height - 5} more" if urgent.height > 5 else ""
    return [
        {
            "severity": "warning",
            "kind": "stockout_risk",
            "message": f"{urgent.height} SKU(s) should be reordered now: {named}{more}.",
            "page": "inventory",
        }
    ]
