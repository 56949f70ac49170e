"""Individual order lines behind the daily truth, generated per marketplace and local day.

Each day's lines split that day's truth exactly: the non-cancelled lines of a local day hold
`order_items` lines carrying `units` units at the day's price; cancelled orders are the extra
`cancelled_items` lines with quantity 0. Ship and refund days follow the truth's lags, so the
orders report, Sales & Traffic and the settlements all tell one story. A day is generated from
its own seed, so any window can be rendered without generating the whole history.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from amzinsight.marketplaces import MARKETPLACES
from amzinsight_sandbox.config import SandboxAccount
from amzinsight_sandbox.truth import AccountTruth, account_truth, local_midnight

_ALPHANUMERIC = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

# (city, state or province, postal code, sales tax rate Amazon collects as marketplace facilitator)
_SHIP_TO: dict[str, list[tuple[str, str, str, float]]] = {
    "US": [
        ("AUSTIN", "TX", "78704", 0.0825), ("DENVER", "CO", "80218", 0.0881),
        ("PORTLAND", "OR", "97202", 0.0), ("SEATTLE", "WA", "98115", 0.1035),
        ("BROOKLYN", "NY", "11238", 0.08875), ("CHICAGO", "IL", "60657", 0.1025),
        ("COLUMBUS", "OH", "43201", 0.075), ("RALEIGH", "NC", "27605", 0.0725),
        ("MADISON", "WI", "53711", 0.055), ("TAMPA", "FL", "33629", 0.075),
        ("ATLANTA", "GA", "30306", 0.089), ("PHOENIX", "AZ", "85016", 0.086),
        ("SAN DIEGO", "CA", "92116", 0.0775), ("LOS ANGELES", "CA", "90039", 0.095),
        ("BOSTON", "MA", "02130", 0.0625), ("MINNEAPOLIS", "MN", "55406", 0.08025),
        ("NASHVILLE", "TN", "37212", 0.0925), ("SALT LAKE CITY", "UT", "84106", 0.0775),
        ("PHILADELPHIA", "PA", "19147", 0.08), ("ANCHORAGE", "AK", "99503", 0.0),
        ("BOISE", "ID", "83706", 0.06), ("KANSAS CITY", "MO", "64113", 0.0885),
        ("NEW ORLEANS", "LA", "70118", 0.0945), ("ANN ARBOR", "MI", "48104", 0.06),
        ("HENDERSON", "NV", "89052", 0.08375), ("RICHMOND", "VA", "23220", 0.06),
    ],
    "CA": [
        ("TORONTO", "ON", "M6J 1E6", 0.13), ("VANCOUVER", "BC", "V5T 2K4", 0.12),
        ("MONTREAL", "QC", "H2T 1S6", 0.14975), ("CALGARY", "AB", "T2S 0J1", 0.05),
        ("OTTAWA", "ON", "K1S 3W4", 0.13), ("HALIFAX", "NS", "B3H 1Y7", 0.14),
        ("WINNIPEG", "MB", "R3M 0X8", 0.12), ("EDMONTON", "AB", "T6E 2A1", 0.05),
        ("VICTORIA", "BC", "V8V 3K2", 0.12), ("QUEBEC", "QC", "G1R 2L5", 0.14975),
    ],
    "GB": [("LONDON", "", "SE1 7PB", 0.0), ("MANCHESTER", "", "M1 1AE", 0.0)],
    "DE": [("BERLIN", "", "10115", 0.0), ("MÜNCHEN", "", "80331", 0.0)],
    "FR": [("PARIS", "", "75011", 0.0), ("LYON", "", "69003", 0.0)],
    "JP": [("TOKYO", "", "150-0002", 0.0), ("OSAKA", "", "530-0001", 0.0)],
}  # fmt: skip
_ORDER_ID_PREFIXES = {
    "US": ("111", "112", "113", "114"), "CA": ("701", "702"), "MX": ("701", "702"),
    "JP": ("249", "250", "503"), "AU": ("249", "250"),
}  # fmt: skip
_EU_ORDER_ID_PREFIXES = ("028", "302", "303", "304", "305", "406")
_SHIP_LEVELS = np.array(["Standard", "Expedited", "NextDay", "SecondDay"])
# Share of purchases by local hour: quiet nights, busy evenings.
_HOUR_WEIGHTS = np.array(
    [2, 1.2, 0.8, 0.6, 0.6, 0.9, 1.6, 2.6, 3.4, 4.0, 4.4, 4.6,
     4.8, 4.7, 4.5, 4.4, 4.5, 4.8, 5.3, 5.9, 6.2, 5.8, 4.6, 3.2]
)  # fmt: skip
_HOUR_WEIGHTS = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
_REFUND_LOOKBACK_DAYS = 47
_SHIP_LOOKBACK_DAYS = 3


def sales_channel(country_code: str) -> str:
    """Amazon's name for a marketplace in reports: Amazon.com, Amazon.ca, Amazon.co.uk..."""
    domain = MARKETPLACES[country_code].domain
    return "A" + domain[1:]


