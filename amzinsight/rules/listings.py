"""Amazon's listing rules as data (LISTING_RULES), the checker that applies them (`check_listing`)
and the search-term matcher (`coverage_of`): pure functions over plain strings, so the Listings
page checks stored content and the listing assistant checks a draft before anyone submits it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TITLE_SPECIAL_CHARACTERS = "!$?_{}^¬¦"
"""Amazon rejects these in product titles unless they are part of the brand name."""
# Emoji and pictographs: the blocks Unicode assigns them (plus the emoji variation selector).
EMOJI_RANGES = (
    (0x2600, 0x27BF),  # miscellaneous symbols, dingbats
    (0x2B00, 0x2BFF),  # arrows and stars such as ⭐
    (0xFE0F, 0xFE0F),  # variation selector that turns a symbol into an emoji
    (0x1F000, 0x1FAFF),  # mahjong to symbols-and-pictographs extended-A
)
# Articles, prepositions and conjunctions: Amazon lets these repeat in a title, and its search
# ignores them, so a search term does not need them in the listing either.
FUNCTION_WORDS = frozenset(
    {"a", "an", "the", "and", "or", "nor", "but", "for", "of", "to", "in", "on", "at", "by"}
    | {"with", "from", "into", "as", "per", "vs"}
)


@dataclass(frozen=True)
class ListingRule:
    code: str
    field: str  # title, bullets, description or backend_terms
    severity: str  # error: Amazon rejects or suppresses it; warning: it costs visibility
    limit: int | None
    rule: str
    source: str


LISTING_RULES = {
    rule.code: rule
    for rule in (
        ListingRule(
            "title_missing",
            "title",
            "error",
            None,
            "a listing needs a title",
            "Amazon product title requirements",
        ),
        ListingRule(
            "title_too_long",
            "title",
            "error",
            200,
            "at most 200 characters, spaces included (most categories)",
            "Amazon product title requirements",
        ),
        ListingRule(
            "title_short",
            "title",
            "warning",
            80,
            "under 80 characters leaves indexed words unused",
            "AmzInsight guideline",
        ),
        ListingRule(
            "title_special_characters",
            "title",
            "error",
            None,
            f"no {' '.join(TITLE_SPECIAL_CHARACTERS)} and no emoji unless part of the brand name",
            "Amazon product title requirements",
        ),
        ListingRule(
            "title_repeated_word",
            "title",
            "error",
            2,
            "the same word at most twice (articles, prepositions and conjunctions excepted)",
            "Amazon product title requirements",
        ),
        ListingRule(
            "bullets_count",
            "bullets",
            "warning",
            5,
            "five bullet points, all of them used",
            "Amazon bullet point guidelines",
        ),
        ListingRule(
            "bullet_too_long",
            "bullets",
            "error",
            500,
            "each bullet point at most 500 characters",
            "Amazon bullet point guidelines",
        ),
        ListingRule(
            "description_too_long",
            "description",
            "warning",
            2000,
            "at most 2,000 characters; the rest is cut",
            "Amazon product description guidelines",
        ),
        ListingRule(
            "backend_terms_too_long",
            "backend_terms",
            "error",
            249,
            "under 250 bytes in UTF-8 for the whole field, spaces included "
            "(Seller Central's check; beyond it the whole entry is not indexed). "
            "Amazon.in allows 200 and Amazon.co.jp 500 bytes",
            "search terms 249 bytes (Amazon search terms guidelines)",
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    rule: str  # a LISTING_RULES code
    severity: str  # "error" or "warning"
    field: str
    message: str  # one sentence with the numbers
    source: str


def check_listing(
    title: str | None,
    bullets: Sequence[str] | None,
    description: str | None,
    backend_terms: str | None,
) -> list[Finding]:
    """Every rule of LISTING_RULES the content breaks, errors first.

    None means "not known" (not synced yet): no rule about that field runs, so missing data is
    never reported as a broken listing. An empty string or list is content that is empty.
    """
    findings: list[Finding] = []
    if title is not None:
        findings.extend(_title_findings(title))
    if bullets is not None:
        findings.extend(_bullet_findings(bullets))
    if description is not None:
        limit = _limit("description_too_long")
        if len(description) > limit:
            findings.append(
                _finding(
                    "description_too_long",
                    f"The description has {len(description):,} characters; "
                    f"Amazon shows at most {limit:,}.",
                )
            )
    if backend_terms is not None:
        used = backend_terms_bytes(backend_terms)
        limit = _limit("backend_terms_too_long")
        if used > limit:
            findings.append(
                _finding(
                    "backend_terms_too_long",
                    f"Backend search terms use {used} bytes in UTF-8 ({len(backend_terms)} "
                    f"characters); the limit is {limit} bytes.",
                )
            )
    return sorted(findings, key=lambda finding: finding.severity != "error")


def backend_terms_bytes(backend_terms: str) -> int:
    """Bytes, not characters: é is 2 bytes and € 3, and Amazon counts bytes."""
    return len(backend_terms.encode("utf-8"))


def is_emoji(character: str) -> bool:
    code = ord(character)
    return any(low <= code <= high for low, high in EMOJI_RANGES)


def _title_findings(title: str) -> list[Finding]:
    if not title.strip():
        return [_finding("title_missing", "The title is empty.")]
    findings = []
    length = len(title)
    if length > _limit("title_too_long"):
        findings.append(
            _finding(
                "title_too_long",
                f"The title has {length} characters; the limit is {_limit('title_too_long')}.",
            )
        )
    elif length < _limit("title_short"):
        findings.append(
            _finding(
                "title_short",
                f"The title has {length} characters: under {_limit('title_short')} leaves "
                "room for words shoppers search for.",
            )
        )
    banned = [c for c in dict.fromkeys(title) if c in TITLE_SPECIAL_CHARACTERS or is_emoji(c)]
    if banned:
        findings.append(
            _finding(
                "title_special_characters",
                f"The title contains {' '.join(banned)}: Amazon rejects these characters "
                "in titles unless they are part of the brand name.",
            )
        )
    counts: dict[str, int] = {}
    for word in re.findall(r"[^\W_]+", title.casefold()):
        if word not in FUNCTION_WORDS:
            counts[word] = counts.get(word, 0) + 1
    repeated = [word for word, count in counts.items() if count > _limit("title_repeated_word")]
    if repeated:
        findings.append(
            _finding(
                "title_repeated_word",
                f"The title repeats {', '.join(repeated)} more than "
                f"{_limit('title_repeated_word')} times.",
            )
        )
    return findings


def _bullet_findings(bullets: Sequence[str]) -> list[Finding]:
    findings = []
    expected = _limit("bullets_count")
    used = [bullet for bullet in bullets if bullet.strip()]
    if len(used) < expected:
        findings.append(
            _finding(
                "bullets_count",
                f"{len(used)} of {expected} bullet points are used: each empty one is "
                "unused room for features and search words.",
            )
        )
    elif len(used) > expected:
        findings.append(
            _finding(
                "bullets_count",
                f"{len(used)} bullet points: Amazon shows {expected}, so the rest may not appear.",
            )
        )
    limit = _limit("bullet_too_long")
    for number, bullet in enumerate(bullets, start=1):
        if len(bullet) > limit:
            findings.append(
                _finding(
                    "bullet_too_long",
                    f"Bullet point {number} has {len(bullet)} characters; the limit is {limit}.",
                )
            )
    return findings


def _limit(code: str) -> int:
    return LISTING_RULES[code].limit or 0


def _finding(code: str, message: str) -> Finding:
    rule = LISTING_RULES[code]
    return Finding(code, rule.severity, rule.field, message, rule.source)


# --- search term coverage -------------------------------------------------------------------------

COVERED_FIELDS = ("title", "bullets", "backend terms")


@dataclass(frozen=True)
class Coverage:
    """Where a search term's words are in a listing.

    Matching rule: a field holds a term when every word of the term is a word of the field.
    Words are compared after case folding, removing accents (creme = crème: Amazon's search
    does the same), and reducing an English plural to its singular (torches = torch: Amazon
    says plurals need not be listed). Articles, prepositions and conjunctions (FUNCTION_WORDS)
    are ignored unless the term has nothing else. Word order and distance do not matter.
    """

    in_title: bool
    in_bullets: bool
    in_backend_terms: bool
    missing_words: tuple[str, ...]  # words of the term in none of the three fields

    @property
    def where(self) -> str:
        """The first field holding the whole term, "across fields" when each word is somewhere
        (Amazon indexes the fields together), or "missing"."""
        for field, present in zip(
            COVERED_FIELDS, (self.in_title, self.in_bullets, self.in_backend_terms), strict=True
        ):
            if present:
                return field
        return "missing" if self.missing_words else "across fields"


def coverage_of(
    term: str, title: str | None, bullets: Iterable[str] | None, backend_terms: str | None
) -> Coverage:
    """Whether the listing's title, bullets and backend terms hold the term (see Coverage)."""
    words = _term_words(term)
    fields = [
        _word_set(title or ""),
        _word_set(" ".join(bullets or ())),
        _word_set(backend_terms or ""),
    ]
    anywhere = set().union(*fields)
    return Coverage(
        in_title=all(form in fields[0] for _, form in words),
        in_bullets=all(form in fields[1] for _, form in words),
        in_backend_terms=all(form in fields[2] for _, form in words),
        missing_words=tuple(dict.fromkeys(word for word, form in words if form not in anywhere)),
    )


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", plain)


def _singular(word: str) -> str:
    """A plural's singular by the regular English endings; other words unchanged."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def _word_set(text: str) -> set[str]:
    return {_singular(word) for word in _words(text)}


def _term_words(term: str) -> list[tuple[str, str]]:
    """(word as typed, compared form) for each word of the term that has to be found."""
    words = _words(term)
    content = [word for word in words if word not in FUNCTION_WORDS] or words
    return [(word, _singular(word)) for word in content]
