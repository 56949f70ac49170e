"""The daily truth of a sandbox seller: what happened per child ASIN, marketplace and local day.

Every report the sandbox serves is a view of these arrays, so reports agree with each other the
way Amazon's do. Generated once per account with numpy (1,000 ASINs x 730 days in about a
second), then kept; the Ads side can read the `ad_*` arrays or `to_polars()` for its reports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from amzinsight.marketplaces import Marketplace
from amzinsight_sandbox.catalog import Catalogue, catalogue_for
from amzinsight_sandbox.config import SandboxAccount

# Share of a US-sized business each marketplace brings (US = 1).
_MARKETPLACE_SCALE = {"US": 1.0, "CA": 0.16, "MX": 0.08, "BR": 0.06, "GB": 0.45, "DE": 0.55}
_DEFAULT_SCALE = 0.2
# Monday..Sunday: weekends sell a little more.
_WEEKDAY_FACTOR = np.array([0.98, 0.96, 0.95, 0.96, 0.93, 1.04, 1.14])
_MONTH_FACTOR = np.array([0.86, 0.88, 0.94, 0.95, 0.99, 1.0, 1.03, 0.99, 0.97, 1.04, 1.28, 1.55])


@dataclass
class MarketplaceTruth:
    """Arrays of shape (ASINs, days), indexed like `AccountTruth.products` and `dates`.

    Amounts are in the marketplace currency's minor units (cents). `units` and `order_items`
    exclude cancelled orders: cancellations are the separate `cancelled_items` lines.
    """

    marketplace: Marketplace
    sessions_browser: np.ndarray
    sessions_mobile: np.ndarray
    page_views_browser: np.ndarray
    page_views_mobile: np.ndarray
    buy_box_pct: np.ndarray
    price_cents: np.ndarray
    promo_pct: np.ndarray
    order_items: np.ndarray
    units: np.ndarray
    sales_cents: np.ndarray
    cancelled_items: np.ndarray
    ship_lag_days: np.ndarray
    refund_units: np.ndarray  # units of this day's orders that are refunded later
    refund_lag_days: np.ndarray
    fulfillable: np.ndarray  # end of day
    inbound_working: np.ndarray
    inbound_shipped: np.ndarray
    inbound_receiving: np.ndarray
    ad_impressions: np.ndarray
    ad_clicks: np.ndarray
    ad_spend_cents: np.ndarray
    ad_orders: np.ndarray
    ad_units: np.ndarray
    ad_sales_cents: np.ndarray
    # Views by the day the event happened rather than the order day.
    shipped_units: np.ndarray
    shipped_items: np.ndarray
    shipped_sales_cents: np.ndarray
    refunded_units_on_day: np.ndarray

    @property
    def sessions(self) -> np.ndarray:
        return self.sessions_browser + self.sessions_mobile

    @property
    def page_views(self) -> np.ndarray:
        return self.page_views_browser + self.page_views_mobile

    def nbytes(self) -> int:
        return sum(
            getattr(self, f.name).nbytes
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        )


@dataclass
class AccountTruth:
    account: SandboxAccount
    catalogue: Catalogue
    first_day: date
    marketplaces: dict[str, MarketplaceTruth]  # by country code

    @property
    def days(self) -> int:
        return self.account.days

    @property
    def last_day(self) -> date:
        return self.account.today

    def day_index(self, day: date) -> int:
        return (day - self.first_day).days

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)

    def to_polars(self, country_code: str) -> pl.DataFrame:
        """One row per child ASIN and day: the truth as a table (for Ads reports and checks)."""
        truth = self.marketplaces[country_code]
        products = self.catalogue.products
        n, days = truth.units.shape
        columns: dict[str, object] = {
            "date": np.repeat(
                np.arange(np.datetime64(self.first_day), np.datetime64(self.first_day) + days)[
                    None, :
                ],
                n,
                axis=0,
            ).ravel(),
            "asin": np.repeat(np.array([p.asin for p in products]), days),
            "parent_asin": np.repeat(np.array([p.parent_asin for p in products]), days),
            "sku": np.repeat(np.array([p.sku for p in products]), days),
        }
        for field in fields(truth):
            value = getattr(truth, field.name)
            if isinstance(value, np.ndarray):
                columns[field.name] = value.ravel()
        frame = pl.DataFrame(columns)
        return frame.with_columns(
            pl.col("date").cast(pl.Date),
            pl.lit(truth.marketplace.marketplace_id).alias("marketplace_id"),
            pl.lit(truth.marketplace.currency).alias("currency"),
        )


def _calendar_factor(first_day: date, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Seasonality per day (weekday, month, Black Friday to Cyber Monday, Prime Day) and the
    store-wide deal discount on those event days."""
    dates = [first_day + timedelta(days=i) for i in range(days)]
    weekday = np.array([d.weekday() for d in dates])
    month = np.array([d.month for d in dates])
    factor = _WEEKDAY_FACTOR[weekday] * _MONTH_FACTOR[month - 1]
    deal = np.zeros(days)
    for year in sorted({d.year for d in dates}):
        november_first = date(year, 11, 1)
        thanksgiving = november_first + timedelta(days=(3 - november_first.weekday()) % 7 + 21)
        july_first = date(year, 7, 1)
        prime_day = july_first + timedelta(days=(1 - july_first.weekday()) % 7 + 7)
        events = [(thanksgiving + timedelta(days=k), 1.9, 0.2) for k in range(1, 5)]
        events += [(prime_day, 2.4, 0.2), (prime_day + timedelta(days=1), 2.1, 0.2)]
        events += [(date(year, 12, k), 0.75, 0.0) for k in range(21, 25)]
        events += [(date(year, 12, 25), 0.55, 0.0)]
        events += [(date(year, 12, k), 0.7, 0.0) for k in range(26, 32)]
        for day, multiplier, discount in events:
            index = (day - first_day).days
            if 0 <= index < days:
                factor[index] *= multiplier
                deal[index] = discount
    return factor, deal