def _random_codes(rng: np.random.Generator, length: int, count: int, alphabet: bytes) -> list[str]:
    """`count` random strings of `length` characters from `alphabet`."""
    table = np.frombuffer(alphabet, dtype=np.uint8)
    picks = table[rng.integers(0, len(table), size=(count, length))]
    return np.frombuffer(picks.tobytes(), dtype=f"S{length}").astype(str).tolist()


def _digits(rng: np.random.Generator, length: int, count: int) -> list[str]:
    return _random_codes(rng, length, count, b"0123456789")


_LINE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "country": pl.Utf8,
    "product": pl.Int32,
    "order_id": pl.Utf8,
    "order_item_code": pl.Utf8,
    "shipment_id": pl.Utf8,
    "quantity": pl.Int32,
    "cancelled": pl.Boolean,
    "purchase_ts": pl.Int64,
    "ship_ts": pl.Int64,
    "shipped": pl.Boolean,
    "updated_ts": pl.Int64,
    "order_status": pl.Utf8,
    "item_status": pl.Utf8,
    "unit_price": pl.Int64,
    "item_price": pl.Int64,
    "item_tax": pl.Int64,
    "promotion_discount": pl.Int64,
    "promotion_id": pl.Utf8,
    "ship_service_level": pl.Utf8,
    "ship_city": pl.Utf8,
    "ship_state": pl.Utf8,
    "ship_postal_code": pl.Utf8,
    "ship_country": pl.Utf8,
    "refund_quantity": pl.Int32,
    "refund_ts": pl.Int64,
    "adjustment_id": pl.Utf8,
    "adjustment_item_id": pl.Utf8,
}


def _empty_lines() -> pl.DataFrame:
    return pl.DataFrame(schema=_LINE_SCHEMA)


_DAY_CACHE_BYTES = 192 * 1024 * 1024
_day_cache: OrderedDict[tuple[SandboxAccount, str, int], pl.DataFrame] = OrderedDict()
_day_cache_lock = threading.Lock()


def day_order_lines(account: SandboxAccount, country_code: str, day_index: int) -> pl.DataFrame:
    """Every order line purchased on one local day in one marketplace (kept while memory
    allows: settlements and order reports of nearby windows share days)."""
    key = (account, country_code, day_index)
    with _day_cache_lock:
        cached = _day_cache.get(key)
        if cached is not None:
            _day_cache.move_to_end(key)
            return cached
    lines = _generate_day_order_lines(account, country_code, day_index)
    with _day_cache_lock:
        _day_cache[key] = lines
        total = sum(frame.estimated_size() for frame in _day_cache.values())
        while total > _DAY_CACHE_BYTES and len(_day_cache) > 1:
            _, dropped = _day_cache.popitem(last=False)
            total -= dropped.estimated_size()
    return lines


