"""Amazon Ads benchmarks: a generated 1,000,000-row spSearchTerm report through the pipeline
(same phases and targets as bench/ingest.py), and the bid engine over 100,000 targets x 60 days.

    .venv/bin/python -m bench.ads [--rows 1000000] [--targets 100000] [--json FILE]

Targets (issue #4): the load targets of the SP-API ingest benchmark; the engine in under 10 s.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from bench.harness import LoadCase, compare_loads, in_child, report_results

ENGINE_LIMIT_SECONDS = 10.0
ENGINE_TODAY = date(2026, 11, 1)
WORDS = [
    "bamboo",
    "cutting",
    "board",
    "large",
    "small",
    "set",
    "kitchen",
    "wood",
    "chopping",
    "organic",
    "thick",
    "juice",
    "groove",
    "knife",
    "sharpener",
    "cheap",
    "free",
    "used",
    "gift",
    "premium",
    "best",
    "for",
    "meat",
    "vegetables",
    "bread",
    "cheese",
    "serving",
]


def generate_search_term_report(path: Path, rows: int, seed: int = 5) -> None:
    """A DAILY spSearchTerm GZIP_JSON document: a JSON array of flat objects, ids as numbers."""
    rng = np.random.default_rng(seed)
    days = 30
    keywords = max(1, rows // (days * 4))
    keyword = rng.integers(0, keywords, rows)
    day = rng.integers(0, days, rows)
    term_words = rng.integers(0, len(WORDS), (rows, 3))
    clicks = rng.poisson(1.5, rows)
    cost = np.round(clicks * rng.uniform(0.3, 2.0, rows), 2)
    purchases = rng.binomial(clicks, 0.08)
    sales = np.round(purchases * rng.uniform(12, 60, rows), 2)
    frame = pl.DataFrame(
        {
            "date": [(date(2026, 10, 1) + timedelta(days=int(d))).isoformat() for d in day],
            "campaignId": 100_000_000_000 + keyword // 40,
            "campaignName": [f"SP - Campaign {k // 40}" for k in keyword],
            "adGroupId": 200_000_000_000 + keyword // 8,
            "adGroupName": [f"Ad group {k // 8}" for k in keyword],
            "keywordId": 300_000_000_000 + keyword,
            "keyword": [f"{WORDS[k % len(WORDS)]} board" for k in keyword],
            "keywordType": "BROAD",
            "matchType": "BROAD",
            "targeting": [f"{WORDS[k % len(WORDS)]} board" for k in keyword],
            # several rows per keyword and day: each a different customer search term
            "searchTerm": [
                f"{WORDS[a]} {WORDS[b]} {WORDS[c]} {i}"
                for i, (a, b, c) in enumerate(term_words.tolist())
            ],
            "keywordBid": np.round(0.5 + (keyword % 7) * 0.15, 2),
            "impressions": clicks * 40 + rng.integers(0, 30, rows),
            "clicks": clicks,
            "cost": cost,
            "purchases1d": purchases,
            "purchases7d": purchases,
            "purchases14d": purchases,
            "purchases30d": purchases,
            "sales1d": sales,
            "sales7d": sales,
            "sales14d": sales,
            "sales30d": sales,
            "unitsSoldClicks1d": purchases,
            "unitsSoldClicks7d": purchases,
            "unitsSoldClicks14d": purchases,
            "unitsSoldClicks30d": purchases,
            "campaignBudgetCurrencyCode": "USD",
        }
    )
    frame = frame.with_columns(  # null when there were no clicks, as Amazon leaves it
        pl.when(pl.col("clicks") > 0)
        .then((pl.col("cost") / pl.col("clicks")).round(2))
        .alias("costPerClick")
    )
    plain = path.with_suffix("")
    frame.write_json(plain)
    with plain.open("rb") as source, gzip.open(path, "wb", compresslevel=1) as target:
        shutil.copyfileobj(source, target, 1024 * 1024)
    plain.unlink()


def engine_frames(
    n_targets: int, days: int, today: date = ENGINE_TODAY, seed: int = 7
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Targets and their daily performance (n_targets x days rows) up to the day before `today`:
    the last 3 days are settling as of `today` (rules/settling.py).
    tests/test_bids.py runs the engine on the same shape."""
    rng = np.random.default_rng(seed)
    size = n_targets * days
    index = np.repeat(np.arange(n_targets), days)
    clicks = rng.poisson(0.6, size).astype(np.int32)
    orders = rng.binomial(clicks, 0.08).astype(np.int32)
    ids = pl.Series("target_id", [f"t{i}" for i in range(n_targets)])
    dates = pl.date_range(today - timedelta(days=days), today - timedelta(days=1), eager=True)
    performance = pl.DataFrame(
        {
            "target_id": ids.gather(index),
            "campaign_id": pl.Series(index // 500).cast(pl.String),
            "ad_group_id": pl.Series(index // 50).cast(pl.String),
            "report_date": dates.gather(np.tile(np.arange(days), n_targets)),
            "clicks": clicks,
            "cost": clicks * rng.uniform(0.2, 1.5, size),
            "purchases_7d": orders,
            "sales_7d": orders * rng.uniform(15, 40, size),
        }
    )
    targets = pl.DataFrame(
        {
            "target_id": ids,
            "kind": "keyword",
            "campaign_id": pl.Series(np.arange(n_targets) // 500).cast(pl.String),
            "ad_group_id": pl.Series(np.arange(n_targets) // 50).cast(pl.String),
            "match_type": "EXACT",
            "state": "ENABLED",
            "bid": rng.uniform(0.2, 2.0, n_targets).round(2),
            "last_bid_change": pl.Series([None] * n_targets, dtype=pl.Date),
            "currency": "USD",
        }
    )
    return targets, performance


def phase_engine(n_targets: int, days: int) -> float:
    """recommend_bids over daily rows: smoothing, priors, clamps, reasons, all targets."""
    from amzinsight.bidding.bids import recommend_bids
    from amzinsight.bidding.policy import BidPolicy

    targets, performance = engine_frames(n_targets, days)
    started = time.perf_counter()
    recommendations = recommend_bids(
        targets, performance, BidPolicy(), None, None, ENGINE_TODAY, include_holds=True
    )
    seconds = time.perf_counter() - started
    if recommendations.height != n_targets:
        raise SystemExit(f"engine answered {recommendations.height} rows for {n_targets} targets")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="amz-bench-") as scratch:
        report = Path(scratch) / "sp_search_term.json.gz"
        print(f"generating {args.rows:,} search-term rows ...", file=sys.stderr)
        generate_search_term_report(report, args.rows)
        case = LoadCase(report, "sp_search_term", ("ads_search_term_daily",), args.rows)
        results = compare_loads(case, Path(scratch))
    print(f"engine over {args.targets:,} targets x {args.days} days ...", file=sys.stderr)
    seconds, peak = in_child(phase_engine, args.targets, args.days)
    results["engine"] = {
        "targets": args.targets,
        "days": args.days,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak),
    }
    results["targets_met_engine"] = {"engine < 10 s": seconds < ENGINE_LIMIT_SECONDS}
    return report_results(results, args.json)


if __name__ == "__main__":
    sys.exit(main())