def _marketplace_truth(
    account: SandboxAccount, catalogue: Catalogue, position: int, marketplace: Marketplace
) -> MarketplaceTruth:
    products = catalogue.products
    n, days = len(products), account.days
    rng = np.random.default_rng([account.seed, 2, position])
    first_day = account.today - timedelta(days=days - 1)
    t = np.arange(days)

    calendar, event_deal = _calendar_factor(first_day, days)
    scale = _MARKETPLACE_SCALE.get(marketplace.country_code, _DEFAULT_SCALE)
    base_sessions = rng.lognormal(np.log(35.0), 0.75, n) * scale * rng.lognormal(0.0, 0.3, n)
    conversion = rng.beta(4.0, 34.0, n)
    trend = rng.normal(0.12, 0.25, n)
    launch = np.array([p.launch_offset_days for p in products])
    discontinued = np.array(
        [
            p.discontinued_offset_days if p.discontinued_offset_days is not None else days + 1
            for p in products
        ]
    )
    since_launch = t[None, :] - launch[:, None]
    lifecycle = np.clip((since_launch + 1) / 45.0, 0.0, 1.0) ** 0.7
    lifecycle[t[None, :] >= discontinued[:, None]] = 0.0
    noise = rng.gamma(16.0, 1.0 / 16.0, (n, days))
    expected_sessions = (
        base_sessions[:, None]
        * calendar[None, :]
        * np.exp(trend[:, None] * t[None, :] / 365.0)
        * lifecycle
        * noise
    )

    # Prices: a few step changes per ASIN, rounded to .99 like a seller's.
    base_price = np.array([p.price_cents(marketplace.currency) for p in products], dtype=np.int64)
    change_count = rng.poisson(1.5, n)
    change_asin = np.repeat(np.arange(n), change_count)
    change_day = rng.integers(0, days, change_asin.size)
    log_step = np.zeros((n, days))
    np.add.at(
        log_step, (change_asin, change_day), np.log(rng.uniform(0.88, 1.12, change_asin.size))
    )
    price_factor = np.exp(np.cumsum(log_step, axis=1))
    whole_units = base_price % 100 == 0
    raw_price = base_price[:, None] * price_factor
    price_cents = np.where(
        whole_units[:, None],
        np.round(raw_price / 1000.0) * 1000,
        np.maximum(np.floor(raw_price / 100.0), 1) * 100 - 1,
    ).astype(np.int64)

    # Promotions: store-wide event deals for most ASINs, plus each ASIN's own coupon weeks.
    in_events = rng.random(n) < 0.6
    promo_pct = np.where(in_events[:, None], event_deal[None, :], 0.0)
    coupon_count = rng.poisson(1.2, n)
    coupon_asin = np.repeat(np.arange(n), coupon_count)
    coupon_start = rng.integers(0, days, coupon_asin.size)
    coupon_length = rng.integers(7, 22, coupon_asin.size)
    coupon_value = rng.choice([0.1, 0.15], coupon_asin.size)
    for asin, start, length, value in zip(
        coupon_asin, coupon_start, coupon_length, coupon_value, strict=True
    ):
        window = promo_pct[asin, start : start + length]
        promo_pct[asin, start : start + length] = np.maximum(window, value)

    buy_box = np.clip(rng.uniform(93.0, 99.5, n)[:, None] + rng.normal(0, 1.5, (n, days)), 60, 100)
    dips = rng.random((n, days)) < 0.02
    buy_box = np.where(dips, buy_box * rng.uniform(0.4, 0.8, (n, days)), buy_box)

    sessions = rng.poisson(expected_sessions)
    price_effect = (price_cents / base_price[:, None]) ** -1.8
    item_probability = np.clip(
        conversion[:, None] * price_effect * (buy_box / 100.0) * (1.0 + 1.5 * promo_pct), 0, 0.6
    )
    demand_items = rng.binomial(sessions, item_probability)
    demand_units = demand_items + rng.binomial(demand_items, 0.1) + rng.binomial(demand_items, 0.02)

    # FBA stock: reorder at a cover point; late inbound shipments and peaks cause stockouts.
    daily_rate = base_sessions * conversion * 1.15
    reorder_point = np.ceil(daily_rate * 38.0)
    order_quantity = np.maximum(np.ceil(daily_rate * 70.0 / 10.0) * 10, 20).astype(np.int64)
    lead_time = rng.integers(18, 30, (n, days)) + np.where(
        rng.random((n, days)) < 0.12, rng.integers(20, 45, (n, days)), 0
    )
    stock = np.ceil(daily_rate * rng.uniform(35.0, 80.0, n)).astype(np.int64)
    po_quantity = np.zeros(n, dtype=np.int64)
    po_day = np.zeros(n, dtype=np.int64)
    po_arrival = np.zeros(n, dtype=np.int64)
    order_items = np.zeros((n, days), dtype=np.int32)
    units = np.zeros((n, days), dtype=np.int32)
    in_stock_at_open = np.zeros((n, days), dtype=bool)
    fulfillable = np.zeros((n, days), dtype=np.int32)
    inbound_working = np.zeros((n, days), dtype=np.int32)
    inbound_shipped = np.zeros((n, days), dtype=np.int32)
    inbound_receiving = np.zeros((n, days), dtype=np.int32)
    may_reorder = t[None, :] < (discontinued[:, None] - 30)
    for day in range(days):
        arriving = (po_quantity > 0) & (po_arrival == day)
        stock = stock + np.where(arriving, po_quantity, 0)
        po_quantity = np.where(arriving, 0, po_quantity)
        in_stock_at_open[:, day] = stock > 0
        sold = np.minimum(demand_units[:, day], stock)
        units[:, day] = sold
        order_items[:, day] = np.minimum(demand_items[:, day], sold)
        stock = stock - sold
        reorder = (po_quantity == 0) & (stock < reorder_point) & may_reorder[:, day]
        po_quantity = np.where(reorder, order_quantity, po_quantity)
        po_day = np.where(reorder, day, po_day)
        po_arrival = np.where(reorder, day + lead_time[:, day], po_arrival)
        fulfillable[:, day] = stock
        pending = po_quantity > 0
        working = pending & (day - po_day < 4)
        receiving = pending & ~working & (po_arrival - day <= 3)
        inbound_working[:, day] = np.where(working, po_quantity, 0)
        inbound_receiving[:, day] = np.where(receiving, po_quantity, 0)
        inbound_shipped[:, day] = np.where(pending & ~working & ~receiving, po_quantity, 0)

    # Out of stock: "Currently unavailable", no Buy Box, ads paused, fewer visits.
    sessions = np.where(in_stock_at_open, sessions, rng.binomial(sessions, 0.6))
    buy_box = np.where(in_stock_at_open, buy_box, 0.0)
    buy_box = np.where(sessions > 0, np.round(buy_box, 2), 0.0)
    mobile_share = rng.uniform(0.58, 0.72, n)[:, None]
    sessions_mobile = rng.binomial(sessions, mobile_share)
    page_views = sessions + rng.poisson(sessions * 0.35)
    page_views_mobile = np.minimum(
        np.maximum(rng.binomial(page_views, mobile_share), sessions_mobile),
        page_views - (sessions - sessions_mobile),
    )

    sales_cents = units.astype(np.int64) * price_cents
    cancelled_items = rng.binomial(demand_items, 0.02).astype(np.int32)
    ship_lag = rng.choice(np.array([0, 1, 2], dtype=np.int8), size=(n, days), p=[0.55, 0.38, 0.07])
    refund_rate = rng.uniform(0.025, 0.055, n)
    refund_units = rng.binomial(units, refund_rate[:, None]).astype(np.int32)
    refund_lag = (4 + np.minimum(rng.geometric(0.08, (n, days)) - 1, 41)).astype(np.int16)

    # Sponsored Products: a share of orders comes from ad clicks; clicks are part of sessions.
    live = in_stock_at_open & (lifecycle > 0)
    ad_share = rng.uniform(0.2, 0.45, n)[:, None]
    ad_orders = rng.binomial(order_items, ad_share)
    ad_units = ad_orders + rng.binomial(units - order_items, ad_share)
    click_conversion = rng.uniform(0.07, 0.14, n)[:, None]
    ad_clicks = np.where(
        live, np.minimum(rng.poisson(ad_orders / click_conversion + 0.5), sessions), 0
    )
    click_through = rng.uniform(0.003, 0.006, n)[:, None]
    ad_impressions = ad_clicks + rng.poisson(ad_clicks * (1.0 / click_through - 1.0) + live * 40)
    cost_per_click = (
        rng.uniform(0.55, 1.6, n)[:, None]
        * (base_price[:, None] / np.array([p.price_cents("USD") for p in products])[:, None])
        * rng.lognormal(0.0, 0.15, (n, days))
    )
    ad_spend_cents = np.round(ad_clicks * cost_per_click * 100).astype(np.int64)
    ad_sales_cents = ad_units.astype(np.int64) * price_cents

    shipped_units = _shift_by(units, ship_lag)
    shipped_items = _shift_by(order_items, ship_lag)
    shipped_sales_cents = _shift_by(sales_cents, ship_lag)
    refunded_units_on_day = _shift_by(refund_units, refund_lag)

    return MarketplaceTruth(
        marketplace=marketplace,
        sessions_browser=(sessions - sessions_mobile).astype(np.int32),
        sessions_mobile=sessions_mobile.astype(np.int32),
        page_views_browser=(page_views - page_views_mobile).astype(np.int32),
        page_views_mobile=page_views_mobile.astype(np.int32),
        buy_box_pct=buy_box.astype(np.float32),
        price_cents=price_cents,
        promo_pct=promo_pct.astype(np.float32),
        order_items=order_items,
        units=units,
        sales_cents=sales_cents,
        cancelled_items=cancelled_items,
        ship_lag_days=ship_lag,
        refund_units=refund_units,
        refund_lag_days=refund_lag,
        fulfillable=fulfillable,
        inbound_working=inbound_working,
        inbound_shipped=inbound_shipped,
        inbound_receiving=inbound_receiving,
        ad_impressions=ad_impressions.astype(np.int32),
        ad_clicks=ad_clicks.astype(np.int32),
        ad_spend_cents=ad_spend_cents,
        ad_orders=ad_orders.astype(np.int32),
        ad_units=ad_units.astype(np.int32),
        ad_sales_cents=ad_sales_cents,
        shipped_units=shipped_units.astype(np.int32),
        shipped_items=shipped_items.astype(np.int32),
        shipped_sales_cents=shipped_sales_cents,
        refunded_units_on_day=refunded_units_on_day.astype(np.int32),
    )


