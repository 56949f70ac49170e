"""The bid, harvest and negatives engine: small frames with hand-computed answers, properties that
must hold for any input (hypothesis), a 100,000-target run, and one round trip through PostgreSQL
and the bulk-operations sheet."""

from __future__ import annotations

import io
import json
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import openpyxl
import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amzinsight.bidding.bids import recommend_bids
from amzinsight.bidding.bulk_sheet import BULK_COLUMNS, SHEET_NAME, bulk_sheet
from amzinsight.bidding.engine import Recommendations
from amzinsight.bidding.frames import MOVES, lookback_window, resolve_target_acos
from amzinsight.bidding.harvest import recommend_harvest
from amzinsight.bidding.negatives import recommend_negatives
from amzinsight.bidding.policy import BidPolicy
from amzinsight.bidding.recommend import recommend
from amzinsight.bidding.smoothing import smoothed_rates
from amzinsight.bidding.store import save_recommendations
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.errors import ConfigError
from amzinsight.rules.settling import is_settling
from amzinsight.stores import add_store

TODAY = date(2026, 3, 31)
POLICY = BidPolicy()
ACTIONS = {*MOVES, "hold", "wait", "cooldown", "at_min", "low_cover", "no_value", "rounding"}


def _target(target_id: str, bid: float | None, **extra: Any) -> dict[str, Any]:
    return {"target_id": target_id, "bid": bid, "keyword_text": f"kw {target_id}", **extra}


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
        [{**base, **row} for row in rows],
        schema_overrides={"last_bid_change": pl.Date, "bid": pl.Float64},
    )


def _perf(
    target_id: str, clicks: int, cost: float, orders: int = 0, sales: float = 0.0, **extra: Any
) -> dict[str, Any]:
    return {
        "target_id": target_id,
        "campaign_id": "c1",
        "ad_group_id": "g1",
        "clicks": clicks,
        "cost": cost,
        "purchases_7d": orders,
        "sales_7d": sales,
        **extra,
    }


def _performance(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows))


def _bids(targets: pl.DataFrame, performance: pl.DataFrame, **options: Any) -> pl.DataFrame:
    policy = options.pop("policy", POLICY)
    targets_acos = options.pop("target_acos", {"c1": 0.30})
    cover = options.pop("cover", None)
    options.setdefault("include_holds", True)
    return recommend_bids(targets, performance, policy, targets_acos, cover, TODAY, **options)


def _one(frame: pl.DataFrame, target_id: str) -> dict[str, Any]:
    rows = frame.filter(pl.col("target_id") == target_id).to_dicts()
    assert len(rows) == 1, frame
    return rows[0]


def _money(value: float) -> str:
    return f"${Decimal(str(value)).quantize(Decimal('0.01'))}"


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
    assert (policy.low_cover_days, policy.settle_days) == (14, 3)
    documented = BidPolicy.__doc__ or ""
    assert [f.name for f in fields(BidPolicy) if f.name not in documented] == []


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
    # what remains is k / (n + k) of the way to the prior
    k = POLICY.cvr_prior_clicks
    assert many == pytest.approx(abs(prior - rate) * k / (large + k), abs=1e-9)


def test_smoothing_is_toward_the_ad_group_then_the_campaign() -> None:
    """A keyword without clicks in a converting ad group gets the ad group's rate; one alone in
    its ad group, the rest of the campaign's; each row of data counts once."""
    targets = _targets(
        _target("new", 0.50), _target("seller", 0.50), _target("lonely", 0.50, ad_group_id="g2")
    )
    performance = _performance(_perf("seller", 1000, 300.0, 200, 6000.0))
    out = _bids(targets, performance)
    k = POLICY.cvr_prior_clicks
    # no other campaign: the profile level is the default CVR; g1 holds the seller's 20%
    expected = (200 + k * POLICY.default_cvr) / (1000 + k)
    assert _one(out, "new")["evidence"]["cvr"] == pytest.approx(expected, abs=1e-6)
    assert _one(out, "lonely")["evidence"]["prior_cvr"] == pytest.approx(expected, abs=1e-6)
    # the seller is alone in g1 with data, and the rest of c1 (g2) has none: the default
    assert _one(out, "seller")["evidence"]["prior_cvr"] == pytest.approx(POLICY.default_cvr)


# --- bids on small frames ------------------------------------------------------------------------


def test_value_per_click_bid_and_its_reason() -> None:
    """A one-target profile: the priors are the policy's default CVR and the target's own AOV."""
    targets = _targets(_target("k1", 0.52))
    row = _one(_bids(targets, _performance(_perf("k1", 31, 15.50, 2, 49.80))), "k1")
    cvr = (2 + 20 * 0.10) / (31 + 20)  # 7.84%
    aov = (49.80 + 3 * 24.90) / (2 + 3)  # 24.90
    assert row["evidence"]["value_bid"] == pytest.approx(cvr * aov * 0.30, abs=1e-4)  # 0.5859
    assert row["action"] == "raise"
    assert (row["current_bid"], row["recommended_bid"]) == (Decimal("0.52"), Decimal("0.59"))
    # ACoS 31.1% is over the 30% target, yet the bid rises: the reason must say why (smoothing)
    assert row["evidence"]["cause"] == "smoothing" and row["evidence"]["limit"] is None
    assert row["reason"] == (
        "Raise to $0.59: smoothing toward the ad group decides it: 2 orders from 31 clicks (6.5%) "
        "are pulled toward the ad group's 10% to CVR 7.8%, so a click is worth $0.59, more than "
        "the bid $0.52 (its own numbers alone would not raise it), though 7-day ACoS 31.1% is "
        "over the target 30%. 7-day ACoS 31.1% ($15.50 spend, $49.80 sales, 31 clicks, 2 orders); "
        "CVR 7.8% (smoothed from 2/31 toward ad group 10%), AOV $24.90, "
        "target ACoS 30% (campaign target) -> bid $0.59; now $0.52"
    )


