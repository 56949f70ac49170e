"""Ingest benchmark: a generated 1,000,000-line All Orders report through the whole pipeline,
against pandas.to_sql and a bare COPY of the same rows into the same tables (same indexes and
constraints, emptied first), in the same run on the same server.

    .venv/bin/python -m bench.ingest [--lines 1000000] [--json bench/results/ingest.json]

Each phase runs in a fresh child process so its peak RSS is its own. Targets (issue #3):
ingest >= 3x pandas.to_sql, >= 0.5x bare COPY; re-ingest (all conflicts) <= 1.5x the first;
peak memory < 1.5 GB.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import psycopg
from psycopg import sql

from amzinsight.sandbox.orders_report import ORDER_COLUMNS

ADMIN_DSN = os.environ.get("AMZ_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
HEADER = list(ORDER_COLUMNS)  # the sandbox writes Amazon's observed US layout


def generate_orders_report(path: Path, lines: int, seed: int = 11) -> None:
    """An All Orders TSV in Amazon's layout: ~2.5 lines per order, 2% cancelled, two years."""
    rng = np.random.default_rng(seed)
    order_number = np.sort(rng.integers(0, int(lines / 2.5), size=lines))
    asin_index = rng.integers(0, 1000, size=lines)
    quantity = rng.integers(1, 4, size=lines)
    price = np.round(rng.uniform(5, 80, size=1000), 2)[asin_index]
    start = datetime(2024, 12, 1, tzinfo=UTC)
    seconds = (order_number * (730 * 86400 / order_number.max())).astype(np.int64)
    cancelled = rng.random(int(order_number.max()) + 1) < 0.02
    is_cancelled = cancelled[order_number]
    frame = pl.DataFrame(
        {
            "amazon-order-id": [
                f"11{n:01d}-{n:07d}-{n * 7 % 9999999:07d}" for n in order_number % 10**7
            ],
            "purchase-date": [
                (start + timedelta(seconds=int(s))).strftime("%Y-%m-%dT%H:%M:%S+00:00")
                for s in seconds
            ],
            "sku": [f"SKU-{i:04d}" for i in asin_index],
            "asin": [f"B0{i:08d}" for i in asin_index],
            "quantity": np.where(is_cancelled, 0, quantity),
            "item-price": np.round(price * quantity, 2),
            "cancelled": is_cancelled,
            "order-status": np.where(is_cancelled, "Cancelled", "Shipped"),
        }
    )
    # Cancelled lines carry empty money cells, as in Amazon's files.
    frame = frame.with_columns(
        pl.when(pl.col("cancelled")).then(None).otherwise(pl.col("item-price")).alias("item-price")
    )
    frame = frame.with_columns(
        pl.col("purchase-date").alias("last-updated-date"),
        pl.col("amazon-order-id").alias("merchant-order-id"),
        pl.lit("Amazon").alias("fulfillment-channel"),
        pl.lit("Amazon.com").alias("sales-channel"),
        pl.lit("").alias("order-channel"),
        pl.lit("").alias("url"),
        pl.lit("Standard").alias("ship-service-level"),
        pl.format("Bamboo board {}", pl.col("sku")).alias("product-name"),
        pl.col("order-status")
        .replace({"Cancelled": "Cancelled", "Shipped": "Shipped"})
        .alias("item-status"),
        pl.lit("USD").alias("currency"),
        (pl.col("item-price") * 0.08).round(2).alias("item-tax"),
        *[pl.lit("").alias(name) for name in ("shipping-price", "shipping-tax", "gift-wrap-price")],
        *[pl.lit("").alias(name) for name in ("gift-wrap-tax", "item-promotion-discount")],
        pl.lit("").alias("ship-promotion-discount"),
        pl.lit("SEATTLE").alias("ship-city"),
        pl.lit("WA").alias("ship-state"),
        pl.lit("98101").alias("ship-postal-code"),
        pl.lit("US").alias("ship-country"),
        *[pl.lit("").alias(name) for name in ("promotion-ids", "cpf")],
        pl.lit("false").alias("is-business-order"),
        *[pl.lit("").alias(name) for name in ("purchase-order-number", "price-designation")],
        pl.lit("false").alias("signature-confirmation-recommended"),
    )
    # one line per (order, sku): Amazon writes a multi-unit line once with its quantity
    frame = frame.unique(subset=["amazon-order-id", "sku"], keep="first", maintain_order=True)
    frame.select(HEADER).write_csv(path, separator="\t", null_value="", quote_style="never")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_child(function: Callable[..., float], *args: Any) -> tuple[float, float]:
    """Run function(*args) in a fresh process; returns (seconds, peak RSS MB of that process)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_timed, (function, *args))


def _timed(function: Callable[..., float], *args: Any) -> tuple[float, float]:
    seconds = function(*args)
    return seconds, _peak_rss_mb()


def phase_ingest(database_url: str, data_dir: str, report: str) -> float:
    from amzinsight.config import Settings
    from amzinsight.ingest.imports import import_file
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    runtime = build_runtime(Settings(database_url=database_url, data_dir=Path(data_dir)))
    store = get_store(runtime.engine, "bench")
    started = time.perf_counter()
    import_file(runtime.engine, runtime.archive, store, Path(report), "orders")
    return time.perf_counter() - started


def _parsed_frames(report: str) -> dict[str, pl.DataFrame]:
    from amzinsight.reports import orders
    from amzinsight.reports.base import ParseContext

    parsed = orders.parse(
        Path(report), ParseContext(marketplace_id="ATVPDKIKX0DER", currency="USD")
    )
    return {part.table.name: part.frame for part in parsed.tables}


def phase_to_sql(database_url: str, report: str) -> float:
    import sqlalchemy as sa

    from amzinsight.db.tables import metadata

    frames = _parsed_frames(report)
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    started = time.perf_counter()
    for name, frame in frames.items():
        pandas_frame = frame.with_columns(pl.lit(1).alias("store_id")).to_pandas()
        # pandas guesses VARCHAR for all-null and Decimal columns; give it the real types.
        table = metadata.tables[name]
        dtypes = {column: table.c[column].type for column in pandas_frame.columns}
        pandas_frame.to_sql(name, engine, if_exists="append", index=False, dtype=dtypes)
    return time.perf_counter() - started


def phase_copy(database_url: str, report: str) -> float:
    frames = _parsed_frames(report)
    started = time.perf_counter()
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        for name, frame in frames.items():
            frame = frame.with_columns(pl.lit(1).alias("store_id"))
            columns = sql.SQL(", ").join(map(sql.Identifier, frame.columns))
            statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT CSV)").format(
                sql.Identifier(name), columns
            )
            with cursor.copy(statement) as copy:
                buffer = io.BytesIO()
                frame.write_csv(buffer, include_header=False, quote_style="non_numeric")
                copy.write(buffer.getvalue())
    return time.perf_counter() - started


def _prepare_database(admin: psycopg.Connection, name: str) -> str:
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    from amzinsight.db.engine import dispose_engines, get_engine
    from amzinsight.db.migrate import upgrade
    from amzinsight.stores import add_store

    upgrade(url)
    add_store(get_engine(url), slug="bench", name="Bench", country_codes=["US"])
    dispose_engines()
    return url


def _before_phase(url: str, empty: bool) -> None:
    """Each phase starts after a checkpoint; baselines load into the ingest's tables, emptied."""
    with psycopg.connect(url, autocommit=True) as connection:
        if empty:
            connection.execute("TRUNCATE orders, order_items")
        connection.execute("CHECKPOINT")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    name = f"amz_bench_{uuid.uuid4().hex[:8]}"
    with (
        tempfile.TemporaryDirectory(prefix="amz-bench-") as scratch,
        psycopg.connect(ADMIN_DSN, autocommit=True) as admin,
    ):
        report = Path(scratch) / "all_orders.tsv"
        print(f"generating {args.lines:,} lines ...", file=sys.stderr)
        generate_orders_report(report, args.lines)
        rows = sum(1 for _ in report.open("rb")) - 1
        url = _prepare_database(admin, name)
        try:
            data_dir = str(Path(scratch) / "data")
            results: dict[str, Any] = {
                "lines": rows,
                "report_mb": round(report.stat().st_size / 1e6, 1),
            }
            phases: list[tuple[str, Callable[..., float], tuple[str, ...]]] = [
                ("ingest", phase_ingest, (url, data_dir, str(report))),
                ("reingest", phase_ingest, (url, data_dir, str(report))),
                ("pandas_to_sql", phase_to_sql, (url, str(report))),
                ("bare_copy", phase_copy, (url, str(report))),
            ]
            for phase, function, phase_args in phases:
                _before_phase(url, empty=phase in ("pandas_to_sql", "bare_copy"))
                print(f"{phase} ...", file=sys.stderr)
                seconds, peak = _in_child(function, *phase_args)
                results[phase] = {"seconds": round(seconds, 2), "peak_rss_mb": round(peak)}
        finally:
            from amzinsight.db.engine import dispose_engines

            dispose_engines()
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    ingest = results["ingest"]["seconds"]
    results["ratios"] = {
        "ingest_speedup_vs_pandas_to_sql": round(results["pandas_to_sql"]["seconds"] / ingest, 2),
        "ingest_speed_vs_bare_copy": round(results["bare_copy"]["seconds"] / ingest, 2),
        "reingest_over_ingest": round(results["reingest"]["seconds"] / ingest, 2),
    }
    results["targets_met"] = {
        ">=3x pandas.to_sql": results["ratios"]["ingest_speedup_vs_pandas_to_sql"] >= 3,
        ">=0.5x bare COPY": results["ratios"]["ingest_speed_vs_bare_copy"] >= 0.5,
        "reingest <=1.5x": results["ratios"]["reingest_over_ingest"] <= 1.5,
        "peak <1.5 GB": max(results[p]["peak_rss_mb"] for p in ("ingest", "reingest")) < 1536,
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return 0 if all(results["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
