"""What every page shares: the Redis query cache behind them, and working on without Redis."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.coverage import reported_days
from amzinsight.analytics.metrics import store_metrics
from amzinsight.cache import KEY_PREFIX, store_key_pattern
from amzinsight.db.engine import get_engine
from amzinsight.rules.periods import (
    DateRange,
    comparison_range,
    date_range_for,
    format_range,
    local_today,
    reported_periods,
)
from amzinsight.stores import add_store, get_store
from app.components import Kpi, format_money, kpi_delta, kpi_delta_color, tiles_per_row
from app.navigation import PAGES as NAVIGATION
from tests.conftest import DEMO_SYNC_DAYS

pytestmark = [pytest.mark.app, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PAGES = [stem for stem, _, _ in NAVIGATION]


def _app() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_pages_fill_the_cache_and_serve_the_next_view_from_it(
    demo_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    client = redis.Redis.from_url(redis_url)
    at = _app()
    store = get_store(get_engine(demo_database_url), "demo")
    keys = client.keys(store_key_pattern(get_engine(demo_database_url), store.id))
    assert keys, "the Overview's queries went to Redis"
    assert all(client.get(key).startswith(b"ARROW1") for key in keys)
    shown = [(m.label, m.value) for m in at.metric]
    again = _app()
    assert [(m.label, m.value) for m in again.metric] == shown
    assert sorted(client.keys(f"{KEY_PREFIX}:*")) == sorted(keys)  # nothing new: all hits


def test_without_redis_every_page_works_and_says_so_once(
    demo_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    at = _app()
    toasts = [t.value for t in at.toast]
    assert any("Redis is not reachable" in t for t in toasts), toasts
    assert {m.label for m in at.metric} >= {"Revenue", "Ad spend"}
    for page in PAGES[1:]:
        at.switch_page(str(ROOT / "pages" / f"{page}.py")).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not [t.value for t in at.toast if "Redis" in t.value], page  # said once


def test_choosing_another_store_shows_its_own_figures(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    engine = get_engine(migrated_database_url)
    add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    add_store(engine, slug="acme_eu", name="Acme EU", country_codes=["DE", "FR"], region="eu")
    at = _app()
    assert at.sidebar.selectbox(key="filters_store").value == "acme_eu"
    assert [o for o in at.sidebar.selectbox(key="filters_marketplace").options] == [
        "DE (EUR)",
        "FR (EUR)",
    ]
    assert {m.label: m.value for m in at.metric}["Revenue"] == "€0.00"
    at.sidebar.selectbox(key="filters_store").set_value("acme_us").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="filters_marketplace").options == ["US (USD)"]
    assert {m.label: m.value for m in at.metric}["Revenue"] == "$0.00"
    assert any("Acme US" in block.value for block in at.markdown)


def test_no_page_renders_raw_html() -> None:
    """Data (titles, search terms, errors) can hold markup; Streamlit escapes it unless told not to,
    so no page or shared component may tell it not to."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("pages", "app")
        for path in sorted((ROOT / folder).glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "unsafe_allow_html" in line or "st.html(" in line or "components.v1" in line
    ]
    assert offenders == []


# --- comparisons, colours, tile widths -----------------------------------------------------------

COST_LIKE = re.compile(r"spend|acos|cpc|fee|refund|cost|at risk", re.IGNORECASE)


def test_every_cost_like_kpi_on_every_page_is_lower_is_better() -> None:
    """A rise in spend, ACoS, CPC, fees or refunds is bad news: its tile must draw it red."""
    unmarked, marked = [], []
    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in ("Kpi", "tile") or not node.args:
                continue
            label = node.args[0]
            if not (isinstance(label, ast.Constant) and isinstance(label.value, str)):
                continue
            if not COST_LIKE.search(label.value) or label.value.startswith("ROAS"):
                continue
            flag = {k.arg: k.value for k in node.keywords}.get("lower_is_better")
            site = f"{path.name}:{node.lineno} {label.value}"
            is_true = isinstance(flag, ast.Constant) and flag.value is True
            (marked if is_true else unmarked).append(site)
    assert unmarked == []
    assert any("Ad spend" in site for site in marked)  # the scan does see the tiles


