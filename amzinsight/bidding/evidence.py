"""The numbers behind a recommendation (bid_recommendations.evidence), as one typed record.

Every writer builds an Evidence (the engine as a polars struct whose fields are checked against
it, the Assistant as the dataclass) and every reader parses one with Evidence.from_json, so a key
has one spelling, here. Each kind fills the fields it has; the others stay None, and a None is
left out of the JSON (readers take a missing key and a null alike):

- bid (the bidder): the target's totals over the lookback window, the smoothed rates, the value
  per click, the bid now and proposed, the cause and limit, cover, the window itself;
- harvest: the term's totals, its starting-bid inputs (cpc, value_bid), the destination ad group
  and `negate_in`, the source ad groups to negate it in;
- negative: the term's (or n-gram's) totals, the expected clicks and cost per order, the cause,
  and for an n-gram the number of `terms` it was found in with `examples`;
- the Assistant's harvest and negative proposals: `source`, `sent_by`, `asin`, and where they
  go.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Any, Self


class Action(StrEnum):
    """What a recommendation does (Evidence.action); the bidder's holds say why it does nothing."""

    RAISE = "raise"
    LOWER = "lower"
    CUT = "cut"
    HOLD = "hold"
    WAIT = "wait"
    COOLDOWN = "cooldown"
    AT_MIN = "at_min"
    LOW_COVER = "low_cover"
    NO_VALUE = "no_value"
    ROUNDING = "rounding"
    HARVEST = "harvest"
    NEGATIVE_EXACT = "negative_exact"
    NEGATIVE_PHRASE = "negative_phrase"


class Cause(StrEnum):
    """The fact that decided a recommendation (Evidence.cause); a hold's cause is its action."""

    ACOS = "acos"
    SMOOTHING = "smoothing"
    BID_VS_CPC = "bid_vs_cpc"
    NO_SALES_YET = "no_sales_yet"
    NO_SALE = "no_sale"
    NO_SALE_CLICKS = "no_sale_clicks"
    NO_SALE_SPEND = "no_sale_spend"
    NGRAM = "ngram"


class Limit(StrEnum):
    """What capped a new bid (Evidence.limit)."""

    MIN_BID = "min_bid"
    MAX_BID = "max_bid"
    MAX_STEP_UP = "max_step_up"
    MAX_STEP_DOWN = "max_step_down"


