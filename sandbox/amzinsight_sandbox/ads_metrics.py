"""Daily Sponsored Products performance, consistent at every level of every report.

The finest grain is a *click cell* (ad group, product ad, target) for impressions, clicks and
cost, and a *purchase cell* (click cell, purchased ASIN) for conversions. Reports only add cells
up, so spCampaigns equals the sum of spTargeting, spAdvertisedProduct per ad group equals the
targeting totals, and so on. Search terms and placements are finer than cells: they are split
from their target's (campaign's) day totals with a hidden remainder, so they never exceed them.

Where the numbers come from (the account's truth, truth.py, per child ASIN and day):

- each ASIN's ad impressions, clicks and spend are spread over the click cells advertising it
  (product-ad share x target weight, daily noise); cost follows clicks x the target's cpc factor;
- each ASIN's ad orders, units and sales (the truth's 7-day attribution) are spread over the
  purchase cells where it can be bought: its own ads (same SKU) and, less often, its siblings'
  ads in the same ad group (other SKU, the halo), weighted by clicks x the target's conversion.
  Sales are units x the truth's price that day, so same-SKU sales of an ASIN plus the other-SKU
  sales where it is the purchased ASIN equal the truth's ad_sales_cents exactly;
- 1-day purchases are a part of the 7-day ones; 14- and 30-day windows add late purchases.

Conversions are kept as increments (1-day, +7-day, +14-day, +30-day, and same/other SKU), so
every split keeps purchases1d <= 7d <= 14d <= 30d in every row.

Restatement: dates younger than RESTATED_DAYS are restated the way Amazon restates recent
conversions. Version 0 is the truth; each later version adds a few late same-SKU purchases
(deterministic per date and version step), in every window.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from amzinsight_sandbox.ads_catalog import AdsCatalogue, ads_catalogue
from amzinsight_sandbox.config import SandboxAccount
from amzinsight_sandbox.truth import account_truth

WINDOWS = (1, 7, 14, 30)
RESTATED_DAYS = 3
"""Dates younger than this many days (today and the two days before) are still restated."""
MAX_RESTATEMENTS = 4
"""After this many restatements a date's figures stop changing."""
HALO = 0.12
"""How likely a click on a sibling's ad leads to buying this ASIN, relative to its own ad."""
HIDDEN_TERM_SHARE = 0.07
"""Share of a target's traffic from search terms the search-term report leaves out."""
LATE_PURCHASE_SHARE = 0.05
"""Restatement step k adds about this share / k of the day's purchases (at least one)."""
PLACEMENTS = ("Top of Search on-Amazon", "Detail Page on-Amazon", "Other on-Amazon")


@dataclass(frozen=True)
class Cells:
    click_target: np.ndarray
    click_ad: np.ndarray
    click_group: np.ndarray
    click_campaign: np.ndarray
    click_asin: np.ndarray
    purchase_cell: np.ndarray
    purchase_asin: np.ndarray
    purchase_same: np.ndarray


def _cells(catalogue: AdsCatalogue) -> Cells:
    ads_by_group: dict[int, list[int]] = {}
    for ad in catalogue.product_ads:
        ads_by_group.setdefault(ad.ad_group_index, []).append(ad.index)
    targets_by_group: dict[int, list[int]] = {}
    for target in catalogue.targets:
        targets_by_group.setdefault(target.ad_group_index, []).append(target.index)
    click: list[tuple[int, int, int, int, int]] = []
    purchase: list[tuple[int, int, bool]] = []
    for group in catalogue.ad_groups:
        for ad_index in ads_by_group.get(group.index, []):
            asin = catalogue.product_ads[ad_index].product_index
            for target_index in targets_by_group.get(group.index, []):
                cell = len(click)
                click.append((target_index, ad_index, group.index, group.campaign_index, asin))
                for bought in group.product_indices:
                    purchase.append((cell, bought, bought == asin))
    clicks = np.array(click, dtype=np.int64).reshape(-1, 5)
    purchases = np.array([(c, b) for c, b, _ in purchase], dtype=np.int64).reshape(-1, 2)
    return Cells(
        click_target=clicks[:, 0],
        click_ad=clicks[:, 1],
        click_group=clicks[:, 2],
        click_campaign=clicks[:, 3],
        click_asin=clicks[:, 4],
        purchase_cell=purchases[:, 0],
        purchase_asin=purchases[:, 1],
        purchase_same=np.array([s for _, _, s in purchase], dtype=bool),
    )


