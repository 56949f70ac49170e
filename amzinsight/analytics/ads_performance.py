"""Sponsored Products performance for the Advertising page: KPIs, periods and the drill-down.

Every figure uses 7-day attribution (sales_7d, purchases_7d, units_sold_clicks_7d), as sellers'
ACoS does, and the same definitions as `metrics.store_metrics`: campaign-level rows of
ads_campaign_daily for the totals (its ad-group rows would count twice), ratios rounded to 4
places and null when their denominator is 0. Drill-down levels read their own report (ad-group
rows, spTargeting, spSearchTerm), so each level adds up to the level above as Amazon reports it.
Days Amazon may still restate are kept and flagged `settling`, never hidden: the spend happened.
Settling is decided at each read (rules/settling.py: each profile's marketplace-local today minus
settle_days), never taken from when the rows were imported. Names, states and bids come from the
entity snapshots, else from the reports' own text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg
from sqlalchemy.engine import Engine

from amzinsight.db.frames import query_frame
from amzinsight.db.tables import (
    ads_ad_groups,
    ads_campaign_daily,
    ads_campaigns,
    ads_profiles,
    ads_search_term_daily,
    ads_target_daily,
    ads_targets,
    marketplaces,
    sales_traffic_by_date,
)
from amzinsight.errors import ConfigError
from amzinsight.rules.periods import check_granularity, check_range, local_today
from amzinsight.rules.settling import DEFAULT_SETTLE_DAYS, settling_from
from amzinsight.stores import ads_profile_ids

MONEY = pl.Decimal(18, 2)
RATIO_PLACES = 4

METRIC_SCHEMA = {
    "currency": pl.String(),
    "spend": MONEY,
    "sales_7d": MONEY,
    "acos": pl.Float64(),
    "roas": pl.Float64(),
    "cpc": MONEY,
    "ctr": pl.Float64(),
    "cvr": pl.Float64(),
    "impressions": pl.Int64(),
    "clicks": pl.Int64(),
    "orders": pl.Int64(),
    "units": pl.Int64(),
    "settling": pl.Boolean(),
}
KPI_SCHEMA = {
    **METRIC_SCHEMA,
    "total_sales": MONEY,
    "tacos": pl.Float64(),
    "ad_days": pl.Int64(),
    "settling_days": pl.Int64(),
}
OVER_TIME_SCHEMA = {
    "period": pl.Date(),
    **METRIC_SCHEMA,
    "total_sales": MONEY,
    "tacos": pl.Float64(),
    "settling_days": pl.Int64(),
}
CAMPAIGN_SCHEMA = {
    "profile_id": pl.String(),
    "campaign_id": pl.String(),
    "campaign_name": pl.String(),
    "state": pl.String(),
    "targeting_type": pl.String(),
    "budget": MONEY,
    **METRIC_SCHEMA,
}
AD_GROUP_SCHEMA = {
    "profile_id": pl.String(),
    "campaign_id": pl.String(),
    "ad_group_id": pl.String(),
    "ad_group_name": pl.String(),
    "state": pl.String(),
    "default_bid": pl.Decimal(18, 4),
    **METRIC_SCHEMA,
}
TARGET_SCHEMA = {
    "profile_id": pl.String(),
    "ad_group_id": pl.String(),
    "target_id": pl.String(),
    "target": pl.String(),
    "kind": pl.String(),
    "match_type": pl.String(),
    "state": pl.String(),
    "bid": pl.Decimal(18, 4),
    **METRIC_SCHEMA,
}
SEARCH_TERM_SCHEMA = {
    "profile_id": pl.String(),
    "ad_group_id": pl.String(),
    "target_id": pl.String(),
    "search_term": pl.String(),
    "target": pl.String(),
    "match_type": pl.String(),
    **METRIC_SCHEMA,
}

MarketplaceIds = tuple[str, ...]


@dataclass(frozen=True)
class _Totals:
    """Summed 7-day metrics, as expressions (aggregates, or a grouped subquery's columns)."""

    impressions: sa.ColumnElement[Any]
    clicks: sa.ColumnElement[Any]
    spend: sa.ColumnElement[Any]
    sales: sa.ColumnElement[Any]
    orders: sa.ColumnElement[Any]
    units: sa.ColumnElement[Any]
    currency: sa.ColumnElement[Any]
    settling: sa.ColumnElement[Any]

    @classmethod
    def summed(cls, facts: sa.FromClause, settling: sa.ColumnElement[bool]) -> _Totals:
        return cls(
            impressions=sa.func.sum(facts.c.impressions),
            clicks=sa.func.sum(facts.c.clicks),
            spend=sa.func.sum(facts.c.cost),
            sales=sa.func.sum(facts.c.sales_7d),
            orders=sa.func.sum(facts.c.purchases_7d),
            units=sa.func.sum(facts.c.units_sold_clicks_7d),
            currency=sa.func.max(facts.c.currency),
            settling=sa.func.bool_or(settling),
        )

    @classmethod
    def of(cls, grouped: sa.FromClause) -> _Totals:
        return cls(*(grouped.c[name] for name in _SUM_NAMES))

    def labelled(self) -> list[sa.ColumnElement[Any]]:
        return [
            getattr(self, field).label(name)
            for field, name in zip(_TOTALS_FIELDS, _SUM_NAMES, strict=True)
        ]

    def metrics(self) -> list[sa.ColumnElement[Any]]:
        """The columns of METRIC_SCHEMA, ratios from the sums (never an average of ratios)."""
        return [
            self.currency.label("currency"),
            self.spend.label("spend"),
            self.sales.label("sales_7d"),
            _ratio(self.spend, self.sales).label("acos"),
            _ratio(self.sales, self.spend).label("roas"),
            sa.func.round(self.spend / sa.func.nullif(self.clicks, 0), 2).label("cpc"),
            _ratio(self.clicks, self.impressions).label("ctr"),
            _ratio(self.orders, self.clicks).label("cvr"),
            self.impressions.label("impressions"),
            self.clicks.label("clicks"),
            self.orders.label("orders"),
            self.units.label("units"),
            self.settling.label("settling"),
        ]


_TOTALS_FIELDS = (
    "impressions",
    "clicks",
    "spend",
    "sales",
    "orders",
    "units",
    "currency",
    "settling",
)
_SUM_NAMES = tuple(f"sum_{field}" for field in _TOTALS_FIELDS)


def _ratio(
    numerator: sa.ColumnElement[Any], denominator: sa.ColumnElement[Any]
) -> sa.ColumnElement[Any]:
    """numerator / denominator to 4 places (half up, as metrics.ratio); null when it is 0."""
    quotient = sa.cast(numerator, sa.Numeric) / sa.func.nullif(denominator, 0)
    return sa.cast(sa.func.round(quotient, RATIO_PLACES), sa.Float)


def _in_scope(
    facts: sa.Table, store_id: int, marketplace_ids: MarketplaceIds, start: date, end: date
) -> list[sa.ColumnElement[Any]]:
    check_range(start, end)
    return [
        facts.c.store_id == store_id,
        facts.c.profile_id.in_(ads_profile_ids(store_id, marketplace_ids)),
        facts.c.report_date.between(start, end),
    ]


def _settling(
    engine: Engine,
    facts: sa.FromClause,
    store_id: int,
    marketplace_ids: MarketplaceIds,
    settle_days: int,
    now: datetime | None,
) -> sa.ColumnElement[bool]:
    """Whether a row's day may still be restated, as of this read (`now`, else the clock): on or
    after its profile's settling_from, from the marketplace's local today."""
    p, m = ads_profiles, marketplaces
    with engine.connect() as connection:
        zones = connection.execute(
            sa.select(p.c.profile_id, sa.func.coalesce(m.c.time_zone, p.c.time_zone, "UTC"))
            .select_from(
                p.outerjoin(
                    m,
                    sa.and_(m.c.store_id == p.c.store_id, m.c.marketplace_id == p.c.marketplace_id),
                )
            )
            .where(p.c.store_id == store_id, p.c.marketplace_id.in_(list(marketplace_ids)))
        ).all()
    if not zones:
        return sa.false()
    first_settling_day = sa.case(
        {
            profile_id: sa.literal(settling_from(local_today(zone, now), settle_days), sa.Date)
            for profile_id, zone in zones
        },
        value=facts.c.profile_id,
    )
    return facts.c.report_date >= first_settling_day


def _latest(column: sa.ColumnElement[Any], facts: sa.Table) -> sa.ColumnElement[Any]:
    """The value a report carried on its most recent day (a name may change over time)."""
    latest: sa.ColumnElement[Any] = array_agg(  # type: ignore[no-untyped-call]
        aggregate_order_by(column, facts.c.report_date.desc())
    )[1]
    return latest


def _total_sales(
    store_id: int, marketplace_ids: MarketplaceIds, start: date, end: date
) -> sa.ScalarSelect[Any]:
    """Total ordered product sales (organic and ad), the denominator of TACoS."""
    t = sales_traffic_by_date
    return (
        sa.select(sa.func.sum(t.c.ordered_product_sales))
        .where(
            t.c.store_id == store_id,
            t.c.marketplace_id.in_(list(marketplace_ids)),
            t.c.report_date.between(start, end),
        )
        .scalar_subquery()
    )


def ads_kpis(
    engine: Engine,
    store_id: int,
    marketplace_ids: MarketplaceIds,
    start: date,
    end: date,
    *,
    settle_days: int = DEFAULT_SETTLE_DAYS,
    now: datetime | None = None,
) -> pl.DataFrame:
    """One row: the range's Sponsored Products totals, equal to store_metrics' "ads" block.

    Sums are null when the range has no ads rows at all (not synced), never a made-up zero.
    """
    t = ads_campaign_daily
    settling = _settling(engine, t, store_id, marketplace_ids, settle_days, now)
    totals = _Totals.summed(t, settling)
    total_sales = _total_sales(store_id, marketplace_ids, start, end)
    day = sa.distinct(t.c.report_date)
    query = sa.select(
        *totals.metrics(),
        total_sales.label("total_sales"),
        _ratio(totals.spend, total_sales).label("tacos"),
        sa.func.count(day).label("ad_days"),
        sa.func.count(day).filter(settling).label("settling_days"),
    ).where(
        *_in_scope(t, store_id, marketplace_ids, start, end),
        t.c.ad_group_id == "",  # campaign-level rows; ad-group rows would double count
    )
    return query_frame(engine, query, KPI_SCHEMA)


def ads_over_time(
    engine: Engine,
    store_id: int,
    marketplace_ids: MarketplaceIds,
    start: date,
    end: date,
    granularity: str,
    *,
    settle_days: int = DEFAULT_SETTLE_DAYS,
    now: datetime | None = None,
) -> pl.DataFrame:
    """The KPIs per day, week (Monday) or month of the range, every period present.

    A period without ads rows has null figures (a gap in the chart, not a zero); `settling`
    says whether Amazon may still restate one of its days.
    """
    check_granularity(granularity)
    check_range(start, end)

    def period_of(day: sa.ColumnElement[Any] | date) -> sa.ColumnElement[Any]:
        return sa.func.date_trunc(granularity, sa.cast(day, sa.DateTime))

    t = ads_campaign_daily
    ad_days = (
        sa.select(period_of(t.c.report_date).label("period"), t)
        .where(*_in_scope(t, store_id, marketplace_ids, start, end), t.c.ad_group_id == "")
        .subquery("ad_days")
    )
    settling = _settling(engine, ad_days, store_id, marketplace_ids, settle_days, now)
    ads = (
        sa.select(
            ad_days.c.period,
            *_Totals.summed(ad_days, settling).labelled(),
            sa.func.count(sa.distinct(ad_days.c.report_date))
            .filter(settling)
            .label("settling_days"),
        )
        .group_by(ad_days.c.period)
        .subquery("ads")
    )
    s = sales_traffic_by_date
    sales_days = (
        sa.select(period_of(s.c.report_date).label("period"), s.c.ordered_product_sales)
        .where(
            s.c.store_id == store_id,
            s.c.marketplace_id.in_(list(marketplace_ids)),
            s.c.report_date.between(start, end),
        )
        .subquery("sales_days")
    )
    sales = (
        sa.select(
            sales_days.c.period,
            sa.func.sum(sales_days.c.ordered_product_sales).label("total_sales"),
        )
        .group_by(sales_days.c.period)
        .subquery("sales")
    )
    periods = sa.select(
        sa.func.generate_series(
            period_of(start), sa.cast(end, sa.DateTime), sa.cast(f"1 {granularity}", sa.Interval)
        ).label("period")
    ).subquery("periods")
    totals = _Totals.of(ads)
    query = (
        sa.select(
            sa.cast(periods.c.period, sa.Date).label("period"),
            *totals.metrics(),
            sales.c.total_sales,
            _ratio(totals.spend, sales.c.total_sales).label("tacos"),
            ads.c.settling_days,
        )
        .select_from(
            periods.outerjoin(ads, ads.c.period == periods.c.period).outerjoin(
                sales, sales.c.period == periods.c.period
            )
        )
        .order_by(periods.c.period)
    )
    return query_frame(engine, query, OVER_TIME_SCHEMA)


def campaign_performance(
    engine: Engine,
    store_id: int,
    marketplace_ids: MarketplaceIds,
    start: date,
    end: date,
    *,
    settle_days: int = DEFAULT_SETTLE_DAYS,
    now: datetime | None = None,
) -> pl.DataFrame:
    """Each campaign with ads rows in the range, highest spend first."""
    t, c = ads_campaign_daily, ads_campaigns
    settling = _settling(engine, t, store_id, marketplace_ids, settle_days, now)
    grouped = (
        sa.select(
            t.c.profile_id,
            t.c.campaign_id,
            _latest(t.c.campaign_name, t).label("report_name"),
            _latest(t.c.campaign_status, t).label("report_state"),
            *_Totals.summed(t, settling).labelled(),
        )
        .where(*_in_scope(t, store_id, marketplace_ids, start, end), t.c.ad_group_id == "")
        .group_by(t.c.profile_id, t.c.campaign_id)
        .subquery("grouped")
    )
    query = (
        sa.select(
            grouped.c.profile_id,
            grouped.c.campaign_id,
            sa.func.coalesce(c.c.name, grouped.c.report_name, grouped.c.campaign_id),
            sa.func.coalesce(c.c.state, grouped.c.report_state),
            c.c.targeting_type,
            c.c.budget,
            *_Totals.of(grouped).metrics(),
        )
        .select_from(
            grouped.outerjoin(
                c,
                sa.and_(
                    c.c.store_id == store_id,
                    c.c.profile_id == grouped.c.profile_id,
                    c.c.campaign_id == grouped.c.campaign_id,
                ),
            )
        )
        .order_by(grouped.c.sum_spend.desc().nulls_last(), grouped.c.campaign_id)
    )
    return query_frame(engine, query, CAMPAIGN_SCHEMA)


def ad_group_performance(
    engine: Engine,
    store_id: int,
    marketplace_ids: MarketplaceIds,
    start: date,
    end: date,
    campaign_id: str,
    *,
    settle_days: int = DEFAULT_SETTLE_DAYS,
    now: datetime | None = None,
) -> pl.DataFrame:
    """The ad groups of one campaign (the spCampaigns ad-group rows), highest spend first."""
    t, g = ads_campaign_daily, ads_ad_groups
    settling = _settling(engine, t, store_id, marketplace_ids, settle_days, now)
    grouped = (
        sa.select(
            t.c.profile_id,
            t.c.campaign_id,
            t.c.ad_group_id,
            _latest(t.c.ad_group_name, t).label("report_name"),
            *_Totals.summed(t, settling).labelled(),
        )
        .where(
            *_in_scope(t, store_id, marketplace_ids, start, end),
            t.c.campaign_id == campaign_id,
            t.c.ad_group_id != "",
        )
        .group_by(t.c.profile_id, t.c.campaign_id, t.c.ad_group_id)
        .subquery("grouped")
    )
    query = (
        sa.select(
            grouped.c.profile_id,
            grouped.c.campaign_id,
            grouped.c.ad_group_id,
            sa.func.coalesce(g.c.name, grouped.c.report_name, grouped.c.ad_group_id),
            g.c.state,
            g.c.default_bid,
            *_Totals.of(grouped).metrics(),
        )
        .select_from(
            grouped.outerjoin(
                g,
                sa.and_(
                    g.c.store_id == store_id,
                    g.c.profile_id == grouped.c.profile_id,
                    g.c.ad_group_id == grouped.c.ad_group_id,
                ),
            )
        )
        .order_by(grouped.c.sum_spend.desc().nulls_last(), grouped.c.ad_group_id)
    )
    return query_frame(engine, query, AD_GROUP_SCHEMA)


def target_performance(
    engine: Engine,
    store_id: int,
    marketplace_ids: MarketplaceIds,
    start: date,
    end: date,
    ad_group_id: str,
    *,
    settle_days: int = DEFAULT_SETTLE_DAYS,
    now: datetime | None = None,
) -> pl.DataFrame:
    """The keywords and product targets of one ad group (spTargeting), highest spend first.

    Match type, state and bid are the entity snapshot's (what is live now), else the report's.
    """
    t, e = ads_target_daily, ads_targets
    settling = _settling(engine, t, store_id, marketplace_ids, settle_days, now)
    grouped = (
        sa.select(
            t.c.profile_id,
            t.c.target_id,
            _latest(sa.func.coalesce(t.c.keyword_text, t.c.targeting), t).label("report_text"),
            _latest(t.c.match_type, t).label("report_match_type"),
            _latest(t.c.ad_keyword_status, t).label("report_state"),
            _latest(t.c.keyword_bid, t).label("report_bid"),
            *_Totals.summed(t, settling).labelled(),
        )
        .where(*_in_scope(t, store_id, marketplace_ids, start, end), t.c.ad_group_id == ad_group_id)
        .group_by(t.c.profile_id, t.c.target_id)
        .subquery("grouped")
    )
    query = (
        sa.select(
            grouped.c.profile_id,
            sa.literal(ad_group_id),
            grouped.c.target_id,
            sa.func.coalesce(e.c.keyword_text, e.c.expression, grouped.c.report_text),
            e.c.kind,
            sa.func.coalesce(e.c.match_type, grouped.c.report_match_type),
            sa.func.coalesce(e.c.state, grouped.c.report_state),
            sa.func.coalesce(e.c.bid, grouped.c.report_bid),
            *_Totals.of(grouped).metrics(),
        )
        .select_from(
            grouped.outerjoin(
                e,
                sa.and_(
                    e.c.store_id == store_id,
                    e.c.profile_id == grouped.c.profile_id,
                    e.c.target_id == grouped.c.target_id,
                ),
            )
        )
        .order_by(grouped.c.sum_spend.desc().nulls_last(), grouped.c.target_id)
    )
    return query_frame(engine, query, TARGET_SCHEMA)


def search_term_performance(
    engine: Engine,
    store_id: int,
    marketplace_ids: MarketplaceIds,
    start: date,
    end: date,
    ad_group_id: str | None = None,
    target_id: str | None = None,
    *,
    settle_days: int = DEFAULT_SETTLE_DAYS,
    now: datetime | None = None,
) -> pl.DataFrame:
    """Customer search terms per target of one ad group and/or one keyword or product target.

    spSearchTerm lists clicked terms only, so its sums can stay below the target's.
    """
    if ad_group_id is None and target_id is None:
        raise ConfigError("Search terms need an ad group or a target to look into.")
    s = ads_search_term_daily
    scope = _in_scope(s, store_id, marketplace_ids, start, end)
    if ad_group_id is not None:
        scope.append(s.c.ad_group_id == ad_group_id)
    if target_id is not None:
        scope.append(s.c.target_id == target_id)
    totals = _Totals.summed(s, _settling(engine, s, store_id, marketplace_ids, settle_days, now))
    query = (
        sa.select(
            s.c.profile_id,
            s.c.ad_group_id,
            s.c.target_id,
            s.c.search_term,
            _latest(sa.func.coalesce(s.c.keyword_text, s.c.targeting), s),
            _latest(s.c.match_type, s),
            *totals.metrics(),
        )
        .where(*scope)
        .group_by(s.c.profile_id, s.c.ad_group_id, s.c.target_id, s.c.search_term)
        .order_by(totals.spend.desc().nulls_last(), s.c.search_term, s.c.target_id)
    )
    return query_frame(engine, query, SEARCH_TERM_SCHEMA)
