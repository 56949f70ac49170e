"""GET_SALES_AND_TRAFFIC_REPORT documents, rendered from the daily truth.

By date: one entry per DAY/WEEK/MONTH period. By ASIN: one entry per PARENT/CHILD/SKU summed
over the whole requested range, with no date (as Amazon does). The by-date totals of units,
sales, order items, sessions and page views equal the sums of the by-ASIN entries. Units and
ordered product sales count every order that was not cancelled (pending ones included), so they
equal the orders report's non-cancelled lines of the same local day.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

import numpy as np

from amzinsight_sandbox.truth import AccountTruth, MarketplaceTruth

DATE_GRANULARITIES = ("DAY", "WEEK", "MONTH")
ASIN_GRANULARITIES = ("PARENT", "CHILD", "SKU")
MAX_LOOKBACK_DAYS = 730


def widen_range(start: date, end: date, date_granularity: str) -> tuple[date, date]:
    """Amazon widens WEEK reports to Sunday..Saturday and MONTH reports to whole months."""
    if date_granularity == "WEEK":
        start -= timedelta(days=(start.weekday() + 1) % 7)
        end += timedelta(days=(5 - end.weekday()) % 7)
    elif date_granularity == "MONTH":
        start = start.replace(day=1)
        following = (end.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = following - timedelta(days=1)
    return start, end


def _period_starts(start: date, end: date, date_granularity: str) -> list[date]:
    starts = []
    current = start
    while current <= end:
        starts.append(current)
        if date_granularity == "DAY":
            current += timedelta(days=1)
        elif date_granularity == "WEEK":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


def _amount(cents: float, currency: str) -> dict[str, Any]:
    return {"amount": round(float(cents) / 100.0, 2), "currencyCode": currency}


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float:
    return round(float(numerator) * scale / float(denominator), 2) if denominator else 0.0


def _day_slice(truth: AccountTruth, start: date, end: date) -> tuple[int, int]:
    """Truth columns [first, last) inside [start, end]; days before the history are empty."""
    first = max(truth.day_index(start), 0)
    last = min(truth.day_index(end), truth.days - 1) + 1
    return first, max(first, last)


# The sandbox's sellers have no business (B2B) buyers; Amazon's report still carries the B2B
# fields, as zeros (its schema), and so does Data Kiosk: both load as 0, never as missing.
_NO_BUSINESS_TRAFFIC_BY_DATE = {
    "pageViewsB2B": 0,
    "sessionsB2B": 0,
    "buyBoxPercentageB2B": 0.0,
    "orderItemSessionPercentageB2B": 0.0,
    "unitSessionPercentageB2B": 0.0,
}


def _no_business_sales(currency: str, per_item: bool = True) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "orderedProductSalesB2B": _amount(0, currency),
        "unitsOrderedB2B": 0,
        "totalOrderItemsB2B": 0,
    }
    if per_item:
        fields["averageSalesPerOrderItemB2B"] = _amount(0, currency)
        fields["averageUnitsPerOrderItemB2B"] = 0.0
    return fields


def _by_date(
    truth: AccountTruth, mt: MarketplaceTruth, starts: list[date], end: date
) -> list[dict[str, Any]]:
    currency = mt.marketplace.currency
    entries = []
    for number, period_start in enumerate(starts):
        period_end = starts[number + 1] - timedelta(days=1) if number + 1 < len(starts) else end
        first, last = _day_slice(truth, period_start, period_end)
        block = slice(first, last)
        units = int(mt.units[:, block].sum())
        items = int(mt.order_items[:, block].sum())
        sales = int(mt.sales_cents[:, block].sum())
        refunded = int(mt.refunded_units_on_day[:, block].sum())
        browser_sessions = int(mt.sessions_browser[:, block].sum())
        mobile_sessions = int(mt.sessions_mobile[:, block].sum())
        browser_views = int(mt.page_views_browser[:, block].sum())
        mobile_views = int(mt.page_views_mobile[:, block].sum())
        views = browser_views + mobile_views
        sessions = browser_sessions + mobile_sessions
        weighted_buy_box = float(
            (
                mt.buy_box_pct[:, block] * (mt.page_views_browser + mt.page_views_mobile)[:, block]
            ).sum()
        )
        shipped_items = int(mt.shipped_items[:, block].sum())
        position = truth.account.marketplaces.index(mt.marketplace.country_code)
        rng = np.random.default_rng([truth.account.seed, 5, position, period_start.toordinal()])
        feedback = int(rng.poisson(shipped_items * 0.012))
        negative = int(rng.binomial(feedback, 0.05))
        parents_viewed = len(
            {
                truth.catalogue.products[i].parent_asin
                for i in np.flatnonzero(
                    (mt.page_views_browser + mt.page_views_mobile)[:, block].sum(1)
                )
            }
        )
        entries.append(
            {
                "date": period_start.isoformat(),
                "salesByDate": {
                    "orderedProductSales": _amount(sales, currency),
                    "unitsOrdered": units,
                    "totalOrderItems": items,
                    "averageSalesPerOrderItem": _amount(sales / items if items else 0, currency),
                    "averageUnitsPerOrderItem": _ratio(units, items),
                    "averageSellingPrice": _amount(sales / units if units else 0, currency),
                    "unitsRefunded": refunded,
                    "refundRate": _ratio(refunded, units, 100),
                    "claimsGranted": 0,
                    "claimsAmount": _amount(0, currency),
                    "shippedProductSales": _amount(
                        int(mt.shipped_sales_cents[:, block].sum()), currency
                    ),
                    "unitsShipped": int(mt.shipped_units[:, block].sum()),
                    "ordersShipped": shipped_items,
                    **_no_business_sales(currency),
                },
                "trafficByDate": {
                    "browserPageViews": browser_views,
                    "mobileAppPageViews": mobile_views,
                    "pageViews": views,
                    "browserSessions": browser_sessions,
                    "mobileAppSessions": mobile_sessions,
                    "sessions": sessions,
                    "buyBoxPercentage": _ratio(weighted_buy_box, views),
                    "orderItemSessionPercentage": _ratio(items, sessions, 100),
                    "unitSessionPercentage": _ratio(units, sessions, 100),
                    "averageOfferCount": int(rng.integers(1, 4)) if sessions else 0,
                    "averageParentItems": parents_viewed,
                    "feedbackReceived": feedback,
                    "negativeFeedbackReceived": negative,
                    "receivedNegativeFeedbackRate": _ratio(negative, feedback, 100),
                    **_NO_BUSINESS_TRAFFIC_BY_DATE,
                },
            }
        )
    return entries


def _by_asin(
    truth: AccountTruth,
    mt: MarketplaceTruth,
    start: date,
    end: date,
    asin_granularity: str,
    only: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """One entry per ASIN with sales or traffic; `only` keeps the entries of those ASINs (the
    percentages still compare with every ASIN), as Data Kiosk's trends filter does."""
    currency = mt.marketplace.currency
    first, last = _day_slice(truth, start, end)
    block = slice(first, last)
    products = truth.catalogue.products
    sums = {
        "units": mt.units[:, block].sum(1),
        "items": mt.order_items[:, block].sum(1),
        "sales": mt.sales_cents[:, block].sum(1),
        "browser_sessions": mt.sessions_browser[:, block].sum(1),
        "mobile_sessions": mt.sessions_mobile[:, block].sum(1),
        "browser_views": mt.page_views_browser[:, block].sum(1),
        "mobile_views": mt.page_views_mobile[:, block].sum(1),
        "buy_box_weight": (
            mt.buy_box_pct[:, block] * (mt.page_views_browser + mt.page_views_mobile)[:, block]
        ).sum(1),
    }
    if asin_granularity == "PARENT":
        keys = [p.parent_asin for p in products]
    else:
        keys = [p.asin for p in products]
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    totals = {name: float(values.sum()) for name, values in sums.items()}
    entries = []
    for key, members in groups.items():
        if only is not None and key not in only:
            continue
        g = {name: float(values[members].sum()) for name, values in sums.items()}
        sessions = g["browser_sessions"] + g["mobile_sessions"]
        views = g["browser_views"] + g["mobile_views"]
        if not sessions and not g["units"]:
            continue  # Amazon lists only ASINs with traffic or sales in the range
        entry: dict[str, Any] = {"parentAsin": products[members[0]].parent_asin}
        if asin_granularity in ("CHILD", "SKU"):
            entry["childAsin"] = key
        if asin_granularity == "SKU":
            entry["sku"] = products[members[0]].sku
        entry["salesByAsin"] = {
            "unitsOrdered": int(g["units"]),
            "orderedProductSales": _amount(g["sales"], currency),
            "totalOrderItems": int(g["items"]),
            **_no_business_sales(currency, per_item=False),
        }
        entry["trafficByAsin"] = {
            "browserSessions": int(g["browser_sessions"]),
            "mobileAppSessions": int(g["mobile_sessions"]),
            "sessions": int(sessions),
            "browserSessionPercentage": _ratio(
                g["browser_sessions"], totals["browser_sessions"], 100
            ),
            "mobileAppSessionPercentage": _ratio(
                g["mobile_sessions"], totals["mobile_sessions"], 100
            ),
            "sessionPercentage": _ratio(
                sessions, totals["browser_sessions"] + totals["mobile_sessions"], 100
            ),
            "browserPageViews": int(g["browser_views"]),
            "mobileAppPageViews": int(g["mobile_views"]),
            "pageViews": int(views),
            "browserPageViewsPercentage": _ratio(g["browser_views"], totals["browser_views"], 100),
            "mobileAppPageViewsPercentage": _ratio(g["mobile_views"], totals["mobile_views"], 100),
            "pageViewsPercentage": _ratio(
                views, totals["browser_views"] + totals["mobile_views"], 100
            ),
            "buyBoxPercentage": _ratio(g["buy_box_weight"], views),
            "unitSessionPercentage": _ratio(g["units"], sessions, 100),
            "sessionsB2B": 0,
            "pageViewsB2B": 0,
            "buyBoxPercentageB2B": 0.0,
            "unitSessionPercentageB2B": 0.0,
        }
        entries.append(entry)
    return entries


def sales_and_traffic_document(
    truth: AccountTruth,
    country_code: str,
    start: date,
    end: date,
    date_granularity: str = "DAY",
    asin_granularity: str = "PARENT",
) -> dict[str, Any]:
    """The report for local dates [start, end] (widened for WEEK/MONTH, cut at today)."""
    mt = truth.marketplaces[country_code]
    start, end = widen_range(start, end, date_granularity)
    data_end = min(end, truth.last_day)
    starts = _period_starts(start, data_end, date_granularity)
    return {
        "reportSpecification": {
            "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
            "reportOptions": {
                "dateGranularity": date_granularity,
                "asinGranularity": asin_granularity,
            },
            "dataStartTime": start.isoformat(),
            "dataEndTime": end.isoformat(),
            "marketplaceIds": [mt.marketplace.marketplace_id],
        },
        "salesAndTrafficByDate": _by_date(truth, mt, starts, data_end),
        "salesAndTrafficByAsin": _by_asin(truth, mt, start, data_end, asin_granularity),
    }


def has_sales_and_traffic_data(truth: AccountTruth, start: date, end: date) -> bool:
    """False when the range lies wholly outside the history: Amazon cancels such reports."""
    return start <= truth.last_day and end >= truth.first_day