def normalise(weights: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """Rows scaled to sum to 1; all-zero rows take the fallback's row (or a uniform row)."""
    weights = np.asarray(weights, dtype=np.float64)
    totals = weights.sum(axis=-1, keepdims=True)
    if fallback is None:
        fallback = np.full(weights.shape, 1.0 / max(weights.shape[-1], 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), fallback)
    return scaled


def apportion(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Integer shares of each row's total in proportion to `weights` (largest remainder);
    rows of `weights` must already sum to 1."""
    totals = np.asarray(totals, dtype=np.int64)
    exact = totals[..., None] * weights
    base = np.floor(exact + 1e-9).astype(np.int64)
    remainder = np.clip(totals - base.sum(axis=-1), 0, weights.shape[-1])
    order = np.argsort(-(exact - base), axis=-1, kind="stable")
    rank = np.empty_like(order)
    positions = np.broadcast_to(np.arange(weights.shape[-1]), order.shape)
    np.put_along_axis(rank, order, positions, axis=-1)
    return base + (rank < remainder[..., None])


def _seed_of(key: str) -> int:
    return zlib.crc32(key.encode())


@dataclass
class Increment:
    """Purchases that count in every attribution window from `rank` days on."""

    key: str
    rank: int
    same: bool
    orders: np.ndarray
    units: np.ndarray
    sales: np.ndarray  # minor units (cents)


@dataclass
class Bundle:
    """A day's figures for some rows (cells, targets, terms...), before windows are added up."""

    impressions: np.ndarray
    clicks: np.ndarray
    cost: np.ndarray  # minor units
    increments: list[Increment] = field(default_factory=list)

    def group(self, click_keys: np.ndarray, purchase_keys: np.ndarray, size: int) -> Bundle:
        def add(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
            out = np.zeros(size, dtype=np.int64)
            np.add.at(out, keys, values)
            return out

        return Bundle(
            impressions=add(click_keys, self.impressions),
            clicks=add(click_keys, self.clicks),
            cost=add(click_keys, self.cost),
            increments=[
                Increment(
                    i.key,
                    i.rank,
                    i.same,
                    add(purchase_keys, i.orders),
                    add(purchase_keys, i.units),
                    add(purchase_keys, i.sales),
                )
                for i in self.increments
            ],
        )

    def take(self, click_rows: np.ndarray, purchase_rows: np.ndarray) -> Bundle:
        return Bundle(
            self.impressions[click_rows],
            self.clicks[click_rows],
            self.cost[click_rows],
            [
                Increment(
                    i.key,
                    i.rank,
                    i.same,
                    i.orders[purchase_rows],
                    i.units[purchase_rows],
                    i.sales[purchase_rows],
                )
                for i in self.increments
            ],
        )

    def split(
        self,
        weights: np.ndarray,
        quality: np.ndarray,
        seed: Sequence[int],
        hidden: int | None = None,
    ) -> Bundle:
        """Each row spread over the columns of `weights` (N, B) -> arrays of shape (N, B).

        Clicks follow `weights`; impressions add non-clicking views; cost follows clicks;
        purchases follow clicks x `quality`, or go to the `hidden` column when no column with
        clicks converts. Every column's figures add up to the row's."""
        rng = np.random.default_rng([*seed, 0])
        share = normalise(weights)
        clicks = rng.multinomial(self.clicks, share)
        views = rng.multinomial(self.impressions - self.clicks, share)
        by_clicks = normalise(clicks, share)
        cost = apportion(self.cost, by_clicks)
        if hidden is not None:
            converting_fallback = np.zeros_like(share)
            converting_fallback[:, hidden] = 1.0
        else:
            converting_fallback = share
        converting = normalise(clicks * quality, converting_fallback)
        increments = []
        for increment in self.increments:
            inc_rng = np.random.default_rng([*seed, _seed_of(increment.key)])
            orders = inc_rng.multinomial(increment.orders, converting)
            extra = inc_rng.multinomial(
                increment.units - increment.orders, normalise(orders, converting)
            )
            units = orders + extra
            sales = apportion(increment.sales, normalise(units, converting))
            increments.append(
                Increment(increment.key, increment.rank, increment.same, orders, units, sales)
            )
        return Bundle(clicks + views, clicks, cost, increments)

    def flat(self) -> Bundle:
        return Bundle(
            self.impressions.reshape(-1),
            self.clicks.reshape(-1),
            self.cost.reshape(-1),
            [
                Increment(
                    i.key,
                    i.rank,
                    i.same,
                    i.orders.reshape(-1),
                    i.units.reshape(-1),
                    i.sales.reshape(-1),
                )
                for i in self.increments
            ],
        )

    def totals(self) -> dict[str, np.ndarray]:
        """Metrics per row: impressions, clicks, cost, and per window purchases, units and
        sales, in total and for the same SKU (e.g. "orders7", "sameSales14")."""
        metrics: dict[str, np.ndarray] = {
            "impressions": self.impressions,
            "clicks": self.clicks,
            "cost": self.cost,
        }
        shape = self.increments[0].orders.shape if self.increments else self.clicks.shape
        zero = np.zeros(shape, dtype=np.int64)
        for window in WINDOWS:
            for prefix, only_same in (("", False), ("same", True)):
                parts = [
                    i for i in self.increments if i.rank <= window and (i.same or not only_same)
                ]
                for name in ("orders", "units", "sales"):
                    label = f"{prefix}{name.capitalize()}{window}" if prefix else f"{name}{window}"
                    metrics[label] = sum((getattr(i, name) for i in parts), zero.copy())
        return metrics


@dataclass
class AdsHistory:
    """The generated performance of one profile over its report window."""

    catalogue: AdsCatalogue
    seed: tuple[int, int]
    first_day: date
    days: int
    cells: Cells
    impressions: np.ndarray  # (click cells, days)
    clicks: np.ndarray
    cost: np.ndarray
    orders_1: np.ndarray  # (purchase cells, days): the increments
    units_1: np.ndarray
    orders_7: np.ndarray
    units_7: np.ndarray
    orders_14: np.ndarray
    orders_30: np.ndarray
    price: np.ndarray  # (products, days), minor units
    target_conversion: np.ndarray

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.days - 1)

    def index(self, day: date) -> int:
        return (day - self.first_day).days

    def restated(self, day: date) -> bool:
        return (self.catalogue.today - day).days < RESTATED_DAYS

    def late_purchases(self, i: int, step: int) -> np.ndarray:
        """Same-SKU purchases reported late, at restatement `step` (1, 2, ...) of day `i`: a
        few, fewer each step, on cells with clicks (weighted by clicks x conversion)."""
        cells = self.cells
        ordinal = (self.first_day + timedelta(days=i)).toordinal()
        rng = np.random.default_rng([*self.seed, 53, ordinal, step])
        clicked = self.clicks[cells.purchase_cell, i].astype(np.float64)
        conversion = self.target_conversion[cells.click_target[cells.purchase_cell]]
        weight = np.where(cells.purchase_same, clicked * (conversion + 0.1), 0.0)
        late = np.zeros(weight.size, dtype=np.int64)
        candidates = np.flatnonzero(weight > 0)
        if candidates.size == 0:
            return late
        orders = int(self.orders_1[:, i].sum()) + int(self.orders_7[:, i].sum())
        count = min(candidates.size, max(1, round(orders * LATE_PURCHASE_SHARE / step)))
        chosen = rng.choice(candidates, size=count, replace=False, p=normalise(weight[candidates]))
        late[chosen] = 1
        return late

    def day(self, day: date, version: int = 0) -> Bundle:
        """Cell-level figures of one date as seen at a restatement version."""
        i = self.index(day)
        cells = self.cells
        price = self.price[cells.purchase_asin, i]
        same = cells.purchase_same
        increments: list[Increment] = []
        parts = (
            ("1", 1, self.orders_1[:, i], self.units_1[:, i]),
            ("7", 7, self.orders_7[:, i], self.units_7[:, i]),
            ("14", 14, self.orders_14[:, i], self.orders_14[:, i]),
            ("30", 30, self.orders_30[:, i], self.orders_30[:, i]),
        )
        for key, rank, orders, units in parts:
            orders = orders.astype(np.int64)
            units = units.astype(np.int64)
            for flag in (True, False):
                mask = same == flag
                o = np.where(mask, orders, 0)
                u = np.where(mask, units, 0)
                increments.append(
                    Increment(f"{key}{'s' if flag else 'o'}", rank, flag, o, u, u * price)
                )
        if self.restated(day):
            for step in range(1, min(version, MAX_RESTATEMENTS) + 1):
                late = self.late_purchases(i, step)
                increments.append(Increment(f"L{step}", 1, True, late, late.copy(), late * price))
        return Bundle(
            self.impressions[:, i].astype(np.int64),
            self.clicks[:, i].astype(np.int64),
            self.cost[:, i].astype(np.int64),
            increments,
        )

    def day_seed(self, day: date, purpose: str) -> list[int]:
        return [*self.seed, _seed_of(purpose), day.toordinal()]


def _build_history(account: SandboxAccount, country_code: str) -> AdsHistory:
    catalogue = ads_catalogue(account, country_code)
    truth = account_truth(account)
    market = truth.marketplaces[country_code]
    start = truth.day_index(catalogue.window_start)
    days = truth.days - start
    position = account.marketplaces.index(country_code)
    seed = (account.seed, position)
    cells = _cells(catalogue)
    first_day = catalogue.window_start
    dates = np.array([first_day + timedelta(days=k) for k in range(days)])

    targets = catalogue.targets
    groups = catalogue.ad_groups
    campaigns = catalogue.campaigns
    ads = catalogue.product_ads
    target_weight = np.array([t.weight for t in targets])
    target_on = np.array([t.state == "ENABLED" for t in targets])
    group_sum = np.zeros(len(groups))
    np.add.at(group_sum, [t.ad_group_index for t in targets], target_weight * target_on)
    ct, ca, cg, cc = cells.click_target, cells.click_ad, cells.click_group, cells.click_campaign
    enabled = (
        target_on[ct]
        & np.array([a.state == "ENABLED" for a in ads])[ca]
        & np.array([g.state == "ENABLED" for g in groups])[cg]
        & np.array([c.state == "ENABLED" for c in campaigns])[cc]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        base = np.where(
            group_sum[cg] > 0,
            np.array([a.share for a in ads])[ca]
            * target_weight[ct]
            / np.where(group_sum[cg] > 0, group_sum[cg], 1),
            0.0,
        )
    starts = np.array([c.start_date for c in campaigns])[cc]
    active = enabled[:, None] & (dates[None, :] >= starts[:, None])
    ctr = np.array([t.ctr for t in targets])[ct]
    cpc = np.array([t.cpc for t in targets])[ct]
    conversion = np.array([t.conversion for t in targets])

    n_cells = ct.size
    impressions = np.zeros((n_cells, days), dtype=np.int32)
    clicks = np.zeros((n_cells, days), dtype=np.int32)
    cost = np.zeros((n_cells, days), dtype=np.int64)
    order = np.argsort(cells.click_asin, kind="stable")
    bounds = np.searchsorted(cells.click_asin[order], np.arange(len(truth.catalogue.products) + 1))
    for asin in range(len(truth.catalogue.products)):
        rows = order[bounds[asin] : bounds[asin + 1]]
        if rows.size == 0:
            continue
        rng = np.random.default_rng([*seed, 51, asin])
        weight = base[rows, None] * active[rows] * rng.gamma(3.0, 1.0 / 3.0, (rows.size, days))
        share = normalise(weight.T)
        total_clicks = market.ad_clicks[asin, start:].astype(np.int64)
        total_views = market.ad_impressions[asin, start:].astype(np.int64)
        got = rng.multinomial(total_clicks, share)
        views = rng.multinomial(
            np.maximum(total_views - total_clicks, 0),
            normalise((weight / ctr[rows, None]).T, share),
        )
        clicks[rows] = got.T
        impressions[rows] = (got + views).T
        paid = apportion(market.ad_spend_cents[asin, start:], normalise(got * cpc[rows], share))
        cost[rows] = paid.T

    n_purchase = cells.purchase_cell.size
    orders_1 = np.zeros((n_purchase, days), dtype=np.int16)
    units_1 = np.zeros_like(orders_1)
    orders_7 = np.zeros_like(orders_1)
    units_7 = np.zeros_like(orders_1)
    orders_14 = np.zeros_like(orders_1)
    orders_30 = np.zeros_like(orders_1)
    order = np.argsort(cells.purchase_asin, kind="stable")
    bounds = np.searchsorted(
        cells.purchase_asin[order], np.arange(len(truth.catalogue.products) + 1)
    )
    for asin in range(len(truth.catalogue.products)):
        rows = order[bounds[asin] : bounds[asin + 1]]
        if rows.size == 0:
            continue
        rng = np.random.default_rng([*seed, 52, asin])
        source = cells.purchase_cell[rows]
        same = cells.purchase_same[rows]
        clicked = clicks[source].astype(np.float64)
        halo = np.where(same, 1.0, HALO)
        target_conv = conversion[ct[source]]
        fallback = normalise((base[source, None] * active[source] * same[:, None]).T)
        fallback = normalise((clicked * halo[:, None]).T, fallback)
        share = normalise((clicked * (target_conv * halo)[:, None]).T, fallback)
        total_orders = market.ad_orders[asin, start:].astype(np.int64)
        total_units = market.ad_units[asin, start:].astype(np.int64)
        orders = rng.multinomial(total_orders, share)
        extra = rng.multinomial(total_units - total_orders, normalise(orders, share))
        first_orders = rng.binomial(orders, 0.82)
        first_extra = rng.binomial(extra, 0.82)
        same_clicks = (clicked.T * same).astype(np.int64)
        late_14 = rng.binomial(orders, 0.1) + rng.binomial(
            same_clicks, np.clip(0.004 * target_conv, 0, 1)
        )
        late_30 = rng.binomial(orders + late_14, 0.05) + rng.binomial(same_clicks, 0.0015)
        orders_1[rows] = first_orders.T
        units_1[rows] = (first_orders + first_extra).T
        orders_7[rows] = (orders - first_orders).T
        units_7[rows] = (orders - first_orders + extra - first_extra).T
        orders_14[rows] = late_14.T
        orders_30[rows] = late_30.T

    return AdsHistory(
        catalogue=catalogue,
        seed=seed,
        first_day=first_day,
        days=days,
        cells=cells,
        impressions=impressions,
        clicks=clicks,
        cost=cost,
        orders_1=orders_1,
        units_1=units_1,
        orders_7=orders_7,
        units_7=units_7,
        orders_14=orders_14,
        orders_30=orders_30,
        price=market.price_cents[:, start:].astype(np.int64),
        target_conversion=conversion,
    )


_history_lock = threading.Lock()
_histories: dict[tuple[SandboxAccount, str], AdsHistory] = {}


def ads_history(account: SandboxAccount, country_code: str) -> AdsHistory:
    """The profile's performance over its report window, generated on first use and kept."""
    key = (account, country_code)
    with _history_lock:
        found = _histories.get(key)
        if found is None:
            found = _build_history(account, country_code)
            if len(_histories) >= 8:
                _histories.pop(next(iter(_histories)))
            _histories[key] = found
        return found


def search_term_split(
    history: AdsHistory, day: date, by_target: Bundle
) -> tuple[Bundle, np.ndarray, np.ndarray]:
    """Split a day's per-target figures over each target's search terms.

    Returns the (targets x terms) bundle flattened, and for each flat row its target index and
    term position (0 is the hidden remainder the report leaves out)."""
    targets = history.catalogue.targets
    width = 1 + max((len(t.terms) for t in targets), default=0)
    weights = np.zeros((len(targets), width))
    quality = np.ones((len(targets), width))
    for t in targets:
        term_weights = [term.weight for term in t.terms]
        weights[t.index, 1 : 1 + len(term_weights)] = term_weights
        weights[t.index, 0] = HIDDEN_TERM_SHARE * sum(term_weights) / (1 - HIDDEN_TERM_SHARE)
        quality[t.index, 1 : 1 + len(term_weights)] = [term.quality for term in t.terms]
    split = by_target.split(weights, quality, history.day_seed(day, "searchTerm"), hidden=0)
    target_of = np.repeat(np.arange(len(targets)), width)
    position = np.tile(np.arange(width), len(targets))
    return split.flat(), target_of, position


def placement_split(
    history: AdsHistory, day: date, by_campaign: Bundle
) -> tuple[Bundle, np.ndarray, np.ndarray]:
    """Split a day's per-campaign figures over the three placements."""
    campaigns = history.catalogue.campaigns
    weights = np.zeros((len(campaigns), len(PLACEMENTS)))
    for c in campaigns:
        if c.kind == "auto":
            top, detail = 0.22, 0.45
        elif c.kind == "product":
            top, detail = 0.12, 0.68
        else:
            top, detail = 0.45 + c.top_of_search_percentage / 400.0, 0.15
        weights[c.index] = (top, detail, max(0.05, 1.0 - top - detail))
    quality = np.broadcast_to(np.array([1.35, 0.8, 0.9]), weights.shape)
    split = by_campaign.split(weights, quality, history.day_seed(day, "placement"))
    campaign_of = np.repeat(np.arange(len(campaigns)), len(PLACEMENTS))
    position = np.tile(np.arange(len(PLACEMENTS)), len(campaigns))
    return split.flat(), campaign_of, position
