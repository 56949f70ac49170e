"""The recommendations as a PPC manager reviews them: what changes (keyword text, product target
expression or search term, match type, campaign and ad group by name), which way, the bids, the
expected effect over the next 30 days, the fact that decided it, and the evidence in words.

Names are read at query time from the Ads entity tables (the sp_entities sync), falling back to
the names the engine recorded in the evidence; nothing is copied into bid_recommendations.

Expected effect (30 days, in the recommendation's currency), from the evidence the engine
recorded over its lookback window, scaled to 30 days:
- bid raise or lower: clicks are assumed to follow the bid in proportion (a 20% lower bid, 20%
  fewer clicks) and each click to cost the observed CPC, never more than the new bid. Spend
  change = new clicks x that CPC - observed spend; sales change = change in clicks x the
  smoothed conversion rate x the smoothed order value the engine valued the click with. A cut of
  a target without orders loses no sales at its observed rate (none).
- negative (exact or phrase): the term's spend is saved at its observed rate; it had no orders,
  so no sales are lost.
- harvest, and rows without click evidence (the Assistant's proposals): not estimated (empty): a
  harvested term keeps the traffic it already converts, moved to an exact keyword.
Net effect = sales change x target ACoS - spend change: what the change earns at what you are
willing to pay for sales (with a break-even target ACoS, the change in profit). Positive is good:
more sales at or under the target, or spend above it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.bidding.evidence import Action, Cause, Evidence, Limit, as_evidence
from amzinsight.bidding.policy import BidPolicy
from amzinsight.bidding.queries import shown_recommendations
from amzinsight.db.tables import ads_ad_groups, ads_campaigns, ads_targets

EFFECT_DAYS = 30
_CENT = Decimal("0.01")
_MONEY = pl.Decimal(12, 2)

DIRECTIONS = ("raise", "lower", "add", "negate")
KIND_LABELS = {"bid": "Bid", "harvest": "Harvest", "negative": "Negative"}
MATCH_TYPE_LABELS = {
    "EXACT": "Exact",
    "PHRASE": "Phrase",
    "BROAD": "Broad",
    "NEGATIVE_EXACT": "Negative exact",
    "NEGATIVE_PHRASE": "Negative phrase",
    "AUTO": "Auto target",
    "MANUAL": "Product target",
    "TARGETING_EXPRESSION": "Product target",
    "TARGETING_EXPRESSION_PREDEFINED": "Auto target",
}
CAUSES: dict[str, str] = {
    Cause.ACOS: "ACoS vs target",
    Cause.SMOOTHING: "smoothing toward the ad group",
    Cause.BID_VS_CPC: "bid far from the CPC",
    Cause.NO_SALES_YET: "no orders yet (ad group's conversion)",
    Cause.NO_SALE: "no orders after enough clicks",
    Cause.NO_SALE_CLICKS: "clicks without an order",
    Cause.NO_SALE_SPEND: "spend without an order",
    Cause.NGRAM: "wasted spend across search terms",
    "harvest": "orders at or under target ACoS",
    "assistant": "the Assistant's proposal",
}
LIMITS: dict[str, str] = {
    Limit.MAX_STEP_UP: "capped by the maximum step up",
    Limit.MAX_STEP_DOWN: "capped by the maximum step down",
    Limit.MIN_BID: "at the minimum bid",
    Limit.MAX_BID: "at the maximum bid",
}

REVIEW_SCHEMA = {
    "id": pl.Int64(),
    "status": pl.String(),
    "kind": pl.String(),
    "direction": pl.String(),
    "target": pl.String(),
    "match_type": pl.String(),
    "campaign": pl.String(),
    "ad_group": pl.String(),
    "current_bid": _MONEY,
    "proposed_bid": _MONEY,
    "spend_change": _MONEY,
    "sales_change": _MONEY,
    "net_effect": _MONEY,
    "deciding_fact": pl.String(),
    "reason": pl.String(),
    "evidence": pl.String(),
    "currency": pl.String(),
    "target_acos": pl.Float64(),
    "profile_id": pl.String(),
    "campaign_id": pl.String(),
    "ad_group_id": pl.String(),
    "target_id": pl.String(),
    "generated_for": pl.Date(),
    "decided_by": pl.String(),
    "decided_at": pl.Datetime("us", "UTC"),
}
"""One row per recommendation. campaign / ad_group are where the change happens (a harvest's
destination ad group when it has one); text is "" where there is none (a campaign-level negative
has no ad group) and "unknown" where the entity tables do not know the name."""

_RECORD_COLUMNS = (
    "id", "status", "kind", "profile_id", "campaign_id", "ad_group_id", "target_id",
    "search_term", "match_type", "current_bid", "recommended_bid", "currency", "target_acos",
    "reason", "evidence", "generated_for", "decided_by", "decided_at",
)  # fmt: skip
"""What the review reads of each stored recommendation (names come from the entity tables)."""


@dataclass(frozen=True)
class Effect:
    """Expected change over EFFECT_DAYS; None where it cannot be estimated (never a made-up 0)."""

    spend: Decimal | None = None
    sales: Decimal | None = None
    net: Decimal | None = None


def recommendation_review(
    engine: Engine,
    store_id: int,
    marketplace_ids: Sequence[str],
    policy: BidPolicy | None = None,
) -> pl.DataFrame:
    """The marketplaces' recommendations (REVIEW_SCHEMA), largest net effect first, unknown last."""
    policy = policy or BidPolicy()
    rows = shown_recommendations(store_id, marketplace_ids=marketplace_ids).subquery("r")
    t, c, g = ads_targets, ads_campaigns, ads_ad_groups
    evidence = rows.c.evidence
    harvest_to = rows.c.kind == "harvest"
    destination_campaign = evidence[Evidence.key("destination_campaign_id")].astext
    destination_ad_group = evidence[Evidence.key("destination_ad_group_id")].astext
    campaign_id = sa.case(
        (harvest_to, sa.func.coalesce(destination_campaign, rows.c.campaign_id)),
        else_=rows.c.campaign_id,
    )
    ad_group_id = sa.case(
        (harvest_to, sa.func.coalesce(destination_ad_group, rows.c.ad_group_id)),
        else_=rows.c.ad_group_id,
    )
    shown = (
        sa.select(
            *(rows.c[name] for name in _RECORD_COLUMNS),
            t.c.keyword_text,
            t.c.expression,
            t.c.match_type,
            campaign_id.label("shown_campaign_id"),
            ad_group_id.label("shown_ad_group_id"),
        )
        .select_from(
            rows.outerjoin(
                t,
                sa.and_(
                    t.c.store_id == rows.c.store_id,
                    t.c.profile_id == rows.c.profile_id,
                    t.c.target_id == rows.c.target_id,
                ),
            )
        )
        .subquery("shown")
    )
    query = sa.select(
        *shown.c,
        c.c.name.label("campaign_name"),
        g.c.name.label("ad_group_name"),
    ).select_from(
        shown.outerjoin(
            c,
            sa.and_(
                c.c.store_id == store_id,
                c.c.profile_id == shown.c.profile_id,
                c.c.campaign_id == shown.c.shown_campaign_id,
            ),
        ).outerjoin(
            g,
            sa.and_(
                g.c.store_id == store_id,
                g.c.profile_id == shown.c.profile_id,
                g.c.ad_group_id == shown.c.shown_ad_group_id,
            ),
        )
    )
    with engine.connect() as connection:
        records = [dict(row) for row in connection.execute(query).mappings()]
    reviewed = [_review_row(record, policy) for record in records]
    frame = pl.DataFrame(reviewed, schema=REVIEW_SCHEMA, orient="row")
    return frame.sort(
        ["net_effect", "kind", "campaign", "target", "id"],
        descending=[True, False, False, False, False],
        nulls_last=True,
    )