def _generate_day_order_lines(
    account: SandboxAccount, country_code: str, day_index: int
) -> pl.DataFrame:
    truth = account_truth(account)
    mt = truth.marketplaces[country_code]
    n, days = mt.units.shape
    if not 0 <= day_index < days:
        return _empty_lines()
    marketplace = mt.marketplace
    tz = marketplace.time_zone
    day = truth.day(day_index)
    position = account.marketplaces.index(country_code)
    rng = np.random.default_rng([account.seed, 3, position, day.toordinal()])

    items = mt.order_items[:, day_index].astype(np.int64)
    units = mt.units[:, day_index].astype(np.int64)
    cancels = mt.cancelled_items[:, day_index].astype(np.int64)
    if items.sum() + cancels.sum() == 0:
        return _empty_lines()

    sold_product = np.repeat(np.arange(n), items)
    quantity = np.ones(sold_product.size, dtype=np.int64)
    extra = units - items
    extra_product = np.repeat(np.arange(n), extra)
    first_line = np.cumsum(items) - items
    offsets = (rng.random(extra_product.size) * items[extra_product]).astype(np.int64)
    np.add.at(quantity, first_line[extra_product] + offsets, 1)
    product = np.concatenate([sold_product, np.repeat(np.arange(n), cancels)])
    quantity = np.concatenate([quantity, np.zeros(int(cancels.sum()), dtype=np.int64)])
    cancelled = np.arange(product.size) >= sold_product.size
    lines = product.size

    day_start = local_midnight(tz, day)
    day_length = local_midnight(tz, day + timedelta(days=1)) - day_start
    seconds = rng.choice(24, size=lines, p=_HOUR_WEIGHTS) * 3600 + rng.integers(0, 3600, lines)
    purchase = day_start + (seconds * day_length) // 86400
    order = np.argsort(purchase, kind="stable")
    product, quantity, cancelled, purchase = (
        product[order],
        quantity[order],
        cancelled[order],
        purchase[order],
    )

    # A few orders hold several different products: a line joins the order before it.
    previous_product = np.concatenate([[-1], product[:-1]])
    previous_cancelled = np.concatenate([[True], cancelled[:-1]])
    joins = (
        (rng.random(lines) < 0.06)
        & ~cancelled
        & ~previous_cancelled
        & (previous_product != product)
    )
    order_no = np.cumsum(~joins) - 1
    order_first_line = np.flatnonzero(~joins)
    purchase = purchase[order_first_line][order_no]
    orders = order_first_line.size

    prefixes = _ORDER_ID_PREFIXES.get(
        country_code, _EU_ORDER_ID_PREFIXES if account.region == "eu" else ("111",)
    )
    prefix_pick = rng.integers(0, len(prefixes), orders)
    middle = _digits(rng, 7, orders)
    tail = _digits(rng, 7, orders)
    order_ids = [
        f"{prefixes[p]}-{m}-{t}" for p, m, t in zip(prefix_pick, middle, tail, strict=True)
    ]
    ship_to = _SHIP_TO.get(country_code, [("", "", "", 0.0)])
    location = rng.integers(0, len(ship_to), orders)
    level = rng.choice(len(_SHIP_LEVELS), size=orders, p=[0.8, 0.14, 0.04, 0.02])
    plus_four = rng.random(orders) < 0.35
    plus_four_digits = _digits(rng, 4, orders)

    # Shipping: every line of (product, day) ships on day + the truth's lag.
    lag = mt.ship_lag_days[product, day_index].astype(np.int64)
    ship_day_start = np.array(
        [local_midnight(tz, day + timedelta(days=int(k))) for k in range(3)], dtype=np.int64
    )[lag]
    next_day_start = np.array(
        [local_midnight(tz, day + timedelta(days=int(k) + 1)) for k in range(3)], dtype=np.int64
    )[lag]
    earliest = np.where(lag == 0, purchase + 1800, ship_day_start)
    earliest = np.minimum(earliest, next_day_start - 60)
    ship = earliest + (rng.random(lines) * (next_day_start - 1 - earliest)).astype(np.int64)
    as_of = local_midnight(tz, truth.last_day + timedelta(days=1))
    shipped = ~cancelled & (ship < as_of)

    shipped_in_order = np.bincount(order_no, weights=shipped, minlength=orders)
    lines_in_order = np.bincount(order_no, minlength=orders)
    last_ship = np.full(orders, -1, dtype=np.int64)
    np.maximum.at(last_ship, order_no, np.where(shipped, ship, -1))
    order_cancelled = cancelled[order_first_line]
    order_status = np.where(
        order_cancelled,
        "Cancelled",
        np.where(
            shipped_in_order == lines_in_order,
            "Shipped",
            np.where(shipped_in_order == 0, "Pending", "Shipping"),
        ),
    )
    order_updated = np.where(
        order_cancelled,
        purchase[order_first_line] + rng.integers(600, 5400, orders),
        np.where(
            last_ship > 0, last_ship, purchase[order_first_line] + rng.integers(60, 900, orders)
        ),
    )
    item_status = np.where(cancelled, "Cancelled", np.where(shipped, "Shipped", "Unshipped"))
    shipment_codes = np.array(_random_codes(rng, 9, orders * 3, _ALPHANUMERIC)).reshape(orders, 3)
    shipment_id = np.where(shipped, shipment_codes[order_no, lag], "")

    unit_price = mt.price_cents[product, day_index].astype(np.int64)
    item_price = np.where(cancelled, 0, unit_price * quantity)
    tax_rate = np.array([ship_to[i][3] for i in location])[order_no]
    item_tax = np.round(item_price * tax_rate).astype(np.int64)
    promo_pct = mt.promo_pct[product, day_index].astype(np.float64)
    promoted = (promo_pct > 0) & ~cancelled & (rng.random(lines) < 0.55)
    promotion_discount = np.where(promoted, np.round(item_price * promo_pct), 0).astype(np.int64)
    sku_prefix = truth.catalogue.brand[:2].upper()
    promotion_codes = [f"{sku_prefix}-{day:%b%y}-{round(p * 100)}OFF".upper() for p in promo_pct]

    refund_quantity, refund_ts = _refunds(rng, truth, country_code, day_index, product, quantity)
    refunded = refund_quantity > 0
    refund_count = int(refunded.sum())
    adjustment_ids = np.full(lines, None, dtype=object)
    adjustment_item_ids = np.full(lines, None, dtype=object)
    if refund_count:
        adjustment_ids[refunded] = [
            f"amzn1:crow:{code}==" for code in _random_codes(rng, 22, refund_count, _ALPHANUMERIC)
        ]
        adjustment_item_ids[refunded] = _random_codes(rng, 11, refund_count, _ALPHANUMERIC)

    return pl.DataFrame(
        {
            "country": [country_code] * lines,
            "product": product.astype(np.int32),
            "order_id": [order_ids[o] for o in order_no],
            "order_item_code": _digits(rng, 14, lines),
            "shipment_id": shipment_id,
            "quantity": quantity.astype(np.int32),
            "cancelled": cancelled,
            "purchase_ts": purchase,
            "ship_ts": ship,
            "shipped": shipped,
            "updated_ts": order_updated[order_no],
            "order_status": order_status[order_no],
            "item_status": item_status,
            "unit_price": unit_price,
            "item_price": item_price,
            "item_tax": item_tax,
            "promotion_discount": promotion_discount,
            "promotion_id": promotion_codes,
            "ship_service_level": _SHIP_LEVELS[level][order_no],
            "ship_city": [ship_to[location[o]][0] for o in order_no],
            "ship_state": [ship_to[location[o]][1] for o in order_no],
            "ship_postal_code": [
                ship_to[location[o]][2] + (f"-{plus_four_digits[o]}" if plus_four[o] else "")
                if country_code == "US"
                else ship_to[location[o]][2]
                for o in order_no
            ],
            "ship_country": [country_code] * lines,
            "refund_quantity": refund_quantity.astype(np.int32),
            "refund_ts": refund_ts,
            "adjustment_id": adjustment_ids.tolist(),
            "adjustment_item_id": adjustment_item_ids.tolist(),
        },
        schema=_LINE_SCHEMA,
    ).with_columns(
        pl.when(~pl.col("cancelled")).then(pl.col("ship_ts")).alias("ship_ts"),
        pl.when(pl.Series(promoted)).then(pl.col("promotion_id")).alias("promotion_id"),
        pl.when(pl.Series(refunded)).then(pl.col("refund_ts")).alias("refund_ts"),
    )