def test_each_reason_leads_with_the_fact_that_decided_it() -> None:
    """ACoS over target, a bid far above the CPC, no orders yet, a no-sale cut, a step cap."""
    targets = _targets(
        _target("over", 1.00, ad_group_id="g1"),
        _target("above_cpc", 2.00, ad_group_id="g2"),
        _target("unsold", 0.30, ad_group_id="g3"),
        _target("spender", 1.00, ad_group_id="g4"),
    )
    performance = _performance(
        _perf("over", 200, 150.0, 20, 300.0, ad_group_id="g1"),  # ACoS 50%
        # pays $0.40 a click at ACoS 20% (under target), yet bids $2.00: a click is worth ~$0.6
        _perf("above_cpc", 200, 80.0, 20, 400.0, ad_group_id="g2"),
        _perf("unsold", 10, 3.0, ad_group_id="g3"),  # 10 clicks, no order: not yet a non-seller
        _perf("spender", 60, 30.0, ad_group_id="g4"),
        _perf("seller", 300, 60.0, 40, 1200.0, ad_group_id="g3"),  # the ad group converts
    )
    out = _bids(targets, performance, include_holds=False)
    over, above = _one(out, "over"), _one(out, "above_cpc")
    assert over["evidence"]["cause"] == "acos" and over["action"] == "lower"
    assert over["reason"].startswith("Lower to $0.70 (max step -30%): 7-day ACoS 50% is over")
    assert over["evidence"]["limit"] == "max_step_down"
    assert above["evidence"]["cause"] == "bid_vs_cpc" and above["action"] == "lower"
    assert "the bid $2.00 is above what a click is worth at the target" in above["reason"]
    assert "average CPC of $0.40 the 7-day ACoS 20% is under the target 30%" in above["reason"]
    unsold = _one(out, "unsold")
    assert unsold["evidence"]["cause"] == "no_sales_yet" and unsold["action"] == "raise"
    assert "no orders yet from 10 clicks, too few to call it a non-seller" in unsold["reason"]
    spender = _one(out, "spender")
    assert spender["evidence"]["cause"] == "no_sale" and spender["action"] == "cut"
    assert spender["reason"].startswith("No orders from 60 clicks and $30.00 spend")


def test_nothing_changes_inside_the_dead_band() -> None:
    targets = _targets(_target("k1", 0.55))  # value bid 0.5859: +6.5%
    performance = _performance(_perf("k1", 31, 15.50, 2, 49.80))
    assert _bids(targets, performance, include_holds=False).is_empty()
    row = _one(_bids(targets, performance), "k1")
    assert row["action"] == "hold" and row["recommended_bid"] is None
    assert "within the ±10% dead band" in row["reason"]


def test_steps_are_limited_and_bids_clamped() -> None:
    targets = _targets(
        _target("up", 0.20, ad_group_id="g1"),
        _target("down", 3.00, ad_group_id="g2"),
        _target("floor", 0.02, ad_group_id="g3"),
        _target("ceiling", 9.50, ad_group_id="g4"),
    )
    performance = _performance(
        _perf("up", 500, 100.0, 100, 5000.0, ad_group_id="g1"),  # value ~ 0.2 x 50 x 0.3 = 3.0
        _perf("down", 500, 100.0, 5, 100.0, ad_group_id="g2"),  # value ~ 0.01 x 20 x 0.3
        _perf("floor", 500, 10.0, 1, 10.0, ad_group_id="g3"),
        _perf("ceiling", 500, 4000.0, 250, 50000.0, ad_group_id="g4"),  # value ~ 30
    )
    out = _bids(targets, performance)
    up, down = _one(out, "up"), _one(out, "down")
    assert up["recommended_bid"] == Decimal("0.25") and "(max step +25%)" in up["reason"]
    assert down["recommended_bid"] == Decimal("2.10") and "(max step -30%)" in down["reason"]
    floor = _one(out, "floor")
    assert floor["action"] == "rounding" and floor["recommended_bid"] is None
    assert floor["reason"].endswith("already at the minimum bid, keep")
    ceiling = _one(out, "ceiling")
    assert ceiling["recommended_bid"] == Decimal("10.00")
    assert "(max bid $10.00)" in ceiling["reason"]


def test_cooldown_after_a_change() -> None:
    targets = _targets(
        _target("yesterday", 3.0, last_bid_change=TODAY - timedelta(days=1)),
        _target("long_ago", 3.0, last_bid_change=TODAY - timedelta(days=3)),
    )
    performance = _performance(
        _perf("yesterday", 500, 100.0, 5, 100.0), _perf("long_ago", 500, 100.0, 5, 100.0)
    )
    out = _bids(targets, performance)
    assert _one(out, "yesterday")["action"] == "cooldown"
    assert "Bid changed 1 day ago (cooldown 3 days)" in _one(out, "yesterday")["reason"]
    assert _one(out, "long_ago")["action"] == "lower"
    moved = _bids(targets, performance, include_holds=False)
    assert moved["target_id"].to_list() == ["long_ago"]