def test_a_rise_is_green_or_red_by_what_it_means() -> None:
    spend = Kpi("Ad spend", Decimal("120"), Decimal("100"), "money", lower_is_better=True)
    revenue = Kpi("Revenue", Decimal("120"), Decimal("100"), "money")
    same = Kpi("ACoS", 0.3001, 0.3, "percent", lower_is_better=True)
    assert kpi_delta(spend) == "+20.0%" and kpi_delta_color(spend, "+20.0%") == "inverse"
    assert kpi_delta_color(revenue, kpi_delta(revenue)) == "normal"
    assert kpi_delta(same) == "+0.0 pp" and kpi_delta_color(same, "+0.0 pp") == "off"


def _tiles(values: list[str]) -> list[tuple[Kpi, str, str | None]]:
    return [(Kpi(f"KPI {i}", None), value, "+12.3%") for i, value in enumerate(values)]


def test_tiles_per_row_keeps_exact_money_readable() -> None:
    # At 1280 px four tiles a row leave 161 px for a value: "$31,493.60" needs 162.
    assert tiles_per_row(_tiles(["$6,014.51"] * 4), 4) == 4
    assert tiles_per_row(_tiles(["$31,493.60"] + ["2,040"] * 7), 4) == 3
    assert tiles_per_row(_tiles(["57.8%"] * 5), 5) == 5
    assert tiles_per_row(_tiles(["$31,493.60"] * 5), 5) == 3  # 3 + 2, not 4 + 1
    assert tiles_per_row(_tiles(["¥123,456,789,012"] * 2), 4) == 2
    assert tiles_per_row(_tiles(["¥1,234,567,890,123,456,789"] * 2), 4) == 1
    # A label with its help icon needs room too: ~194 px here, ~280 px with a longer label.
    long_label = [(Kpi("Converting terms missing", 1, help="why"), "1", None)] * 6
    assert tiles_per_row(long_label, 6) == 3
    longer_label = [(Kpi("Converting terms not in the listing", 1, help="why"), "1", None)] * 6
    assert tiles_per_row(longer_label, 6) == 2


def test_reported_days_of_the_demo_store(demo_database_url: str) -> None:
    engine = get_engine(demo_database_url)
    store = get_store(engine, "demo")
    market = store.marketplaces[0]
    row = reported_days(engine, store.id, market.marketplace_id).row(0, named=True)
    yesterday = local_today(market.time_zone) - timedelta(days=1)
    assert row["last_reported"] == yesterday  # the sync pulls sales and traffic up to yesterday
    assert row["first_reported"] == yesterday - timedelta(days=DEMO_SYNC_DAYS - 1)
    empty = reported_days(engine, store.id, "no such marketplace").row(0, named=True)
    assert empty == {"first_reported": None, "last_reported": None}


def test_tiles_compare_only_reported_days_and_say_when_there_is_nothing(
    demo_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    engine = get_engine(demo_database_url)
    store = get_store(engine, "demo")
    market = store.marketplaces[0]
    today = local_today(market.time_zone)
    first, last = reported_days(engine, store.id, market.marketplace_id).row(0)

    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.query_params["range"] = "month-to-date"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    chosen = date_range_for("Month to date", today)
    periods = reported_periods(chosen, "Month to date", "Previous period", first, last)
    captions = [c.value for c in at.sidebar.caption]
    assert periods.notes and set(periods.notes) <= set(captions)
    assert f"{today:%d %b %Y} not reported" in " ".join(captions)

    def revenue(span: DateRange) -> str:
        sales = store_metrics(engine, store, span.start, span.end, market.marketplace_id)
        return format_money(Decimal(sales["sales"]["ordered_product_sales"]), market.currency)

    shown = {m.label: m for m in at.metric}
    assert shown["Revenue"].value == revenue(periods.current)
    if periods.comparison is not None:  # from the 2nd of the month: same days of last month
        assert periods.comparison.start == (chosen.start - timedelta(days=1)).replace(day=1)
        assert shown["Revenue"].delta

    # The demo store holds 60 days: the 90 days before the last 90 have no data at all.
    at.sidebar.selectbox(key="filters_preset").set_value("Last 90 days").run()
    assert not at.exception
    span = date_range_for("Last 90 days", today)
    before = comparison_range(span, "Previous period")
    note = f"No data for {format_range(before)} to compare with."
    assert note in [c.value for c in at.sidebar.caption]
    under_tiles = [c.value for c in at.main.caption if note in c.value]
    assert len(under_tiles) == 1, under_tiles  # and once with the KPI tiles
    assert not [m.label for m in at.metric if m.delta]  # no delta rather than a fake one
    assert not any("Changes against" in c.value for c in at.caption)