def _review_row(record: Mapping[str, Any], policy: BidPolicy) -> tuple[Any, ...]:
    evidence = Evidence.from_json(record.get("evidence"))
    kind = record["kind"]
    effect = expected_effect(
        kind,
        evidence,
        record.get("current_bid"),
        record.get("recommended_bid"),
        record.get("target_acos"),
        policy,
    )
    values = {
        "id": record["id"],
        "status": record["status"],
        "kind": kind,
        "direction": direction(kind, evidence),
        "target": _target_text(record, evidence),
        "match_type": match_type_label(record.get("match_type") or record.get("target_match_type")),
        "campaign": _name(record, evidence, "campaign"),
        "ad_group": _name(record, evidence, "ad_group"),
        "current_bid": record.get("current_bid"),
        "proposed_bid": record.get("recommended_bid"),
        "spend_change": effect.spend,
        "sales_change": effect.sales,
        "net_effect": effect.net,
        "deciding_fact": deciding_fact(kind, evidence),
        "reason": record.get("reason") or "",
        "evidence": evidence.to_json(),
        "currency": record.get("currency"),
        "target_acos": record.get("target_acos"),
        "profile_id": record.get("profile_id"),
        "campaign_id": record.get("shown_campaign_id"),
        "ad_group_id": record.get("shown_ad_group_id"),
        "target_id": record.get("target_id"),
        "generated_for": record.get("generated_for"),
        "decided_by": record.get("decided_by"),
        "decided_at": record.get("decided_at"),
    }
    return tuple(values[name] for name in REVIEW_SCHEMA)


