"""A proposal from the model: parsed from its ```json block, repaired where a rule allows it,
checked against Amazon's rules, compared with the current listing, and (its keywords) sent to the
Advertising page as recommendations to approve. Nothing here writes to Amazon.

Repairs (each reported in words): banned characters and emoji removed from the title, bullets
and backend terms; duplicate words removed from the backend terms (Amazon indexes a word once);
backend terms cut to 249 UTF-8 bytes at a word boundary, never inside a multi-byte character.
Everything else a rule finds (a title over 200 characters, a word three times, a bullet over 500
characters, more than five bullets) is flagged, not rewritten: cutting those changes meaning.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.assistant.context import AsinContext
from amzinsight.bidding.evidence import Action, Evidence, NegateIn
from amzinsight.bidding.store import AssistantProposal, save_assistant_proposals
from amzinsight.errors import AmzInsightError, ConfigError
from amzinsight.rules.listing_score import ListingScore, listing_score
from amzinsight.rules.listings import (
    LISTING_RULES,
    TITLE_SPECIAL_CHARACTERS,
    Finding,
    backend_terms_bytes,
    check_listing,
    coverage_of,
    is_emoji,
)

BACKEND_LIMIT = LISTING_RULES["backend_terms_too_long"].limit or 249
# Punctuation Amazon's search ignores in backend terms; it only costs bytes.
BACKEND_PUNCTUATION = ",;|"
JSON_BLOCK = re.compile(r"```(?:json)?\s*\n(.*?)(?:\n```|\Z)", re.DOTALL)
ASSISTANT_SOURCE = "listing assistant"


class ProposalError(AmzInsightError):
    """The model's proposal is not the JSON it was asked for."""


@dataclass(frozen=True)
class KeywordIdea:
    term: str
    reason: str


@dataclass(frozen=True)
class Proposal:
    title: str | None
    bullets: tuple[str, ...] | None
    description: str | None
    backend_terms: str | None
    exact_keywords: tuple[KeywordIdea, ...] = ()
    negative_keywords: tuple[KeywordIdea, ...] = ()
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["bullets"] = None if self.bullets is None else list(self.bullets)
        return data


def extract_proposal(reply: str) -> Proposal | None:
    """The proposal in a reply's ```json block; None when the reply has no block."""
    match = JSON_BLOCK.search(reply)
    if match is None:
        return None
    try:
        data = json.loads(match.group(1))
    except json.JSONDecodeError as error:
        raise ProposalError(
            f"The model's proposal is not valid JSON ({error.msg}, line {error.lineno}); "
            "ask it to send the proposal again."
        ) from None
    return parse_proposal(data)


def parse_proposal(data: Any) -> Proposal:
    """A Proposal from decoded JSON, or ProposalError naming the field of the wrong shape."""
    if not isinstance(data, dict):
        raise ProposalError("The model's proposal is not a JSON object; ask it again.")

    def text(name: str) -> str | None:
        value = data.get(name)
        if value is None or isinstance(value, str):
            return value
        raise ProposalError(f"The proposal's {name} is not text; ask the model again.")

    def texts(name: str) -> tuple[str, ...] | None:
        value = data.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise ProposalError(f"The proposal's {name} is not a list of texts; ask the model again.")

    def ideas(name: str) -> tuple[KeywordIdea, ...]:
        value = data.get(name) or []
        if not isinstance(value, list):
            raise ProposalError(f"The proposal's {name} is not a list; ask the model again.")
        found = []
        for item in value:
            if isinstance(item, str):
                item = {"term": item}
            if not isinstance(item, dict) or not isinstance(item.get("term"), str):
                raise ProposalError(f"An entry of {name} has no term; ask the model again.")
            found.append(KeywordIdea(item["term"].strip().lower(), str(item.get("reason") or "")))
        return tuple(idea for idea in found if idea.term)

    return Proposal(
        title=text("title"),
        bullets=texts("bullets"),
        description=text("description"),
        backend_terms=text("backend_terms"),
        exact_keywords=ideas("exact_keywords"),
        negative_keywords=ideas("negative_keywords"),
        reasons=texts("reasons") or (),
    )


# --- repairs --------------------------------------------------------------------------------


def trim_backend_terms(terms: str, limit: int = BACKEND_LIMIT) -> str:
    """At most `limit` UTF-8 bytes, cut after a whole word (never inside a character)."""
    encoded = terms.encode("utf-8")
    if len(encoded) <= limit:
        return terms
    head = encoded[: limit + 1]  # one byte more: a space right after the limit keeps the word
    cut = head.rfind(b" ")
    if cut <= 0:  # one word longer than the limit: cut at the last whole character
        return encoded[:limit].decode("utf-8", errors="ignore")
    return encoded[:cut].decode("utf-8").rstrip()


def _without_banned(text: str, extra: str = "") -> str:
    kept = "".join(c for c in text if c not in TITLE_SPECIAL_CHARACTERS + extra and not is_emoji(c))
    return re.sub(r"[ \t]{2,}", " ", kept).strip()


