"""The bid, harvest and negatives engine: small frames with hand-computed answers, properties that
must hold for any input (hypothesis), a 100,000-target run, and one round trip through PostgreSQL
and the bulk-operations sheet."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import openpyxl
import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amzinsight.analytics.ads_policy import BidPolicy
from amzinsight.analytics.bids import (
    MOVES,
    Recommendations,
    lookback_window,
    recommend,
    recommend_bids,
    recommend_harvest,
    recommend_negatives,
    resolve_target_acos,
    save_recommendations,
    smoothed_rates,
    stored_recommendations,
)
from amzinsight.analytics.bulk_sheet import BULK_COLUMNS, SHEET_NAME, bulk_sheet
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.errors import ConfigError
from amzinsight.stores import add_store

TODAY = date(2026, 3, 31)
POLICY = BidPolicy()
ACTIONS = {*MOVES, "hold", "wait", "cooldown", "at_min", "low_cover", "no_value", "rounding"}


def _targets(*rows: dict[str, Any]) -> pl.DataFrame:
    base = {
        "kind": "keyword",
        "campaign_id": "c1",
        "ad_group_id": "g1",
        "match_type": "EXACT",
        "state": "ENABLED",
        "default_bid": 0.50,
        "last_bid_change": None,
        "currency": "USD",
    }
    return pl.DataFrame(
        [{**base, "keyword_text": f"kw {r['target_id']}", **r} for r in rows],
        schema_overrides={"last_bid_change": pl.Date, "bid": pl.Float64},
    )


def _performance(*rows: dict[str, Any]) -> pl.DataFrame:
    base = {"campaign_id": "c1", "ad_group_id": "g1", "purchases_7d": 0, "sales_7d": 0.0}
    return pl.DataFrame([{**base, **r} for r in rows])


def _bids(targets: pl.DataFrame, performance: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
    options: dict[str, Any] = {"include_holds": True}
    options.update(kwargs)
    policy = options.pop("policy", POLICY)
    targets_acos = options.pop("target_acos", {"c1": 0.30})
    cover = options.pop("cover", None)
    return recommend_bids(targets, performance, policy, targets_acos, cover, TODAY, **options)


def _one(frame: pl.DataFrame, target_id: str) -> dict[str, Any]:
    rows = frame.filter(pl.col("target_id") == target_id).to_dicts()
    assert len(rows) == 1, frame
    return rows[0]


# --- policy and smoothing ------------------------------------------------------------------------


def test_policy_defaults_are_the_documented_ones() -> None:
    policy = BidPolicy()
    assert (policy.lookback_days, policy.min_clicks, policy.cooldown_days) == (30, 10, 3)
    assert (policy.dead_band, policy.max_step_up, policy.max_step_down) == (0.10, 0.25, 0.30)
    assert (policy.min_bid, policy.max_bid, policy.target_acos) == (0.02, 10.0, 0.30)
    assert (policy.negative_min_clicks, policy.ngram_min_terms, policy.ngram_min_clicks) == (
        12,
        3,
        20,
    )
    assert policy.low_cover_days == 14
    for field_name in ("min_clicks", "dead_band", "cooldown_days", "low_cover_days"):
        assert field_name in (BidPolicy.__doc__ or "")


@pytest.mark.parametrize(
    "bad",
    [
        {"target_acos": 1.5},
        {"min_bid": 0.0},
        {"min_bid": 20.0},
        {"max_bid": 10.005},
        {"max_step_down": 1.0},
        {"min_clicks": -1},
    ],
)
def test_policy_rejects_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="Bid policy"):
        BidPolicy(**bad)


def _smoothed(clicks: float, orders: float, prior_cvr: float) -> float:
    frame = pl.DataFrame(
        {
            "clicks": [clicks],
            "orders": [orders],
            "sales": [orders * 20.0],
            "prior_cvr": [prior_cvr],
            "prior_aov": [20.0],
        }
    )
    return float(smoothed_rates(frame, POLICY)["cvr"][0])


@given(
    prior=st.floats(0.001, 0.6),
    rate=st.floats(0.0, 1.0),
    small=st.integers(0, 500),
    extra=st.integers(1, 5000),
)
def test_more_evidence_pulls_smoothed_cvr_toward_the_raw_cvr(
    prior: float, rate: float, small: int, extra: int
) -> None:
    assert _smoothed(0, 0, prior) == pytest.approx(prior)
    large = small + extra
    few = abs(_smoothed(small, rate * small, prior) - rate)
    many = abs(_smoothed(large, rate * large, prior) - rate)
    assert many <= few + 1e-12
    # k / (n + k) of the way to the prior is what remains
    assert many == pytest.approx(
        abs(prior - rate) * POLICY.cvr_prior_clicks / (large + POLICY.cvr_prior_clicks), abs=1e-9
    )


def test_smoothing_is_toward_the_ad_group_then_the_campaign() -> None:
    """A keyword with 0 clicks in a converting ad group gets the ad group's rate; one alone in its
    ad group, the rest of the campaign's."""
    targets = _targets(
        {"target_id": "new", "bid": 0.50},
        {"target_id": "seller", "bid": 0.50},
        {"target_id": "lonely", "bid": 0.50, "ad_group_id": "g2"},
    )
    performance = _performance(
        {
            "target_id": "seller",
            "clicks": 1000,
            "cost": 300.0,
            "purchases_7d": 200,
            "sales_7d": 6000.0,
        }
    )
    out = _bids(targets, performance)
    k = POLICY.cvr_prior_clicks
    # no other campaign: the profile level is the default CVR; g1 holds the seller's 20%
    expected = (200 + k * POLICY.default_cvr) / (1000 + k)
    assert _one(out, "new")["evidence"]["cvr"] == pytest.approx(expected, abs=1e-6)
    assert _one(out, "lonely")["evidence"]["prior_cvr"] == pytest.approx(expected, abs=1e-6)
    # the seller itself: its ad group has nobody else, so its prior is the campaign's rest (0
    # clicks in g2) -> the default
    assert _one(out, "seller")["evidence"]["prior_cvr"] == pytest.approx(POLICY.default_cvr)


# --- bids on small frames ------------------------------------------------------------------------