def direction(kind: str, evidence: Evidence | Mapping[str, Any]) -> str:
    """raise or lower (a cut lowers) for bids, add for harvests, negate for negatives."""
    if kind == "harvest":
        return "add"
    if kind == "negative":
        return "negate"
    return "raise" if as_evidence(evidence).action == Action.RAISE else "lower"


def match_type_label(value: str | None) -> str:
    if not value:
        return ""
    return MATCH_TYPE_LABELS.get(value.upper(), value.replace("_", " ").capitalize())


def deciding_fact(kind: str, evidence: Evidence | Mapping[str, Any]) -> str:
    """The fact that decided the recommendation, and what capped its bid, in a few words."""
    evidence = as_evidence(evidence)
    if "assistant" in (evidence.source or "").lower():  # e.g. "listing assistant"
        return CAUSES["assistant"]
    cause = evidence.cause or ("harvest" if kind == "harvest" else None)
    words = CAUSES.get(cause, "") if cause else ""
    limit = LIMITS.get(str(evidence.limit), "")
    return ", ".join(part for part in (words, limit) if part) or "unknown"


def _target_text(record: Mapping[str, Any], evidence: Evidence) -> str:
    if record["kind"] != "bid":
        return record.get("search_term") or "unknown"
    return (
        record.get("keyword_text")
        or record.get("expression")
        or evidence.keyword_text
        or evidence.expression
        or "unknown"
    )


def _name(record: Mapping[str, Any], evidence: Evidence, level: str) -> str:
    """The entity tables' name, else the one recorded in the evidence, else "unknown";
    "" when the row has no such level (a campaign-wide negative has no ad group)."""
    if not record.get(f"shown_{level}_id"):
        return ""
    if level == "campaign":
        destination_id, destination_name = (
            evidence.destination_campaign_id,
            evidence.destination_campaign_name,
        )
        own_name = evidence.campaign_name
    else:
        destination_id, destination_name = (
            evidence.destination_ad_group_id,
            evidence.destination_ad_group_name,
        )
        own_name = evidence.ad_group_name
    recorded = destination_name if record["kind"] == "harvest" and destination_id else own_name
    return record.get(f"{level}_name") or recorded or "unknown"


def _window_days(evidence: Evidence, policy: BidPolicy) -> int:
    if evidence.window_start is None or evidence.window_end is None:
        return policy.lookback_days
    return max((evidence.window_end - evidence.window_start).days + 1, 1)


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP) + 0