def _refunds(
    rng: np.random.Generator,
    truth: AccountTruth,
    country_code: str,
    day_index: int,
    product: np.ndarray,
    quantity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Which lines of the day are refunded, and when: exactly the truth's refund units."""
    mt = truth.marketplaces[country_code]
    tz = mt.marketplace.time_zone
    refund_quantity = np.zeros(product.size, dtype=np.int64)
    refund_ts = np.zeros(product.size, dtype=np.int64)
    last_index = mt.units.shape[1] - 1
    for asin in np.flatnonzero(mt.refund_units[:, day_index]):
        refund_day = day_index + int(mt.refund_lag_days[asin, day_index])
        if refund_day > last_index:
            continue  # not refunded yet
        line_of_unit = np.repeat(np.flatnonzero(product == asin), quantity[product == asin])
        chosen = rng.choice(line_of_unit, size=int(mt.refund_units[asin, day_index]), replace=False)
        np.add.at(refund_quantity, chosen, 1)
        start = local_midnight(tz, truth.day(refund_day))
        length = local_midnight(tz, truth.day(refund_day + 1)) - start
        refund_ts[np.unique(chosen)] = start + rng.integers(0, length, np.unique(chosen).size)
    return refund_quantity, refund_ts


def _day_range(truth: AccountTruth, start_ts: int, end_ts: int, lookback_days: int) -> range:
    first = datetime.fromtimestamp(start_ts, UTC).date() - timedelta(days=1 + lookback_days)
    last = datetime.fromtimestamp(end_ts, UTC).date() + timedelta(days=1)
    return range(max(truth.day_index(first), 0), min(truth.day_index(last), truth.days - 1) + 1)


def _lines_for_days(truth: AccountTruth, country_code: str, days: range) -> pl.DataFrame:
    frames = [day_order_lines(truth.account, country_code, index) for index in days]
    frames = [f for f in frames if f.height]
    return pl.concat(frames) if frames else _empty_lines()


def purchased_lines(
    truth: AccountTruth, country_codes: list[str], start_ts: int, end_ts: int
) -> pl.DataFrame:
    """Lines purchased in [start_ts, end_ts] (epoch seconds), across the given marketplaces."""
    frames = [
        _lines_for_days(truth, code, _day_range(truth, start_ts, end_ts, 0)).filter(
            pl.col("purchase_ts").is_between(start_ts, end_ts)
        )
        for code in country_codes
    ]
    return pl.concat(frames).sort("purchase_ts", "order_id", "order_item_code")


def shipped_lines(
    truth: AccountTruth, country_code: str, start_ts: int, end_ts: int
) -> pl.DataFrame:
    """Lines shipped in [start_ts, end_ts): what a settlement pays out as Order rows."""
    days = _day_range(truth, start_ts, end_ts, _SHIP_LOOKBACK_DAYS)
    return (
        _lines_for_days(truth, country_code, days)
        .filter(pl.col("shipped") & (pl.col("ship_ts") >= start_ts) & (pl.col("ship_ts") < end_ts))
        .sort("ship_ts", "order_item_code")
    )


def refunded_lines(
    truth: AccountTruth, country_code: str, start_ts: int, end_ts: int
) -> pl.DataFrame:
    """Lines refunded in [start_ts, end_ts): a settlement's Refund rows."""
    days = _day_range(truth, start_ts, end_ts, _REFUND_LOOKBACK_DAYS)
    return (
        _lines_for_days(truth, country_code, days)
        .filter(
            (pl.col("refund_quantity") > 0)
            & (pl.col("refund_ts") >= start_ts)
            & (pl.col("refund_ts") < end_ts)
        )
        .sort("refund_ts", "order_item_code")
    )