def test_value_per_click_bid_and_its_reason() -> None:
    """A one-target profile: the priors are the policy's default CVR and the target's own AOV."""
    targets = _targets({"target_id": "k1", "bid": 0.52})
    performance = _performance(
        {"target_id": "k1", "clicks": 31, "cost": 15.50, "purchases_7d": 2, "sales_7d": 49.80}
    )
    row = _one(_bids(targets, performance), "k1")
    cvr = (2 + 20 * 0.10) / (31 + 20)  # 7.84%
    aov = (49.80 + 3 * 24.90) / (2 + 3)  # 24.90
    value = cvr * aov * 0.30  # 0.5859
    assert row["evidence"]["value_bid"] == pytest.approx(value, abs=1e-4)
    assert row["action"] == "raise"
    assert row["recommended_bid"] == Decimal("0.59")
    assert row["current_bid"] == Decimal("0.52")
    assert row["reason"] == (
        "7-day ACoS 31.1% ($15.50 spend, $49.80 sales, 31 clicks, 2 orders); "
        "CVR 7.8% (smoothed from 2/31 toward ad group 10%), AOV $24.90, "
        "target ACoS 30% (campaign target) -> bid $0.59; now $0.52; raise to $0.59"
    )


def test_nothing_changes_inside_the_dead_band() -> None:
    targets = _targets({"target_id": "k1", "bid": 0.55})  # value bid 0.5859: +6.5%
    performance = _performance(
        {"target_id": "k1", "clicks": 31, "cost": 15.50, "purchases_7d": 2, "sales_7d": 49.80}
    )
    assert _bids(targets, performance, include_holds=False).is_empty()
    row = _one(_bids(targets, performance), "k1")
    assert row["action"] == "hold"
    assert row["recommended_bid"] is None
    assert "within the ±10% dead band" in row["reason"]


def test_steps_are_limited_and_bids_clamped() -> None:
    targets = _targets(
        {"target_id": "up", "bid": 0.20, "ad_group_id": "g1"},
        {"target_id": "down", "bid": 3.00, "ad_group_id": "g2"},
        {"target_id": "floor", "bid": 0.02, "ad_group_id": "g3"},
        {"target_id": "ceiling", "bid": 9.50, "ad_group_id": "g4"},
    )
    performance = _performance(
        # value bid ~ 0.20 x 0.3 x 50 = 3.0 >> 0.20
        {
            "target_id": "up",
            "clicks": 500,
            "cost": 100.0,
            "purchases_7d": 100,
            "sales_7d": 5000.0,
            "ad_group_id": "g1",
        },
        # value bid ~ 0.01 x 0.3 x 20 = 0.06 << 3.00
        {
            "target_id": "down",
            "clicks": 500,
            "cost": 100.0,
            "purchases_7d": 5,
            "sales_7d": 100.0,
            "ad_group_id": "g2",
        },
        {
            "target_id": "floor",
            "clicks": 500,
            "cost": 10.0,
            "purchases_7d": 1,
            "sales_7d": 10.0,
            "ad_group_id": "g3",
        },
        # value bid ~ 0.5 x 0.3 x 200 = 30 >> max_bid
        {
            "target_id": "ceiling",
            "clicks": 500,
            "cost": 4000.0,
            "purchases_7d": 250,
            "sales_7d": 50000.0,
            "ad_group_id": "g4",
        },
    )
    out = _bids(targets, performance)
    up, down = _one(out, "up"), _one(out, "down")
    assert up["recommended_bid"] == Decimal("0.25") and "(max step +25%)" in up["reason"]
    assert down["recommended_bid"] == Decimal("2.10") and "(max step -30%)" in down["reason"]
    floor = _one(out, "floor")
    assert floor["action"] == "rounding" and floor["recommended_bid"] is None  # already at min
    ceiling = _one(out, "ceiling")
    assert ceiling["recommended_bid"] == Decimal("10.00")
    assert "(max bid $10.00)" in ceiling["reason"]


def test_cooldown_after_a_change() -> None:
    targets = _targets(
        {"target_id": "yesterday", "bid": 3.0, "last_bid_change": TODAY - timedelta(days=1)},
        {"target_id": "long_ago", "bid": 3.0, "last_bid_change": TODAY - timedelta(days=3)},
    )
    perf = {"clicks": 500, "cost": 100.0, "purchases_7d": 5, "sales_7d": 100.0}
    performance = _performance(
        {"target_id": "yesterday", **perf}, {"target_id": "long_ago", **perf}
    )
    out = _bids(targets, performance)
    assert _one(out, "yesterday")["action"] == "cooldown"
    assert "Bid changed 1 day ago (cooldown 3 days)" in _one(out, "yesterday")["reason"]
    assert _one(out, "long_ago")["action"] == "lower"
    moved = _bids(targets, performance, include_holds=False)
    assert moved["target_id"].to_list() == ["long_ago"]


def test_settling_and_old_rows_are_ignored() -> None:
    targets = _targets({"target_id": "k1", "bid": 1.00})
    start, end = lookback_window(TODAY, POLICY)
    settled = [
        {
            "target_id": "k1",
            "report_date": start + timedelta(days=d),
            "clicks": 2,
            "cost": 1.0,
            "is_settling": False,
        }
        for d in range(20)
    ]
    noise = [
        {
            "target_id": "k1",
            "report_date": end,
            "clicks": 50,
            "cost": 1.0,
            "purchases_7d": 40,
            "sales_7d": 4000.0,
            "is_settling": True,
        },
        {
            "target_id": "k1",
            "report_date": start - timedelta(days=1),
            "clicks": 50,
            "cost": 1.0,
            "purchases_7d": 40,
            "sales_7d": 4000.0,
            "is_settling": False,
        },
        {
            "target_id": "k1",
            "report_date": TODAY,
            "clicks": 50,
            "cost": 1.0,
            "purchases_7d": 40,
            "sales_7d": 4000.0,
            "is_settling": False,
        },
    ]
    clean = _one(_bids(targets, _performance(*settled)), "k1")
    noisy = _one(_bids(targets, _performance(*settled, *noise)), "k1")
    assert clean == noisy
    assert clean["evidence"]["clicks"] == 40 and clean["evidence"]["orders"] == 0
    assert clean["action"] == "cut"


def test_spending_without_sales_is_cut_never_raised() -> None:
    targets = _targets(
        {"target_id": "converter", "bid": 0.50},
        {"target_id": "spender", "bid": 1.00},
        {"target_id": "cheap", "bid": 0.50},
    )
    performance = _performance(
        {
            "target_id": "converter",
            "clicks": 100,
            "cost": 40.0,
            "purchases_7d": 10,
            "sales_7d": 300.0,
        },
        # 0 orders after 25 clicks; the ad group converts 1 in ~10 -> 2 x 10 = 20 clicks expected
        {"target_id": "spender", "clicks": 25, "cost": 5.0},
        {"target_id": "cheap", "clicks": 4, "cost": 0.40},
    )
    out = _bids(targets, performance)
    spender = _one(out, "spender")
    assert spender["action"] == "cut"
    assert spender["recommended_bid"] == Decimal("0.70")
    assert spender["reason"].startswith("No orders from 25 clicks and $5.00 spend")
    assert "-> cut to $0.70 (max step -30%); now $1.00" in spender["reason"]
    assert _one(out, "cheap")["action"] == "wait"