def _distinct_words(terms: str) -> str:
    seen: set[str] = set()
    words = []
    for word in terms.split():
        if word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    return " ".join(words)


def repair_proposal(proposal: Proposal) -> tuple[Proposal, list[str]]:
    """The proposal with what can be repaired repaired, and a sentence per repair."""
    repairs: list[str] = []
    title = proposal.title
    if title is not None and _without_banned(title) != title.strip():
        title = _without_banned(title)
        repairs.append("Removed characters Amazon rejects in titles (or emoji) from the title.")
    bullets = proposal.bullets
    if bullets is not None:
        cleaned = tuple(_without_banned(bullet, "") for bullet in bullets)
        if cleaned != tuple(bullet.strip() for bullet in bullets):
            repairs.append("Removed emoji and rejected characters from the bullet points.")
        bullets = cleaned
    backend = proposal.backend_terms
    if backend is not None:
        cleaned_terms = _without_banned(backend, BACKEND_PUNCTUATION)
        if cleaned_terms != " ".join(backend.split()):
            repairs.append("Removed punctuation and rejected characters from the backend terms.")
        distinct = _distinct_words(cleaned_terms)
        if distinct != " ".join(cleaned_terms.split()):
            repairs.append("Removed repeated words from the backend terms (each counts once).")
        trimmed = trim_backend_terms(distinct)
        if trimmed != distinct:
            repairs.append(
                f"Cut the backend terms from {backend_terms_bytes(distinct)} to "
                f"{backend_terms_bytes(trimmed)} bytes (limit {BACKEND_LIMIT}) at a word boundary."
            )
        backend = trimmed
    return replace(proposal, title=title, bullets=bullets, backend_terms=backend), repairs


# --- review ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalReview:
    proposal: Proposal  # repaired
    repairs: list[str]
    findings: list[Finding]  # what is still flagged after the repairs
    diff: list[dict[str, Any]]  # field, current, proposed, changed
    coverage: list[dict[str, Any]]  # term, orders_7d, before, after
    score_before: ListingScore
    score_after: ListingScore
    keyword_notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "proposal": self.proposal.to_dict(),
                "repairs": self.repairs,
                "findings": [asdict(finding) for finding in self.findings],
                "score_before": self.score_before.total,
                "score_after": self.score_after.total,
                "coverage": self.coverage,
            },
            indent=2,
            ensure_ascii=False,
        )

    def to_text(self) -> str:
        p = self.proposal
        lines = [f"Title: {p.title or ''}", "", "Bullet points:"]
        lines += [f"- {bullet}" for bullet in p.bullets or ()]
        lines += ["", "Description:", p.description or "", ""]
        lines += [f"Backend search terms: {p.backend_terms or ''}", ""]
        lines += [f"Exact keyword: {k.term} ({k.reason})" for k in p.exact_keywords]
        lines += [f"Negative keyword: {k.term} ({k.reason})" for k in p.negative_keywords]
        lines += ["", "Reasons:"] + [f"- {reason}" for reason in p.reasons]
        return "\n".join(lines) + "\n"


def review_proposal(proposal: Proposal, context: AsinContext) -> ProposalReview:
    """Repair, check, diff against the current listing, and score before and after.

    A field the proposal leaves out (null) keeps the current content in the comparison.
    """
    repaired, repairs = repair_proposal(proposal)
    title = repaired.title if repaired.title is not None else context.title
    bullets = list(repaired.bullets) if repaired.bullets is not None else context.bullets
    description = repaired.description if repaired.description is not None else context.description
    backend = (
        repaired.backend_terms if repaired.backend_terms is not None else context.backend_terms
    )
    current_bullets = context.bullets or []
    diff = [
        _diff_row("title", context.title, title),
        *(
            _diff_row(
                f"bullet {n + 1}",
                current_bullets[n] if n < len(current_bullets) else None,
                (bullets or [])[n] if n < len(bullets or []) else None,
            )
            for n in range(max(len(current_bullets), len(bullets or [])))
        ),
        _diff_row("description", context.description, description),
        _diff_row("backend terms", context.backend_terms, backend),
    ]
    coverage = [
        {
            "term": term.term,
            "orders_7d": term.orders_7d,
            "before": term.coverage,
            "after": coverage_of(term.term, title, bullets, backend).where,
        }
        for term in context.converting_terms
    ]
    return ProposalReview(
        proposal=repaired,
        repairs=repairs,
        findings=check_listing(title, bullets, description, backend),
        diff=diff,
        coverage=coverage,
        score_before=context.score,
        score_after=listing_score(title, bullets, description, backend, context.term_orders()),
    )


def _diff_row(name: str, current: str | None, proposed: str | None) -> dict[str, Any]:
    return {
        "field": name,
        "current": current,
        "proposed": proposed,
        "changed": (current or "") != (proposed or ""),
    }


# --- keyword proposals to the Advertising page ----------------------------------------------

