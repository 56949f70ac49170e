"""What a sync will fetch, in how many calls to Amazon, and when it can be done: one line per
report type, for `amzinsight sync` and the Sync page. Read-only: it asks Amazon nothing and
reserves no meter slot.

The Sales and Traffic report is metered (one every 15 minutes, 96 a day per application), so its
time is exact: when the last request can go, counting the slots other jobs hold already. Other
times are estimates from Amazon's usage plans, rounded up, never promised sooner than likely.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import api_meter_slots, order_items
from amzinsight.db.tables import orders as tables_orders
from amzinsight.ingest.meter import finish_estimate
from amzinsight.ingest.sync import SyncTask, is_ads, known_asins
from amzinsight.reports import report_title, sales_traffic, sales_traffic_kiosk
from amzinsight.rules.meter import SALES_TRAFFIC_METER, Meter, meter_interval_label, meter_key
from amzinsight.stores import Store

KIOSK_MINUTES_PER_QUERY = 2.0
"""Estimated minutes a Data Kiosk query adds to a backfill. Amazon allows createQuery and
getDocument about once a minute each after a burst of 15 (the Data Kiosk usage plan), and takes
minutes to process a query; two minutes a query errs on the long side."""
REPORT_REQUEST_BURST = 15
"""createReport requests Amazon accepts at once before its one-a-minute pace applies."""
REPORT_MINUTES_PER_REQUEST = 1.0
"""createReport's sustained pace: about one a minute (rate 0.0167 per second)."""
CATALOG_SECONDS_PER_LOOKUP = 0.5
"""getCatalogItem allows two calls a second."""
FINANCES_PER_PAGE = 100
"""Transactions per listTransactions page (Amazon documents no page size; the sandbox's)."""
FINANCES_SECONDS_PER_PAGE, FINANCES_BURST = 2.0, 10
"""listTransactions' usage plan: 0.5 requests a second after a burst of 10."""


@dataclass(frozen=True)
class PlanLine:
    """One report type of a sync plan."""

    report_key: str
    title: str
    what: str
    """The days (or snapshot) it fetches, e.g. "726 days 2024-12-04..2026-11-29 in 2 windows"."""
    calls: int
    """Requests to Amazon: reports, Data Kiosk queries, lookups."""
    calls_label: str
    """The calls in words, e.g. "10 Data Kiosk queries"."""
    eta: str
    """When it can be done, e.g. "about 20 min" or "next report at 14:15 UTC"."""
    done_by: datetime | None = None
    """The metered report's last slot (exact); None for estimates."""

    @property
    def line(self) -> str:
        return f"{self.title}: {self.what}: {self.calls_label}, {self.eta}"


def plan_lines(
    engine: Engine,
    store: Store,
    tasks: Sequence[SyncTask],
    meter: Meter,
    application: str | None = None,
    now: datetime | None = None,
) -> list[PlanLine]:
    """One line per report type of `tasks`, in their order.

    `meter` is the Sales and Traffic meter at the sync's speed (a sandbox's clock runs faster, and
    every estimate here with it). `application` is the LWA client id the store's syncs use; None
    (a process without the credentials) counts the slots of the meter the store used last.
    """
    now = now or datetime.now(UTC)
    speed = SALES_TRAFFIC_METER.interval / meter.interval
    grouped: dict[str, list[SyncTask]] = {}
    for task in tasks:
        grouped.setdefault(task.spec.key, []).append(task)
    lines = []
    for key, group in grouped.items():
        spec = group[0].spec
        what = _what(group)
        if key == sales_traffic.SPEC.key:
            lines.append(_metered(engine, store, key, what, group, meter, application, now))
        elif spec.acquisition == "kiosk":
            lines.append(_kiosk(engine, store, key, what, group, speed))
        elif spec.api_operation == "getCatalogItem":
            lookups = sum(
                len(known_asins(engine, store.id, task.marketplace.marketplace_id))
                for task in group
            )
            seconds = lookups * CATALOG_SECONDS_PER_LOOKUP / speed
            eta = "within minutes" if seconds < 60 else about(seconds)
            label = f"{lookups} catalog lookup{_s(lookups)} (one per known ASIN)"
            lines.append(PlanLine(key, report_title(key), what, lookups, label, eta))
        elif spec.api_operation == "listTransactions":
            lines.append(_finances(engine, store, key, what, group, speed))
        else:
            lines.append(_other(key, what, group, speed))
    return lines


