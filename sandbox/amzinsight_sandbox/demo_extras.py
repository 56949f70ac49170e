"""What the demo store needs beyond what the sandbox Amazon serves: unit costs and ratings.

Amazon has no COGS and the SP-API no ratings endpoint, so a real seller enters or uploads both;
without them the demo's profit is "unknown" everywhere and its rating trend empty. The demo gets
them the way a seller would: costs through the Finance page's own save (`save_cogs`), ratings as a
CSV through the one import path (`import_file`, archived and recorded like any upload).
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.finance import cogs_table
from amzinsight.db.tables import raw_reports, sync_runs
from amzinsight.edits.unit_costs import save_cogs
from amzinsight.ingest.archive import RawArchive
from amzinsight.ingest.imports import import_file
from amzinsight.ingest.pipeline import RunOutcome
from amzinsight.reports.ratings import SPEC as RATINGS
from amzinsight.stores import Store
from amzinsight_sandbox.catalog import catalogue_for, open_date, unit_costs
from amzinsight_sandbox.config import SandboxAccount

COST_NOTE = "demo: sandbox unit cost"
DEMO_ACTOR = "demo"  # who the change logs name for what the demo enters
RATINGS_FILE = "demo_ratings.csv"


@dataclass(frozen=True)
class DemoExtras:
    """What one call added: SKU cost rows saved, and the ratings import (None: loaded before)."""

    costs_saved: int
    ratings: RunOutcome | None


def seed_demo_extras(
    engine: Engine, archive: RawArchive, store: Store, account: SandboxAccount, days: int
) -> DemoExtras:
    """Unit costs for every SKU in each marketplace's currency, and the ratings of the last
    `days` days (the synced ones). A second call changes nothing: costs a SKU already has in a
    currency (the demo's or a person's) are kept, and a ratings file loaded before is not
    imported again."""
    return DemoExtras(
        costs_saved=_seed_costs(engine, store, account),
        ratings=_import_ratings(engine, archive, store, account, days),
    )


def _seed_costs(engine: Engine, store: Store, account: SandboxAccount) -> int:
    """Each SKU's sandbox cost, effective from the first day of the sandbox's history."""
    known = {(row["sku"], row["currency"]) for row in cogs_table(engine, store.id).to_dicts()}
    history_start = account.today - timedelta(days=account.days - 1)
    rows = []
    currencies = dict.fromkeys(market.currency for market in store.marketplaces)
    for offset, currency in enumerate(currencies):
        # cogs is unique on (store, sku, effective_from) whatever the currency, so one SKU's
        # second currency starts a day later; both are before the first synced day.
        effective = history_start + timedelta(days=offset)
        rows += [
            {
                "sku": cost.seller_sku,
                "unit_cost": cost.amount,
                "currency": cost.currency,
                "effective_from": effective,
                "note": COST_NOTE,
            }
            for cost in unit_costs(account, currency)
            if (cost.seller_sku, cost.currency) not in known
        ]
    return save_cogs(engine, store.id, rows, actor=DEMO_ACTOR) if rows else 0


def ratings_csv(account: SandboxAccount, days: int) -> bytes:
    """asin,date,rating,review_count,marketplace_id for each product in each marketplace over the
    last `days` days, from its launch on: reviews arrive at a steady product-specific pace and
    the rating is their running average, so it drifts slowly (about one product in five declines).
    """
    last = account.today
    first = max(last - timedelta(days=days - 1), last - timedelta(days=account.days - 1))
    span = (last - first).days + 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["asin", "date", "rating", "review_count", "marketplace_id"])
    for market_index, marketplace in enumerate(account.marketplace_list):
        share = 1.0 if market_index == 0 else 0.15  # a second marketplace sells (and rates) less
        for product in catalogue_for(account).products:
            rng = np.random.default_rng([account.seed, 23, market_index, product.index])
            pace = float(rng.lognormal(np.log(0.35), 0.6)) * share  # new reviews a day
            quality = float(rng.uniform(3.9, 4.7))
            drift = float(rng.normal(0.0, 0.25)) - (0.5 if rng.random() < 0.2 else 0.0)
            launched = open_date(account, product)
            count = int(rng.poisson(pace * max((first - launched).days, 0)))
            stars = count * quality
            arrivals = rng.poisson(pace, span)
            for day_index in range(span):
                day = first + timedelta(days=day_index)
                if day < launched:
                    continue
                new = int(arrivals[day_index])
                count += new
                stars += new * min(max(quality + drift * day_index / span, 1.0), 5.0)
                if count:
                    rating = min(max(stars / count, 1.0), 5.0)
                    writer.writerow(
                        [product.asin, day, f"{rating:.2f}", count, marketplace.marketplace_id]
                    )
    return out.getvalue().encode()


def _import_ratings(
    engine: Engine, archive: RawArchive, store: Store, account: SandboxAccount, days: int
) -> RunOutcome | None:
    content = ratings_csv(account, days)
    if _loaded_before(engine, store.id, hashlib.sha256(content).hexdigest()):
        return None
    with tempfile.TemporaryDirectory(prefix="amz-demo-") as scratch:
        path = Path(scratch) / RATINGS_FILE
        path.write_bytes(content)
        return import_file(engine, archive, store, path, RATINGS.key)


def _loaded_before(engine: Engine, store_id: int, sha256: str) -> bool:
    """Whether a run has loaded a ratings file with these exact bytes into the store."""
    query = (
        sa.select(sa.literal(1))
        .select_from(raw_reports.join(sync_runs, sync_runs.c.raw_report_id == raw_reports.c.id))
        .where(
            raw_reports.c.store_id == store_id,
            raw_reports.c.report_type == RATINGS.key,
            raw_reports.c.sha256 == sha256,
            sync_runs.c.status == "succeeded",
        )
        .limit(1)
    )
    with engine.connect() as connection:
        return connection.execute(query).first() is not None