AD_GROUPS_SQL = sa.text(
    """
    SELECT a.profile_id, a.campaign_id, a.ad_group_id,
           max(a.campaign_name) AS campaign_name, max(a.ad_group_name) AS ad_group_name,
           max(c.targeting_type) AS targeting_type, max(g.default_bid) AS default_bid,
           max(a.currency) AS currency, count(*) AS ad_days
    FROM ads_advertised_product_daily a
    JOIN ads_profiles p ON p.store_id = a.store_id AND p.profile_id = a.profile_id
    LEFT JOIN ads_campaigns c ON c.store_id = a.store_id AND c.profile_id = a.profile_id
         AND c.campaign_id = a.campaign_id
    LEFT JOIN ads_ad_groups g ON g.store_id = a.store_id AND g.profile_id = a.profile_id
         AND g.ad_group_id = a.ad_group_id
    WHERE a.store_id = :store_id AND a.advertised_asin = :asin
      AND p.marketplace_id IN :marketplace_ids AND a.report_date BETWEEN :start AND :end
    GROUP BY a.profile_id, a.campaign_id, a.ad_group_id
    ORDER BY (max(c.targeting_type) = 'MANUAL') DESC NULLS LAST, count(*) DESC, a.ad_group_id
    """
).bindparams(sa.bindparam("marketplace_ids", expanding=True))


def send_keyword_proposals(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    asin: str,
    proposal: Proposal,
    start: date,
    end: date,
    today: date,
    actor: str,
) -> int:
    """Save the proposal's keywords as `proposed` recommendations; returns how many are new.

    The ASIN's ad groups are those advertising it between start and end (the range the person
    looks at). Exact keywords become harvest rows (exact keyword in the ASIN's first manual ad
    group, negated in its other ad groups, starting at that ad group's default bid); negatives
    become negative-exact rows in each of the ASIN's ad groups. They are dated the day the
    Advertising page shows (the latest generated_for, else today) and keyed like the engine's
    rows, so sending twice adds nothing and the bid engine's own rows are never touched. Needs the
    ad groups from the Ads syncs; without them nothing is saved (0). The evidence names who sent
    them (`sent_by`).
    """
    if not actor.strip():
        raise ConfigError("Sending keywords needs the name of whoever sends them.")
    parameters = {
        "store_id": store_id,
        "asin": asin,
        "marketplace_ids": list(marketplace_ids),
        "start": start,
        "end": end,
    }
    if not marketplace_ids:
        return 0
    with engine.connect() as connection:
        groups = [dict(row) for row in connection.execute(AD_GROUPS_SQL, parameters).mappings()]
    if not groups:
        return 0
    # a keyword needs a starting bid: a manual ad group without a default bid is no destination
    # (the Advertising page then says to add the keyword by hand instead of sending no bid)
    manual = [g for g in groups if g["targeting_type"] == "MANUAL" and g["default_bid"]]
    destination = manual[0] if manual else None
    sources = [g for g in groups if g is not destination] or groups
    proposals = []
    for idea in proposal.exact_keywords:
        reason = f"From the {ASSISTANT_SOURCE} for {asin}: {idea.reason}".rstrip(": ")
        evidence = Evidence(
            action=Action.HARVEST,
            entity_type="keyword",
            source=ASSISTANT_SOURCE,
            sent_by=actor.strip(),
            asin=asin,
            destination_campaign_id=destination["campaign_id"] if destination else None,
            destination_ad_group_id=destination["ad_group_id"] if destination else None,
            destination_campaign_name=destination["campaign_name"] if destination else None,
            destination_ad_group_name=destination["ad_group_name"] if destination else None,
            negate_in=tuple(
                NegateIn(
                    campaign_id=g["campaign_id"],
                    ad_group_id=g["ad_group_id"],
                    campaign_name=g["campaign_name"],
                    ad_group_name=g["ad_group_name"],
                )
                for g in groups
                if g is not destination
            ),
        )
        bid = destination["default_bid"] if destination else None
        proposals.append(
            _proposed(sources[0], "harvest", idea.term, "EXACT", reason, evidence, bid)
        )
    for idea in proposal.negative_keywords:
        reason = f"From the {ASSISTANT_SOURCE} for {asin}: {idea.reason}".rstrip(": ")
        for group in groups:
            evidence = Evidence(
                action=Action.NEGATIVE_EXACT,
                entity_type="negative_keyword",
                source=ASSISTANT_SOURCE,
                sent_by=actor.strip(),
                asin=asin,
                campaign_name=group["campaign_name"],
                ad_group_name=group["ad_group_name"],
            )
            proposals.append(
                _proposed(group, "negative", idea.term, "NEGATIVE_EXACT", reason, evidence)
            )
    return save_assistant_proposals(engine, store_id, proposals, today)


def _proposed(
    group: dict[str, Any],
    kind: str,
    term: str,
    match_type: str,
    reason: str,
    evidence: Evidence,
    recommended_bid: Decimal | None = None,
) -> AssistantProposal:
    return AssistantProposal(
        profile_id=group["profile_id"],
        kind=kind,
        campaign_id=group["campaign_id"],
        ad_group_id=group["ad_group_id"],
        search_term=term,
        match_type=match_type,
        currency=group["currency"],
        reason=reason,
        evidence=evidence,
        recommended_bid=recommended_bid,
    )