def _metered(
    engine: Engine,
    store: Store,
    key: str,
    what: str,
    group: list[SyncTask],
    meter: Meter,
    application: str | None,
    now: datetime,
) -> PlanLine:
    """When the last report can go: every request takes the next free slot after the ones other
    jobs hold (finish_estimate reserves nothing)."""
    calls = len(group)
    slot_key = meter_key(meter, application) if application else _latest_key(engine, store.id)
    done = finish_estimate(engine, meter, slot_key or meter_key(meter, None), calls, now)
    precise = meter.interval < timedelta(minutes=1)  # a sandbox's clock: seconds matter
    if done <= now:
        eta = "can go now" if calls == 1 else "all can go now"
    else:
        at = clock(done, now, precise)
        wait = about((done - now).total_seconds())
        eta = f"next report at {at}" if calls == 1 else f"the last at {at} ({wait} from now)"
    label = (
        f"{calls} report request{_s(calls)} (Amazon's meter: one every "
        f"{meter_interval_label(meter)}, {meter.per_day} a day)"
    )
    return PlanLine(key, report_title(key), what, calls, label, eta, done)


def _kiosk(
    engine: Engine, store: Store, key: str, what: str, group: list[SyncTask], speed: float
) -> PlanLine:
    """Per window: the totals by date, the list of ASINs, and one trends query per
    TRENDS_MAX_ASINS of the ASINs the store is known to sell (more may turn up)."""
    asins = {
        market: len(known_asins(engine, store.id, market))
        for market in {task.marketplace.marketplace_id for task in group}
    }
    step = sales_traffic_kiosk.TRENDS_MAX_ASINS
    queries = sum(2 + math.ceil(asins[task.marketplace.marketplace_id] / step) for task in group)
    known = sum(asins.values())
    label = (
        f"{queries} Data Kiosk quer{'y' if queries == 1 else 'ies'} ({known} known ASIN{_s(known)})"
        if known
        else f"at least {queries} Data Kiosk queries (no ASINs known yet)"
    )
    eta = about(queries * KIOSK_MINUTES_PER_QUERY * 60 / speed)
    return PlanLine(key, report_title(key), what, queries, label, eta)


def _finances(
    engine: Engine, store: Store, key: str, what: str, group: list[SyncTask], speed: float
) -> PlanLine:
    """Pages of transactions: as many as the store has, guessed from its orders of the last 30
    days (about one transaction per order line; refunds and fees add a few)."""
    days = sum((t.window.end - t.window.start).days + 1 for t in group if t.window is not None)
    per_day = _order_lines_per_day(engine, store.id)
    if not per_day:
        label = f"at least {len(group)} Finances listing{_s(len(group))} (no orders known yet)"
        return PlanLine(key, report_title(key), what, len(group), label, "within minutes")
    pages = max(len(group), math.ceil(per_day * days / FINANCES_PER_PAGE))
    seconds = max(0, pages - FINANCES_BURST) * FINANCES_SECONDS_PER_PAGE / speed
    label = f"about {pages} Finances pages of {FINANCES_PER_PAGE} transactions"
    eta = "within minutes" if seconds < 60 else about(seconds)
    return PlanLine(key, report_title(key), what, pages, label, eta)


def _order_lines_per_day(engine: Engine, store_id: int) -> float:
    """Order lines a day over the store's 30 latest days of orders (0 without orders)."""
    items, orders = order_items, tables_orders
    latest = (
        sa.select(sa.func.max(orders.c.purchase_local_date))
        .where(orders.c.store_id == store_id)
        .scalar_subquery()
    )
    joined = items.join(
        orders,
        sa.and_(
            orders.c.store_id == items.c.store_id,
            orders.c.amazon_order_id == items.c.amazon_order_id,
        ),
    )
    query = (
        sa.select(sa.func.count())
        .select_from(joined)
        .where(items.c.store_id == store_id, orders.c.purchase_local_date > latest - 30)
    )
    with engine.connect() as connection:
        return float(connection.execute(query).scalar() or 0) / 30