def expected_effect(
    kind: str,
    evidence: Evidence | Mapping[str, Any],
    current_bid: Decimal | float | None,
    proposed_bid: Decimal | float | None,
    target_acos: float | None,
    policy: BidPolicy | None = None,
) -> Effect:
    """Spend, sales and net change over EFFECT_DAYS (see the module docstring for how)."""
    policy = policy or BidPolicy()
    evidence = as_evidence(evidence)
    clicks = _number(evidence.clicks)
    cost = _number(evidence.cost)
    if not clicks or cost is None:
        return Effect()
    scale = EFFECT_DAYS / _window_days(evidence, policy)
    sales: float | None
    if kind == "negative":
        if _number(evidence.orders):
            return Effect()
        spend, sales = -cost * scale, 0.0
    elif kind == "bid" and current_bid and proposed_bid:
        current, proposed = float(current_bid), float(proposed_bid)
        new_clicks = clicks * proposed / current
        new_cpc = min(cost / clicks, proposed)
        spend = (new_clicks * new_cpc - cost) * scale
        cvr, aov = _number(evidence.cvr), _number(evidence.aov)
        if evidence.action == Action.CUT and not _number(evidence.orders):
            sales = 0.0  # no orders at its observed rate: nothing to lose
        elif cvr is not None and aov is not None:
            sales = (new_clicks - clicks) * cvr * aov * scale
        else:
            sales = None
    else:
        return Effect()
    net = None if sales is None or target_acos is None else sales * float(target_acos) - spend
    return Effect(
        spend=_money(spend),
        sales=None if sales is None else _money(sales),
        net=None if net is None else _money(net),
    )


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def evidence_in_words(row: Mapping[str, Any], money: Callable[[Any], str]) -> list[str]:
    """The numbers behind one reviewed row (REVIEW_SCHEMA), one plain sentence each; `money`
    formats an amount in the row's currency."""
    evidence = as_evidence(row.get("evidence"))
    lines = []

    def pct(value: Any) -> str:
        number = _number(value)
        return "unknown" if number is None else f"{number:.1%}"

    if evidence.window_start and evidence.window_end:
        start, end = evidence.window_start, evidence.window_end
        lines.append(
            f"Data: {start:%d %b %Y} to {end:%d %b %Y}, settled days only, 7-day attribution."
        )
    clicks, orders = _number(evidence.clicks), _number(evidence.orders)
    if clicks is not None:
        cost, sales = _number(evidence.cost), _number(evidence.sales)
        parts = [f"{int(clicks):,} clicks", f"{int(orders or 0):,} orders"]
        if evidence.impressions is not None:
            parts.insert(0, f"{evidence.impressions:,} impressions")
        if cost is not None:
            parts.append(f"{money(cost)} spend")
        if sales is not None:
            parts.append(f"{money(sales)} sales")
        lines.append("Observed: " + ", ".join(parts) + ".")
        if cost is not None and clicks:
            acos = f", ACoS {cost / sales:.1%}" if sales else ", no sales"
            lines.append(f"Average CPC {money(cost / clicks)}{acos}.")
    if evidence.cvr is not None:
        observed = evidence.raw_cvr
        if observed is None and clicks:
            observed = (orders or 0) / clicks
        lines.append(
            f"Conversion: {pct(observed)} observed, {pct(evidence.cvr)} after "
            f"smoothing toward the ad group's {pct(evidence.prior_cvr)}."
        )
    if evidence.aov is not None:
        prior = evidence.prior_aov
        around = f" (ad group {money(prior)})" if prior is not None else ""
        lines.append(f"Order value: {money(evidence.aov)}{around}.")
    if evidence.clicks_per_order is not None:
        lines.append(
            f"Expected: one order per {evidence.clicks_per_order:.0f} clicks"
            + (
                f", costing {money(evidence.cost_per_order)} at the target ACoS."
                if evidence.cost_per_order is not None
                else "."
            )
        )
    if row.get("target_acos") is not None:
        source = evidence.target_source
        lines.append(
            f"Target ACoS {float(row['target_acos']):.0%}" + (f" ({source})." if source else ".")
        )
    if evidence.value_bid is not None:
        lines.append(f"A click is worth {money(evidence.value_bid)} at the target ACoS.")
    if row.get("current_bid") is not None or row.get("proposed_bid") is not None:
        now = money(row["current_bid"]) if row.get("current_bid") is not None else "none"
        then = money(row["proposed_bid"]) if row.get("proposed_bid") is not None else "none"
        lines.append(f"Bid now {now}; proposed {then}.")
    if evidence.days_since_change is not None:
        lines.append(f"Last bid change {evidence.days_since_change} days ago.")
    if evidence.days_of_cover is not None:
        asin = evidence.cover_asin or "the advertised product"
        lines.append(f"Stock: {evidence.days_of_cover:.0f} days of cover for {asin}.")
    if row.get("kind") == "harvest":
        if evidence.destination_ad_group_id:
            lines.append(
                "New exact keyword in "
                f"{evidence.destination_campaign_name or 'unknown'} / "
                f"{evidence.destination_ad_group_name or 'unknown'}."
            )
        else:
            lines.append("No manual ad group advertises this product yet: add the keyword by hand.")
        for negated in evidence.negate_in or ():
            lines.append(
                f"Negative exact in {negated.campaign_name or 'unknown'} / "
                f"{negated.ad_group_name or 'unknown'}"
                + (
                    f" ({negated.clicks} clicks, {negated.orders} orders there)."
                    if negated.clicks is not None
                    else "."
                )
            )
    if evidence.examples:
        lines.append(
            f"In {evidence.terms} search terms, e.g. " + ", ".join(evidence.examples) + "."
        )
    spend, sales, net = row.get("spend_change"), row.get("sales_change"), row.get("net_effect")
    if spend is None:
        lines.append(f"Expected effect over {EFFECT_DAYS} days: not estimated.")
    else:
        lines.append(
            f"Expected over {EFFECT_DAYS} days: spend {_signed(spend, money)}, sales "
            + (_signed(sales, money) if sales is not None else "not estimated")
            + (f", net {_signed(net, money)} at the target ACoS." if net is not None else ".")
        )
    lines.append(f"Decided by: {row.get('deciding_fact') or 'unknown'}.")
    return lines


def _signed(value: Any, money: Callable[[Any], str]) -> str:
    return ("+" if float(value) > 0 else "") + money(value)