def test_settling_and_old_rows_are_ignored() -> None:
    targets = _targets(_target("k1", 1.00))
    start, _ = lookback_window(TODAY, POLICY)
    settled = [_perf("k1", 2, 1.0, report_date=start + timedelta(days=d)) for d in range(20)]
    noise = [
        # settling as of TODAY: the last settle_days days and today
        *[
            _perf("k1", 50, 1.0, 40, 4000.0, report_date=TODAY - timedelta(days=d))
            for d in range(POLICY.settle_days + 1)
        ],
        _perf("k1", 50, 1.0, 40, 4000.0, report_date=start - timedelta(days=1)),
    ]
    clean = _one(_bids(targets, _performance(*settled)), "k1")
    noisy = _one(_bids(targets, _performance(*settled, *noise)), "k1")
    assert clean == noisy
    assert clean["evidence"]["clicks"] == 40 and clean["evidence"]["orders"] == 0
    assert clean["action"] == "cut"


def test_spending_without_sales_is_cut_never_raised() -> None:
    targets = _targets(_target("converter", 0.50), _target("spender", 1.00), _target("cheap", 0.50))
    performance = _performance(
        _perf("converter", 100, 40.0, 10, 300.0),
        # 0 orders after 25 clicks; the ad group converts 1 in ~10 -> 2 x 10 clicks is enough
        _perf("spender", 25, 5.0),
        _perf("cheap", 4, 0.40),
    )
    out = _bids(targets, performance)
    spender = _one(out, "spender")
    assert spender["action"] == "cut" and spender["recommended_bid"] == Decimal("0.70")
    assert spender["reason"].startswith("No orders from 25 clicks and $5.00 spend")
    assert "-> cut to $0.70 (max step -30%); now $1.00" in spender["reason"]
    assert _one(out, "cheap")["action"] == "wait"


def test_low_cover_is_flagged_and_never_raised() -> None:
    targets = _targets(
        _target("would_raise", 0.20, ad_group_id="g1"), _target("lowers", 3.00, ad_group_id="g2")
    )
    performance = _performance(
        _perf("would_raise", 500, 100.0, 100, 5000.0, ad_group_id="g1"),
        _perf("lowers", 500, 100.0, 5, 100.0, ad_group_id="g2"),
    )
    cover = pl.DataFrame(
        {
            "target_id": ["would_raise", "lowers"],
            "days_of_cover": [6.0, 9.4],
            "asin": ["B0A", "B0B"],
        }
    )
    out = _bids(targets, performance, cover=cover)
    held = _one(out, "would_raise")
    assert held["action"] == "low_cover" and held["low_cover"] and held["recommended_bid"] is None
    assert "would raise to $0.25, but 6 days of cover for B0A (under 14): keep" in held["reason"]
    lowered = _one(out, "lowers")
    assert lowered["action"] == "lower" and lowered["low_cover"]
    assert lowered["reason"].endswith("; low stock: 9 days of cover for B0B (under 14)")


def test_only_enabled_keywords_and_product_targets_get_bids() -> None:
    targets = _targets(
        _target("paused", 3.0, state="PAUSED"),
        _target("negative", None, kind="negative_keyword", match_type="NEGATIVE_EXACT"),
        _target("in_paused_campaign", 3.0, campaign_state="PAUSED"),
        _target("default", None, default_bid=3.0, kind="product_target", match_type=None),
    )
    ids = targets["target_id"].to_list()
    out = _bids(targets, _performance(*(_perf(t, 500, 100.0, 5, 100.0) for t in ids)))
    assert out["target_id"].to_list() == ["default"]
    row = out.row(0, named=True)
    assert row["current_bid"] == Decimal("3.00")
    assert row["evidence"]["entity_type"] == "product_target"