def _other(key: str, what: str, group: list[SyncTask], speed: float) -> PlanLine:
    spec = group[0].spec
    calls = len(group)
    if spec.acquisition == "list":
        label = "1 listing of Amazon's recent reports, then a download per new one"
    elif spec.acquisition == "api" and is_ads(spec):
        label = f"campaign, ad group and target listings for {calls} Ads profile{_s(calls)}"
    elif spec.acquisition == "api":
        label = f"{calls} paged API listing{_s(calls)}"
    elif spec.acquisition == "ads":
        label = f"{calls} Amazon Ads report{_s(calls)}"
    else:
        label = f"{calls} report request{_s(calls)}"
    if spec.acquisition == "create" and calls > REPORT_REQUEST_BURST:
        minutes = (calls - REPORT_REQUEST_BURST) * REPORT_MINUTES_PER_REQUEST
        eta = f"{about(minutes * 60 / speed)} (Amazon takes about one a minute)"
    else:
        eta = "within minutes"
    return PlanLine(key, report_title(key), what, calls, label, eta)


def _what(group: list[SyncTask]) -> str:
    """The days fetched (distinct days over every marketplace), or what a snapshot is."""
    windows = [task.window for task in group if task.window is not None]
    countries = sorted({task.marketplace.country_code or "" for task in group} - {""})
    where = f" for {', '.join(countries)}" if len(countries) > 1 else ""
    if not windows:
        spec = group[0].spec
        if spec.acquisition == "list":
            return "the reports Amazon lists now"
        return f"today's snapshot{where}"
    days: set[date] = set()
    for window in windows:
        days.update(
            window.start + timedelta(days=offset)
            for offset in range((window.end - window.start).days + 1)
        )
    start, end = min(days), max(days)
    span = f"{len(days)} day{_s(len(days))} {start}..{end}" if start != end else f"{start}"
    ranges = group[0].spec.window == "range"  # a report per day needs no count of windows
    pieces = f" in {len(windows)} windows" if ranges and len(windows) > 1 else ""
    return f"{span}{pieces}{where}"


def _latest_key(engine: Engine, store_id: int) -> str | None:
    """The meter the store's syncs counted against last (every store of an application shares
    it): the page's process may not hold the credentials that name it."""
    query = (
        sa.select(api_meter_slots.c.meter_key)
        .where(api_meter_slots.c.store_id == store_id)
        .order_by(api_meter_slots.c.slot_at.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def about(seconds: float) -> str:
    """A wait in words, rounded up: "under a minute", "about 40 min" (5-minute steps), "about
    2 h 30 min" (half hours), "about 8 days"."""
    return "under a minute" if seconds < 60 else f"about {duration(seconds)}"


def duration(seconds: float) -> str:
    """`about`'s figure for a minute or more."""
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{math.ceil(minutes / 5) * 5} min"
    if minutes < 48 * 60:
        hours, rest = divmod(math.ceil(minutes / 30) * 30, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{math.ceil(minutes / (24 * 60))} days"


def clock(when: datetime, now: datetime, seconds: bool = False) -> str:
    """ "14:15 UTC" today (UTC), else "2026-12-05 14:15 UTC"; minutes rounded up, so a report
    is never said to go before it can."""
    when = when.astimezone(UTC)
    if not seconds and (when.second or when.microsecond):
        when = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
    time_of_day = f"{when:%H:%M:%S}" if seconds else f"{when:%H:%M}"
    day = "" if when.date() == now.astimezone(UTC).date() else f"{when:%Y-%m-%d} "
    return f"{day}{time_of_day} UTC"


def _s(count: int) -> str:
    return "" if count == 1 else "s"
