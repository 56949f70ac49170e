"""Every threshold of the bid, harvest and negatives engine, with its default and why, in one place.

Amounts are in the marketplace's currency; rates and ACoS are fractions (0.30 = 30%). All ACoS
figures the engine uses are 7-day attribution (sales_7d, purchases_7d), as Amazon's console shows
for Sponsored Products.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal

from amzinsight.errors import ConfigError
from amzinsight.rules.settling import DEFAULT_SETTLE_DAYS

ENGLISH_STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of"}
    | {"on", "or", "the", "to", "with"}
)
"""Single words never proposed as negative phrases: they occur in almost every query."""


@dataclass(frozen=True)
class BidPolicy:
    """Thresholds of the recommendation engine. Defaults are what PPC practitioners commonly use.

    Targets and windows
    - target_acos 0.30: the store-wide target when a campaign has none and COGS are unknown; 30%
      is the usual "profitable growth" target for a mid-margin product.
    - lookback_days 30: a month of data smooths weekday swings without reaching back to old
      prices or old bids (Amazon keeps SP data for 95 days).
    - settle_days 3: days dated on or after today - 3 (today being the day of the run) are left
      out; Amazon still restates them (rules/settling.py; AMZ_ADS_SETTLE_DAYS).
    - velocity_days 30: units sold over this many days give the daily sales rate for days of cover.
    - break_even_days 90: settlement lines over this many days give price and fees per unit.
    - break_even_floor 0.05: a product whose margin is (nearly) gone still gets a 5% target
      instead of a zero or negative one that would send every bid to the minimum at once.

    Evidence and smoothing (Bayesian, toward the ad group, then campaign, then profile)
    - min_clicks 10: a target's own data moves its bid only after 10 clicks; below that one order
      more or less swings the conversion rate by 10 points or more.
    - cvr_prior_clicks 20: the ad group's conversion rate counts as 20 clicks of evidence, so a
      keyword with 2 orders from 31 clicks is pulled about 40% of the way to its ad group.
    - aov_prior_orders 3: the ad group's order value counts as 3 orders; order value varies much
      less than conversion (it is mostly the product's price).
    - default_cvr 0.10: the profile's conversion prior before any data; about the Sponsored
      Products average.

    Moving bids
    - dead_band 0.10: no change while the value-based bid is within ±10% of the current bid (the
      projected ACoS within ±10% of target); smaller moves are noise and churn.
    - max_step_up 0.25, max_step_down 0.30: at most +25% / -30% per change, so a bad estimate is
      corrected over a few rounds instead of at once; cuts may be steeper than raises because
      overspend costs money now.
    - min_bid 0.02, max_bid 10.00: Amazon's Sponsored Products bid range in USD starts at 0.02;
      10.00 is a safety cap well above what most categories pay per click.
    - cooldown_days 3: a changed bid is left alone for 3 days, long enough for new clicks at the
      new bid to arrive before it is judged again.

    Spending without sales (cut toward min_bid by max_step_down)
    - no_sale_click_factor 2.0: 0 orders after twice the clicks one order should take
      (2 / ad-group CVR) is unlikely to be bad luck (about 13% at a true CVR of 1/N per click).
    - no_sale_spend_factor 1.5: or 0 orders after spending 1.5 x what one order may cost at the
      target (AOV x target ACoS).

    Harvest (customer search terms -> exact keywords, negated in the source)
    - harvest_min_orders 2: one order can be a fluke; two are a pattern.
    - harvest_max_acos_ratio 1.0: harvest terms whose ACoS is at or under the target.
    - harvest_bid_uplift 0.25: the new exact keyword starts at the term's CPC + 25% (capped at
      its value-per-click bid), enough to keep winning the traffic it already converts.

    Negatives
    - negative_min_clicks 12: 0 orders after 12 clicks (more than a typical 8-10% CVR needs) ->
      negative exact.
    - negative_spend_factor 1.0: or 0 orders after spending one expected cost per order
      (AOV x target ACoS) ...
    - negative_spend_min_clicks 5: ... over at least 5 clicks; one expensive click is noise.
    - ngram_max_words 2, ngram_min_terms 3, ngram_min_clicks 20: a 1-2 word n-gram in at least 3
      different search terms with 20+ clicks and 0 orders between them is waste that a
      negative phrase removes in one go; ngram_stopwords (a, and, for, the, with, ...) are never
      proposed alone.

    Inventory
    - low_cover_days 14: with less than two weeks of stock, bids are never raised (and every
      recommendation on the ASIN is flagged): pushing traffic onto stock that runs out loses
      ranking when it does.
    """

    target_acos: float = 0.30
    lookback_days: int = 30
    settle_days: int = DEFAULT_SETTLE_DAYS
    velocity_days: int = 30
    break_even_days: int = 90
    break_even_floor: float = 0.05

    min_clicks: int = 10
    cvr_prior_clicks: float = 20.0
    aov_prior_orders: float = 3.0
    default_cvr: float = 0.10

    dead_band: float = 0.10
    max_step_up: float = 0.25
    max_step_down: float = 0.30
    min_bid: float = 0.02
    max_bid: float = 10.00
    cooldown_days: int = 3

    no_sale_click_factor: float = 2.0
    no_sale_spend_factor: float = 1.5

    harvest_min_orders: int = 2
    harvest_max_acos_ratio: float = 1.0
    harvest_bid_uplift: float = 0.25

    negative_min_clicks: int = 12
    negative_spend_factor: float = 1.0
    negative_spend_min_clicks: int = 5
    ngram_max_words: int = 2
    ngram_min_terms: int = 3
    ngram_min_clicks: int = 20
    ngram_stopwords: frozenset[str] = field(default=ENGLISH_STOPWORDS)

    low_cover_days: float = 14.0

    def __post_init__(self) -> None:
        problems = [
            f"{f.name} must be positive"
            for f in fields(self)
            if f.name != "ngram_stopwords" and getattr(self, f.name) < 0
        ]
        if not 0 < self.target_acos < 1:
            problems.append("target_acos must be between 0 and 1 (a fraction, 0.30 = 30%)")
        if self.min_bid <= 0 or self.min_bid > self.max_bid:
            problems.append("min_bid must be above 0 and at most max_bid")
        for name in ("min_bid", "max_bid"):
            if Decimal(str(getattr(self, name))) % Decimal("0.01"):
                problems.append(f"{name} must be a whole number of cents")
        if not 0 < self.max_step_down < 1 or self.max_step_up <= 0:
            problems.append("max_step_down must be between 0 and 1 and max_step_up above 0")
        if not 1 <= self.ngram_max_words <= 3:
            problems.append("ngram_max_words must be 1, 2 or 3")
        if problems:
            raise ConfigError("Bid policy: " + "; ".join(problems) + ".")

    @property
    def min_bid_cents(self) -> int:
        return round(self.min_bid * 100)

    @property
    def max_bid_cents(self) -> int:
        return round(self.max_bid * 100)
