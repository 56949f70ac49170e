"""The listing score (0-100), the same for a current listing and a proposed one.

It is the sum of these parts, each earned as described (SCORE_WEIGHTS, SCORE_RULES):
- title 25: full when no rule finding, half with warnings only (e.g. under 80 characters),
  0 with an error (too long, banned characters, a word 3 times) or no title;
- bullets 20: 4 per bullet point used (5 at most), 0 when any breaks an error rule;
- description 10: full when present within 2,000 characters, half when longer, 0 when empty;
- backend terms 15: full when present within 249 UTF-8 bytes, 0 when empty or over;
- coverage 30: the share of the converting search terms' 7-day orders whose terms the
  listing holds (coverage_of: "missing" counts as not held).
A part whose data is unknown (not synced; no converting terms) is left out and the score is
scaled over the parts that are known, so missing data never reads as a bad listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amzinsight.rules.listings import check_listing, coverage_of

SCORE_WEIGHTS = {"title": 25, "bullets": 20, "description": 10, "backend_terms": 15, "coverage": 30}
SCORE_RULES = {
    "title": "full without findings, half with warnings only, 0 with an error or no title",
    "bullets": "4 points per bullet point used (5 at most), 0 when one breaks an error rule",
    "description": "full within 2,000 characters, half when longer, 0 when empty",
    "backend_terms": "full when present within 249 UTF-8 bytes, 0 when empty or over",
    "coverage": "share of the converting terms' 7-day orders whose words the listing holds",
}


@dataclass(frozen=True)
class ListingScore:
    total: float | None  # 0-100 over the known parts; None when nothing is known
    parts: dict[str, float | None]  # points per part; None = unknown


def listing_score(
    title: str | None,
    bullets: Sequence[str] | None,
    description: str | None,
    backend_terms: str | None,
    converting_terms: Sequence[tuple[str, int]],
) -> ListingScore:
    """The score of SCORE_WEIGHTS for a listing (current or proposed) and (term, orders) pairs."""
    findings = check_listing(title, bullets, description, backend_terms)

    def severities(part: str) -> set[str]:
        return {finding.severity for finding in findings if finding.field == part}

    parts: dict[str, float | None] = dict.fromkeys(SCORE_WEIGHTS)
    if title is not None:
        seen = severities("title")
        factor = 0.0 if "error" in seen or not title.strip() else 0.5 if seen else 1.0
        parts["title"] = SCORE_WEIGHTS["title"] * factor
    if bullets is not None:
        used = min(sum(1 for bullet in bullets if bullet.strip()), 5)
        broken = "error" in severities("bullets")
        parts["bullets"] = 0.0 if broken else SCORE_WEIGHTS["bullets"] * used / 5
    if description is not None:
        factor = 0.0 if not description.strip() else 0.5 if severities("description") else 1.0
        parts["description"] = SCORE_WEIGHTS["description"] * factor
    if backend_terms is not None:
        bad = not backend_terms.strip() or severities("backend_terms")
        parts["backend_terms"] = 0.0 if bad else float(SCORE_WEIGHTS["backend_terms"])
    orders = sum(count for _, count in converting_terms)
    if orders and (title is not None or bullets is not None or backend_terms is not None):
        held = sum(
            count
            for term, count in converting_terms
            if coverage_of(term, title, bullets, backend_terms).where != "missing"
        )
        parts["coverage"] = SCORE_WEIGHTS["coverage"] * held / orders
    known = [name for name, points in parts.items() if points is not None]
    if not known:
        return ListingScore(None, parts)
    earned = sum(points for points in parts.values() if points is not None)
    possible = sum(SCORE_WEIGHTS[name] for name in known)
    return ListingScore(round(earned / possible * 100, 1), parts)
