"""The demo store's unit costs and ratings (seed_demo_extras): entered through the COGS save and
the one import path, realistic, idempotent; and on the synced demo store, profit is known."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from amzinsight_sandbox.catalog import catalogue_for
from amzinsight_sandbox.config import demo_account
from amzinsight_sandbox.demo_extras import COST_NOTE, ratings_csv, seed_demo_extras

from amzinsight.analytics.finance import (
    COGS_KNOWN,
    cogs_table,
    finance_kpis,
    profit_by_asin,
)
from amzinsight.analytics.listings import rating_trend
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import product_ratings, raw_reports, stores, sync_runs
from amzinsight.edits.unit_costs import save_cogs
from amzinsight.ingest.archive import LocalArchive
from amzinsight.rules.periods import date_range_for, local_today
from amzinsight.stores import add_store, get_store
from tests.conftest import DEMO_SLUG, DEMO_SYNC_DAYS

pytestmark = pytest.mark.postgres

ACCOUNT = demo_account(asins=6, days=120)
DAYS = 45


def test_ratings_are_deterministic_in_range_and_drift_slowly() -> None:
    content = ratings_csv(ACCOUNT, DAYS)
    assert content == ratings_csv(ACCOUNT, DAYS)
    frame = pl.read_csv(io.BytesIO(content), schema_overrides={"date": pl.Date})
    assert frame.columns == ["asin", "date", "rating", "review_count", "marketplace_id"]
    assert set(frame["marketplace_id"]) == set(ACCOUNT.marketplace_ids)
    assert frame["date"].max() == ACCOUNT.today
    assert frame["date"].min() >= ACCOUNT.today - timedelta(days=DAYS - 1)
    assert frame["rating"].is_between(1, 5).all()
    per_asin = frame.sort("date").group_by("marketplace_id", "asin")
    steps = per_asin.agg(
        pl.col("rating").diff().abs().max().alias("largest_step"),
        pl.col("review_count").diff().min().alias("smallest_change"),
    )
    assert steps["smallest_change"].fill_null(0).min() >= 0  # reviews only accumulate
    assert steps["largest_step"].fill_null(0).max() < 0.5  # no jumps, a slow drift
    us = frame.filter(pl.col("marketplace_id") == ACCOUNT.marketplace_ids[0])
    assert set(us["asin"]) == {p.asin for p in catalogue_for(ACCOUNT).products}


def table_state(engine: sa.Engine, store_id: int) -> dict[str, object]:
    with engine.connect() as connection:
        return {
            "cogs": cogs_table(engine, store_id).drop("created_at").to_dicts(),
            "ratings": connection.execute(
                sa.select(sa.func.count(), sa.func.sum(product_ratings.c.review_count)).where(
                    product_ratings.c.store_id == store_id
                )
            ).one(),
            "raw_reports": connection.execute(
                sa.select(raw_reports.c.archive_key, raw_reports.c.sha256)
                .where(raw_reports.c.store_id == store_id)
                .order_by(raw_reports.c.id)
            ).all(),
            "runs": connection.execute(
                sa.select(sa.func.count()).where(sync_runs.c.store_id == store_id)
            ).scalar(),
            "data_version": connection.execute(
                sa.select(stores.c.data_version).where(stores.c.id == store_id)
            ).scalar(),
        }


def test_costs_and_ratings_go_through_the_import_path_once(
    migrated_database_url: str, tmp_path: Path
) -> None:
    engine = get_engine(migrated_database_url)
    store = add_store(engine, "demo", ACCOUNT.name, list(ACCOUNT.marketplaces), is_sandbox=True)
    archive = LocalArchive(tmp_path / "archive")
    products = catalogue_for(ACCOUNT).products

    first = seed_demo_extras(engine, archive, store, ACCOUNT, DAYS)

    assert first.costs_saved == 2 * len(products)  # every SKU in USD and in CAD
    costs = cogs_table(engine, store.id)
    history_start = ACCOUNT.today - timedelta(days=ACCOUNT.days - 1)
    assert costs["effective_from"].max() < ACCOUNT.today - timedelta(days=DAYS - 1)
    assert costs["effective_from"].min() == history_start
    assert set(costs["note"]) == {COST_NOTE}
    for product in products:
        usd, cad = (
            Decimal(
                costs.filter((pl.col("sku") == product.sku) & (pl.col("currency") == c))[
                    "unit_cost"
                ].item()
            )
            for c in ("USD", "CAD")
        )
        price = Decimal(product.list_price_us_cents) / 100
        assert Decimal("0.2") * price < usd < Decimal("0.4") * price  # a plausible share
        assert abs(cad - usd * Decimal("1.36")) <= Decimal("0.01")  # as the prices convert
    # the ratings file was imported like an upload: archived, recorded, loaded
    assert first.ratings is not None and first.ratings.status == "succeeded"
    with engine.connect() as connection:
        run = connection.execute(
            sa.select(sync_runs.c.source, sync_runs.c.report_type, sync_runs.c.triggered_by)
        ).one()
        loaded = connection.execute(
            sa.select(sa.func.count()).where(product_ratings.c.store_id == store.id)
        ).scalar()
    assert tuple(run) == ("upload", "ratings", "import")
    assert first.ratings.archive_key in set(archive.keys("demo/"))
    assert loaded == first.ratings.rows_upserted == ratings_csv(ACCOUNT, DAYS).count(b"\n") - 1

    before = table_state(engine, store.id)
    second = seed_demo_extras(engine, archive, store, ACCOUNT, DAYS)
    assert (second.costs_saved, second.ratings) == (0, None)
    assert table_state(engine, store.id) == before

    # a cost a person changed is theirs: the demo never writes over it
    save_cogs(
        engine,
        store.id,
        [{"sku": products[0].sku, "unit_cost": "1.23", "currency": "USD",
          "effective_from": history_start}],
        actor="tester",
    )  # fmt: skip
    changed = table_state(engine, store.id)
    assert seed_demo_extras(engine, archive, store, ACCOUNT, DAYS).costs_saved == 0
    assert table_state(engine, store.id) == changed


def test_the_synced_demo_store_has_known_profit_and_ratings(demo_database_url: str) -> None:
    engine = get_engine(demo_database_url)
    store = get_store(engine, DEMO_SLUG)
    for market in store.marketplaces:
        period = date_range_for("Last 30 days", local_today(market.time_zone))
        ids = (market.marketplace_id,)
        profit = profit_by_asin(engine, store.id, ids, period.start, period.end)
        assert profit.height > 0
        assert set(profit["cogs_status"]) == {COGS_KNOWN}, market.currency
        assert profit["profit"].null_count() == 0
        kpis = finance_kpis(engine, store.id, ids, period.start, period.end).row(0, named=True)
        assert kpis["asins_cogs_unknown"] == 0 and kpis["profit_known"] is not None
        asin = profit.sort("sales", descending=True)["asin"][0]
        trend = rating_trend(engine, store.id, ids, asin, period.start, period.end)
        if market == store.marketplaces[0]:  # a smaller marketplace may start with no reviews
            assert trend.height == (period.end - period.start).days + 1
        assert trend.height > 0
        assert trend["rating"].is_between(1, 5).all()
    with engine.connect() as connection:
        first_day = connection.execute(
            sa.select(sa.func.min(product_ratings.c.snapshot_date)).where(
                product_ratings.c.store_id == store.id
            )
        ).scalar()
    # the synced days, not the whole sandbox history
    assert first_day >= local_today("UTC") - timedelta(days=DEMO_SYNC_DAYS - 1)
