"""Sponsored Products performance queries on real PostgreSQL, with exact figures.

A two-campaign US store (and a CA campaign that must stay out of US figures) is built row by row:
the keyword/target days below are the truth, and the campaign and ad-group rows are written as
their sums, as Amazon's reports tie together. Expectations are computed here from the same
Python rows with Decimal, never from the queries. The demo store must agree with store_metrics.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.ads_performance import (
    ad_group_performance,
    ads_kpis,
    ads_over_time,
    campaign_performance,
    search_term_performance,
    target_performance,
)
from amzinsight.analytics.metrics import store_metrics
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import (
    ads_ad_groups,
    ads_campaign_daily,
    ads_campaigns,
    ads_profiles,
    ads_search_term_daily,
    ads_target_daily,
    ads_targets,
    sales_traffic_by_date,
)
from amzinsight.errors import ConfigError
from amzinsight.rules.periods import date_range_for, local_today
from amzinsight.stores import Store, add_store, list_stores
from tests.conftest import DEMO_SLUG

pytestmark = [pytest.mark.postgres]

US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
US_PROFILE, CA_PROFILE = "1001", "2002"
# Saturday 7 March (no ads), Sunday 8, Monday 9, Tuesday 10 (settling) March 2026.
D0, D1, D2, D3 = (date(2026, 3, 7) + timedelta(days=n) for n in range(4))
BEFORE = date(2026, 3, 6)  # outside the ranges the tests ask for
US_ONLY = (US,)

# target -> (campaign, ad group, kind, text, match type, state, bid) as the entity snapshot says
TARGETS = {
    "k1": ("c1", "g1", "keyword", "gooseneck kettle", "EXACT", "ENABLED", "1.4500"),
    "k2": ("c1", "g1", "keyword", "pour over kettle", "PHRASE", "PAUSED", "1.1000"),
    "t3": ("c1", "g2", "product_target", 'asin="B08HGT3MLQ"', "MANUAL", "ENABLED", "0.5500"),
    "t4": ("c2", "g3", "product_target", "close-match", "AUTO", "ENABLED", "0.9000"),
    "x9": ("c9", "g9", "keyword", "bouilloire", "EXACT", "ENABLED", "0.7000"),
}
PROFILE_OF = {"x9": CA_PROFILE}
# (target, day): impressions, clicks, cost, sales7d, purchases7d, unitsSoldClicks7d
TARGET_DAYS: dict[tuple[str, date], tuple[int, int, str, str, int, int]] = {
    ("k1", D1): (1200, 31, "38.88", "149.95", 5, 6),
    ("k1", D2): (1105, 27, "40.60", "119.96", 4, 4),
    ("k1", D3): (980, 22, "30.10", "89.97", 3, 3),
    ("k2", D1): (640, 12, "16.35", "39.99", 1, 1),
    ("k2", D2): (702, 9, "14.30", "0.00", 0, 0),
    ("t3", D1): (455, 6, "4.32", "0.00", 0, 0),
    ("t3", D3): (388, 5, "3.85", "0.00", 0, 0),
    ("t4", D1): (2210, 19, "16.22", "69.00", 2, 2),
    ("t4", D2): (1990, 21, "17.20", "103.50", 3, 4),
    ("t4", D3): (212, 0, "0.00", "0.00", 0, 0),
    ("k1", BEFORE): (999, 99, "99.99", "999.99", 9, 9),
    ("x9", D1): (500, 10, "7.77", "29.99", 1, 1),
}
# (target, day, search term): impressions, clicks, cost, sales7d, purchases7d, units
SEARCH_TERM_DAYS: dict[tuple[str, date, str], tuple[int, int, str, str, int, int]] = {
    ("k1", D1, "gooseneck kettle"): (900, 25, "31.36", "119.96", 4, 5),
    ("k1", D1, "gooseneck kettle black"): (300, 6, "7.52", "29.99", 1, 1),
    ("k1", D2, "gooseneck kettle"): (1105, 27, "40.60", "119.96", 4, 4),
    ("k2", D1, "pour over kettle glass"): (640, 12, "16.35", "39.99", 1, 1),
    ("t4", D1, "burr grinder"): (1500, 15, "12.70", "69.00", 2, 2),
    ("t4", D2, "burr grinder"): (1200, 13, "10.40", "69.00", 2, 3),
    ("t4", D2, "*"): (790, 8, "6.80", "34.50", 1, 1),
}
SETTLING_DAYS = {D3}
# Read on Friday 13 March at noon in Los Angeles: 10 March is within the 3 settle days.
READ_AT = datetime(2026, 3, 13, 19, tzinfo=UTC)
CAMPAIGN_NAMES = {"c1": "Kettles - Manual KW", "c9": "Bouilloires - Manual"}  # c2: report only
AD_GROUP_NAMES = {"g1": "Kettles - Exact & Phrase", "g2": "Competitor ASINs", "g9": "Exact"}
# US ordered product sales (organic and ad); the CA day must not count for the US.
TOTAL_SALES = {(US, D0): "88.00", (US, D1): "612.40", (US, D2): "455.15", (US, D3): "380.00"}
TOTAL_SALES_CA = {(CA, D1): "1000.00"}


# --- expectations --------------------------------------------------------------------------------


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    if not denominator:
        return None
    value = Decimal(numerator) / Decimal(denominator)
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def expected(rows: Iterable[tuple[int, int, str, str, int, int]], days: set[date]) -> dict:
    """Sums and ratios of fact tuples, as every level defines them (7-day attribution)."""
    rows = list(rows)
    impressions = sum(r[0] for r in rows)
    clicks = sum(r[1] for r in rows)
    spend = sum((Decimal(r[2]) for r in rows), Decimal(0))
    sales = sum((Decimal(r[3]) for r in rows), Decimal(0))
    orders = sum(r[4] for r in rows)
    return {
        "spend": spend,
        "sales_7d": sales,
        "acos": ratio(spend, sales),
        "roas": ratio(sales, spend),
        "cpc": (spend / clicks).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if clicks
        else None,
        "ctr": ratio(clicks, impressions),
        "cvr": ratio(orders, clicks),
        "impressions": impressions,
        "clicks": clicks,
        "orders": orders,
        "units": sum(r[5] for r in rows),
        "settling": bool(days & SETTLING_DAYS),
    }


def target_rows(
    keep: Any = lambda target, day: True,
) -> list[tuple[int, int, str, str, int, int]]:
    return [values for (target, day), values in TARGET_DAYS.items() if keep(target, day)]


def in_range(day: date, start: date = D0, end: date = D3) -> bool:
    return start <= day <= end


def metrics_of(frame: pl.DataFrame, key: str, value: str) -> dict:
    (row,) = frame.filter(pl.col(key) == value).iter_rows(named=True)
    return {name: row[name] for name in expected([], set())}


# --- the store -----------------------------------------------------------------------------------


def summed(values: list[tuple[int, int, str, str, int, int]]) -> dict[str, Any]:
    return {
        "impressions": sum(v[0] for v in values),
        "clicks": sum(v[1] for v in values),
        "cost": sum((Decimal(v[2]) for v in values), Decimal(0)),
        "sales_7d": sum((Decimal(v[3]) for v in values), Decimal(0)),
        "purchases_7d": sum(v[4] for v in values),
        "units_sold_clicks_7d": sum(v[5] for v in values),
        # the 14-day columns differ on purpose: nothing may read them
        "sales_14d": sum((Decimal(v[3]) for v in values), Decimal(0)) + 10,
        "purchases_14d": sum(v[4] for v in values) + 1,
    }


def facts(values: tuple[int, int, str, str, int, int]) -> dict[str, Any]:
    return summed([values])


@pytest.fixture
def store(migrated_database_url: str) -> tuple[Engine, Store]:
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme", name="Acme", country_codes=["US", "CA"])
    sid = store.id
    campaign_days: dict[tuple[str, date], list] = defaultdict(list)
    ad_group_days: dict[tuple[str, str, date], list] = defaultdict(list)
    target_facts = []
    for (target, day), values in TARGET_DAYS.items():
        campaign, ad_group, _kind, text, match_type, _state, bid = TARGETS[target]
        profile = PROFILE_OF.get(target, US_PROFILE)
        campaign_days[(campaign, day)].append(values)
        ad_group_days[(campaign, ad_group, day)].append(values)
        target_facts.append(
            {
                "store_id": sid,
                "profile_id": profile,
                "report_date": day,
                "target_id": target,
                "campaign_id": campaign,
                "ad_group_id": ad_group,
                "keyword_text": text,
                "match_type": match_type,
                "keyword_bid": Decimal(bid),
                "currency": "CAD" if profile == CA_PROFILE else "USD",
                **facts(values),
            }
        )

    def campaign_profile(campaign: str) -> str:
        return CA_PROFILE if campaign == "c9" else US_PROFILE

    campaign_rows = [
        {
            "store_id": sid,
            "profile_id": campaign_profile(campaign),
            "report_date": day,
            "campaign_id": campaign,
            "ad_group_id": "",
            "campaign_name": f"{campaign} as reported",
            "campaign_status": "ENABLED",
            "ad_group_name": None,
            "currency": "CAD" if campaign == "c9" else "USD",
            **summed(values),
        }
        for (campaign, day), values in campaign_days.items()
    ]
    ad_group_rows = [
        {
            "store_id": sid,
            "profile_id": campaign_profile(campaign),
            "report_date": day,
            "campaign_id": campaign,
            "ad_group_id": ad_group,
            "campaign_name": f"{campaign} as reported",
            "campaign_status": "ENABLED",
            "ad_group_name": f"{ad_group} as reported",
            "currency": "CAD" if campaign == "c9" else "USD",
            **summed(values),
        }
        for (campaign, ad_group, day), values in ad_group_days.items()
    ]
    term_rows = [
        {
            "store_id": sid,
            "profile_id": US_PROFILE,
            "report_date": day,
            "campaign_id": TARGETS[target][0],
            "ad_group_id": TARGETS[target][1],
            "target_id": target,
            "search_term": term,
            "keyword_text": TARGETS[target][3],
            "match_type": TARGETS[target][4],
            "currency": "USD",
            **facts(values),
        }
        for (target, day, term), values in SEARCH_TERM_DAYS.items()
    ]
    with engine.begin() as connection:
        connection.execute(
            sa.insert(ads_profiles),
            [
                {
                    "store_id": sid,
                    "profile_id": US_PROFILE,
                    "marketplace_id": US,
                    "currency": "USD",
                },
                {
                    "store_id": sid,
                    "profile_id": CA_PROFILE,
                    "marketplace_id": CA,
                    "currency": "CAD",
                },
            ],
        )
        connection.execute(
            sa.insert(ads_campaigns),
            [
                {
                    "store_id": sid,
                    "profile_id": campaign_profile(campaign),
                    "campaign_id": campaign,
                    "name": name,
                    "state": "ENABLED",
                    "targeting_type": "MANUAL",
                    "budget": Decimal("30.00"),
                }
                for campaign, name in CAMPAIGN_NAMES.items()
            ],
        )
        connection.execute(
            sa.insert(ads_ad_groups),
            [
                {
                    "store_id": sid,
                    "profile_id": CA_PROFILE if ad_group == "g9" else US_PROFILE,
                    "ad_group_id": ad_group,
                    "campaign_id": {"g1": "c1", "g2": "c1", "g9": "c9"}[ad_group],
                    "name": name,
                    "state": "ENABLED",
                    "default_bid": Decimal("0.75"),
                }
                for ad_group, name in AD_GROUP_NAMES.items()
            ],
        )
        connection.execute(
            sa.insert(ads_targets),
            [
                {
                    "store_id": sid,
                    "profile_id": PROFILE_OF.get(target, US_PROFILE),
                    "target_id": target,
                    "kind": kind,
                    "campaign_id": campaign,
                    "ad_group_id": ad_group,
                    "keyword_text": text if kind == "keyword" else None,
                    "expression": text if kind != "keyword" else None,
                    "match_type": match_type,
                    "state": state,
                    "bid": Decimal(bid),
                }
                for target, (campaign, ad_group, kind, text, match_type, state, bid) in (
                    TARGETS.items()
                )
                if target != "t4"  # t4 only known from the report
            ],
        )
        connection.execute(sa.insert(ads_campaign_daily), [*campaign_rows, *ad_group_rows])
        connection.execute(sa.insert(ads_target_daily), target_facts)
        connection.execute(sa.insert(ads_search_term_daily), term_rows)
        connection.execute(
            sa.insert(sales_traffic_by_date),
            [
                {
                    "store_id": sid,
                    "marketplace_id": market,
                    "report_date": day,
                    "ordered_product_sales": Decimal(amount),
                    "currency": "USD" if market == US else "CAD",
                }
                for (market, day), amount in {**TOTAL_SALES, **TOTAL_SALES_CA}.items()
            ],
        )
    return engine, store


# --- KPIs ----------------------------------------------------------------------------------------


def test_kpis_are_the_campaign_totals_with_tacos_over_total_sales(store) -> None:
    engine, acme = store
    (row,) = ads_kpis(engine, acme.id, US_ONLY, D0, D3, now=READ_AT).iter_rows(named=True)
    us_rows = target_rows(lambda t, day: t != "x9" and in_range(day))
    want = expected(us_rows, {D1, D2, D3})
    assert {name: row[name] for name in want} == want
    assert row["spend"] == Decimal("181.82")
    total_sales = sum((Decimal(v) for v in TOTAL_SALES.values()), Decimal(0))
    assert row["total_sales"] == total_sales == Decimal("1535.55")
    assert row["tacos"] == ratio(want["spend"], total_sales) == 0.1184
    assert row["currency"] == "USD"
    assert (row["ad_days"], row["settling_days"]) == (3, 1)


def test_kpis_equal_store_metrics_ads_block(store) -> None:
    engine, acme = store
    ads = store_metrics(engine, acme, D0, D3, US)["ads"]
    (row,) = ads_kpis(engine, acme.id, US_ONLY, D0, D3, now=READ_AT).iter_rows(named=True)
    assert f"{row['spend']:.2f}" == ads["spend"]
    assert f"{row['sales_7d']:.2f}" == ads["sales"]
    assert (row["acos"], row["roas"], row["tacos"]) == (ads["acos"], ads["roas"], ads["tacos"])
    assert (row["impressions"], row["clicks"], row["orders"]) == (
        ads["impressions"],
        ads["clicks"],
        ads["orders"],
    )


def test_kpis_without_ads_rows_are_unknown_not_zero(store) -> None:
    engine, acme = store
    (row,) = ads_kpis(engine, acme.id, US_ONLY, D0, D0, now=READ_AT).iter_rows(named=True)
    assert row["spend"] is None and row["acos"] is None and row["impressions"] is None
    assert row["total_sales"] == Decimal("88.00")
    assert row["tacos"] is None
    assert (row["ad_days"], row["settling_days"]) == (0, 0)


def test_kpis_of_the_other_marketplace_use_its_own_profile(store) -> None:
    engine, acme = store
    (row,) = ads_kpis(engine, acme.id, (CA,), D0, D3).iter_rows(named=True)
    assert row["spend"] == Decimal("7.77") and row["currency"] == "CAD"
    assert row["tacos"] == ratio(Decimal("7.77"), Decimal("1000.00"))


def test_an_inverted_range_is_refused(store) -> None:
    engine, acme = store
    with pytest.raises(ConfigError, match="after it ends"):
        ads_kpis(engine, acme.id, US_ONLY, D3, D0, now=READ_AT)


# --- over time -----------------------------------------------------------------------------------


def test_daily_periods_cover_the_range_and_flag_settling_days(store) -> None:
    engine, acme = store
    frame = ads_over_time(engine, acme.id, US_ONLY, D0, D3, "day", now=READ_AT)
    assert frame["period"].to_list() == [D0, D1, D2, D3]
    assert frame["settling"].to_list() == [None, False, False, True]
    assert frame["settling_days"].to_list() == [None, 0, 0, 1]
    assert frame["spend"][0] is None  # no ads rows that day: a gap, not a zero
    for day in (D1, D2, D3):
        (row,) = frame.filter(pl.col("period") == day).iter_rows(named=True)
        want = expected(target_rows(lambda t, d, day=day: t != "x9" and d == day), {day})
        assert {name: row[name] for name in want} == want
        assert row["total_sales"] == Decimal(TOTAL_SALES[(US, day)])
        assert row["tacos"] == ratio(want["spend"], Decimal(TOTAL_SALES[(US, day)]))


def test_settling_depends_on_the_day_of_the_read_and_settle_days(store) -> None:
    engine, acme = store

    def settling(now: datetime, settle_days: int = 3) -> list[bool | None]:
        frame = ads_over_time(
            engine, acme.id, US_ONLY, D0, D3, "day", settle_days=settle_days, now=now
        )
        return frame["settling"].to_list()

    assert settling(READ_AT) == [None, False, False, True]
    assert settling(READ_AT + timedelta(days=1)) == [None, False, False, False]  # 10 March settled
    assert settling(READ_AT, settle_days=4) == [None, False, True, True]
    assert settling(READ_AT - timedelta(days=3)) == [None, True, True, True]
    # 02:00 UTC on 14 March is still 13 March in Los Angeles: the marketplace's date decides.
    evening = datetime(2026, 3, 14, 2, tzinfo=UTC)
    assert settling(evening) == [None, False, False, True]


def test_weeks_start_on_monday_and_months_sum_the_range(store) -> None:
    engine, acme = store
    weeks = ads_over_time(engine, acme.id, US_ONLY, D0, D3, "week", now=READ_AT)
    assert weeks["period"].to_list() == [date(2026, 3, 2), date(2026, 3, 9)]
    first, second = weeks.iter_rows(named=True)
    assert first["spend"] == sum(
        (Decimal(v[2]) for v in target_rows(lambda t, d: t != "x9" and d in (D0, D1))),
        Decimal(0),
    )
    assert first["total_sales"] == Decimal("700.40")
    assert (first["settling"], second["settling"]) == (False, True)
    assert second["spend"] == Decimal("106.05")
    assert second["tacos"] == ratio(Decimal("106.05"), Decimal("835.15"))

    months = ads_over_time(engine, acme.id, US_ONLY, D0, D3, "month", now=READ_AT)
    (month,) = months.iter_rows(named=True)
    (kpis,) = ads_kpis(engine, acme.id, US_ONLY, D0, D3, now=READ_AT).iter_rows(named=True)
    assert month["period"] == date(2026, 3, 1)
    for name in ("spend", "sales_7d", "acos", "roas", "tacos", "cpc", "ctr", "cvr", "orders"):
        assert month[name] == kpis[name], name


def test_unknown_granularity_is_refused(store) -> None:
    engine, acme = store
    with pytest.raises(ConfigError, match="granularity 'hour'"):
        ads_over_time(engine, acme.id, US_ONLY, D0, D3, "hour", now=READ_AT)


# --- drill-down ----------------------------------------------------------------------------------


def test_campaigns_with_entity_names_or_the_reports(store) -> None:
    engine, acme = store
    frame = campaign_performance(engine, acme.id, US_ONLY, D0, D3, now=READ_AT)
    assert frame["campaign_id"].to_list() == ["c1", "c2"]  # highest spend first; no CA, no BEFORE
    assert frame["campaign_name"].to_list() == ["Kettles - Manual KW", "c2 as reported"]
    assert frame["state"].to_list() == ["ENABLED", "ENABLED"]
    assert frame["budget"].to_list() == [Decimal("30.00"), None]
    for campaign in ("c1", "c2"):
        rows = target_rows(lambda t, d, c=campaign: TARGETS[t][0] == c and in_range(d))
        days = {d for (t, d) in TARGET_DAYS if TARGETS[t][0] == campaign and in_range(d)}
        assert metrics_of(frame, "campaign_id", campaign) == expected(rows, days)
    c2 = metrics_of(frame, "campaign_id", "c2")
    assert (c2["spend"], c2["acos"], c2["cpc"], c2["settling"]) == (
        Decimal("33.42"),
        0.1937,
        Decimal("0.84"),
        True,
    )


def test_ad_groups_add_up_to_their_campaign(store) -> None:
    engine, acme = store
    campaigns = campaign_performance(engine, acme.id, US_ONLY, D0, D3, now=READ_AT)
    groups = ad_group_performance(engine, acme.id, US_ONLY, D0, D3, "c1", now=READ_AT)
    assert groups["ad_group_id"].to_list() == ["g1", "g2"]
    assert groups["ad_group_name"].to_list() == ["Kettles - Exact & Phrase", "Competitor ASINs"]
    assert groups["default_bid"].to_list() == [Decimal("0.7500")] * 2
    (c1,) = campaigns.filter(pl.col("campaign_id") == "c1").iter_rows(named=True)
    for name in ("spend", "sales_7d", "impressions", "clicks", "orders", "units"):
        assert groups[name].sum() == c1[name], name
    g2 = metrics_of(groups, "ad_group_id", "g2")
    assert (g2["spend"], g2["sales_7d"], g2["acos"], g2["roas"]) == (
        Decimal("8.17"),
        Decimal("0.00"),
        None,  # spend without sales: no ACoS to show, not 0 %
        0.0,
    )
    auto = ad_group_performance(engine, acme.id, US_ONLY, D0, D3, "c2", now=READ_AT)
    assert auto["ad_group_name"].to_list() == ["g3 as reported"]
    assert ad_group_performance(engine, acme.id, US_ONLY, D0, D3, "c9", now=READ_AT).is_empty()


def test_targets_add_up_to_their_ad_group(store) -> None:
    engine, acme = store
    groups = ad_group_performance(engine, acme.id, US_ONLY, D0, D3, "c1", now=READ_AT)
    targets = target_performance(engine, acme.id, US_ONLY, D0, D3, "g1", now=READ_AT)
    assert targets["target_id"].to_list() == ["k1", "k2"]
    assert targets["target"].to_list() == ["gooseneck kettle", "pour over kettle"]
    assert targets["match_type"].to_list() == ["EXACT", "PHRASE"]
    assert targets["state"].to_list() == ["ENABLED", "PAUSED"]
    assert targets["bid"].to_list() == [Decimal("1.4500"), Decimal("1.1000")]
    assert targets["kind"].to_list() == ["keyword", "keyword"]
    (g1,) = groups.filter(pl.col("ad_group_id") == "g1").iter_rows(named=True)
    for name in ("spend", "sales_7d", "impressions", "clicks", "orders", "units"):
        assert targets[name].sum() == g1[name], name
    k1 = target_rows(lambda t, d: t == "k1" and in_range(d))
    assert metrics_of(targets, "target_id", "k1") == expected(k1, {D1, D2, D3})

    auto = target_performance(engine, acme.id, US_ONLY, D0, D3, "g3", now=READ_AT)
    (t4,) = auto.iter_rows(named=True)  # no entity snapshot: the report's text, match and bid
    assert (t4["target"], t4["kind"], t4["match_type"], t4["bid"]) == (
        "close-match",
        None,
        "AUTO",
        Decimal("0.9000"),
    )


def test_search_terms_of_an_ad_group_and_of_one_target(store) -> None:
    engine, acme = store
    terms = search_term_performance(engine, acme.id, US_ONLY, D0, D3, "g1", now=READ_AT)
    assert terms["search_term"].to_list() == [
        "gooseneck kettle",
        "pour over kettle glass",
        "gooseneck kettle black",
    ]
    gooseneck = [v for (t, _d, term), v in SEARCH_TERM_DAYS.items() if term == "gooseneck kettle"]
    assert metrics_of(terms, "search_term", "gooseneck kettle") == expected(gooseneck, set())
    assert terms.filter(pl.col("search_term") == "pour over kettle glass")["target"].to_list() == [
        "pour over kettle"
    ]
    # search terms never exceed the targets they came through
    targets = target_performance(engine, acme.id, US_ONLY, D0, D3, "g1", now=READ_AT)
    assert terms["spend"].sum() <= targets["spend"].sum()

    only_t4 = search_term_performance(engine, acme.id, US_ONLY, D0, D3, None, "t4", now=READ_AT)
    assert only_t4["search_term"].to_list() == ["burr grinder", "*"]
    (burr,) = only_t4.filter(pl.col("search_term") == "burr grinder").iter_rows(named=True)
    assert (burr["spend"], burr["orders"], burr["acos"]) == (Decimal("23.10"), 4, 0.1674)
    narrowed = search_term_performance(engine, acme.id, US_ONLY, D1, D1, "g3", "t4", now=READ_AT)
    assert narrowed["search_term"].to_list() == ["burr grinder"]
    with pytest.raises(ConfigError, match="ad group or a target"):
        search_term_performance(engine, acme.id, US_ONLY, D0, D3, now=READ_AT)


def test_frames_keep_money_as_decimal(store) -> None:
    engine, acme = store
    for frame in (
        ads_kpis(engine, acme.id, US_ONLY, D0, D3, now=READ_AT),
        ads_over_time(engine, acme.id, US_ONLY, D0, D3, "week", now=READ_AT),
        campaign_performance(engine, acme.id, US_ONLY, D0, D3, now=READ_AT),
        ad_group_performance(engine, acme.id, US_ONLY, D0, D3, "c1", now=READ_AT),
        target_performance(engine, acme.id, US_ONLY, D0, D3, "g1", now=READ_AT),
        search_term_performance(engine, acme.id, US_ONLY, D0, D3, "g1", now=READ_AT),
    ):
        for name in ("spend", "sales_7d", "cpc"):
            assert isinstance(frame.schema[name], pl.Decimal), name
        assert frame.schema["acos"] == pl.Float64


# --- the demo store ------------------------------------------------------------------------------


def test_demo_store_last_30_days_equal_store_metrics(demo_database_url: str) -> None:
    engine = get_engine(demo_database_url)
    (demo,) = [s for s in list_stores(engine) if s.slug == DEMO_SLUG]
    for market in demo.marketplaces:
        window = date_range_for("Last 30 days", local_today(market.time_zone))
        ads = store_metrics(engine, demo, window.start, window.end, market.marketplace_id)["ads"]
        (row,) = ads_kpis(
            engine, demo.id, (market.marketplace_id,), window.start, window.end
        ).iter_rows(named=True)
        assert ads["impressions"] > 0, market.marketplace_id
        assert f"{row['spend']:.2f}" == ads["spend"]
        assert f"{row['sales_7d']:.2f}" == ads["sales"]
        assert (row["acos"], row["roas"], row["tacos"]) == (
            ads["acos"],
            ads["roas"],
            ads["tacos"],
        )
        assert (row["impressions"], row["clicks"], row["orders"]) == (
            ads["impressions"],
            ads["clicks"],
            ads["orders"],
        )
        campaigns = campaign_performance(
            engine, demo.id, (market.marketplace_id,), window.start, window.end
        )
        assert campaigns["spend"].sum() == row["spend"]
        assert campaigns["orders"].sum() == row["orders"]
