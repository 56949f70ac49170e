"""What the assistant knows about one ASIN, and its deterministic listing score.

The context is built from the same analytics the Listings page shows (listing_content,
keyword_coverage, rating_trend), so the model and the person see the same numbers. It holds no
store, seller or buyer data by construction; the anonymiser still checks every request. The
score is `amzinsight.rules.listing_score`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.listings import keyword_coverage, listing_content, rating_trend
from amzinsight.db.tables import catalog_items
from amzinsight.rules.listing_score import SCORE_WEIGHTS, ListingScore, listing_score
from amzinsight.rules.listings import Finding, check_listing


@dataclass(frozen=True)
class ConvertingTerm:
    term: str
    clicks: int
    orders_7d: int
    spend: Decimal | None
    sales_7d: Decimal | None
    acos_7d: float | None
    coverage: str  # title, bullets, backend terms, across fields, missing or unknown


@dataclass(frozen=True)
class AsinContext:
    """One ASIN's listing and performance in one marketplace, as the assistant sees it."""

    asin: str
    marketplace_id: str
    start: date
    end: date
    title: str | None
    bullets: list[str] | None
    description: str | None
    backend_terms: str | None
    brand: str | None
    category: str | None
    price: Decimal | None
    currency: str | None
    ratings: list[dict[str, Any]] = field(default_factory=list)
    converting_terms: list[ConvertingTerm] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    score: ListingScore = field(default_factory=lambda: ListingScore(None, {}))

    @property
    def has_listing(self) -> bool:
        return any(v is not None for v in (self.title, self.bullets, self.backend_terms))

    @property
    def missing_terms(self) -> list[ConvertingTerm]:
        """Converting terms whose words are not all in the listing."""
        return [term for term in self.converting_terms if term.coverage == "missing"]

    def term_orders(self) -> list[tuple[str, int]]:
        return [(term.term, term.orders_7d) for term in self.converting_terms]

    def for_model(self) -> dict[str, Any]:
        """The context as JSON-ready data (money as text with its currency)."""
        return {
            "asin": self.asin,
            "period": f"{self.start.isoformat()} to {self.end.isoformat()}",
            "listing": {
                "title": self.title,
                "bullets": self.bullets,
                "description": self.description,
                "backend_search_terms": self.backend_terms,
                "brand": self.brand,
                "category": self.category,
                "price": None if self.price is None else f"{self.price} {self.currency}",
            },
            "rating_trend": [
                {
                    "period": str(row["period"]),
                    "rating": row["rating"],
                    "review_count": row["review_count"],
                }
                for row in self.ratings
            ],
            "converting_search_terms": [_term_for_model(term) for term in self.converting_terms],
            "converting_terms_missing_from_listing": [term.term for term in self.missing_terms],
            "rule_findings": [asdict(finding) for finding in self.findings],
            "listing_score": {
                "total": self.score.total,
                "parts": self.score.parts,
                "weights": SCORE_WEIGHTS,
            },
        }


def _term_for_model(term: ConvertingTerm) -> dict[str, Any]:
    return {
        "term": term.term,
        "clicks": term.clicks,
        "orders_7d": term.orders_7d,
        "spend": None if term.spend is None else str(term.spend),
        "sales_7d": None if term.sales_7d is None else str(term.sales_7d),
        "acos_7d": term.acos_7d,
        "in_listing": term.coverage,
    }


def listed_asins(engine: Engine, store_id: int, marketplace_ids: tuple[str, ...]) -> pl.DataFrame:
    """ASIN and title of every listing in the marketplaces, one row per ASIN (the picker)."""
    content = listing_content(engine, store_id, marketplace_ids)
    return (
        content.sort("asin", pl.col("title").is_null())
        .unique("asin", keep="first", maintain_order=True)
        .select("asin", "title")
    )


def build_context(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    asin: str,
    start: date,
    end: date,
) -> AsinContext:
    """The listing (first SKU with content), rating trend, converting terms and score of an ASIN."""
    content = listing_content(engine, store_id, marketplace_ids).filter(pl.col("asin") == asin)
    rows = content.sort(pl.col("title").is_null(), "sku", nulls_last=True).to_dicts()
    row = rows[0] if rows else {}
    marketplace_id = row.get("marketplace_id") or (marketplace_ids[0] if marketplace_ids else "")
    ratings = rating_trend(engine, store_id, marketplace_ids, asin, start, end, "week")
    terms = keyword_coverage(engine, store_id, marketplace_ids, asin, start, end)
    converting = [
        ConvertingTerm(
            term=term["search_term"],
            clicks=term["clicks"] or 0,
            orders_7d=term["orders_7d"] or 0,
            spend=term["spend"],
            sales_7d=term["sales_7d"],
            acos_7d=term["acos_7d"],
            coverage=term["coverage"],
        )
        for term in terms.to_dicts()
    ]
    title, bullets = row.get("title"), row.get("bullets")
    description = _description(engine, store_id, marketplace_id, asin, row)
    backend = row.get("backend_terms")
    orders = [(term.term, term.orders_7d) for term in converting]
    return AsinContext(
        asin=asin,
        marketplace_id=marketplace_id,
        start=start,
        end=end,
        title=title,
        bullets=bullets,
        description=description,
        backend_terms=backend,
        brand=row.get("brand"),
        category=_category(engine, store_id, marketplace_id, asin),
        price=row.get("price"),
        currency=row.get("currency"),
        ratings=ratings.to_dicts(),
        converting_terms=converting,
        findings=check_listing(title, bullets, description, backend),
        score=listing_score(title, bullets, description, backend, orders),
    )


def _description(
    engine: Engine, store_id: int, marketplace_id: str, asin: str, row: dict[str, Any]
) -> str | None:
    """listing_content keeps only the description's length; the text is the catalog's first,
    else the listing's (the same order listing_content uses)."""
    if row.get("description_length") is None:
        return None
    query = sa.text(
        """
        SELECT coalesce(
            (SELECT description FROM catalog_items
             WHERE store_id = :store_id AND marketplace_id = :marketplace_id AND asin = :asin),
            (SELECT item_description FROM listings
             WHERE store_id = :store_id AND marketplace_id = :marketplace_id AND asin = :asin
               AND item_description IS NOT NULL
             ORDER BY sku LIMIT 1))
        """
    )
    with engine.connect() as connection:
        value = connection.execute(
            query, {"store_id": store_id, "marketplace_id": marketplace_id, "asin": asin}
        ).scalar()
    return None if value is None else str(value)


def _category(engine: Engine, store_id: int, marketplace_id: str, asin: str) -> str | None:
    c = catalog_items
    query = sa.select(sa.func.coalesce(c.c.category, c.c.product_type)).where(
        c.c.store_id == store_id, c.c.marketplace_id == marketplace_id, c.c.asin == asin
    )
    with engine.connect() as connection:
        value = connection.execute(query).scalar()
    return None if value is None else str(value)
