"""What the Listings page shows: each listing's content checked against Amazon's rules, an ASIN's
rating trend, and which converting ad search terms its listing does not contain.

The rule checker (`check_listing`) and the term matcher (`coverage_of`) are in
`amzinsight.rules.listings`; this module reads the content and the search terms they run on.

Where the content comes from (one row per marketplace, ASIN and SKU):
- title, bullets and description: what the detail page shows, i.e. the Catalog sync
  (`catalog_items`) first, the seller's listing text (`listings`) when the catalog has none;
- backend search terms: `listings.backend_search_terms` (kept by a person, never blanked by a
  sync) first, else the catalog's `generic_keyword` attribute for the marketplace.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.rules.listings import Coverage, backend_terms_bytes, check_listing, coverage_of
from amzinsight.rules.periods import check_granularity

# --- queries --------------------------------------------------------------------------------------

FINDING_DTYPE = pl.Struct(
    {
        "rule": pl.String(),
        "severity": pl.String(),
        "field": pl.String(),
        "message": pl.String(),
        "source": pl.String(),
    }
)
CONTENT_SCHEMA = pl.Schema(
    {
        "marketplace_id": pl.String(),
        "asin": pl.String(),
        "sku": pl.String(),
        "status": pl.String(),
        "fulfillment_channel": pl.String(),
        "brand": pl.String(),
        "item_classification": pl.String(),
        "title": pl.String(),
        "title_length": pl.Int64(),
        "bullets": pl.List(pl.String()),
        "bullet_count": pl.Int64(),
        "description_length": pl.Int64(),
        "backend_terms": pl.String(),
        "backend_terms_bytes": pl.Int64(),
        "image_count": pl.Int64(),
        "main_image_url": pl.String(),
        "price": pl.Decimal(14, 2),
        "currency": pl.String(),
        "error_count": pl.Int64(),
        "warning_count": pl.Int64(),
        "findings": pl.List(FINDING_DTYPE),
    }
)

CONTENT_SQL = sa.text(
    """
    WITH listed AS (
        SELECT marketplace_id, sku, asin, item_name, item_description, bullet_points,
               backend_search_terms, status, fulfillment_channel, price, currency, image_url
        FROM listings
        WHERE store_id = :store_id AND marketplace_id IN :marketplace_ids
          AND (CAST(:asin AS text) IS NULL OR asin = :asin)
    ),
    catalogued AS (
        SELECT c.marketplace_id, c.asin, c.item_name, c.brand, c.item_classification,
               c.bullet_points, c.description, c.images_count, c.main_image_url,
               (SELECT string_agg(keyword ->> 'value', ' ')
                FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(c.attributes -> 'generic_keyword') = 'array'
                         THEN c.attributes -> 'generic_keyword' ELSE '[]'::jsonb END
                ) AS keyword
                WHERE coalesce(keyword ->> 'marketplace_id', c.marketplace_id) = c.marketplace_id
               ) AS generic_keyword
        FROM catalog_items c
        WHERE c.store_id = :store_id AND c.marketplace_id IN :marketplace_ids
          AND (CAST(:asin AS text) IS NULL OR c.asin = :asin)
    )
    SELECT coalesce(l.marketplace_id, c.marketplace_id) AS marketplace_id,
           coalesce(l.asin, c.asin) AS asin,
           l.sku, l.status, l.fulfillment_channel, c.brand, c.item_classification,
           coalesce(c.item_name, l.item_name) AS title,
           coalesce(c.bullet_points, l.bullet_points) AS bullets,
           coalesce(c.description, l.item_description) AS description,
           coalesce(l.backend_search_terms, c.generic_keyword) AS backend_terms,
           c.images_count AS image_count,
           coalesce(c.main_image_url, l.image_url) AS main_image_url,
           l.price, l.currency
    FROM listed l
    FULL JOIN catalogued c ON c.marketplace_id = l.marketplace_id AND c.asin = l.asin
    -- a variation parent without a listing of its own is not for sale: nothing to check
    WHERE l.sku IS NOT NULL OR c.item_classification IS DISTINCT FROM 'VARIATION_PARENT'
    ORDER BY 2, 1, 3
    """
).bindparams(sa.bindparam("marketplace_ids", expanding=True))


def listing_content(
    engine: Engine, store_id: int, marketplace_ids: tuple[str, ...]
) -> pl.DataFrame:
    """One row per marketplace, ASIN and SKU: the content, its sizes, and its rule findings."""
    return _content(engine, store_id, marketplace_ids, None)


def _content(
    engine: Engine, store_id: int, marketplace_ids: tuple[str, ...], asin: str | None
) -> pl.DataFrame:
    if not marketplace_ids:
        return pl.DataFrame(schema=CONTENT_SCHEMA)
    with engine.connect() as connection:
        rows = connection.execute(
            CONTENT_SQL,
            {"store_id": store_id, "marketplace_ids": list(marketplace_ids), "asin": asin},
        ).mappings()
        return pl.DataFrame(
            [_content_row(row) for row in rows], schema=CONTENT_SCHEMA, orient="row"
        )


def _content_row(row: Any) -> dict[str, Any]:
    bullets = _bullet_list(row["bullets"])
    description, backend_terms, title = row["description"], row["backend_terms"], row["title"]
    findings = check_listing(title, bullets, description, backend_terms)
    return {
        **{name: row[name] for name in CONTENT_SCHEMA if name in row},
        "title_length": None if title is None else len(title),
        "bullets": bullets,
        "bullet_count": None if bullets is None else len(bullets),
        "description_length": None if description is None else len(description),
        "backend_terms_bytes": None
        if backend_terms is None
        else backend_terms_bytes(backend_terms),
        "error_count": sum(finding.severity == "error" for finding in findings),
        "warning_count": sum(finding.severity == "warning" for finding in findings),
        "findings": [asdict(finding) for finding in findings],
    }


def _bullet_list(value: Any) -> list[str] | None:
    """JSONB bullets as strings; None when unknown (not a list)."""
    if not isinstance(value, list):
        return None
    return [str(bullet) for bullet in value if bullet is not None]


RATING_SCHEMA = pl.Schema(
    {
        "marketplace_id": pl.String(),
        "period": pl.Date(),
        "snapshot_date": pl.Date(),
        "rating": pl.Float64(),
        "review_count": pl.Int64(),
        "new_reviews": pl.Int64(),
    }
)

RATING_SQL = sa.text(
    """
    WITH last_in_period AS (
        SELECT DISTINCT ON (marketplace_id, period)
               marketplace_id, period, snapshot_date, rating, review_count
        FROM (
            SELECT marketplace_id,
                   CAST(date_trunc(:granularity, CAST(snapshot_date AS timestamp)) AS date)
                       AS period,
                   snapshot_date, rating, review_count
            FROM product_ratings
            WHERE store_id = :store_id AND marketplace_id IN :marketplace_ids AND asin = :asin
              AND snapshot_date BETWEEN :start AND :end
        ) AS snapshots
        ORDER BY marketplace_id, period, snapshot_date DESC
    )
    SELECT marketplace_id, period, snapshot_date, CAST(rating AS float8) AS rating, review_count,
           review_count - lag(review_count) OVER (PARTITION BY marketplace_id ORDER BY period)
               AS new_reviews
    FROM last_in_period
    ORDER BY marketplace_id, period
    """
).bindparams(sa.bindparam("marketplace_ids", expanding=True))


def rating_trend(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    asin: str,
    start: date,
    end: date,
    granularity: str = "day",
) -> pl.DataFrame:
    """Star rating and review count per day, week or month: the period's last snapshot.

    new_reviews is the change in review count since the previous period shown (null for the
    first: the range holds nothing to compare it with).
    """
    check_granularity(granularity)
    if not marketplace_ids:
        return pl.DataFrame(schema=RATING_SCHEMA)
    with engine.connect() as connection:
        rows = connection.execute(
            RATING_SQL,
            {
                "store_id": store_id,
                "marketplace_ids": list(marketplace_ids),
                "asin": asin,
                "start": start,
                "end": end,
                "granularity": granularity,
            },
        ).mappings()
        return pl.DataFrame([dict(row) for row in rows], schema=RATING_SCHEMA, orient="row")


COVERAGE_SCHEMA = pl.Schema(
    {
        "search_term": pl.String(),
        "coverage": pl.String(),
        "missing_words": pl.String(),
        "in_title": pl.Boolean(),
        "in_bullets": pl.Boolean(),
        "in_backend_terms": pl.Boolean(),
        "impressions": pl.Int64(),
        "clicks": pl.Int64(),
        "spend": pl.Decimal(18, 2),
        "orders_7d": pl.Int64(),
        "sales_7d": pl.Decimal(18, 2),
        "acos_7d": pl.Float64(),
        "currency": pl.String(),
        "ad_group_asins": pl.Int64(),
    }
)
NO_LISTING = "unknown: no listing content"

# Search terms are reported per ad group; an ad group's product ads say which ASINs it
# advertises, so a term counts for the ASIN when it came from one of that ASIN's ad groups.
# ad_group_asins tells how many ASINs those ad groups advertise: above 1, the term's clicks and
# orders are the ad group's, shared with the other ASINs (Amazon does not split them).
COVERAGE_SQL = sa.text(
    r"""
    WITH profiles AS (
        SELECT profile_id FROM ads_profiles
        WHERE store_id = :store_id AND marketplace_id IN :marketplace_ids
    ),
    asin_ad_groups AS (
        SELECT DISTINCT profile_id, ad_group_id
        FROM ads_advertised_product_daily
        WHERE store_id = :store_id AND advertised_asin = :asin
          AND report_date BETWEEN :start AND :end
          AND profile_id IN (SELECT profile_id FROM profiles)
    ),
    ad_group_asins AS (
        SELECT a.profile_id, a.ad_group_id, count(DISTINCT a.advertised_asin) AS asins
        FROM ads_advertised_product_daily a
        JOIN asin_ad_groups g ON g.profile_id = a.profile_id AND g.ad_group_id = a.ad_group_id
        WHERE a.store_id = :store_id AND a.report_date BETWEEN :start AND :end
        GROUP BY a.profile_id, a.ad_group_id
    )
    SELECT lower(t.search_term) AS search_term, t.currency,
           sum(t.impressions) AS impressions, sum(t.clicks) AS clicks, sum(t.cost) AS spend,
           coalesce(sum(t.purchases_7d), 0) AS orders_7d, sum(t.sales_7d) AS sales_7d,
           CAST(round(sum(t.cost) / nullif(sum(t.sales_7d), 0), 4) AS float8) AS acos_7d,
           max(g.asins) AS ad_group_asins
    FROM ads_search_term_daily t
    JOIN ad_group_asins g ON g.profile_id = t.profile_id AND g.ad_group_id = t.ad_group_id
    WHERE t.store_id = :store_id AND t.report_date BETWEEN :start AND :end
      -- '*' is a placement without a term; an ASIN is a product-targeting click: neither is
      -- words a listing could hold
      AND t.search_term <> '*' AND t.search_term !~* '^b0[0-9a-z]{8}$'
    GROUP BY lower(t.search_term), t.currency
    HAVING coalesce(sum(t.purchases_7d), 0) >= :min_orders
    ORDER BY orders_7d DESC, sales_7d DESC NULLS LAST, search_term
    """
).bindparams(sa.bindparam("marketplace_ids", expanding=True))


def keyword_coverage(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    asin: str,
    start: date,
    end: date,
    min_orders: int = 1,
) -> pl.DataFrame:
    """Search terms with at least min_orders 7-day orders from the ASIN's ad groups, and where
    the ASIN's listing holds each (coverage_of; over all its SKUs in the marketplaces).

    ACoS is spend / 7-day sales, the attribution seller Sponsored Products report.
    """
    if not marketplace_ids:
        return pl.DataFrame(schema=COVERAGE_SCHEMA)
    with engine.connect() as connection:
        terms = connection.execute(
            COVERAGE_SQL,
            {
                "store_id": store_id,
                "marketplace_ids": list(marketplace_ids),
                "asin": asin,
                "start": start,
                "end": end,
                "min_orders": min_orders,
            },
        ).mappings()
        term_rows = [dict(row) for row in terms]
    content = _content(engine, store_id, marketplace_ids, asin)
    rows = []
    for row in term_rows:
        if content.is_empty():
            located: dict[str, Any] = {"coverage": NO_LISTING}
        else:
            coverage = _coverage_in_any(row["search_term"], content)
            located = {
                "coverage": coverage.where,
                "missing_words": ", ".join(coverage.missing_words) or None,
                "in_title": coverage.in_title,
                "in_bullets": coverage.in_bullets,
                "in_backend_terms": coverage.in_backend_terms,
            }
        rows.append({**row, **located})
    return pl.DataFrame(rows, schema=COVERAGE_SCHEMA, orient="row")


def _coverage_in_any(term: str, content: pl.DataFrame) -> Coverage:
    """The term against each SKU's content of the ASIN: a field holds it if any SKU's does."""
    found = [
        coverage_of(term, row["title"], row["bullets"], row["backend_terms"])
        for row in content.iter_rows(named=True)
    ]
    missing = set.intersection(*(set(c.missing_words) for c in found))
    return Coverage(
        in_title=any(c.in_title for c in found),
        in_bullets=any(c.in_bullets for c in found),
        in_backend_terms=any(c.in_backend_terms for c in found),
        missing_words=tuple(word for word in found[0].missing_words if word in missing),
    )
