"""What the engine reads, aggregated in PostgreSQL: one Ads profile's targets, per-target and
per-search-term 7-day totals over the lookback window (days still settling on `today` left out),
campaigns with their targets and break-even ACoS, the products each ad group advertises and their
days of cover. Reads only; the engine itself (engine.py) never touches the database."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import Engine

from amzinsight.analytics.ledger import ledger_lines
from amzinsight.bidding.engine import EngineInputs
from amzinsight.bidding.frames import frame_currency, lookback_window, settled_before
from amzinsight.bidding.policy import BidPolicy
from amzinsight.db.frames import query_frame
from amzinsight.db.tables import (
    ads_ad_groups,
    ads_advertised_product_daily,
    ads_campaigns,
    ads_profiles,
    ads_search_term_daily,
    ads_target_daily,
    ads_targets,
    bid_changes,
    cogs,
    inventory_snapshots,
    listings,
    marketplaces,
    order_items,
    orders,
    sales_traffic_by_asin,
)
from amzinsight.reports.ads_names import NAMED_ID_PREFIX


def _total(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.cast(sa.func.coalesce(sa.func.sum(column), 0), sa.Float)


def load_inputs(
    engine: Engine, store_id: int, profile_id: str, today: date, policy: BidPolicy
) -> EngineInputs:
    """One profile's inputs, aggregated in PostgreSQL: per-target and per-search-term 7-day totals
    over the lookback (days settling as of `today` excluded), the last applied bid change per
    target, the campaigns with their targets and break-even ACoS, and days of cover per advertised
    ASIN."""
    start, end = lookback_window(today, policy)
    with engine.connect() as connection:
        profile = connection.execute(
            sa.select(
                ads_profiles.c.marketplace_id, ads_profiles.c.currency, ads_profiles.c.time_zone
            ).where(ads_profiles.c.store_id == store_id, ads_profiles.c.profile_id == profile_id)
        ).first()
        marketplace_id = profile.marketplace_id if profile else None
        time_zone = (profile.time_zone if profile else None) or "UTC"
        currency = (profile.currency if profile else None) or _store_currency(
            connection, store_id, marketplace_id
        )
        targets = _load_targets(connection, store_id, profile_id, time_zone)
        # Metrics stop before the days still settling as of the engine's `today` (decided now,
        # never from when the rows were loaded).
        settled_end = min(end, settled_before(today, policy) - timedelta(days=1))
        performance = _load_performance(connection, store_id, profile_id, start, settled_end)
        campaigns = _load_campaigns(connection, store_id, profile_id)
        search_terms = _load_search_terms(
            connection, store_id, profile_id, start, settled_end
        ).join(campaigns.select("campaign_id", "targeting_type"), on="campaign_id", how="left")
        advertised = _load_advertised(connection, store_id, profile_id, start, end)
        cover = _load_cover(connection, store_id, marketplace_id, today, policy)
        break_even = _load_break_even(connection, store_id, marketplace_id, currency, today, policy)
    cover_by_ad_group = (
        advertised.join(cover, on="asin")
        .sort("ad_group_id", "days_of_cover", nulls_last=True)
        .group_by("ad_group_id", maintain_order=True)
        .first()
        .select("ad_group_id", "asin", "days_of_cover")
    )
    campaign_break_even = (
        advertised.join(break_even.drop_nulls("break_even_acos"), on="sku")
        .group_by("campaign_id")
        .agg(pl.col("break_even_acos").min())
    )
    campaigns = campaigns.join(campaign_break_even, on="campaign_id", how="left")
    if currency is None:
        currency = frame_currency(targets)
    return EngineInputs(
        profile_id=profile_id,
        currency=currency or "",
        marketplace_id=marketplace_id,
        today=today,
        window_start=start,
        window_end=end,
        targets=targets,
        performance=performance,
        search_terms=search_terms,
        campaigns=campaigns,
        advertised=advertised,
        cover_by_ad_group=cover_by_ad_group,
        break_even=break_even,
    )


def _store_currency(
    connection: sa.Connection, store_id: int, marketplace_id: str | None
) -> str | None:
    statement = sa.select(marketplaces.c.currency).where(marketplaces.c.store_id == store_id)
    if marketplace_id:
        statement = statement.where(marketplaces.c.marketplace_id == marketplace_id)
    found = sorted({row.currency for row in connection.execute(statement)})
    return found[0] if len(found) == 1 else None


def _load_targets(
    connection: sa.Connection, store_id: int, profile_id: str, time_zone: str
) -> pl.DataFrame:
    t, g, c, b = ads_targets, ads_ad_groups, ads_campaigns, bid_changes
    last = (
        sa.select(b.c.entity_id, sa.func.max(b.c.applied_at).label("applied_at"))
        .where(
            b.c.store_id == store_id,
            b.c.profile_id == profile_id,
            b.c.field == "bid",
            b.c.succeeded.is_not(False),
            b.c.entity_id.is_not(None),
        )
        .group_by(b.c.entity_id)
        .subquery()
    )
    statement = (
        sa.select(
            t.c.target_id,
            t.c.kind,
            t.c.campaign_id,
            t.c.ad_group_id,
            t.c.keyword_text,
            t.c.expression,
            t.c.match_type,
            t.c.state,
            sa.cast(t.c.bid, sa.Float),
            t.c.currency,
            sa.cast(g.c.default_bid, sa.Float),
            g.c.state,
            g.c.name,
            c.c.state,
            c.c.name,
            c.c.targeting_type,
            sa.cast(sa.func.timezone(time_zone, last.c.applied_at), sa.Date),
        )
        .select_from(
            t.outerjoin(
                g,
                sa.and_(
                    g.c.store_id == t.c.store_id,
                    g.c.profile_id == t.c.profile_id,
                    g.c.ad_group_id == t.c.ad_group_id,
                ),
            )
            .outerjoin(
                c,
                sa.and_(
                    c.c.store_id == t.c.store_id,
                    c.c.profile_id == t.c.profile_id,
                    c.c.campaign_id == t.c.campaign_id,
                ),
            )
            .outerjoin(last, last.c.entity_id == t.c.target_id)
        )
        .where(
            t.c.store_id == store_id,
            t.c.profile_id == profile_id,
            sa.func.upper(sa.func.coalesce(t.c.state, "")) != "ARCHIVED",
        )
        .order_by(t.c.target_id)
    )
    return query_frame(
        connection,
        statement,
        {
            "target_id": pl.String(),
            "kind": pl.String(),
            "campaign_id": pl.String(),
            "ad_group_id": pl.String(),
            "keyword_text": pl.String(),
            "expression": pl.String(),
            "match_type": pl.String(),
            "state": pl.String(),
            "bid": pl.Float64(),
            "currency": pl.String(),
            "default_bid": pl.Float64(),
            "ad_group_state": pl.String(),
            "ad_group_name": pl.String(),
            "campaign_state": pl.String(),
            "campaign_name": pl.String(),
            "targeting_type": pl.String(),
            "last_bid_change": pl.Date(),
        },
    )


def _load_performance(
    connection: sa.Connection, store_id: int, profile_id: str, start: date, end: date
) -> pl.DataFrame:
    d = ads_target_daily
    statement = (
        sa.select(
            d.c.target_id,
            sa.func.max(d.c.campaign_id),
            sa.func.max(d.c.ad_group_id),
            _total(d.c.impressions),
            _total(d.c.clicks),
            _total(d.c.cost),
            _total(d.c.purchases_7d),
            _total(d.c.sales_7d),
        )
        .where(
            d.c.store_id == store_id,
            d.c.profile_id == profile_id,
            d.c.report_date.between(start, end),
        )
        .group_by(d.c.target_id)
    )
    return query_frame(
        connection,
        statement,
        {
            "target_id": pl.String(),
            "campaign_id": pl.String(),
            "ad_group_id": pl.String(),
            "impressions": pl.Float64(),
            "clicks": pl.Float64(),
            "cost": pl.Float64(),
            "purchases_7d": pl.Float64(),
            "sales_7d": pl.Float64(),
        },
    )


def _load_search_terms(
    connection: sa.Connection, store_id: int, profile_id: str, start: date, end: date
) -> pl.DataFrame:
    s = ads_search_term_daily
    statement = (
        sa.select(
            s.c.campaign_id,
            s.c.ad_group_id,
            s.c.target_id,
            s.c.search_term,
            sa.func.max(s.c.keyword_type),
            sa.func.max(s.c.match_type),
            sa.func.max(s.c.campaign_name),
            sa.func.max(s.c.ad_group_name),
            _total(s.c.impressions),
            _total(s.c.clicks),
            _total(s.c.cost),
            _total(s.c.purchases_7d),
            _total(s.c.sales_7d),
        )
        .where(
            s.c.store_id == store_id,
            s.c.profile_id == profile_id,
            s.c.report_date.between(start, end),
            # Console rows whose campaign or ad group Amazon has not named yet carry derived
            # ids (reports/ads_names.py): nothing can be harvested into or negated in them.
            ~s.c.campaign_id.startswith(NAMED_ID_PREFIX, autoescape=True),
            ~s.c.ad_group_id.startswith(NAMED_ID_PREFIX, autoescape=True),
        )
        .group_by(s.c.campaign_id, s.c.ad_group_id, s.c.target_id, s.c.search_term)
    )
    return query_frame(
        connection,
        statement,
        {
            "campaign_id": pl.String(),
            "ad_group_id": pl.String(),
            "target_id": pl.String(),
            "search_term": pl.String(),
            "keyword_type": pl.String(),
            "match_type": pl.String(),
            "campaign_name": pl.String(),
            "ad_group_name": pl.String(),
            "impressions": pl.Float64(),
            "clicks": pl.Float64(),
            "cost": pl.Float64(),
            "purchases_7d": pl.Float64(),
            "sales_7d": pl.Float64(),
        },
    )


def _load_campaigns(connection: sa.Connection, store_id: int, profile_id: str) -> pl.DataFrame:
    c = ads_campaigns
    statement = sa.select(
        c.c.campaign_id,
        c.c.name,
        c.c.state,
        c.c.targeting_type,
        sa.cast(c.c.target_acos, sa.Float),
    ).where(c.c.store_id == store_id, c.c.profile_id == profile_id)
    return query_frame(
        connection,
        statement,
        {
            "campaign_id": pl.String(),
            "name": pl.String(),
            "state": pl.String(),
            "targeting_type": pl.String(),
            "target_acos": pl.Float64(),
        },
    )


def _load_advertised(
    connection: sa.Connection, store_id: int, profile_id: str, start: date, end: date
) -> pl.DataFrame:
    a = ads_advertised_product_daily
    statement = (
        sa.select(a.c.campaign_id, a.c.ad_group_id, a.c.advertised_asin, a.c.advertised_sku)
        .where(
            a.c.store_id == store_id,
            a.c.profile_id == profile_id,
            a.c.report_date.between(start, end),
        )
        .distinct()
    )
    return query_frame(
        connection,
        statement,
        {
            "campaign_id": pl.String(),
            "ad_group_id": pl.String(),
            "asin": pl.String(),
            "sku": pl.String(),
        },
    )


def _load_cover(
    connection: sa.Connection,
    store_id: int,
    marketplace_id: str | None,
    today: date,
    policy: BidPolicy,
) -> pl.DataFrame:
    """asin, days_of_cover: fulfillable units in the latest snapshot / units sold per day.

    Units sold come from Sales and Traffic by child ASIN, or from order lines (not cancelled)
    where that report has no row for the ASIN. No sales and stock left: no cover figure (nothing
    to run out); no stock: 0 days."""
    i = inventory_snapshots
    in_market = [i.c.store_id == store_id]
    if marketplace_id:
        in_market.append(i.c.marketplace_id == marketplace_id)
    latest = sa.select(sa.func.max(i.c.snapshot_date)).where(*in_market, i.c.snapshot_date <= today)
    asin = sa.func.coalesce(i.c.asin, i.c.sku)
    stock = query_frame(
        connection,
        sa.select(asin, _total(i.c.fulfillable_quantity))
        .where(*in_market, i.c.snapshot_date == latest.scalar_subquery())
        .group_by(asin),
        {"asin": pl.String(), "fulfillable": pl.Float64()},
    )
    since, until = today - timedelta(days=policy.velocity_days), today - timedelta(days=1)
    st = sales_traffic_by_asin
    traffic_filter = [
        st.c.store_id == store_id,
        st.c.report_date.between(since, until),
        st.c.child_asin != "",
    ]
    if marketplace_id:
        traffic_filter.append(st.c.marketplace_id == marketplace_id)
    traffic = query_frame(
        connection,
        sa.select(st.c.child_asin, _total(st.c.units_ordered))
        .where(*traffic_filter)
        .group_by(st.c.child_asin),
        {"asin": pl.String(), "traffic_units": pl.Float64()},
    )
    o, oi = orders, order_items
    order_filter = [
        o.c.store_id == store_id,
        o.c.purchase_local_date.between(since, until),
        o.c.order_status.is_distinct_from("Cancelled"),
        oi.c.asin != "",
    ]
    if marketplace_id:
        order_filter.append(o.c.marketplace_id == marketplace_id)
    ordered = query_frame(
        connection,
        sa.select(oi.c.asin, _total(oi.c.quantity))
        .select_from(
            oi.join(
                o,
                sa.and_(o.c.store_id == oi.c.store_id, o.c.amazon_order_id == oi.c.amazon_order_id),
            )
        )
        .where(*order_filter)
        .group_by(oi.c.asin),
        {"asin": pl.String(), "order_units": pl.Float64()},
    )
    per_day = pl.coalesce("traffic_units", "order_units").fill_null(0) / policy.velocity_days
    return (
        stock.join(traffic, on="asin", how="left")
        .join(ordered, on="asin", how="left")
        .select(
            "asin",
            pl.when(pl.col("fulfillable") <= 0)
            .then(0.0)
            .when(per_day > 0)
            .then(pl.col("fulfillable") / per_day)
            .alias("days_of_cover"),
        )
    )


def _load_break_even(
    connection: sa.Connection,
    store_id: int,
    marketplace_id: str | None,
    currency: str | None,
    today: date,
    policy: BidPolicy,
) -> pl.DataFrame:
    """sku, price, fees, unit_cost, break_even_acos = (price - fees - COGS) / price per unit.

    Price and Amazon's fees per unit come from settlement lines of orders (ItemPrice/Principal,
    ItemFees) over break_even_days, the price falling back to the listing's; COGS is the unit cost
    effective today. Without COGS or fees there is no break-even for the SKU."""
    sl = ledger_lines()
    principal = sa.and_(sl.c.amount_type == "ItemPrice", sl.c.amount_description == "Principal")
    line_filter = [
        sl.c.store_id == store_id,
        sl.c.transaction_type == "Order",
        sl.c.sku.is_not(None),
        sl.c.posted_date.between(today - timedelta(days=policy.break_even_days), today),
    ]
    if currency:
        line_filter.append(sl.c.currency == currency)
    settled = query_frame(
        connection,
        sa.select(
            sl.c.sku,
            sa.cast(sa.func.sum(sl.c.amount).filter(principal), sa.Float),
            sa.cast(sa.func.sum(sl.c.quantity_purchased).filter(principal), sa.Float),
            sa.cast(sa.func.sum(sl.c.amount).filter(sl.c.amount_type == "ItemFees"), sa.Float),
        )
        .where(*line_filter)
        .group_by(sl.c.sku),
        {
            "sku": pl.String(),
            "principal": pl.Float64(),
            "units": pl.Float64(),
            "fees_total": pl.Float64(),
        },
    )
    cost_filter = [cogs.c.store_id == store_id, cogs.c.effective_from <= today]
    if currency:
        cost_filter.append(cogs.c.currency == currency)
    unit_costs = query_frame(
        connection,
        sa.select(cogs.c.sku, sa.cast(cogs.c.unit_cost, sa.Float))
        .where(*cost_filter)
        .order_by(cogs.c.sku, cogs.c.effective_from.desc())
        .ext(distinct_on(cogs.c.sku)),
        {"sku": pl.String(), "unit_cost": pl.Float64()},
    )
    listing_filter = [listings.c.store_id == store_id, listings.c.price.is_not(None)]
    if marketplace_id:
        listing_filter.append(listings.c.marketplace_id == marketplace_id)
    if currency:
        listing_filter.append(sa.func.coalesce(listings.c.currency, currency) == currency)
    prices = query_frame(
        connection,
        sa.select(listings.c.sku, sa.cast(sa.func.max(listings.c.price), sa.Float))
        .where(*listing_filter)
        .group_by(listings.c.sku),
        {"sku": pl.String(), "listing_price": pl.Float64()},
    )
    units = pl.col("units")
    return (
        unit_costs.join(settled, on="sku", how="left")
        .join(prices, on="sku", how="left")
        .with_columns(
            price=pl.coalesce(
                pl.when(units > 0).then(pl.col("principal") / units), "listing_price"
            ),
            fees=pl.when(units > 0).then(-pl.col("fees_total").fill_null(0) / units),
        )
        .with_columns(
            break_even_acos=pl.when((pl.col("price") > 0) & pl.col("fees").is_not_null()).then(
                (pl.col("price") - pl.col("fees") - pl.col("unit_cost")) / pl.col("price")
            )
        )
        .select("sku", "price", "fees", "unit_cost", "break_even_acos")
    )


def store_profiles(engine: Engine, store_id: int) -> list[str]:
    """The store's enabled Ads profiles, plus any profile its ads entities name."""
    with engine.connect() as connection:
        enabled = connection.execute(
            sa.select(ads_profiles.c.profile_id).where(
                ads_profiles.c.store_id == store_id, ads_profiles.c.is_enabled
            )
        ).scalars()
        disabled = set(
            connection.execute(
                sa.select(ads_profiles.c.profile_id).where(
                    ads_profiles.c.store_id == store_id, sa.not_(ads_profiles.c.is_enabled)
                )
            ).scalars()
        )
        named = connection.execute(
            sa.select(ads_targets.c.profile_id).where(ads_targets.c.store_id == store_id).distinct()
        ).scalars()
        return sorted((set(enabled) | set(named)) - disabled)