def _shift_by(values: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """Move each day's value `lag` days later (what ships or is refunded on which day);
    values pushed past the last day have not happened yet."""
    n, days = values.shape
    target = np.arange(days)[None, :] + lag.astype(np.int64)
    keep = target < days
    shifted = np.zeros_like(values)
    rows = np.broadcast_to(np.arange(n)[:, None], values.shape)
    np.add.at(shifted, (rows[keep], target[keep]), values[keep])
    return shifted


def generate_truth(account: SandboxAccount) -> AccountTruth:
    """Generate the account's whole history; pure and deterministic in the account's fields."""
    catalogue = catalogue_for(account)
    first_day = account.today - timedelta(days=account.days - 1)
    return AccountTruth(
        account=account,
        catalogue=catalogue,
        first_day=first_day,
        marketplaces={
            marketplace.country_code: _marketplace_truth(account, catalogue, position, marketplace)
            for position, marketplace in enumerate(account.marketplace_list)
        },
    )


_truth_lock = threading.Lock()
_truths: dict[SandboxAccount, AccountTruth] = {}


def account_truth(account: SandboxAccount) -> AccountTruth:
    """The account's truth, generated on first use and kept (a few are kept per process)."""
    with _truth_lock:
        truth = _truths.get(account)
        if truth is None:
            truth = generate_truth(account)
            if len(_truths) >= 8:
                _truths.pop(next(iter(_truths)))
            _truths[account] = truth
        return truth


@lru_cache(maxsize=8192)
def local_midnight(time_zone: str, day: date) -> int:
    """Epoch seconds of 00:00 local time on `day` (days are 23 or 25 hours around DST)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(time_zone)).timestamp())
