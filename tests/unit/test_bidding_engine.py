"""The bid engine is pure: it runs on frames made in memory, with no database, and its modules
import no database code (inputs.py reads, store.py writes; the engine only decides)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import psycopg
import pytest
import sqlalchemy

from amzinsight.bidding.engine import EngineInputs, combine, recommend_profile
from amzinsight.bidding.evidence import Evidence
from amzinsight.bidding.frames import lookback_window
from amzinsight.bidding.policy import BidPolicy

TODAY = date(2026, 3, 31)
POLICY = BidPolicy()
PURE_MODULES = (
    "amzinsight.bidding.engine",
    "amzinsight.bidding.bids",
    "amzinsight.bidding.harvest",
    "amzinsight.bidding.negatives",
    "amzinsight.bidding.search_terms",
    "amzinsight.bidding.smoothing",
    "amzinsight.bidding.frames",
    "amzinsight.bidding.text",
    "amzinsight.bidding.evidence",
    "amzinsight.bidding.policy",
)


def test_the_engine_imports_no_database_code() -> None:
    """In a fresh interpreter: importing every engine module loads no SQL driver or table."""
    script = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in PURE_MODULES)
        + "print([m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'psycopg', 'redis')"
        " or m.startswith(('amzinsight.db', 'amzinsight.stores'))])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout.replace("'", '"')) == []


def _inputs() -> EngineInputs:
    """One profile: a manual campaign (a keyword that sells, one that only spends) and an auto
    campaign whose search terms hold a winner and a waster, all advertising one kettle."""
    start, end = lookback_window(TODAY, POLICY)
    keyword = {"kind": "keyword", "state": "ENABLED", "campaign_id": "cm", "ad_group_id": "gm"}
    manual = {"campaign_name": "Kettles Exact", "ad_group_name": "Exact"}
    targets = pl.DataFrame(
        [
            {**keyword, **manual, "target_id": "k_star", "keyword_text": "gooseneck kettle",
             "match_type": "EXACT", "bid": 0.40, "targeting_type": "MANUAL"},
            {**keyword, **manual, "target_id": "k_waste", "keyword_text": "kettle",
             "match_type": "BROAD", "bid": 1.00, "targeting_type": "MANUAL"},
        ],
    ).with_columns(
        default_bid=pl.lit(0.50),
        last_bid_change=pl.lit(None, dtype=pl.Date),
        currency=pl.lit("USD"),
    )  # fmt: skip
    performance = pl.DataFrame(
        {
            "target_id": ["k_star", "k_waste"],
            "campaign_id": ["cm", "cm"],
            "ad_group_id": ["gm", "gm"],
            "impressions": [4000.0, 3000.0],
            "clicks": [108.0, 54.0],
            "cost": [43.20, 54.00],
            "purchases_7d": [27.0, 0.0],
            "sales_7d": [1080.0, 0.0],
        }
    )
    auto = {
        "campaign_id": "ca", "ad_group_id": "ga", "target_id": "auto_close",
        "keyword_type": "TARGETING_EXPRESSION_PREDEFINED", "match_type": None,
        "campaign_name": "Kettles Auto", "ad_group_name": "Auto", "targeting_type": "AUTO",
        "impressions": 500.0,
    }  # fmt: skip
    search_terms = pl.DataFrame(
        [
            {**auto, "search_term": "electric gooseneck kettle", "clicks": 20.0, "cost": 15.0,
             "purchases_7d": 3.0, "sales_7d": 90.0},
            {**auto, "search_term": "kettle descaler", "clicks": 12.0, "cost": 4.0,
             "purchases_7d": 0.0, "sales_7d": 0.0},
        ]
    )  # fmt: skip
    campaigns = pl.DataFrame(
        {
            "campaign_id": ["cm", "ca"],
            "name": ["Kettles Exact", "Kettles Auto"],
            "state": ["ENABLED", "ENABLED"],
            "targeting_type": ["MANUAL", "AUTO"],
            "target_acos": [0.25, None],
            "break_even_acos": [None, None],
        },
        schema_overrides={"break_even_acos": pl.Float64},
    )
    advertised = pl.DataFrame(
        {
            "campaign_id": ["ca", "cm"],
            "ad_group_id": ["ga", "gm"],
            "asin": ["B0KETTLE01"] * 2,
            "sku": ["KET-1"] * 2,
        }
    )
    cover = pl.DataFrame(
        {"ad_group_id": ["ga", "gm"], "asin": ["B0KETTLE01"] * 2, "days_of_cover": [90.0, 90.0]}
    )
    break_even = pl.DataFrame(
        schema={
            "sku": pl.String,
            "price": pl.Float64,
            "fees": pl.Float64,
            "unit_cost": pl.Float64,
            "break_even_acos": pl.Float64,
        }
    )
    return EngineInputs(
        profile_id="p1",
        currency="USD",
        marketplace_id="ATVPDKIKX0DER",
        today=TODAY,
        window_start=start,
        window_end=end,
        targets=targets,
        performance=performance,
        search_terms=search_terms,
        campaigns=campaigns,
        advertised=advertised,
        cover_by_ad_group=cover,
        break_even=break_even,
    )


def _no_database(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the engine tried to reach a database")


def test_the_engine_runs_on_frames_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlalchemy, "create_engine", _no_database)
    monkeypatch.setattr(psycopg, "connect", _no_database)
    monkeypatch.setattr(psycopg.Connection, "connect", _no_database)
    found = recommend_profile(_inputs(), POLICY)
    bids = {row["target_id"]: row for row in found.bids.to_dicts()}
    moves = {target: (row["action"], row["recommended_bid"]) for target, row in bids.items()}
    # 27 orders from 108 clicks at $40 and a 25% target: a click is worth far more than $0.40,
    # so one step up (+25%); no orders from 54 clicks: one step down (-30%)
    assert moves == {"k_star": ("raise", Decimal("0.50")), "k_waste": ("cut", Decimal("0.70"))}
    assert "target ACoS 25% (campaign target)" in bids["k_star"]["reason"]
    harvest = found.harvest.row(0, named=True)
    assert harvest["search_term"] == "electric gooseneck kettle"
    assert harvest["evidence"]["destination_ad_group_id"] == "gm"
    assert found.negatives["search_term"].to_list() == ["kettle descaler"]

    store = combine([("p1", found)], lookback_window(TODAY, POLICY)[1])
    assert store.profile_ids == ("p1",) and store.count == 4
    assert store.data_through == TODAY - timedelta(days=1)
    stored = store.stored()
    assert set(stored["profile_id"]) == {"p1"}
    # every key the engine writes is one the evidence model knows, with the same value
    for text in stored["evidence"]:
        document = json.loads(text)
        assert Evidence.from_json(text).to_dict() == {
            key: value for key, value in document.items() if value is not None
        }


def test_no_profiles_make_empty_frames() -> None:
    empty = combine([], TODAY)
    assert empty.count == 0 and empty.profile_ids == ()
    assert empty.stored().columns[:2] == ["profile_id", "kind"]