@dataclass(frozen=True, kw_only=True)
class NegateIn:
    """A source ad group a harvested term is negated in (exact), so the two stop competing."""

    campaign_id: str | None = None
    ad_group_id: str | None = None
    campaign_name: str | None = None
    ad_group_name: str | None = None
    source: str | None = None
    """auto, broad or phrase: what brought the term there."""
    clicks: int | None = None
    orders: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return _document(self)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Self:
        return cls(**_parsed(cls, document))


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """What a recommendation was decided on. Money in the recommendation's currency, rates and
    ACoS as fractions, counts and sums over the window (7-day attribution)."""

    action: str | None = None
    """An Action; a text, so a value written by a newer version still reads."""
    entity_type: str | None = None
    """keyword, product_target, negative_keyword or campaign_negative_keyword."""
    source: str | None = None
    """Where the term comes from: auto, broad, phrase or search terms (the bidder's negatives),
    or the Assistant that proposed it."""
    sent_by: str | None = None
    """Who sent an Assistant proposal to the Advertising page."""
    asin: str | None = None
    """The product an Assistant proposal is for."""
    keyword_text: str | None = None
    expression: str | None = None
    campaign_name: str | None = None
    ad_group_name: str | None = None
    impressions: int | None = None
    clicks: int | None = None
    orders: int | None = None
    cost: float | None = None
    sales: float | None = None
    acos_7d: float | None = None
    raw_cvr: float | None = None
    cvr: float | None = None
    """Conversion smoothed toward prior_cvr (the ad group, campaign, profile)."""
    prior_cvr: float | None = None
    aov: float | None = None
    """Order value smoothed toward prior_aov."""
    prior_aov: float | None = None
    cpc: float | None = None
    clicks_per_order: float | None = None
    cost_per_order: float | None = None
    target_acos: float | None = None
    target_source: str | None = None
    """campaign target, store target, break-even or default target."""
    value_bid: float | None = None
    """What a click is worth at the target ACoS: cvr x aov x target_acos."""
    current_bid: float | None = None
    proposed_bid: float | None = None
    days_of_cover: float | None = None
    cover_asin: str | None = None
    low_cover: bool | None = None
    days_since_change: int | None = None
    cause: str | None = None
    """A Cause, or a hold's action."""
    limit: str | None = None
    """A Limit, when one capped the new bid."""
    window_start: date | None = None
    window_end: date | None = None
    destination_campaign_id: str | None = None
    destination_ad_group_id: str | None = None
    """Where a harvested exact keyword goes; None when no manual ad group advertises the
    product (then it is added by hand)."""
    destination_campaign_name: str | None = None
    destination_ad_group_name: str | None = None
    negate_in: tuple[NegateIn, ...] | None = None
    terms: int | None = None
    """How many search terms an n-gram negative was found in."""
    examples: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (as JSONB takes it): the fields that are not None."""
        return _document(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, document: str | Mapping[str, Any] | None) -> Self:
        """Parse JSON text, or a document already decoded (JSONB columns come as dicts).

        Missing keys and nulls are None; a value of the wrong type reads as None too (it is
        not a number the review could use); keys this version does not know are ignored."""
        if isinstance(document, str):
            document = json.loads(document) if document.strip() else None
        if not isinstance(document, Mapping):
            return cls()
        return cls(**_parsed(cls, document))

    @classmethod
    def key(cls, name: str) -> str:
        """name, checked to be a field: for the places that address the JSON by key (SQL)."""
        if name not in field_names(cls):
            raise KeyError(f"Evidence has no field {name!r}")
        return name


def as_evidence(evidence: Evidence | Mapping[str, Any] | str | None) -> Evidence:
    """An Evidence from whatever form it arrives in (the record, a document, JSON text)."""
    return evidence if isinstance(evidence, Evidence) else Evidence.from_json(evidence)


def field_names(model: type[Evidence] | type[NegateIn]) -> frozenset[str]:
    return frozenset(f.name for f in fields(model))


def _document(record: Evidence | NegateIn) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, value in asdict(record).items():
        if value is None:
            continue
        if isinstance(value, date):
            value = value.isoformat()
        elif name == "negate_in":
            value = [{k: v for k, v in source.items() if v is not None} for source in value]
        elif isinstance(value, tuple):
            value = list(value)
        document[name] = value
    return document


def _parsed(model: type[Evidence] | type[NegateIn], document: Mapping[str, Any]) -> dict[str, Any]:
    parsers = _PARSERS[model]
    return {
        name: parsers[name](value)
        for name, value in document.items()
        if name in parsers and value is not None
    }


def _parsers(model: type[Evidence] | type[NegateIn]) -> dict[str, Callable[[Any], Any]]:
    """Each field's parser, from its annotation (X | None)."""
    hints = typing.get_type_hints(model)
    by_type: dict[Any, Callable[[Any], Any]] = {
        str: _text,
        int: _integer,
        float: _real,
        bool: _flag,
        date: _day,
        tuple[str, ...]: _texts,
        tuple[NegateIn, ...]: _sources,
    }
    parsers = {}
    for f in fields(model):
        hint = hints[f.name]
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            (hint,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
        parsers[f.name] = by_type[hint]
    return parsers


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _real(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _integer(value: Any) -> int | None:
    number = _real(value)
    return int(number) if number is not None and math.isfinite(number) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _texts(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list | tuple):
        return None
    return tuple(_text(item) for item in value if item is not None)


def _sources(value: Any) -> tuple[NegateIn, ...] | None:
    if not isinstance(value, list | tuple):
        return None
    return tuple(NegateIn.from_dict(item) for item in value if isinstance(item, Mapping))


_PARSERS = {model: _parsers(model) for model in (Evidence, NegateIn)}