def test_target_acos_comes_from_the_campaign_then_the_default() -> None:
    targets = _targets(_target("a", 1.0, campaign_id="c1"), _target("b", 1.0, campaign_id="c2"))
    performance = _performance(
        _perf("a", 400, 200.0, 40, 1000.0, campaign_id="c1"),
        _perf("b", 400, 200.0, 40, 1000.0, campaign_id="c2"),
    )
    out = _bids(targets, performance, target_acos={"c1": 0.15})
    assert _one(out, "a")["target_acos"] == 0.15
    assert "target ACoS 15% (campaign target)" in _one(out, "a")["reason"]
    assert _one(out, "b")["target_acos"] == 0.30
    assert "target ACoS 30% (default target)" in _one(out, "b")["reason"]


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
    assert (resolved["break_even"]["target_acos"], resolved["break_even"]["target_source"]) == (
        0.35,
        "break-even",
    )
    assert resolved["low_margin"]["target_acos"] == POLICY.break_even_floor
    assert resolved["plain"]["target_source"] == "default target"
    chosen = {r["campaign_id"]: r for r in resolve_target_acos(campaigns, POLICY, 0.25).to_dicts()}
    assert chosen["break_even"]["target_acos"] == 0.25 and chosen["own"]["target_acos"] == 0.20
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
    changed = [
        None if r["changed_days_ago"] is None else TODAY - timedelta(days=r["changed_days_ago"])
        for r in rows
    ]
    targets = _targets(
        *(
            _target(tid, r["bid_cents"] / 100, ad_group_id=r["ad_group"], last_bid_change=when)
            for tid, r, when in zip(ids, rows, changed, strict=True)
        )
    )
    orders = [int(r["clicks"] * r["conversion"]) for r in rows]
    performance = _performance(
        *(
            _perf(
                tid,
                r["clicks"],
                round(r["clicks"] * r["cpc"], 2),
                n,
                round(n * r["aov"], 2),
                ad_group_id=r["ad_group"],
            )
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
            # never more than one step (the generated bids start inside [min_bid, max_bid])
            assert current * (1 - policy.max_step_down) - 1e-9 <= new
            assert new <= current * (1 + policy.max_step_up) + 1e-9
            assert _money(new) in row["reason"] and _money(current) in row["reason"]
        else:
            assert row["recommended_bid"] is None
        if row["action"] in ("raise", "lower"):
            # outside the dead band (value_bid is kept to 4 places), with the numbers it used
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
            assert row["action"] in ("cut", "at_min", "cooldown")  # spends without sales
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
    daily = performance.with_columns(report_date=pl.lit(TODAY - timedelta(days=5)))
    noise = pl.DataFrame(
        [
            _perf(
                f"t{i % len(rows)}",
                clicks,
                clicks * 0.7,
                orders,
                orders * 30.0,
                ad_group_id=rows[i % len(rows)]["ad_group"],
                # settling days inside the window (as of TODAY), or today, outside it
                report_date=TODAY - timedelta(days=POLICY.settle_days if flag else 0),
            )
            for i, clicks, orders, flag in settling
        ],
        schema=daily.schema,
    )
    plain = _bids(targets, daily, cover=cover)
    assert plain.equals(_bids(targets, pl.concat([daily, noise]), cover=cover))


def test_a_hundred_thousand_targets_over_sixty_days() -> None:
    """The benchmark's shape (100,000 targets x 60 days, 6M rows); only row counts are checked."""
    from bench.ads import engine_frames

    n_targets = 100_000
    targets, performance = engine_frames(n_targets, 60, today=TODAY)
    assert performance.height == 6_000_000
    everything = recommend_bids(targets, performance, POLICY, None, None, TODAY, include_holds=True)
    assert everything.height == n_targets
    moves = recommend_bids(targets, performance, POLICY, None, None, TODAY)
    assert 0 < moves.height < n_targets
    assert moves.filter(pl.col("reason").str.len_chars() == 0).is_empty()


# --- harvest and negatives -----------------------------------------------------------------------

BROAD: dict[str, Any] = {
    "campaign_id": "broad",
    "ad_group_id": "broad_g",
    "keyword_type": "BROAD",
    "targeting_type": "MANUAL",
    "campaign_name": "Kettles Broad",
    "ad_group_name": "Broad",
}
EXACT: dict[str, Any] = {
    "campaign_id": "manual",
    "ad_group_id": "exact_g",
    "keyword_type": "EXACT",
    "targeting_type": "MANUAL",
}


def _term(
    search_term: str, clicks: int, cost: float, orders: int = 0, sales: float = 0.0, **extra: Any
) -> dict[str, Any]:
    return {
        "campaign_id": "auto",
        "ad_group_id": "auto_g",
        "campaign_name": "Kettles Auto",
        "ad_group_name": "Auto",
        "keyword_type": "TARGETING_EXPRESSION_PREDEFINED",
        "targeting_type": "AUTO",
        "search_term": search_term,
        "clicks": clicks,
        "cost": cost,
        "purchases_7d": orders,
        "sales_7d": sales,
        **extra,
    }


def _terms(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows))


def _kettle_targets() -> pl.DataFrame:
    manual = {"targeting_type": "MANUAL"}
    return _targets(
        _target(
            "e1",
            1.0,
            **manual,
            campaign_id="manual",
            ad_group_id="exact_g",
            keyword_text="gooseneck kettle",
            campaign_name="Kettles Exact",
            ad_group_name="Exact",
        ),
        _target(
            "b1",
            1.0,
            **manual,
            campaign_id="broad",
            ad_group_id="broad_g",
            keyword_text="kettle",
            match_type="BROAD",
        ),
        _target(
            "n1",
            None,
            campaign_id="auto",
            ad_group_id="auto_g",
            keyword_text="tea kettle",
            kind="negative_keyword",
            match_type="NEGATIVE_EXACT",
        ),
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
        _term("Electric  Gooseneck Kettle", 20, 15.0, 3, 90.0),  # 3 orders, ACoS 16.7%
        _term("copper kettle", 30, 54.0, 3, 90.0),  # ACoS 60% > 30%
        _term("kettle for camping", 10, 3.0, 1, 30.0),  # one order only
        _term("gooseneck kettle", 40, 10.0, 5, 150.0),  # already an exact keyword
        _term("b0abcdefgh", 20, 5.0, 4, 120.0),  # an ASIN: product page, not a keyword
        _term("*", 20, 5.0, 4, 120.0),  # a placement without a query
        _term("stovetop kettle", 20, 5.0, 4, 120.0, **EXACT),  # an exact keyword's own term
        # the winning term from a broad keyword too: one harvest, two sources
        _term("electric gooseneck kettle", 5, 3.0, 1, 30.0, **BROAD),
    )
    out = recommend_harvest(
        terms, POLICY, {"auto": 0.30}, targets=_kettle_targets(), advertised=_advertised()
    )
    assert out["search_term"].to_list() == ["electric gooseneck kettle"]
    row = out.row(0, named=True)
    evidence = row["evidence"]
    # the negative goes to the top source; the keyword to a manual ad group of the same ASIN
    assert (row["kind"], row["match_type"], row["campaign_id"], row["ad_group_id"]) == (
        "harvest",
        "EXACT",
        "auto",
        "auto_g",
    )
    assert (evidence["destination_campaign_id"], evidence["destination_ad_group_id"]) == (
        "manual",
        "exact_g",
    )
    assert [(s["campaign_id"], s["ad_group_id"]) for s in evidence["negate_in"]] == [
        ("auto", "auto_g"),
        ("broad", "broad_g"),
    ]
    cpc = 18.0 / 25
    assert evidence["value_bid"] > cpc * 1.25
    assert row["recommended_bid"] == Decimal("0.90")  # CPC $0.72 + 25%
    assert row["reason"].startswith(
        '"electric gooseneck kettle": 4 orders from 25 clicks, 7-day ACoS 15%'
    )
    assert "exact keyword at $0.90 (CPC $0.72 + 25%" in row["reason"]
    assert "in Kettles Exact / Exact" in row["reason"]
    assert "negative exact in 2 source ad group(s)" in row["reason"]
    assert len(row["entity_id"]) == 24


def test_harvest_without_destination_says_so() -> None:
    terms = _terms(_term("kettle", 20, 5.0, 3, 90.0))
    row = recommend_harvest(terms, POLICY, None, currency="EUR").row(0, named=True)
    assert row["evidence"]["destination_ad_group_id"] is None and row["currency"] == "EUR"
    assert "no manual ad group advertises the same product yet" in row["reason"]
    assert "exact keyword at €0.31" in row["reason"]


def test_negative_exact_for_terms_that_waste_clicks_or_spend() -> None:
    terms = _terms(
        _term("kettle converter", 30, 30.0, 3, 300.0),
        _term("kettle descaler", 12, 4.0),  # 12 clicks, 0 orders
        _term("kettle parts", 11, 1.0),  # not yet
        _term("kettle repair", 6, 40.0),  # spent more than AOV x target ACoS
        _term("kettle lid", 2, 40.0),  # too few clicks for the spend rule
        _term("tea kettle", 40, 9.0),  # already negated in the ad group
        _term("kettle brush", 40, 9.0),  # being harvested
        _term("exact only", 40, 9.0, **EXACT),
    )
    out = recommend_negatives(
        terms, POLICY, None, targets=_kettle_targets(), skip_terms=["kettle brush"]
    )
    exact = out.filter(pl.col("match_type") == "NEGATIVE_EXACT")
    assert sorted(exact["search_term"].to_list()) == ["kettle descaler", "kettle repair"]
    descaler = exact.filter(pl.col("search_term") == "kettle descaler").row(0, named=True)
    assert (descaler["campaign_id"], descaler["ad_group_id"]) == ("auto", "auto_g")
    assert descaler["reason"].startswith(
        '"kettle descaler": no orders from 12 clicks and $4.00 spend'
    )
    assert descaler["reason"].endswith("-> negative exact in Kettles Auto / Auto")
    assert "(7-day): 12 clicks or more without an order" in descaler["reason"]
    assert descaler["evidence"]["cause"] == "no_sale_clicks"
    repair = exact.filter(pl.col("search_term") == "kettle repair").row(0, named=True)
    # the expected cost of an order: the ad group's AOV (smoothed, ~$100) x 30%
    assert 20 < repair["evidence"]["cost_per_order"] < 40.0
    assert "at target ACoS 30%" in repair["reason"]
    assert "(7-day): spent more than one order may cost" in repair["reason"]  # not the clicks rule
    assert repair["evidence"]["cause"] == "no_sale_spend"


def test_ngram_negatives() -> None:
    terms = _terms(
        _term("cheap kettle red", 8, 4.0),
        _term("cheap kettle blue", 7, 4.0),
        _term("cheap plastic kettle", 6, 3.0),
        _term("kettle for tea", 6, 3.0),
        _term("kettle for coffee", 6, 3.0),
        _term("kettle for boat", 9, 3.0),
        _term("used kettle one", 7, 4.0),
        _term("used kettle two", 7, 4.0),
        _term("used kettle deal", 7, 4.0, 1, 30.0),
        _term("travel kettle a", 8, 4.0, **BROAD),
        _term("travel kettle b", 8, 4.0, **BROAD),
        _term("travel kettle c", 8, 4.0, **BROAD),
    )
    out = recommend_negatives(terms, POLICY, None, targets=_kettle_targets(), currency="USD")
    phrases = out.filter(pl.col("match_type") == "NEGATIVE_PHRASE")
    # "cheap": 3 terms, 21 clicks, 0 orders, and "cheap kettle" is covered by it. "for" is a
    # stopword; "used" has an order; "kettle" converts in auto and is the broad campaign's own
    # keyword; "travel" qualifies in the broad campaign, "kettle for" in the auto one.
    found = {(r["campaign_id"], r["search_term"]) for r in phrases.to_dicts()}
    assert found == {("auto", "cheap"), ("auto", "kettle for"), ("broad", "travel")}
    cheap = phrases.filter(pl.col("search_term") == "cheap").row(0, named=True)
    assert cheap["ad_group_id"] is None
    assert cheap["evidence"]["entity_type"] == "campaign_negative_keyword"
    assert cheap["reason"] == (
        '"cheap": in 3 search terms with 21 clicks, $11.00 spend and no orders (7-day), '
        "e.g. cheap kettle red, cheap kettle blue, cheap plastic kettle -> negative phrase in "
        "campaign Kettles Auto"
    )
    # a term a proposed phrase already blocks is not proposed again as negative exact
    assert "cheap kettle red" not in out["search_term"].to_list()


# --- bulk sheet without a database ---------------------------------------------------------------


def _sheet_rows(content: bytes) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == [SHEET_NAME]
    values = list(book[SHEET_NAME].iter_rows(values_only=True))
    assert list(values[0]) == list(BULK_COLUMNS)
    return [dict(zip(BULK_COLUMNS, row, strict=True)) for row in values[1:]]


def test_bulk_sheet_writes_only_approved_rows_in_amazons_layout() -> None:
    keyword: dict[str, Any] = {
        "kind": "bid",
        "profile_id": "p1",
        "campaign_id": "301485726190341",
        "ad_group_id": "402917735001126",
        "target_id": "513308847702215",
        "match_type": "EXACT",
        "recommended_bid": Decimal("0.59"),
        "currency": "USD",
        "evidence": {"entity_type": "keyword", "keyword_text": "gooseneck kettle"},
    }
    product_target: dict[str, Any] = {
        "kind": "bid",
        "campaign_id": "c",
        "ad_group_id": "g",
        "target_id": "pt1",
        "recommended_bid": Decimal("1.20"),
        "evidence": json.dumps({"entity_type": "product_target", "expression": 'asin="B0X"'}),
    }
    negative: dict[str, Any] = {
        "kind": "negative",
        "campaign_id": "c",
        "search_term": "x",
        "currency": "USD",
    }
    lost_harvest: dict[str, Any] = {
        "kind": "harvest",
        "search_term": "lost",
        "recommended_bid": Decimal("0.5"),
    }
    rows = [
        {**keyword, "status": "approved"},
        {**product_target, "status": "approved"},
        {**negative, "status": "proposed", "ad_group_id": "g", "match_type": "NEGATIVE_EXACT"},
        {**negative, "status": "approved", "ad_group_id": None, "match_type": "NEGATIVE_PHRASE"},
        {**lost_harvest, "status": "approved"},  # no destination: left out whole
    ]
    sheet = _sheet_rows(bulk_sheet(rows, "USD"))
    assert [(r["Entity"], r["Operation"]) for r in sheet] == [
        ("Keyword", "Update"),
        ("Product Targeting", "Update"),
        ("Campaign Negative Keyword", "Create"),
    ]
    first = sheet[0]
    assert first["Keyword ID"] == "513308847702215"  # text, never a rounded float
    assert first["Campaign ID"] == "301485726190341"
    assert (first["Bid"], first["Match Type"], first["Product"]) == (
        0.59,
        "exact",
        "Sponsored Products",
    )
    assert sheet[1]["Product Targeting ID"] == "pt1" and sheet[1]["Keyword ID"] is None
    assert sheet[1]["Product Targeting Expression"] == 'asin="B0X"'
    assert sheet[2]["Match Type"] == "negativePhrase" and sheet[2]["Ad Group ID"] is None
    with pytest.raises(ConfigError, match="EUR"):
        bulk_sheet(rows, "EUR")


def test_bulk_sheet_keeps_keywords_amazon_accepts_exact_and_no_cell_is_a_formula(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Shopper search terms reach the sheet: one Amazon accepts arrives exactly as typed; one
    that starts like a formula (Amazon refuses those) is left out and logged; a name that starts
    like one stays exact text, with Excel's quote prefix, never a formula cell."""
    destination: dict[str, Any] = {
        "destination_campaign_id": "c2",
        "destination_ad_group_id": "g2",
        "destination_campaign_name": "=Kettles Exact",
        "negate_in": [{"campaign_id": "c1", "ad_group_id": "g1", "campaign_name": "-Auto-"}],
    }
    harvest: dict[str, Any] = {"kind": "harvest", "status": "approved", "recommended_bid": 0.75}
    negative: dict[str, Any] = {
        "kind": "negative",
        "status": "approved",
        "campaign_id": "c1",
        "ad_group_id": "g1",
        "match_type": "NEGATIVE_EXACT",
    }
    accepted = ["pour-over kettle 1.2l", "men's c++ kettle"]
    hostile = ['=HYPERLINK("http://x","y")', "=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3"]
    rows: list[dict[str, Any]] = [
        {**harvest, "search_term": accepted[0], "evidence": destination},
        {**negative, "search_term": accepted[1]},
        {**harvest, "search_term": hostile[0], "evidence": destination},
        *({**negative, "search_term": term} for term in hostile[1:]),
    ]

    with caplog.at_level("WARNING", logger="amzinsight.bidding.bulk_sheet"):
        content = bulk_sheet(rows, "USD")

    sheet = openpyxl.load_workbook(io.BytesIO(content))[SHEET_NAME]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    written = _sheet_rows(content)
    assert [(r["Entity"], r["Keyword Text"], r["Match Type"]) for r in written] == [
        ("Keyword", "pour-over kettle 1.2l", "exact"),
        ("Negative Keyword", "pour-over kettle 1.2l", "negativeExact"),
        ("Negative Keyword", "men's c++ kettle", "negativeExact"),
    ]
    # names are Amazon's own: exact text, marked so that Excel keeps them text
    name_cells = [c for c in cells if c.value in {"=Kettles Exact", "-Auto-"}]
    assert [(c.value, c.data_type, c.quotePrefix) for c in name_cells] == [
        ("=Kettles Exact", "s", True),
        ("-Auto-", "s", True),
    ]
    keyword_cells = [c for c in cells if c.value in accepted]
    assert {(c.data_type, c.quotePrefix) for c in keyword_cells} == {("s", False)}
    assert written[0]["Bid"] == 0.75
    left_out = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert len(left_out) == len(hostile)
    assert all(repr(term) in message for term, message in zip(hostile, left_out, strict=True))


# --- PostgreSQL round trip -----------------------------------------------------------------------

PROFILE = "3927415508812264"
ASIN, SKU = "B0KETTLE01", "KET-1"
US = "ATVPDKIKX0DER"


def _seed(engine: sa.Engine, store_id: int) -> None:
    """A manual campaign (target ACoS 25%): a star keyword, a waster whose only orders are in the
    settling days, one changed yesterday; an auto campaign (no target: break-even from COGS) with
    a converting and a wasting search term; both advertise one ASIN with 500 units in stock."""
    start, end = lookback_window(TODAY, POLICY)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    ids = {"store_id": store_id, "profile_id": PROFILE}

    def campaign(campaign_id: str, name: str, targeting: str, acos: str | None) -> dict[str, Any]:
        target_acos = None if acos is None else Decimal(acos)
        return {**ids, "campaign_id": campaign_id, "name": name, "state": "ENABLED",
                "targeting_type": targeting, "target_acos": target_acos}  # fmt: skip

    def ad_group(ad_group_id: str, campaign_id: str, name: str, bid: str) -> dict[str, Any]:
        return {**ids, "ad_group_id": ad_group_id, "campaign_id": campaign_id, "name": name,
                "state": "ENABLED", "default_bid": Decimal(bid)}  # fmt: skip

    def target(target_id: str, kind: str, text: str | None, match: str, bid: str,
               campaign_id: str = "cm", ad_group_id: str = "gm") -> dict[str, Any]:  # fmt: skip
        return {**ids, "target_id": target_id, "kind": kind, "campaign_id": campaign_id,
                "ad_group_id": ad_group_id, "keyword_text": text if kind == "keyword" else None,
                "expression": None if kind == "keyword" else text, "match_type": match,
                "state": "ENABLED", "bid": Decimal(bid), "currency": "USD"}  # fmt: skip

    def daily(target_id: str, day: date, clicks: int, cost: str, orders: int, sales: str,
              campaign_id: str = "cm", ad_group_id: str = "gm") -> dict[str, Any]:  # fmt: skip
        return {**ids, "report_date": day, "target_id": target_id, "campaign_id": campaign_id,
                "ad_group_id": ad_group_id, "clicks": clicks, "cost": Decimal(cost),
                "purchases_7d": orders, "sales_7d": Decimal(sales), "currency": "USD"}  # fmt: skip

    def term(search_term: str, clicks: int, cost: str, orders: int, sales: str) -> dict[str, Any]:
        return {**ids, "report_date": days[0], "campaign_id": "ca", "ad_group_id": "ga",
                "target_id": "t_auto", "search_term": search_term, "campaign_name": "Kettles Auto",
                "ad_group_name": "Auto", "keyword_type": "TARGETING_EXPRESSION_PREDEFINED",
                "match_type": "TARGETING_EXPRESSION_PREDEFINED", "clicks": clicks,
                "cost": Decimal(cost), "purchases_7d": orders, "sales_7d": Decimal(sales),
                "currency": "USD"}  # fmt: skip

    def fact(day: date) -> list[dict[str, Any]]:
        settling = is_settling(day, TODAY, POLICY.settle_days)  # as the engine reads on TODAY
        return [
            daily("k_star", day, 4, "1.20", 1, "40.00"),
            # only the settling days have orders: counted, they would save it from the cut
            daily("k_waste", day, 2, "1.50", 5 if settling else 0, "200.00" if settling else "0"),
            daily("k_cool", day, 3, "4.00", 0, "0"),
            daily("t_auto", day, 3, "1.50", 0, "0", "ca", "ga"),
        ]

    line = {"store_id": store_id, "settlement_id": "S1", "transaction_type": "Order",
            "order_id": "O1", "sku": SKU, "currency": "USD",
            "posted_date": TODAY - timedelta(days=10)}  # fmt: skip
    with engine.begin() as c:
        c.execute(
            sa.insert(tables.ads_profiles).values(
                **ids, marketplace_id=US, currency="USD", time_zone="America/Los_Angeles"
            )
        )
        c.execute(
            sa.insert(tables.ads_campaigns),
            [
                campaign("cm", "Kettles Manual", "MANUAL", "0.25"),
                campaign("ca", "Kettles Auto", "AUTO", None),
            ],
        )
        c.execute(
            sa.insert(tables.ads_ad_groups),
            [ad_group("gm", "cm", "Exact", "0.75"), ad_group("ga", "ca", "Auto", "0.60")],
        )
        c.execute(
            sa.insert(tables.ads_targets),
            [
                target("k_star", "keyword", "gooseneck kettle", "EXACT", "0.40"),
                target("k_waste", "keyword", "kettle", "BROAD", "1.00"),
                target("k_cool", "keyword", "pour over kettle", "EXACT", "2.00"),
                target("t_auto", "product_target", "close-match", "AUTO", "0.60", "ca", "ga"),
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
        c.execute(sa.insert(tables.ads_target_daily), [row for day in days for row in fact(day)])
        c.execute(
            sa.insert(tables.ads_search_term_daily),
            [
                term("electric gooseneck kettle", 20, "12.00", 3, "120.00"),
                term("kettle descaler", 15, "6.00", 0, "0"),
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
                }
                for cid, gid in (("cm", "gm"), ("ca", "ga"))
            ],
        )
        c.execute(
            sa.insert(tables.inventory_snapshots).values(
                store_id=store_id,
                marketplace_id=US,
                snapshot_date=TODAY - timedelta(days=1),
                sku=SKU,
                asin=ASIN,
                fulfillable_quantity=500,
            )
        )
        c.execute(  # 900 units in 30 days: 30 a day, 500 / 30 = 16.7 days of cover
            sa.insert(tables.sales_traffic_by_asin).values(
                store_id=store_id,
                marketplace_id=US,
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
        c.execute(  # $40 a unit, $12 of Amazon fees a unit
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
        rows = c.execute(sa.select(r).order_by(r.c.kind, r.c.entity_id)).mappings()
        return [dict(row) for row in rows]


@pytest.mark.postgres
def test_recommend_save_and_export_round_trip(migrated_database_url: str) -> None:
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme", country_codes=["US"])
    _seed(engine, store.id)

    recs = recommend(engine, store, POLICY, TODAY)
    assert isinstance(recs, Recommendations) and recs.profile_ids == (PROFILE,)
    bids = {r["target_id"]: r for r in recs.bids.to_dicts()}
    assert set(bids) == {"k_star", "k_waste", "t_auto"}  # k_cool was changed yesterday
    # k_star: 27 orders from 108 clicks, AOV $40, target 25% -> far above $0.40: one step up
    assert bids["k_star"]["action"] == "raise"
    assert bids["k_star"]["recommended_bid"] == Decimal("0.50")
    assert "target ACoS 25% (campaign target)" in bids["k_star"]["reason"]
    assert bids["k_star"]["evidence"]["days_of_cover"] == pytest.approx(500 / 30, abs=0.1)
    # k_waste: the settling days' orders are ignored -> no sales from 54 clicks -> cut
    assert bids["k_waste"]["action"] == "cut"
    assert bids["k_waste"]["recommended_bid"] == Decimal("0.70")
    harvest = recs.harvest.row(0, named=True)
    assert harvest["search_term"] == "electric gooseneck kettle"
    assert (harvest["campaign_id"], harvest["ad_group_id"]) == ("ca", "ga")
    assert harvest["evidence"]["destination_ad_group_id"] == "gm"
    # the auto campaign has no target of its own: break-even (40 - 12 - 14) / 40 = 35%
    assert harvest["target_acos"] == pytest.approx(0.35)
    assert "target 35%, break-even" in harvest["reason"]
    assert recs.negatives["search_term"].to_list() == ["kettle descaler"]

    written = save_recommendations(engine, store.id, recs, recs.data_through)
    first = _stored(engine)
    assert written == len(first) == recs.count == 5
    assert {r["status"] for r in first} == {"proposed"}
    assert all(r["reason"] and r["generated_for"] == recs.data_through for r in first)
    star = next(r for r in first if r["target_id"] == "k_star")
    assert (star["current_bid"], star["recommended_bid"]) == (Decimal("0.40"), Decimal("0.50"))
    assert star["evidence"]["clicks"] == 108 and star["evidence"]["orders"] == 27

    # A person approves four; the data moves; the engine runs again, twice.
    r = tables.bid_recommendations
    t = tables.ads_targets
    with engine.begin() as c:
        c.execute(
            sa.update(r).where(r.c.target_id.in_(["k_star", "k_waste"])).values(status="approved")
        )
        c.execute(
            sa.update(r).where(r.c.kind.in_(["harvest", "negative"])).values(status="approved")
        )
        c.execute(sa.update(t).where(t.c.target_id == "k_star").values(bid=Decimal("0.44")))
    again = recommend(engine, store, POLICY, TODAY)
    assert again.bids.filter(pl.col("target_id") == "k_star")["current_bid"].to_list() == [
        Decimal("0.44")
    ]
    assert save_recommendations(engine, store.id, again, again.data_through) == 0
    assert save_recommendations(engine, store.id, again, again.data_through) == 0
    second = _stored(engine)
    kept = ("id", "kind", "entity_id", "reason", "current_bid", "recommended_bid", "evidence")
    assert [{k: x[k] for k in kept} for x in second] == [{k: x[k] for k in kept} for x in first]
    assert {x["target_id"] or x["kind"]: x["status"] for x in second} == {
        "k_star": "approved",  # its bid moved, but a decided row is never rewritten
        "k_waste": "approved",
        "t_auto": "proposed",
        "harvest": "approved",
        "negative": "approved",
    }

    approved = [x for x in second if x["status"] == "approved"]
    assert len(approved) == 4
    sheet = _sheet_rows(bulk_sheet(approved, "USD"))
    assert sorted((x["Entity"], x["Operation"], x["Keyword Text"], x["Bid"]) for x in sheet) == [
        ("Keyword", "Create", "electric gooseneck kettle", float(harvest["recommended_bid"])),
        ("Keyword", "Update", "gooseneck kettle", 0.5),
        ("Keyword", "Update", "kettle", 0.7),
        ("Negative Keyword", "Create", "electric gooseneck kettle", None),
        ("Negative Keyword", "Create", "kettle descaler", None),
    ]
    create = next(x for x in sheet if x["Operation"] == "Create" and x["Entity"] == "Keyword")
    assert (create["Campaign ID"], create["Ad Group ID"], create["Match Type"]) == (
        "cm",
        "gm",
        "exact",
    )
    # the Advertising page hands over a frame with the evidence as JSON text: the same sheet
    as_page_reads_it = pl.DataFrame(
        [{**x, "evidence": json.dumps(x["evidence"])} for x in approved], infer_schema_length=None
    )
    assert _sheet_rows(bulk_sheet(as_page_reads_it, "USD")) == sheet
    negatives = {(x["Campaign ID"], x["Ad Group ID"], x["Match Type"], x["State"])
                 for x in sheet if x["Entity"] == "Negative Keyword"}  # fmt: skip
    assert negatives == {("ca", "ga", "negativeExact", "enabled")}
