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
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from amzinsight_sandbox.orders_report import ORDER_COLUMNS

from bench.harness import LoadCase, compare_loads, report_results

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="amz-bench-") as scratch:
        report = Path(scratch) / "all_orders.tsv"
        print(f"generating {args.lines:,} lines ...", file=sys.stderr)
        generate_orders_report(report, args.lines)
        lines = sum(1 for _ in report.open("rb")) - 1
        case = LoadCase(report, "orders", ("orders", "order_items"), lines)
        return report_results(compare_loads(case, Path(scratch)), args.json)


if __name__ == "__main__":
    sys.exit(main())
