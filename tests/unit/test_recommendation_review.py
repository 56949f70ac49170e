"""The expected 30-day effect of a recommendation, computed by hand, and the evidence in words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from amzinsight.bidding.review import (
    Effect,
    deciding_fact,
    direction,
    evidence_in_words,
    expected_effect,
    match_type_label,
)

WINDOW = {"window_start": "2026-03-01", "window_end": "2026-03-15"}  # 15 days: x2 for 30


def test_a_lower_bid_loses_clicks_in_proportion_at_the_observed_cpc() -> None:
    evidence = {"action": "lower", "clicks": 100, "cost": 50.0, "orders": 10, "sales": 200.0}
    evidence |= {"cvr": 0.08, "aov": 20.0, **WINDOW}
    effect = expected_effect("bid", evidence, Decimal("1.00"), Decimal("0.70"), 0.30)
    # 70 clicks at the observed $0.50 CPC (under the new bid): spend 35 - 50 = -15, x2 days
    assert effect.spend == Decimal("-30.00")
    # 30 clicks fewer x 8% x $20 = -48 sales over 15 days, -96 over 30
    assert effect.sales == Decimal("-96.00")
    # -96 x 30% + 30 = +1.20: the spend saved buys more than the sales lost are worth
    assert effect.net == Decimal("1.20")


def test_a_bid_under_the_cpc_caps_what_a_click_costs() -> None:
    evidence = {"action": "lower", "clicks": 10, "cost": 10.0, "orders": 1, "sales": 20.0}
    evidence |= {"cvr": 0.1, "aov": 20.0, **WINDOW}
    effect = expected_effect("bid", evidence, Decimal("1.20"), Decimal("0.60"), 0.30)
    # 5 clicks at $0.60 (not the $1.00 CPC seen): 3 - 10 = -7 over 15 days
    assert effect.spend == Decimal("-14.00")


def test_a_cut_without_orders_loses_no_sales_and_a_negative_saves_its_spend() -> None:
    cut = {"action": "cut", "clicks": 40, "cost": 20.0, "orders": 0, "cvr": 0.05, "aov": 30.0}
    effect = expected_effect("bid", cut | WINDOW, Decimal("0.50"), Decimal("0.35"), 0.30)
    # 28 clicks at the new $0.35 bid (under the $0.50 CPC): 9.80 - 20 = -10.20 over 15 days
    assert (effect.spend, effect.sales, effect.net) == (
        Decimal("-20.40"),
        Decimal("0.00"),
        Decimal("20.40"),
    )
    negative = {"action": "negative_exact", "clicks": 14, "cost": 9.8, "orders": 0}
    # no window recorded: the engine's 30-day lookback, so the spend as seen
    effect = expected_effect("negative", negative, None, None, 0.30)
    assert effect == Effect(Decimal("-9.80"), Decimal("0.00"), Decimal("9.80"))


@pytest.mark.parametrize(
    ("kind", "evidence"),
    [
        ("harvest", {"action": "harvest", "clicks": 10, "cost": 5.0, "orders": 3}),
        ("negative", {"action": "negative_exact", "source": "Assistant"}),  # no click data
        ("bid", {"action": "raise", "clicks": 0, "cost": 0.0}),
    ],
)
def test_what_cannot_be_estimated_is_empty_not_zero(kind: str, evidence: dict) -> None:
    assert expected_effect(kind, evidence, Decimal("1"), Decimal("1.2"), 0.3) == Effect()


def test_words_for_direction_match_type_and_deciding_fact() -> None:
    assert [direction("bid", {"action": a}) for a in ("raise", "lower", "cut")] == [
        "raise",
        "lower",
        "lower",
    ]
    assert (direction("harvest", {}), direction("negative", {})) == ("add", "negate")
    assert match_type_label("NEGATIVE_EXACT") == "Negative exact"
    assert match_type_label("MANUAL") == "Product target" and match_type_label(None) == ""
    assert (
        deciding_fact("bid", {"cause": "smoothing", "limit": "max_step_down"})
        == "smoothing toward the ad group, capped by the maximum step down"
    )
    assert deciding_fact("bid", {}) == "unknown"
    # the Assistant writes its source as "listing assistant"; its proposals say so
    for kind in ("harvest", "negative"):
        assert deciding_fact(kind, {"source": "listing assistant"}) == "the Assistant's proposal"


def test_evidence_in_words() -> None:
    row = {
        "kind": "bid",
        "target_acos": 0.3,
        "current_bid": Decimal("1.00"),
        "proposed_bid": Decimal("0.70"),
        "spend_change": Decimal("-30.00"),
        "sales_change": Decimal("-96.00"),
        "net_effect": Decimal("1.20"),
        "deciding_fact": "ACoS vs target",
        "evidence": {
            "clicks": 100, "cost": 50.0, "orders": 10, "sales": 200.0, "cvr": 0.08,
            "raw_cvr": 0.1, "prior_cvr": 0.06, "aov": 20.0, "value_bid": 0.48,
            "target_source": "campaign target", **WINDOW,
        },
    }  # fmt: skip
    lines = evidence_in_words(row, lambda v: f"${Decimal(str(v)):.2f}".replace("$-", "-$"))
    assert lines[0] == "Data: 01 Mar 2026 to 15 Mar 2026, settled days only, 7-day attribution."
    assert "Observed: 100 clicks, 10 orders, $50.00 spend, $200.00 sales." in lines
    assert "Average CPC $0.50, ACoS 25.0%." in lines
    assert "Target ACoS 30% (campaign target)." in lines
    assert (
        "Expected over 30 days: spend -$30.00, sales -$96.00, net +$1.20 at the target ACoS."
        in (lines)
    )
    assert lines[-1] == "Decided by: ACoS vs target."