def test_low_cover_is_flagged_and_never_raised() -> None:
    targets = _targets(
        {"target_id": "would_raise", "bid": 0.20, "ad_group_id": "g1"},
        {"target_id": "lowers", "bid": 3.00, "ad_group_id": "g2"},
    )
    performance = _performance(
        {
            "target_id": "would_raise",
            "clicks": 500,
            "cost": 100.0,
            "purchases_7d": 100,
            "sales_7d": 5000.0,
            "ad_group_id": "g1",
        },
        {
            "target_id": "lowers",
            "clicks": 500,
            "cost": 100.0,
            "purchases_7d": 5,
            "sales_7d": 100.0,
            "ad_group_id": "g2",
        },
    )
    cover = pl.DataFrame(
        {
            "target_id": ["would_raise", "lowers"],
            "days_of_cover": [6.0, 9.4],
            "asin": ["B0AAA", "B0BBB"],
        }
    )
    out = _bids(targets, performance, cover=cover)
    held = _one(out, "would_raise")
    assert held["action"] == "low_cover" and held["low_cover"] and held["recommended_bid"] is None
    assert "would raise to $0.25, but 6 days of cover for B0AAA (under 14): keep" in held["reason"]
    lowered = _one(out, "lowers")
    assert lowered["action"] == "lower" and lowered["low_cover"]
    assert lowered["reason"].endswith("; low stock: 9 days of cover for B0BBB (under 14)")


def test_only_enabled_keywords_and_product_targets_get_bids() -> None:
    targets = _targets(
        {"target_id": "paused", "bid": 3.0, "state": "PAUSED"},
        {
            "target_id": "negative",
            "bid": None,
            "kind": "negative_keyword",
            "match_type": "NEGATIVE_EXACT",
        },
        {"target_id": "in_paused_campaign", "bid": 3.0, "campaign_state": "PAUSED"},
        {
            "target_id": "default",
            "bid": None,
            "default_bid": 3.0,
            "kind": "product_target",
            "match_type": None,
        },
    )
    perf = {"clicks": 500, "cost": 100.0, "purchases_7d": 5, "sales_7d": 100.0}
    performance = _performance(*({"target_id": t, **perf} for t in targets["target_id"]))
    out = _bids(targets, performance)
    assert out["target_id"].to_list() == ["default"]
    row = out.row(0, named=True)
    assert (
        row["current_bid"] == Decimal("3.00") and row["evidence"]["entity_type"] == "product_target"
    )


def test_target_acos_comes_from_the_campaign_then_the_default() -> None:
    targets = _targets(
        {"target_id": "a", "bid": 1.0, "campaign_id": "c1"},
        {"target_id": "b", "bid": 1.0, "campaign_id": "c2"},
    )
    perf = {"clicks": 400, "cost": 200.0, "purchases_7d": 40, "sales_7d": 1000.0}
    performance = _performance(
        {"target_id": "a", **perf, "campaign_id": "c1"},
        {"target_id": "b", **perf, "campaign_id": "c2"},
    )
    out = _bids(targets, performance, target_acos={"c1": 0.15})
    assert (
        _one(out, "a")["target_acos"] == 0.15
        and "target ACoS 15% (campaign target)" in _one(out, "a")["reason"]
    )
    assert _one(out, "b")["target_acos"] == 0.30 and "(default target)" in _one(out, "b")["reason"]


def test_resolve_target_acos_precedence() -> None:
    campaigns = pl.DataFrame(
        {
            "campaign_id": ["own", "break_even", "low_margin", "plain"],
            "target_acos": [0.20, None, None, None],
            "break_even_acos": [0.35, 0.35, -0.10, None],
        }
    )
    resolved = {r["campaign_id"]: r for r in resolve_target_acos(campaigns, POLICY).to_dicts()}
    assert resolved["own"] == {
        "campaign_id": "own",
        "target_acos": 0.20,
        "target_source": "campaign target",
    }
    assert resolved["break_even"]["target_acos"] == 0.35
    assert resolved["break_even"]["target_source"] == "break-even"
    assert resolved["low_margin"]["target_acos"] == POLICY.break_even_floor
    assert resolved["plain"]["target_source"] == "default target"
    store = {r["campaign_id"]: r for r in resolve_target_acos(campaigns, POLICY, 0.25).to_dicts()}
    assert store["break_even"]["target_acos"] == 0.25 and store["own"]["target_acos"] == 0.20
    with pytest.raises(ConfigError):
        resolve_target_acos(campaigns, POLICY, 30)


# --- bids: properties ----------------------------------------------------------------------------

_target_rows = st.lists(
    st.fixed_dictionaries(
        {
            "bid_cents": st.integers(2, 1000),
            "clicks": st.integers(0, 300),
            "conversion": st.floats(0, 0.5),
            "aov": st.floats(5, 150),
            "cpc": st.floats(0.05, 4),
            "ad_group": st.sampled_from(["g1", "g2", "g3"]),
            "changed_days_ago": st.none() | st.integers(0, 10),
            "cover": st.none() | st.floats(0, 60),
        }
    ),
    min_size=1,
    max_size=25,
)


