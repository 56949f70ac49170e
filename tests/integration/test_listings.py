"""Listings analytics: the rule checker and term matcher as pure functions, and the queries on
real PostgreSQL with rows built here (expected numbers computed in the test, not by the SQL)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.listings import (
    NO_LISTING,
    keyword_coverage,
    listing_content,
    rating_trend,
)
from amzinsight.config import Settings
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import (
    ads_advertised_product_daily,
    ads_profiles,
    ads_search_term_daily,
    catalog_items,
    listings,
    product_ratings,
)
from amzinsight.errors import ConfigError
from amzinsight.ingest.imports import import_file
from amzinsight.rules.listings import LISTING_RULES, check_listing, coverage_of
from amzinsight.runtime import build_runtime
from amzinsight.stores import Store, add_store

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
ASIN = "B0TESTKTL1"
OTHER_ASIN = "B0TESTOTH2"
FIXTURES = Path(__file__).parents[1] / "fixtures"

pytestmark = [pytest.mark.postgres]

FIVE_BULLETS = [f"Feature {n}: sturdy and simple" for n in range(1, 6)]
GOOD_TITLE = (
    "Acme Gooseneck Pour-Over Kettle 1.0 L, Stainless Steel, Thermometer, Matte Black Finish"
)


def rules(findings: list[Any]) -> list[str]:
    return [finding.rule for finding in findings]


# --- check_listing ----------------------------------------------------------------------------


def test_a_clean_listing_has_no_findings() -> None:
    assert len(GOOD_TITLE) >= 80
    assert check_listing(GOOD_TITLE, FIVE_BULLETS, "A kettle.", "barista tea coffee") == []


def test_title_over_200_characters_is_an_error_and_200_is_not() -> None:
    long_title = ("Kettle " + "x" * 194)[:201]
    assert len(long_title) == 201
    (finding,) = check_listing(long_title, None, None, None)
    assert finding.rule == "title_too_long"
    assert finding.severity == "error"
    assert "201 characters" in finding.message
    assert finding.source == "Amazon product title requirements"
    assert check_listing(long_title[:200], None, None, None) == []


def test_short_title_is_a_warning() -> None:
    (finding,) = check_listing("Acme Kettle", None, None, None)
    assert (finding.rule, finding.severity) == ("title_short", "warning")
    assert "11 characters" in finding.message


@pytest.mark.parametrize("character", ["!", "$", "?", "_", "{", "}", "^", "¬", "¦", "🔥", "⭐"])
def test_banned_title_characters_and_emoji_are_errors(character: str) -> None:
    title = GOOD_TITLE.replace("Kettle", f"Kettle {character}")
    (finding,) = check_listing(title, None, None, None)
    assert (finding.rule, finding.severity) == ("title_special_characters", "error")
    assert character in finding.message


def test_a_word_three_times_in_the_title_is_an_error_but_function_words_may_repeat() -> None:
    title = "Kettle for Tea, Kettle for Coffee, Kettle for Water with Thermometer and Stand, 1.0 L"
    findings = check_listing(title, None, None, None)
    assert rules(findings) == ["title_repeated_word"]
    assert "kettle" in findings[0].message
    assert check_listing(title.replace("Kettle for Water", "Pot for Water"), None, None, None) == []


def test_six_bullets_and_a_bullet_over_500_characters() -> None:
    bullets = [*FIVE_BULLETS, "A sixth one"]
    (finding,) = check_listing(None, bullets, None, None)
    assert (finding.rule, finding.severity) == ("bullets_count", "warning")
    assert "6 bullet points" in finding.message

    bullets = [*FIVE_BULLETS[:4], "b" * 501]
    (finding,) = check_listing(None, bullets, None, None)
    assert (finding.rule, finding.severity) == ("bullet_too_long", "error")
    assert "Bullet point 5 has 501 characters" in finding.message
    assert check_listing(None, [*FIVE_BULLETS[:4], "b" * 500], None, None) == []


def test_fewer_than_five_bullets_is_a_warning_and_unknown_bullets_are_not_checked() -> None:
    (finding,) = check_listing(None, FIVE_BULLETS[:3], None, None)
    assert finding.rule == "bullets_count"
    assert "3 of 5" in finding.message
    assert rules(check_listing(None, [], None, None)) == ["bullets_count"]
    assert check_listing(None, None, None, None) == []


def test_backend_terms_count_bytes_not_characters() -> None:
    # "é" is 2 bytes in UTF-8: 124 of them and one ASCII letter are 125 characters, 249 bytes.
    at_limit = "é" * 124 + "a"
    over_limit = "é" * 125
    assert (len(at_limit), len(at_limit.encode())) == (125, 249)
    assert (len(over_limit), len(over_limit.encode())) == (125, 250)

    assert check_listing(None, None, None, at_limit) == []
    (finding,) = check_listing(None, None, None, over_limit)
    assert (finding.rule, finding.severity) == ("backend_terms_too_long", "error")
    assert "250 bytes" in finding.message and "125 characters" in finding.message
    assert "249" in LISTING_RULES[finding.rule].source
    # ASCII: bytes and characters agree
    assert check_listing(None, None, None, "a" * 249) == []
    assert rules(check_listing(None, None, None, "a" * 250)) == ["backend_terms_too_long"]


def test_description_over_2000_characters_and_errors_come_first() -> None:
    findings = check_listing("Short!", None, "d" * 2001, None)
    assert rules(findings) == ["title_special_characters", "title_short", "description_too_long"]
    assert [f.severity for f in findings] == ["error", "warning", "warning"]


def test_every_rule_names_its_source_and_field() -> None:
    for code, rule in LISTING_RULES.items():
        assert rule.code == code
        assert rule.severity in {"error", "warning"}
        assert rule.field in {"title", "bullets", "description", "backend_terms"}
        assert rule.source


# --- coverage_of ------------------------------------------------------------------------------


def test_coverage_needs_every_word_of_the_term_in_one_field() -> None:
    title = "Acme Crème Brûlée Kitchen Torch, Matte Black"
    bullets = ["Refillable butane torch for searing", "Safety lock"]
    backend = "blow torch culinary chef"

    in_title = coverage_of("Kitchen Torches", title, bullets, backend)
    assert (in_title.in_title, in_title.in_bullets, in_title.in_backend_terms) == (
        True,
        False,
        False,
    )
    assert in_title.where == "title" and in_title.missing_words == ()

    # accents folded, word order free
    assert coverage_of("torch creme brulee", title, bullets, backend).where == "title"
    assert coverage_of("butane torch", title, bullets, backend).where == "bullets"
    assert coverage_of("culinary torch", title, bullets, backend).where == "backend terms"
    # each word somewhere, no field with all of them: Amazon indexes the fields together
    spread = coverage_of("chef kitchen torch", title, bullets, backend)
    assert spread.where == "across fields" and spread.missing_words == ()

    missing = coverage_of("heavy duty torch", title, bullets, backend)
    assert missing.where == "missing"
    assert missing.missing_words == ("heavy", "duty")
    # a part of a word is not the word
    assert coverage_of("kit", title, bullets, backend).where == "missing"


def test_coverage_ignores_function_words_unless_the_term_has_nothing_else() -> None:
    assert coverage_of("torch for the kitchen", "Kitchen Torch", [], "").where == "title"
    assert coverage_of("for", "Kitchen Torch", [], "").where == "missing"
    assert coverage_of("for", "Torch for Kitchen", [], "").where == "title"


def test_coverage_of_an_empty_listing_is_missing() -> None:
    result = coverage_of("kettle", None, None, None)
    assert result.where == "missing" and result.missing_words == ("kettle",)


# --- queries on PostgreSQL --------------------------------------------------------------------


@pytest.fixture
def engine(migrated_database_url: str) -> Engine:
    return get_engine(migrated_database_url)


@pytest.fixture
def store(engine: Engine) -> Store:
    return add_store(engine, slug="acme_us", name="Acme", country_codes=["US", "CA"])


def insert(engine: Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        for row in rows:  # one by one: the rows leave out different columns
            connection.execute(sa.insert(table).values(**row))


LISTED_TITLE = "Acme Gooseneck Kettle with Thermometer, 1.0 L"
CATALOG_TITLE = "Acme Gooseneck Kettle, Thermometer, 1.0 L, Matte Black"
BACKEND = "barista pour over café"  # é: 2 bytes


def insert_listing(engine: Engine, store: Store) -> None:
    insert(
        engine,
        listings,
        [
            {
                "store_id": store.id,
                "marketplace_id": US,
                "sku": "ACME-KTL-1",
                "asin": ASIN,
                "item_name": LISTED_TITLE,
                "item_description": "The listing's own description.",
                "price": Decimal("39.99"),
                "currency": "USD",
                "status": "Active",
                "fulfillment_channel": "AMAZON_NA",
                "backend_search_terms": BACKEND,
            },
            {  # no catalog row: bullets unknown
                "store_id": store.id,
                "marketplace_id": US,
                "sku": "ACME-OTH-1",
                "asin": OTHER_ASIN,
                "item_name": "Acme Tea Maker",
                "currency": "USD",
                "status": "Active",
            },
        ],
    )
    insert(
        engine,
        catalog_items,
        [
            {
                "store_id": store.id,
                "marketplace_id": US,
                "asin": ASIN,
                "item_name": CATALOG_TITLE,
                "brand": "Acme",
                "item_classification": "BASE_PRODUCT",
                "bullet_points": ["Precise pour spout", "Built-in thermometer", "Stay-cool handle"],
                "description": "d" * 120,
                "images_count": 6,
                "attributes": {
                    "generic_keyword": [
                        {"value": "ignored while the listing has terms", "marketplace_id": US}
                    ]
                },
            },
            {  # a parent without a listing is not for sale: left out
                "store_id": store.id,
                "marketplace_id": US,
                "asin": "B0TESTPAR0",
                "item_name": "Acme Kettles",
                "item_classification": "VARIATION_PARENT",
            },
            {  # another marketplace: left out of a US query
                "store_id": store.id,
                "marketplace_id": CA,
                "asin": ASIN,
                "item_name": "Acme Kettle (Canada)",
                "item_classification": "BASE_PRODUCT",
            },
        ],
    )


def test_listing_content_prefers_the_catalog_and_checks_each_row(
    engine: Engine, store: Store
) -> None:
    insert_listing(engine, store)
    content = listing_content(engine, store.id, (US,))

    assert content["asin"].to_list() == [ASIN, OTHER_ASIN]
    kettle, other = content.iter_rows(named=True)
    assert kettle["sku"] == "ACME-KTL-1"
    assert kettle["title"] == CATALOG_TITLE
    assert kettle["title_length"] == len(CATALOG_TITLE)
    assert kettle["bullets"] == ["Precise pour spout", "Built-in thermometer", "Stay-cool handle"]
    assert kettle["bullet_count"] == 3
    assert kettle["description_length"] == 120
    assert kettle["backend_terms"] == BACKEND
    assert kettle["backend_terms_bytes"] == len(BACKEND) + 1
    assert kettle["image_count"] == 6
    assert kettle["price"] == Decimal("39.99")
    assert [f["rule"] for f in kettle["findings"]] == ["title_short", "bullets_count"]
    assert (kettle["error_count"], kettle["warning_count"]) == (0, 2)

    # no catalog: the listing's own title; bullets, description and terms unknown, not zero
    assert other["title"] == "Acme Tea Maker"
    assert other["bullets"] is None and other["bullet_count"] is None
    assert other["backend_terms_bytes"] is None and other["image_count"] is None
    assert [f["rule"] for f in other["findings"]] == ["title_short"]

    assert listing_content(engine, store.id, (CA,))["title"].to_list() == ["Acme Kettle (Canada)"]
    assert listing_content(engine, store.id, ()).is_empty()


def test_backend_terms_fall_back_to_the_catalog_generic_keyword(
    engine: Engine, store: Store
) -> None:
    insert_listing(engine, store)
    with engine.begin() as connection:
        connection.execute(sa.update(listings).values(backend_search_terms=None))
    (terms,) = listing_content(engine, store.id, (US,)).filter(asin=ASIN)["backend_terms"]
    assert terms == "ignored while the listing has terms"


# Search-term rows: (day, ad group, term, clicks, cost, purchases_7d, sales_7d).
DAY = date(2026, 3, 10)
TERM_ROWS = [
    (DAY, "g1", "gooseneck kettle", 10, "5.00", 2, "60.00"),  # in the title
    (DAY + timedelta(1), "g1", "gooseneck kettle", 5, "2.50", 1, "30.00"),
    (DAY, "g1", "barista pour over", 8, "4.00", 1, "29.99"),  # backend terms only
    (DAY, "g1", "tea maker", 6, "3.30", 1, "25.00"),  # nowhere
    (DAY, "g2", "tea maker", 4, "2.00", 1, "20.00"),  # g2 advertises the ASIN too
    (DAY, "g1", "cheap kettle", 12, "6.00", 0, "0.00"),  # no orders
    (DAY, "g1", "*", 9, "4.00", 1, "19.99"),  # a placement, not a term
    (DAY, "g1", "b08hgt3mlq", 3, "1.50", 1, "22.00"),  # a product-targeting click
    (DAY, "g9", "gooseneck kettle", 7, "3.00", 2, "50.00"),  # another ASIN's ad group
    (date(2026, 2, 1), "g1", "gooseneck kettle", 7, "3.00", 2, "50.00"),  # outside the range
]
START, END = date(2026, 3, 1), date(2026, 3, 31)


def insert_ads(engine: Engine, store: Store) -> None:
    insert(
        engine,
        ads_profiles,
        [
            {"store_id": store.id, "profile_id": "p1", "marketplace_id": US, "currency": "USD"},
            {"store_id": store.id, "profile_id": "p2", "marketplace_id": CA, "currency": "CAD"},
        ],
    )
    ads = [
        ("p1", "g1", "ad1", ASIN),
        ("p1", "g1", "ad2", ASIN),  # a second ad (an MFN twin SKU) of the same ASIN
        ("p1", "g2", "ad3", ASIN),
        ("p1", "g2", "ad4", OTHER_ASIN),
        ("p1", "g9", "ad9", OTHER_ASIN),
    ]
    insert(
        engine,
        ads_advertised_product_daily,
        [
            {
                "store_id": store.id,
                "profile_id": profile,
                "report_date": DAY,
                "campaign_id": "c1",
                "ad_group_id": group,
                "ad_id": ad,
                "advertised_asin": asin,
                "currency": "USD",
            }
            for profile, group, ad, asin in ads
        ],
    )
    insert(
        engine,
        ads_search_term_daily,
        [
            {
                "store_id": store.id,
                "profile_id": "p1",
                "report_date": day,
                "campaign_id": "c1",
                "ad_group_id": group,
                "target_id": "t1",
                "search_term": term,
                "clicks": clicks,
                "impressions": clicks * 20,
                "cost": Decimal(cost),
                "currency": "USD",
                "purchases_7d": orders,
                "sales_7d": Decimal(sales),
            }
            for day, group, term, clicks, cost, orders, sales in TERM_ROWS
        ],
    )


def expected_terms(min_orders: int) -> dict[str, dict[str, Any]]:
    """Sums over the rows above that count for ASIN in the range, computed in Python."""
    totals: dict[str, dict[str, Any]] = {}
    for day, group, term, clicks, cost, orders, sales in TERM_ROWS:
        if group not in {"g1", "g2"} or not START <= day <= END or term == "*":
            continue
        if term.startswith("b0"):
            continue
        entry = totals.setdefault(
            term, {"clicks": 0, "spend": Decimal(0), "orders_7d": 0, "sales_7d": Decimal(0)}
        )
        entry["clicks"] += clicks
        entry["spend"] += Decimal(cost)
        entry["orders_7d"] += orders
        entry["sales_7d"] += Decimal(sales)
    for entry in totals.values():
        entry["acos_7d"] = (
            float((entry["spend"] / entry["sales_7d"]).quantize(Decimal("0.0001"), ROUND_HALF_UP))
            if entry["sales_7d"]
            else None
        )
    return {term: e for term, e in totals.items() if e["orders_7d"] >= min_orders}


def test_keyword_coverage_sums_the_asins_ad_groups_and_finds_each_term(
    engine: Engine, store: Store
) -> None:
    insert_listing(engine, store)
    insert_ads(engine, store)

    frame = keyword_coverage(engine, store.id, (US,), ASIN, START, END)

    expected = expected_terms(min_orders=1)
    assert set(expected) == {"gooseneck kettle", "barista pour over", "tea maker"}
    assert frame["search_term"].to_list() == ["gooseneck kettle", "tea maker", "barista pour over"]
    by_term = {row["search_term"]: row for row in frame.iter_rows(named=True)}
    for term, numbers in expected.items():
        row = by_term[term]
        assert {k: row[k] for k in numbers} == numbers, term
        assert row["currency"] == "USD"
    assert by_term["gooseneck kettle"]["spend"] == Decimal("7.50")
    assert by_term["gooseneck kettle"]["orders_7d"] == 3
    assert by_term["gooseneck kettle"]["acos_7d"] == 0.0833
    assert by_term["barista pour over"]["acos_7d"] == 0.1334
    assert by_term["tea maker"]["sales_7d"] == Decimal("45.00")

    assert (by_term["gooseneck kettle"]["coverage"], by_term["gooseneck kettle"]["in_title"]) == (
        "title",
        True,
    )
    barista = by_term["barista pour over"]
    assert barista["coverage"] == "backend terms"
    assert (barista["in_title"], barista["in_bullets"], barista["in_backend_terms"]) == (
        False,
        False,
        True,
    )
    assert by_term["tea maker"]["coverage"] == "missing"
    assert by_term["tea maker"]["missing_words"] == "tea, maker"
    # g1 advertises only the ASIN; g2 shares its figures with another ASIN
    assert by_term["gooseneck kettle"]["ad_group_asins"] == 1
    assert by_term["tea maker"]["ad_group_asins"] == 2

    with_zero = keyword_coverage(engine, store.id, (US,), ASIN, START, END, 0)
    assert set(with_zero["search_term"]) == set(expected_terms(min_orders=0))
    assert "cheap kettle" in set(with_zero["search_term"])
    assert keyword_coverage(engine, store.id, (US,), ASIN, START, END, 3)[
        "search_term"
    ].to_list() == ["gooseneck kettle"]
    # the CA profile has no rows; a range with no data is empty, not zeros
    assert keyword_coverage(engine, store.id, (CA,), ASIN, START, END).is_empty()
    assert keyword_coverage(engine, store.id, (US,), ASIN, date(2026, 4, 1), END).is_empty()


def test_keyword_coverage_without_listing_content_says_unknown(
    engine: Engine, store: Store
) -> None:
    insert_ads(engine, store)
    frame = keyword_coverage(engine, store.id, (US,), ASIN, START, END)
    assert frame.height == 3
    assert set(frame["coverage"]) == {NO_LISTING}
    assert frame["in_title"].null_count() == 3


RATINGS = [  # (asin, day, rating, review count); 2026-03-02 and 2026-03-09 are Mondays
    (ASIN, date(2026, 3, 2), "4.60", 100),
    (ASIN, date(2026, 3, 4), "4.50", 104),
    (ASIN, date(2026, 3, 8), "4.55", 110),
    (ASIN, date(2026, 3, 9), "4.40", 111),
    (ASIN, date(2026, 3, 12), "4.45", 118),
    (ASIN, date(2026, 4, 2), "4.50", 130),  # outside the range
    (OTHER_ASIN, date(2026, 3, 4), "3.90", 7),
]


def test_rating_trend_per_day_and_per_week(engine: Engine, store: Store) -> None:
    insert(
        engine,
        product_ratings,
        [
            {
                "store_id": store.id,
                "marketplace_id": US,
                "asin": asin,
                "snapshot_date": day,
                "rating": Decimal(rating),
                "review_count": reviews,
            }
            for asin, day, rating, reviews in RATINGS
        ],
    )
    start, end = date(2026, 3, 1), date(2026, 3, 31)

    daily = rating_trend(engine, store.id, (US,), ASIN, start, end)
    in_range = [r for r in RATINGS if r[0] == ASIN and start <= r[1] <= end]
    assert daily["snapshot_date"].to_list() == [r[1] for r in in_range]
    assert daily["period"].to_list() == [r[1] for r in in_range]
    assert daily["rating"].to_list() == [float(r[2]) for r in in_range]
    assert daily["review_count"].to_list() == [r[3] for r in in_range]
    assert daily["new_reviews"].to_list() == [None, 4, 6, 1, 7]

    weekly = rating_trend(engine, store.id, (US,), ASIN, start, end, "week")
    assert weekly["period"].to_list() == [date(2026, 3, 2), date(2026, 3, 9)]
    assert weekly["snapshot_date"].to_list() == [date(2026, 3, 8), date(2026, 3, 12)]
    assert weekly["rating"].to_list() == [4.55, 4.45]
    assert weekly["new_reviews"].to_list() == [None, 8]

    monthly = rating_trend(engine, store.id, (US,), ASIN, start, date(2026, 4, 30), "month")
    assert monthly["review_count"].to_list() == [118, 130]

    assert rating_trend(engine, store.id, (CA,), ASIN, start, end).is_empty()
    with pytest.raises(ConfigError, match="granularity"):
        rating_trend(engine, store.id, (US,), ASIN, start, end, "hour")


# --- the fixture files, imported the way a user would -------------------------------------------


def test_fixture_listings_catalog_and_ratings(migrated_database_url: str, tmp_path: Path) -> None:
    runtime = build_runtime(
        Settings(database_url=migrated_database_url, data_dir=tmp_path / "data")
    )
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    now = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)
    for name in ("merchant_listings.tsv", "catalog_items.json", "product_ratings.csv"):
        outcome = import_file(runtime.engine, runtime.archive, store, FIXTURES / name, now=now)
        assert outcome.status == "succeeded", name

    with (FIXTURES / "merchant_listings.tsv").open(encoding="utf-8") as handle:
        listed = list(csv.DictReader(handle, delimiter="\t"))
    items = {
        item["asin"]: item
        for item in json.loads((FIXTURES / "catalog_items.json").read_text())["items"]
    }

    def us_bullets(asin: str) -> list[str]:
        entries = items[asin].get("attributes", {}).get("bullet_point", [])
        return [e["value"] for e in entries if e.get("marketplace_id") in (None, US)]

    content = listing_content(runtime.engine, store.id, (US,))
    # one row per listed SKU; the two variation parents have no listing
    assert sorted(content["sku"]) == sorted(row["seller-sku"] for row in listed)
    for row in content.iter_rows(named=True):
        item = items[row["asin"]]
        summary = next(s for s in item["summaries"] if s["marketplaceId"] == US)
        assert row["title"] == summary["itemName"]
        assert row["bullets"] == us_bullets(row["asin"])
        assert row["bullet_count"] == len(us_bullets(row["asin"]))

    with (FIXTURES / "product_ratings.csv").open() as handle:
        ratings = [r for r in csv.DictReader(handle) if r["asin"] == "B0FTK2M3L8"]
    trend = rating_trend(
        runtime.engine, store.id, (US,), "B0FTK2M3L8", date(2026, 3, 1), date(2026, 3, 31)
    )
    assert trend["rating"].to_list() == [float(r["rating"]) for r in ratings]
    assert trend["review_count"].to_list() == [int(r["review_count"]) for r in ratings]
    assert trend["new_reviews"].to_list() == [
        None,
        int(ratings[1]["review_count"]) - int(ratings[0]["review_count"]),
    ]