def _random_frames(rows: list[dict[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    ids = [f"t{i}" for i in range(len(rows))]
    targets = _targets(
        *(
            {
                "target_id": tid,
                "bid": r["bid_cents"] / 100,
                "ad_group_id": r["ad_group"],
                "last_bid_change": None
                if r["changed_days_ago"] is None
                else TODAY - timedelta(days=r["changed_days_ago"]),
            }
            for tid, r in zip(ids, rows, strict=True)
        )
    )
    orders = [int(r["clicks"] * r["conversion"]) for r in rows]
    performance = _performance(
        *(
            {
                "target_id": tid,
                "ad_group_id": r["ad_group"],
                "clicks": r["clicks"],
                "cost": round(r["clicks"] * r["cpc"], 2),
                "purchases_7d": n,
                "sales_7d": round(n * r["aov"], 2),
            }
            for tid, r, n in zip(ids, rows, orders, strict=True)
        )
    )
    cover = pl.DataFrame(
        {"target_id": ids, "days_of_cover": [r["cover"] for r in rows]},
        schema={"target_id": pl.String, "days_of_cover": pl.Float64},
    )
    return targets, performance, cover


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_target_rows)
def test_bid_invariants_hold_for_any_input(rows: list[dict[str, Any]]) -> None:
    targets, performance, cover = _random_frames(rows)
    out = _bids(targets, performance, cover=cover)
    assert out.height == len(rows)
    policy = POLICY
    cover_by_id = dict(zip(cover["target_id"], cover["days_of_cover"], strict=True))
    for row in out.to_dicts():
        evidence = row["evidence"]
        current = float(row["current_bid"])
        assert row["action"] in ACTIONS
        assert row["reason"], row
        if row["action"] in MOVES:
            new = float(row["recommended_bid"])
            assert policy.min_bid <= new <= policy.max_bid
            assert new != current
            # never more than one step (bids here start inside [min_bid, max_bid])
            assert current * (1 - policy.max_step_down) - 1e-9 <= new
            assert new <= current * (1 + policy.max_step_up) + 1e-9
            assert _money(new) in row["reason"] and _money(current) in row["reason"]
        else:
            assert row["recommended_bid"] is None
        if row["action"] in ("raise", "lower"):
            # outside the dead band (value_bid is stored to 4 places), with the numbers it used
            slack = 0.00005 / current + 1e-9
            assert abs(evidence["value_bid"] / current - 1) > policy.dead_band - slack
            assert f"smoothed from {evidence['orders']}/{evidence['clicks']}" in row["reason"]
            assert "target ACoS 30%" in row["reason"]
        changed = evidence["days_since_change"]
        if changed is not None and changed < policy.cooldown_days:
            assert row["action"] == "cooldown"
        if row["action"] == "cut":
            assert evidence["orders"] == 0 and float(row["recommended_bid"]) < current
        prior = evidence["prior_cvr"]
        if evidence["orders"] == 0 and prior and evidence["clicks"] >= 1.01 * 2 / prior:
            assert row["action"] in ("cut", "at_min", "cooldown")  # spending without sales
        if row["low_cover"]:
            assert row["action"] != "raise"
            assert "days of cover" in row["reason"]
        cover_days = cover_by_id[row["target_id"]]
        assert row["low_cover"] == (cover_days is not None and cover_days < policy.low_cover_days)


@settings(max_examples=40, deadline=None)
@given(
    rows=_target_rows,
    settling=st.lists(
        st.tuples(st.integers(0, 24), st.integers(0, 80), st.integers(0, 20), st.booleans()),
        max_size=20,
    ),
)
def test_settling_rows_never_change_the_result(
    rows: list[dict[str, Any]], settling: list[tuple[int, int, int, bool]]
) -> None:
    targets, performance, cover = _random_frames(rows)
    daily = performance.with_columns(
        report_date=pl.lit(TODAY - timedelta(days=5)), is_settling=pl.lit(False)
    )
    noise = pl.DataFrame(
        [
            {
                "target_id": f"t{i % len(rows)}",
                "campaign_id": "c1",
                "ad_group_id": rows[i % len(rows)]["ad_group"],
                "clicks": clicks,
                "cost": clicks * 0.7,
                "purchases_7d": orders,
                "sales_7d": orders * 30.0,
                # settling rows anywhere in the window, or rows outside it (today, too old)
                "report_date": TODAY - timedelta(days=2) if flag else TODAY,
                "is_settling": flag,
            }
            for i, clicks, orders, flag in settling
        ],
        schema=daily.schema,
    )
    plain = _bids(targets, daily, cover=cover)
    with_noise = _bids(targets, pl.concat([daily, noise]), cover=cover)
    assert plain.equals(with_noise)


def _money(value: float) -> str:
    return f"${Decimal(str(value)).quantize(Decimal('0.01'))}"


def test_a_hundred_thousand_targets_over_sixty_days() -> None:
    """The benchmark's shape (100,000 targets x 60 days, 6M rows); only row counts are checked."""
    rng = np.random.default_rng(7)
    n_targets, days = 100_000, 60
    size = n_targets * days
    index = np.repeat(np.arange(n_targets), days)
    clicks = rng.poisson(0.6, size).astype(np.int32)
    orders = rng.binomial(clicks, 0.08).astype(np.int32)
    ids = pl.Series("target_id", [f"t{i}" for i in range(n_targets)])
    performance = pl.DataFrame(
        {
            "target_id": ids.gather(index),
            "campaign_id": pl.Series(index // 500).cast(pl.String),
            "ad_group_id": pl.Series(index // 50).cast(pl.String),
            "report_date": pl.date_range(
                TODAY - timedelta(days=days), TODAY - timedelta(days=1), eager=True
            ).gather(np.tile(np.arange(days), n_targets)),
            "clicks": clicks,
            "cost": clicks * rng.uniform(0.2, 1.5, size),
            "purchases_7d": orders,
            "sales_7d": orders * rng.uniform(15, 40, size),
            "is_settling": np.tile(np.arange(days) >= days - 3, n_targets),
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
    assert performance.height == 6_000_000
    everything = recommend_bids(targets, performance, POLICY, None, None, TODAY, include_holds=True)
    assert everything.height == n_targets
    moves = recommend_bids(targets, performance, POLICY, None, None, TODAY)
    assert 0 < moves.height < n_targets
    assert moves["reason"].str.len_chars().min() > 0  # type: ignore[operator]


# --- harvest and negatives -----------------------------------------------------------------------

_TERM_BASE = {
    "campaign_id": "auto",
    "ad_group_id": "auto_g",
    "campaign_name": "Kettles Auto",
    "ad_group_name": "Auto",
    "keyword_type": "TARGETING_EXPRESSION_PREDEFINED",
    "targeting_type": "AUTO",
    "purchases_7d": 0,
    "sales_7d": 0.0,
}


def _terms(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([{**_TERM_BASE, **r} for r in rows])


def _harvest_targets() -> pl.DataFrame:
    return _targets(
        {
            "target_id": "e1",
            "bid": 1.0,
            "campaign_id": "manual",
            "ad_group_id": "exact_g",
            "keyword_text": "gooseneck kettle",
            "campaign_name": "Kettles Exact",
            "ad_group_name": "Exact",
            "targeting_type": "MANUAL",
        },
        {
            "target_id": "b1",
            "bid": 1.0,
            "campaign_id": "broad",
            "ad_group_id": "broad_g",
            "keyword_text": "kettle",
            "match_type": "BROAD",
            "targeting_type": "MANUAL",
        },
        {
            "target_id": "n1",
            "bid": None,
            "campaign_id": "auto",
            "ad_group_id": "auto_g",
            "keyword_text": "tea kettle",
            "kind": "negative_keyword",
            "match_type": "NEGATIVE_EXACT",
        },
    )


def _advertised() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "campaign_id": ["auto", "manual", "broad"],
            "ad_group_id": ["auto_g", "exact_g", "broad_g"],
            "asin": ["B0KETTLE01"] * 3,
            "sku": ["KET-1"] * 3,
        }
    )


def test_harvest_converting_terms_into_exact_keywords() -> None:
    terms = _terms(
        # 3 orders, ACoS 15/90 = 16.7% -> harvest
        {
            "search_term": "Electric  Gooseneck Kettle",
            "clicks": 20,
            "cost": 15.0,
            "purchases_7d": 3,
            "sales_7d": 90.0,
        },
        # converts, but ACoS 60% > 30%
        {
            "search_term": "copper kettle",
            "clicks": 30,
            "cost": 54.0,
            "purchases_7d": 3,
            "sales_7d": 90.0,
        },
        # one order only
        {
            "search_term": "kettle for camping",
            "clicks": 10,
            "cost": 3.0,
            "purchases_7d": 1,
            "sales_7d": 30.0,
        },
        # already an exact keyword
        {
            "search_term": "gooseneck kettle",
            "clicks": 40,
            "cost": 10.0,
            "purchases_7d": 5,
            "sales_7d": 150.0,
        },
        # an ASIN and a placement without a query
        {
            "search_term": "b0abcdefgh",
            "clicks": 20,
            "cost": 5.0,
            "purchases_7d": 4,
            "sales_7d": 120.0,
        },
        {"search_term": "*", "clicks": 20, "cost": 5.0, "purchases_7d": 4, "sales_7d": 120.0},
        # from an exact keyword: its bid's business, not a harvest
        {
            "search_term": "stovetop kettle",
            "clicks": 20,
            "cost": 5.0,
            "purchases_7d": 4,
            "sales_7d": 120.0,
            "campaign_id": "manual",
            "ad_group_id": "exact_g",
            "keyword_type": "EXACT",
            "targeting_type": "MANUAL",
        },
        # the same winning term from a broad keyword too: one harvest, two sources
        {
            "search_term": "electric gooseneck kettle",
            "clicks": 5,
            "cost": 3.0,
            "purchases_7d": 1,
            "sales_7d": 30.0,
            "campaign_id": "broad",
            "ad_group_id": "broad_g",
            "keyword_type": "BROAD",
            "targeting_type": "MANUAL",
            "campaign_name": "Kettles Broad",
            "ad_group_name": "Broad",
        },
    )
    out = recommend_harvest(
        terms,
        POLICY,
        {"auto": 0.30},
        targets=_harvest_targets(),
        advertised=_advertised(),
        today=TODAY,
    )
    assert out["search_term"].to_list() == ["electric gooseneck kettle"]
    row = out.row(0, named=True)
    assert (row["kind"], row["match_type"], row["campaign_id"], row["ad_group_id"]) == (
        "harvest",
        "EXACT",
        "auto",
        "auto_g",
    )
    evidence = row["evidence"]
    assert (evidence["destination_campaign_id"], evidence["destination_ad_group_id"]) == (
        "manual",
        "exact_g",
    )
    cpc = 18.0 / 25
    assert row["recommended_bid"] == Decimal(
        str(round(min(cpc * 1.25, row["evidence"]["value_bid"]), 2))
    )
    assert row["recommended_bid"] == Decimal("0.90")
    negate_in = row["evidence"]["negate_in"]
    assert [(s["campaign_id"], s["ad_group_id"]) for s in negate_in] == [
        ("auto", "auto_g"),
        ("broad", "broad_g"),
    ]
    assert row["reason"].startswith(
        '"electric gooseneck kettle": 4 orders from 25 clicks, 7-day ACoS 15%'
    )
    assert "exact keyword at $0.90 (CPC $0.72 + 25%" in row["reason"]
    assert "in Kettles Exact / Exact" in row["reason"]
    assert "negative exact in 2 source ad group(s)" in row["reason"]
    assert len(row["entity_id"]) == 24


def test_harvest_without_destination_says_so() -> None:
    terms = _terms(
        {"search_term": "kettle", "clicks": 20, "cost": 5.0, "purchases_7d": 3, "sales_7d": 90.0}
    )
    row = recommend_harvest(terms, POLICY, None, today=TODAY, currency="EUR").row(0, named=True)
    assert row["evidence"]["destination_ad_group_id"] is None and row["currency"] == "EUR"
    assert "no manual ad group advertises the same product yet" in row["reason"]
    assert "€" in row["reason"]


def test_negative_exact_for_terms_that_waste_clicks_or_spend() -> None:
    terms = _terms(
        {
            "search_term": "kettle converter",
            "clicks": 30,
            "cost": 30.0,
            "purchases_7d": 3,
            "sales_7d": 300.0,
        },
        {"search_term": "kettle descaler", "clicks": 12, "cost": 4.0},  # 12 clicks, 0 orders
        {"search_term": "kettle parts", "clicks": 11, "cost": 1.0},  # not yet
        {"search_term": "kettle repair", "clicks": 6, "cost": 40.0},  # spend > AOV x target
        {
            "search_term": "kettle lid",
            "clicks": 2,
            "cost": 40.0,
        },  # too few clicks for the spend rule
        {"search_term": "tea kettle", "clicks": 40, "cost": 9.0},  # already negated in the ad group
        {"search_term": "kettle brush", "clicks": 40, "cost": 9.0},  # being harvested elsewhere
        {
            "search_term": "exact only",
            "clicks": 40,
            "cost": 9.0,
            "keyword_type": "EXACT",
            "targeting_type": "MANUAL",
        },
    )
    out = recommend_negatives(
        terms,
        POLICY,
        None,
        targets=_harvest_targets(),
        skip_terms=["kettle brush"],
        today=TODAY,
        currency="USD",
    )
    exact = out.filter(pl.col("match_type") == "NEGATIVE_EXACT")
    assert sorted(exact["search_term"].to_list()) == ["kettle descaler", "kettle repair"]
    descaler = exact.filter(pl.col("search_term") == "kettle descaler").row(0, named=True)
    assert (descaler["campaign_id"], descaler["ad_group_id"]) == ("auto", "auto_g")
    assert descaler["reason"].startswith(
        '"kettle descaler": no orders from 12 clicks and $4.00 spend'
    )
    assert "-> negative exact in Kettles Auto / Auto" in descaler["reason"]
    repair = exact.filter(pl.col("search_term") == "kettle repair").row(0, named=True)
    # expected cost per order: the ad group's AOV (smoothed, ~$100) x 30%
    assert repair["evidence"]["cost_per_order"] < 40.0
    assert "at target ACoS 30%" in repair["reason"]


def test_ngram_negatives() -> None:
    terms = _terms(
        {"search_term": "cheap kettle red", "clicks": 8, "cost": 4.0},
        {"search_term": "cheap kettle blue", "clicks": 7, "cost": 4.0},
        {"search_term": "cheap plastic kettle", "clicks": 6, "cost": 3.0},
        {"search_term": "kettle for tea", "clicks": 6, "cost": 3.0},
        {"search_term": "kettle for coffee", "clicks": 6, "cost": 3.0},
        {"search_term": "kettle for boat", "clicks": 9, "cost": 3.0},
        {"search_term": "used kettle one", "clicks": 7, "cost": 4.0},
        {"search_term": "used kettle two", "clicks": 7, "cost": 4.0},
        {
            "search_term": "used kettle deal",
            "clicks": 7,
            "cost": 4.0,
            "purchases_7d": 1,
            "sales_7d": 30.0,
        },
        {
            "search_term": "travel kettle a",
            "clicks": 8,
            "cost": 4.0,
            "campaign_id": "broad",
            "ad_group_id": "broad_g",
            "keyword_type": "BROAD",
            "targeting_type": "MANUAL",
        },
        {
            "search_term": "travel kettle b",
            "clicks": 8,
            "cost": 4.0,
            "campaign_id": "broad",
            "ad_group_id": "broad_g",
            "keyword_type": "BROAD",
            "targeting_type": "MANUAL",
        },
        {
            "search_term": "travel kettle c",
            "clicks": 8,
            "cost": 4.0,
            "campaign_id": "broad",
            "ad_group_id": "broad_g",
            "keyword_type": "BROAD",
            "targeting_type": "MANUAL",
        },
    )
    out = recommend_negatives(
        terms, POLICY, None, targets=_harvest_targets(), today=TODAY, currency="USD"
    )
    phrases = out.filter(pl.col("match_type") == "NEGATIVE_PHRASE")
    found = {(r["campaign_id"], r["search_term"]) for r in phrases.to_dicts()}
    # "cheap": 3 terms, 21 clicks, 0 orders; "cheap kettle" is covered by it. "for" is a
    # stopword; "used" has an order; "kettle" converts in auto and is the broad campaign's own
    # keyword; "travel" qualifies in the broad campaign, "kettle for" in the auto one.
    assert found == {("auto", "cheap"), ("auto", "kettle for"), ("broad", "travel")}
    cheap = phrases.filter(pl.col("search_term") == "cheap").row(0, named=True)
    assert cheap["ad_group_id"] is None
    assert cheap["evidence"]["entity_type"] == "campaign_negative_keyword"
    assert cheap["reason"] == (
        '"cheap": in 3 search terms with 21 clicks, $11.00 spend and no orders (7-day), '
        "e.g. cheap kettle red, cheap kettle blue, cheap plastic kettle -> negative phrase in "
        "campaign Kettles Auto"
    )
    # the covered exact candidates are not repeated as negative exact
    assert "cheap kettle red" not in out["search_term"].to_list()


# --- bulk sheet without a database ---------------------------------------------------------------


def _sheet_rows(content: bytes) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == [SHEET_NAME]
    sheet = book[SHEET_NAME]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(BULK_COLUMNS)
    return [dict(zip(BULK_COLUMNS, row, strict=True)) for row in values[1:]]


def test_bulk_sheet_writes_only_approved_rows_in_amazons_layout() -> None:
    rows = [
        {
            "status": "approved",
            "kind": "bid",
            "profile_id": "p1",
            "campaign_id": "301485726190341",
            "ad_group_id": "402917735001126",
            "target_id": "513308847702215",
            "match_type": "EXACT",
            "recommended_bid": Decimal("0.59"),
            "currency": "USD",
            "evidence": {"entity_type": "keyword", "keyword_text": "gooseneck kettle"},
        },
        {
            "status": "approved",
            "kind": "bid",
            "campaign_id": "c",
            "ad_group_id": "g",
            "target_id": "pt1",
            "recommended_bid": Decimal("1.20"),
            "currency": "USD",
            "evidence": json.dumps({"entity_type": "product_target", "expression": 'asin="B0X"'}),
        },
        {
            "status": "proposed",
            "kind": "negative",
            "campaign_id": "c",
            "ad_group_id": "g",
            "search_term": "x",
            "match_type": "NEGATIVE_EXACT",
        },
        {
            "status": "approved",
            "kind": "negative",
            "campaign_id": "c",
            "ad_group_id": None,
            "search_term": "cheap",
            "match_type": "NEGATIVE_PHRASE",
            "currency": "USD",
        },
        {
            "status": "approved",
            "kind": "harvest",
            "campaign_id": None,
            "ad_group_id": None,
            "search_term": "lost",
            "recommended_bid": Decimal("0.5"),
        },
    ]
    sheet = _sheet_rows(bulk_sheet(rows, "USD"))
    assert [(r["Entity"], r["Operation"]) for r in sheet] == [
        ("Keyword", "Update"),
        ("Product Targeting", "Update"),
        ("Campaign Negative Keyword", "Create"),
    ]
    keyword = sheet[0]
    assert keyword["Keyword ID"] == "513308847702215"  # text, never a rounded float
    assert keyword["Campaign ID"] == "301485726190341"
    assert keyword["Bid"] == 0.59 and keyword["Match Type"] == "exact"
    assert keyword["Product"] == "Sponsored Products"
    assert sheet[1]["Product Targeting ID"] == "pt1" and sheet[1]["Keyword ID"] is None
    assert sheet[2]["Match Type"] == "negativePhrase" and sheet[2]["Ad Group ID"] is None
    with pytest.raises(ConfigError, match="EUR"):
        bulk_sheet(rows, "EUR")


# --- PostgreSQL round trip -----------------------------------------------------------------------

PROFILE = "3927415508812264"
ASIN, SKU = "B0KETTLE01", "KET-1"


def _seed(engine: sa.Engine, store_id: int) -> None:
    start, end = lookback_window(TODAY, POLICY)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    settling_from = end - timedelta(days=2)
    ids = {"store_id": store_id, "profile_id": PROFILE}
    with engine.begin() as c:
        c.execute(
            sa.insert(tables.ads_profiles).values(
                **ids,
                marketplace_id="ATVPDKIKX0DER",
                currency="USD",
                time_zone="America/Los_Angeles",
            )
        )
        c.execute(
            sa.insert(tables.ads_campaigns),
            [
                {
                    **ids,
                    "campaign_id": "cm",
                    "name": "Kettles Manual",
                    "state": "ENABLED",
                    "targeting_type": "MANUAL",
                    "target_acos": Decimal("0.25"),
                },
                {
                    **ids,
                    "campaign_id": "ca",
                    "name": "Kettles Auto",
                    "state": "ENABLED",
                    "targeting_type": "AUTO",
                    "target_acos": None,
                },
            ],
        )
        c.execute(
            sa.insert(tables.ads_ad_groups),
            [
                {
                    **ids,
                    "ad_group_id": "gm",
                    "campaign_id": "cm",
                    "name": "Exact",
                    "state": "ENABLED",
                    "default_bid": Decimal("0.75"),
                },
                {
                    **ids,
                    "ad_group_id": "ga",
                    "campaign_id": "ca",
                    "name": "Auto",
                    "state": "ENABLED",
                    "default_bid": Decimal("0.60"),
                },
            ],
        )
        keyword = {
            **ids,
            "kind": "keyword",
            "campaign_id": "cm",
            "ad_group_id": "gm",
            "state": "ENABLED",
            "currency": "USD",
            "expression": None,
        }
        c.execute(
            sa.insert(tables.ads_targets),
            [
                {
                    **keyword,
                    "target_id": "k_star",
                    "keyword_text": "gooseneck kettle",
                    "match_type": "EXACT",
                    "bid": Decimal("0.40"),
                },
                {
                    **keyword,
                    "target_id": "k_waste",
                    "keyword_text": "kettle",
                    "match_type": "BROAD",
                    "bid": Decimal("1.00"),
                },
                {
                    **keyword,
                    "target_id": "k_cool",
                    "keyword_text": "pour over kettle",
                    "match_type": "EXACT",
                    "bid": Decimal("2.00"),
                },
                {
                    **ids,
                    "target_id": "t_auto",
                    "kind": "product_target",
                    "campaign_id": "ca",
                    "ad_group_id": "ga",
                    "expression": "close-match",
                    "keyword_text": None,
                    "match_type": "AUTO",
                    "state": "ENABLED",
                    "currency": "USD",
                    "bid": Decimal("0.60"),
                },
            ],
        )
        c.execute(
            sa.insert(tables.bid_changes).values(
                **ids,
                entity_type="keyword",
                entity_id="k_cool",
                field="bid",
                before_bid=Decimal("2.50"),
                after_bid=Decimal("2.00"),
                applied_by="test",
                applied_at=datetime(2026, 3, 30, 12, tzinfo=UTC),
                succeeded=True,
            )
        )
        daily = []
        for day in days:
            settling = day >= settling_from
            common = {**ids, "report_date": day, "currency": "USD", "is_settling": settling}
            # settling days carry orders that would save k_waste if they were counted
            daily += [
                {
                    **common,
                    "target_id": "k_star",
                    "campaign_id": "cm",
                    "ad_group_id": "gm",
                    "clicks": 4,
                    "cost": Decimal("1.20"),
                    "purchases_7d": 1,
                    "sales_7d": Decimal("40.00"),
                },
                {
                    **common,
                    "target_id": "k_waste",
                    "campaign_id": "cm",
                    "ad_group_id": "gm",
                    "clicks": 2,
                    "cost": Decimal("1.50"),
                    "purchases_7d": 5 if settling else 0,
                    "sales_7d": Decimal("200.00") if settling else Decimal("0"),
                },
                {
                    **common,
                    "target_id": "k_cool",
                    "campaign_id": "cm",
                    "ad_group_id": "gm",
                    "clicks": 3,
                    "cost": Decimal("4.00"),
                    "purchases_7d": 0,
                    "sales_7d": Decimal("0"),
                },
                {
                    **common,
                    "target_id": "t_auto",
                    "campaign_id": "ca",
                    "ad_group_id": "ga",
                    "clicks": 3,
                    "cost": Decimal("1.50"),
                    "purchases_7d": 0,
                    "sales_7d": Decimal("0"),
                },
            ]
        c.execute(sa.insert(tables.ads_target_daily), daily)
        term = {
            **ids,
            "campaign_id": "ca",
            "ad_group_id": "ga",
            "target_id": "t_auto",
            "keyword_type": "TARGETING_EXPRESSION_PREDEFINED",
            "match_type": "TARGETING_EXPRESSION_PREDEFINED",
            "campaign_name": "Kettles Auto",
            "ad_group_name": "Auto",
            "currency": "USD",
        }
        c.execute(
            sa.insert(tables.ads_search_term_daily),
            [
                {
                    **term,
                    "report_date": days[0],
                    "search_term": "electric gooseneck kettle",
                    "clicks": 20,
                    "cost": Decimal("12.00"),
                    "purchases_7d": 3,
                    "sales_7d": Decimal("120.00"),
                    "is_settling": False,
                },
                {
                    **term,
                    "report_date": days[1],
                    "search_term": "kettle descaler",
                    "clicks": 15,
                    "cost": Decimal("6.00"),
                    "purchases_7d": 0,
                    "sales_7d": Decimal("0"),
                    "is_settling": False,
                },
            ],
        )
        c.execute(
            sa.insert(tables.ads_advertised_product_daily),
            [
                {
                    **ids,
                    "report_date": days[0],
                    "campaign_id": cid,
                    "ad_group_id": gid,
                    "ad_id": f"ad_{gid}",
                    "advertised_asin": ASIN,
                    "advertised_sku": SKU,
                    "is_settling": False,
                }
                for cid, gid in (("cm", "gm"), ("ca", "ga"))
            ],
        )
        c.execute(
            sa.insert(tables.inventory_snapshots).values(
                store_id=store_id,
                marketplace_id="ATVPDKIKX0DER",
                snapshot_date=TODAY - timedelta(days=1),
                sku=SKU,
                asin=ASIN,
                fulfillable_quantity=500,
            )
        )
        c.execute(
            sa.insert(tables.sales_traffic_by_asin).values(
                store_id=store_id,
                marketplace_id="ATVPDKIKX0DER",
                report_date=TODAY - timedelta(days=2),
                parent_asin="B0PARENT",
                child_asin=ASIN,
                units_ordered=900,
            )
        )
        c.execute(
            sa.insert(tables.cogs).values(
                store_id=store_id,
                sku=SKU,
                effective_from=date(2026, 1, 1),
                unit_cost=Decimal("14.00"),
                currency="USD",
            )
        )
        line = {
            "store_id": store_id,
            "settlement_id": "S1",
            "transaction_type": "Order",
            "order_id": "O1",
            "sku": SKU,
            "currency": "USD",
            "posted_date": TODAY - timedelta(days=10),
        }
        c.execute(
            sa.insert(tables.settlement_lines),
            [
                {
                    **line,
                    "line_no": 1,
                    "amount_type": "ItemPrice",
                    "amount_description": "Principal",
                    "amount": Decimal("80.00"),
                    "quantity_purchased": 2,
                },
                {
                    **line,
                    "line_no": 2,
                    "amount_type": "ItemFees",
                    "amount_description": "Commission",
                    "amount": Decimal("-12.00"),
                    "quantity_purchased": None,
                },
                {
                    **line,
                    "line_no": 3,
                    "amount_type": "ItemFees",
                    "amount_description": "FBAPerUnitFulfillmentFee",
                    "amount": Decimal("-12.00"),
                    "quantity_purchased": None,
                },
            ],
        )


def _stored(engine: sa.Engine) -> list[dict[str, Any]]:
    r = tables.bid_recommendations
    with engine.connect() as c:
        return [
            dict(row)
            for row in c.execute(sa.select(r).order_by(r.c.kind, r.c.entity_id)).mappings()
        ]


@pytest.mark.postgres
def test_recommend_save_and_export_round_trip(migrated_database_url: str) -> None:
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme", country_codes=["US"])
    _seed(engine, store.id)

    recs = recommend(engine, store, POLICY, TODAY)
    assert isinstance(recs, Recommendations) and recs.profile_ids == (PROFILE,)
    bids = {r["target_id"]: r for r in recs.bids.to_dicts()}
    # k_star: 27 orders / 108 clicks, AOV $40, target 25% -> far above $0.40: +25%
    assert bids["k_star"]["action"] == "raise" and bids["k_star"]["recommended_bid"] == Decimal(
        "0.50"
    )
    assert "target ACoS 25% (campaign target)" in bids["k_star"]["reason"]
    # k_waste: the settling days' orders are ignored -> no sales from 54 clicks -> cut
    assert bids["k_waste"]["action"] == "cut" and bids["k_waste"]["recommended_bid"] == Decimal(
        "0.70"
    )
    assert "k_cool" not in bids  # changed yesterday
    assert bids["k_star"]["evidence"]["days_of_cover"] == pytest.approx(500 / 30, abs=0.1)
    harvest = recs.harvest.row(0, named=True)
    assert harvest["search_term"] == "electric gooseneck kettle"
    assert (harvest["campaign_id"], harvest["ad_group_id"]) == ("ca", "ga")
    assert harvest["evidence"]["destination_ad_group_id"] == "gm"
    # auto campaign without its own target: break-even (40 - 12 - 14) / 40 = 35%
    assert harvest["target_acos"] == pytest.approx(0.35)
    assert "target 35%, break-even" in harvest["reason"]
    assert recs.negatives["search_term"].to_list() == ["kettle descaler"]

    written = save_recommendations(engine, store.id, recs, recs.data_through)
    first = _stored(engine)
    assert written == len(first) == recs.count
    assert {r["status"] for r in first} == {"proposed"}
    assert all(r["reason"] and r["generated_for"] == recs.data_through for r in first)
    star = next(r for r in first if r["target_id"] == "k_star")
    assert star["recommended_bid"] == Decimal("0.5000") and star["current_bid"] == Decimal("0.4000")
    assert star["evidence"]["clicks"] == 108 and star["evidence"]["orders"] == 27

    # A person approves three; the engine runs again on changed data.
    r = tables.bid_recommendations
    with engine.begin() as c:
        c.execute(
            sa.update(r).where(r.c.target_id.in_(["k_star", "k_waste"])).values(status="approved")
        )
        c.execute(
            sa.update(r).where(r.c.kind.in_(["harvest", "negative"])).values(status="approved")
        )
        c.execute(
            sa.update(tables.ads_targets)
            .where(tables.ads_targets.c.target_id == "k_star")
            .values(bid=Decimal("0.44"))
        )
    again = recommend(engine, store, POLICY, TODAY)
    assert save_recommendations(engine, store.id, again, again.data_through) == 0
    assert save_recommendations(engine, store.id, again, again.data_through) == 0
    second = _stored(engine)
    unchanged = ("id", "kind", "entity_id", "reason", "current_bid", "recommended_bid", "evidence")
    assert [{k: x[k] for k in unchanged} for x in second] == [
        {k: x[k] for k in unchanged} for x in first
    ]
    assert {x["target_id"] or x["kind"]: x["status"] for x in second} == {
        "k_star": "approved",  # its bid moved to 0.44, but a decided row is never rewritten
        "k_waste": "approved",
        "t_auto": "proposed",
        "harvest": "approved",
        "negative": "approved",
    }

    approved = stored_recommendations(engine, store.id, statuses=["approved"])
    assert len(approved) == 4
    sheet = _sheet_rows(bulk_sheet(approved, "USD"))
    by_entity = [
        (row["Entity"], row["Operation"], row["Keyword Text"], row["Bid"]) for row in sheet
    ]
    assert sorted(by_entity, key=str) == sorted(
        [
            ("Keyword", "Update", "gooseneck kettle", 0.5),
            ("Keyword", "Update", "kettle", 0.7),
            ("Keyword", "Create", "electric gooseneck kettle", float(harvest["recommended_bid"])),
            ("Negative Keyword", "Create", "electric gooseneck kettle", None),
            ("Negative Keyword", "Create", "kettle descaler", None),
        ],
        key=str,
    )
    create = next(
        row for row in sheet if row["Operation"] == "Create" and row["Entity"] == "Keyword"
    )
    assert (create["Campaign ID"], create["Ad Group ID"], create["Match Type"]) == (
        "cm",
        "gm",
        "exact",
    )
    negatives = [row for row in sheet if row["Entity"] == "Negative Keyword"]
    assert {(row["Campaign ID"], row["Ad Group ID"], row["Match Type"]) for row in negatives} == {
        ("ca", "ga", "negativeExact")
    }
