"""The Amazon Ads side of a sandbox seller: advertising profiles and the Sponsored Products
catalogue (campaigns, ad groups, product ads, keywords, product and auto targets, negatives).

Deterministic from the account's seed and built on the same child ASINs and SKUs as the SP-API
side (catalog.py). Per marketplace (one Ads profile each):

- an AUTO campaign per parent family: one ad group, the family's children as product ads and
  the four auto targets (close-match, loose-match, substitutes, complements);
- a MANUAL keyword campaign per family with an "Exact" ad group and a "Phrase & Broad" ad group;
  keyword texts come from the listing (title, category, variation labels) and search phrases;
- one MANUAL product-targeting campaign with an ad group for the busiest families, targeting
  competitors' ASINs (ASIN_SAME_AS);
- a few ad-group and campaign negative keywords.

Each target carries how it performs (`weight`: share of its ad group's traffic, heavy-tailed so
that long-tail keywords see 0-2 clicks a month; `conversion`: winners, average, weak and
"bleeders" that spend without sales; `cpc` and `ctr` factors) and the customer search terms it
matches. IDs are large integers (JSON numbers in reports, strings in the entity API).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from amzinsight.marketplaces import Marketplace
from amzinsight_sandbox.catalog import Product
from amzinsight_sandbox.config import SandboxAccount
from amzinsight_sandbox.truth import account_truth

RETENTION_DAYS = 95
"""Sponsored Products report data is kept this many days before the account's today."""

# Amazon Ads names the United Kingdom "UK" where SP-API says "GB".
_ADS_COUNTRY = {"GB": "UK"}
_ALPHANUMERIC = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))

# Auto targets: (report text, v3 expression type, share of the ad group, ctr, cpc, conversion).
_AUTO_TARGETS = (
    ("close-match", "QUERY_HIGH_REL_MATCHES", 0.45, 1.0, 0.95, 1.25),
    ("loose-match", "QUERY_BROAD_REL_MATCHES", 0.25, 0.6, 0.75, 0.55),
    ("substitutes", "ASIN_SUBSTITUTE_RELATED", 0.2, 0.7, 0.85, 0.8),
    ("complements", "ASIN_ACCESSORY_RELATED", 0.1, 0.5, 0.65, 0.45),
)
_MATCH_CTR = {"EXACT": 1.6, "PHRASE": 1.1, "BROAD": 0.8}
_MATCH_CPC = {"EXACT": 1.15, "PHRASE": 1.0, "BROAD": 0.9}
# Keyword performance profiles: (name, probability, conversion factor).
_PROFILES = (
    ("winner", 0.2, 2.2),
    ("average", 0.45, 1.0),
    ("weak", 0.15, 0.35),
    ("bleeder", 0.2, 0.0),
)
_WASTE_WORDS = ("cheap", "free", "used")
_LONG_TAIL_SUFFIXES = ("for kitchen", "for home", "for beginners", "gift", "set", "large", "small")
_LONG_TAIL_PREFIXES = ("best", "professional", "heavy duty", "premium")
_UNRELATED = (
    "dish rack",
    "paper towel holder",
    "ice cube tray",
    "coffee grinder",
    "toaster oven",
    "water bottle",
    "shower caddy",
    "phone stand",
)

# Search phrases shoppers use per product template (the SKU's second part); listings of
# templates not named here fall back to phrases built from their search terms.
_SEARCH_PHRASES = {
    "TORCH": (
        "creme brulee torch",
        "cooking torch",
        "butane torch",
        "culinary torch",
        "blow torch",
    ),
    "BOARD": ("bamboo cutting board", "wood cutting board", "chopping board", "butcher block"),
    "SKILLET": ("cast iron skillet", "cast iron pan", "frying pan", "camping skillet"),
    "KNIFE": ("chef knife", "kitchen knife", "german steel knife", "cooking knife"),
    "FROTH": ("milk frother", "handheld frother", "coffee frother", "matcha whisk"),
    "SPAT": ("silicone spatula", "rubber spatula", "spatula set", "baking spatula"),
    "BOWLS": ("mixing bowls with lids", "stainless steel bowls", "nesting bowls", "prep bowls"),
    "SCALE": ("food scale", "digital kitchen scale", "baking scale", "coffee scale"),
    "CORER": ("jalapeno corer", "pepper corer", "chili seeder", "pepper seed remover"),
    "SAUTE": ("saute pan with lid", "deep frying pan", "induction pan", "chef pan"),
    "SPIN": ("lettuce spinner", "salad dryer", "vegetable washer", "salad spinner large"),
    "KETTLE": ("gooseneck kettle", "pour over kettle", "coffee kettle", "stovetop kettle"),
    "PRESS": ("garlic crusher", "garlic mincer", "ginger press", "stainless garlic press"),
    "SPOON": ("magnetic measuring spoons", "measuring spoon set", "teaspoon set"),
    "MITT": ("oven gloves", "pot holders", "bbq gloves", "silicone oven mitts"),
    "SPICE": ("rotating spice rack", "spice organizer", "spice carousel", "lazy susan spice"),
}


def fold(text: str) -> str:
    """Text as shoppers type it: no accents or punctuation, lower case, single spaces."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.lower()).split())


def ads_country_code(marketplace: Marketplace) -> str:
    return _ADS_COUNTRY.get(marketplace.country_code, marketplace.country_code)


def _hash_int(text: str, low: int, high: int) -> int:
    digest = hashlib.sha256(text.encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low)


def profile_id_for(account: SandboxAccount, country_code: str) -> int:
    """A 16-digit profile id (below 2**53, safe as a JSON number anywhere)."""
    return _hash_int(
        f"ads-profile:{account.seed}:{account.seller_id}:{country_code}", 10**15, 9 * 10**15
    )


@dataclass(frozen=True)
class AdsProfile:
    profile_id: int
    seller_id: str
    account_name: str
    marketplace: Marketplace

    @property
    def country_code(self) -> str:
        """The SP-API country code (GB, not UK) this profile's marketplace has in the truth."""
        return self.marketplace.country_code

    def as_json(self) -> dict[str, object]:
        """One entry of GET /v2/profiles."""
        return {
            "profileId": self.profile_id,
            "countryCode": ads_country_code(self.marketplace),
            "currencyCode": self.marketplace.currency,
            "timezone": self.marketplace.time_zone,
            "accountInfo": {
                "marketplaceStringId": self.marketplace.marketplace_id,
                "id": self.seller_id,
                "type": "seller",
                "name": self.account_name,
                "validPaymentMethod": True,
            },
        }


def ads_profiles(account: SandboxAccount) -> list[AdsProfile]:
    """One Ads profile per marketplace of the account, in the account's marketplace order."""
    return [
        AdsProfile(
            profile_id=profile_id_for(account, marketplace.country_code),
            seller_id=account.seller_id,
            account_name=account.name,
            marketplace=marketplace,
        )
        for marketplace in account.marketplace_list
    ]


@dataclass(frozen=True)
class Campaign:
    index: int
    campaign_id: int
    name: str
    targeting_type: str  # AUTO | MANUAL
    kind: str  # auto | keyword | product
    state: str
    budget: float
    start_date: date
    strategy: str  # LEGACY_FOR_SALES | AUTO_FOR_SALES | MANUAL
    top_of_search_percentage: int


@dataclass(frozen=True)
class AdGroup:
    index: int
    ad_group_id: int
    campaign_index: int
    name: str
    kind: str  # auto | exact | broad | product
    state: str
    default_bid: float
    product_indices: tuple[int, ...]


@dataclass(frozen=True)
class ProductAd:
    index: int
    ad_id: int
    ad_group_index: int
    product_index: int
    asin: str
    sku: str
    state: str
    share: float
    """How much of its ASIN's ad traffic this product ad gets, relative to its other ads."""


@dataclass(frozen=True)
class SearchTerm:
    text: str
    weight: float
    quality: float  # conversion factor; 0 for wasteful terms


@dataclass(frozen=True)
class Target:
    """A keyword (kind "keyword") or a targeting clause ("auto" or "product")."""

    index: int
    target_id: int
    ad_group_index: int
    campaign_index: int
    kind: str
    text: str  # keyword text, or the report's representation of the expression
    match_type: str  # EXACT | PHRASE | BROAD, or the keywordType of a targeting clause
    expression: tuple[tuple[str, str | None], ...]
    bid: float
    state: str
    weight: float
    conversion: float
    ctr: float
    cpc: float
    terms: tuple[SearchTerm, ...]

    @property
    def keyword_type(self) -> str:
        return self.match_type


@dataclass(frozen=True)
class NegativeKeyword:
    keyword_id: int
    campaign_index: int
    ad_group_index: int | None  # None: a campaign negative keyword
    text: str
    match_type: str  # NEGATIVE_EXACT | NEGATIVE_PHRASE
    state: str


@dataclass(frozen=True)
class AdsCatalogue:
    profile: AdsProfile
    brand: str
    currency: str
    today: date
    window_start: date
    """The oldest day reports may ask for (the retention limit or the start of history)."""
    campaigns: tuple[Campaign, ...]
    ad_groups: tuple[AdGroup, ...]
    product_ads: tuple[ProductAd, ...]
    targets: tuple[Target, ...]
    negative_keywords: tuple[NegativeKeyword, ...]
    campaign_negative_keywords: tuple[NegativeKeyword, ...]
    competitor_asins: tuple[str, ...]

    def all_ids(self) -> set[int]:
        ids = {c.campaign_id for c in self.campaigns}
        ids |= {g.ad_group_id for g in self.ad_groups}
        ids |= {a.ad_id for a in self.product_ads}
        ids |= {t.target_id for t in self.targets}
        ids |= {n.keyword_id for n in self.negative_keywords + self.campaign_negative_keywords}
        return ids | {self.profile.profile_id}


class IdSource:
    """Unique, deterministic 14-15 digit ids (below 2**53)."""

    def __init__(self, base: str, used: set[int] | None = None) -> None:
        self.base = base
        self.used: set[int] = set() if used is None else used

    def next(self, kind: str, key: object) -> int:
        salt = 0
        while True:
            value = _hash_int(f"{self.base}:{kind}:{key}:{salt}", 10**13, 9 * 10**14)
            if value not in self.used:
                self.used.add(value)
                return value
            salt += 1


@dataclass
class _Family:
    products: list[Product]
    core: str  # folded product noun: "bamboo cutting board"
    head: str  # folded category: "cutting boards"
    label: str  # for names: "Bamboo Cutting Board"
    phrases: tuple[str, ...]


def _families(brand: str, products: tuple[Product, ...]) -> list[_Family]:
    groups: dict[str, list[Product]] = {}
    for product in products:
        groups.setdefault(product.parent_asin, []).append(product)
    families: list[_Family] = []
    used_labels: dict[str, int] = {}
    for members in groups.values():
        first = members[0]
        noun = first.title[len(brand) + 1 :] if first.title.startswith(brand + " ") else first.title
        if first.variation_label and noun.endswith(", " + first.variation_label):
            noun = noun[: -len(first.variation_label) - 2]
        core_label = noun.split(",")[0].split(" with ")[0].strip()
        used_labels[core_label] = used_labels.get(core_label, 0) + 1
        label = core_label
        if used_labels[core_label] > 1:
            label = f"{core_label} #{used_labels[core_label]}"
        code = first.sku.split("-")[1] if first.sku.count("-") >= 2 else ""
        phrases = _SEARCH_PHRASES.get(code)
        if phrases is None:
            words = fold(first.search_terms).split()
            phrases = tuple(" ".join(words[i : i + 2]) for i in range(0, len(words) - 1, 2))
        families.append(
            _Family(
                products=members,
                core=fold(core_label),
                head=fold(first.category),
                label=label,
                phrases=tuple(phrases),
            )
        )
    return families


def _plural_variant(text: str) -> str:
    """The singular of a plural search, or the other way round (close variants match EXACT)."""
    if text.endswith(("ches", "shes", "xes")):
        return text[:-2]
    if text.endswith("s"):
        return text[:-1]
    if text.endswith(("ch", "sh", "x")):
        return text + "es"
    return text + "s"


def _merge_terms(terms: list[SearchTerm]) -> tuple[SearchTerm, ...]:
    """One entry per search term text: weights add up, the better quality wins."""
    merged: dict[str, SearchTerm] = {}
    for term in terms:
        seen = merged.get(term.text)
        if seen is None:
            merged[term.text] = term
        else:
            merged[term.text] = SearchTerm(
                term.text, seen.weight + term.weight, max(seen.quality, term.quality)
            )
    return tuple(merged.values())


def _choice(rng: np.random.Generator, items: list[str], size: int) -> list[str]:
    if not items:
        return []
    picks = rng.choice(len(items), size=min(size, len(items)), replace=False)
    return [items[int(i)] for i in sorted(picks)]


class _Builder:
    def __init__(self, account: SandboxAccount, profile: AdsProfile) -> None:
        self.account = account
        self.profile = profile
        position = account.marketplaces.index(profile.country_code)
        self.rng = np.random.default_rng([account.seed, 41, position])
        self.ids = IdSource(f"ads:{account.seed}:{account.seller_id}:{profile.country_code}")
        self.ids.used.add(profile.profile_id)
        truth = account_truth(account)
        self.truth = truth
        self.catalogue = truth.catalogue
        self.market = truth.marketplaces[profile.country_code]
        self.today = account.today
        self.window_start = max(truth.first_day, self.today - timedelta(days=RETENTION_DAYS))
        self.window_index = truth.day_index(self.window_start)
        self.campaigns: list[Campaign] = []
        self.ad_groups: list[AdGroup] = []
        self.product_ads: list[ProductAd] = []
        self.targets: list[Target] = []
        self.negatives: list[NegativeKeyword] = []
        self.campaign_negatives: list[NegativeKeyword] = []
        competitor_codes = [
            "B0" + "".join(row) for row in _ALPHANUMERIC[self.rng.integers(0, 36, (24, 8))]
        ]
        own = {p.asin for p in self.catalogue.products} | {p.asin for p in self.catalogue.parents}
        self.competitors = [c for c in dict.fromkeys(competitor_codes) if c not in own][:16]

    # --- money -----------------------------------------------------------------------------

    def _family_cpc(self, family: _Family) -> float:
        """The family's average cost per click over the window, in currency units."""
        rows = [p.index for p in family.products]
        window = slice(self.window_index, None)
        clicks = int(self.market.ad_clicks[rows, window].sum())
        spend = int(self.market.ad_spend_cents[rows, window].sum())
        if clicks == 0:
            factor = self.market.price_cents[rows, -1].mean() / 2500.0
            return max(0.3, 0.8 * float(factor))
        return max(0.1, spend / clicks / 100.0)

    def _family_daily_spend(self, family: _Family) -> float:
        rows = [p.index for p in family.products]
        spend = self.market.ad_spend_cents[rows, self.window_index :].sum()
        days = max(1, self.market.ad_spend_cents.shape[1] - self.window_index)
        return float(spend) / days / 100.0

    def _bid(self, cpc: float, factor: float) -> float:
        return round(max(0.1, cpc * factor * float(self.rng.uniform(1.1, 1.55))), 2)

    # --- entities --------------------------------------------------------------------------

    def _campaign(
        self,
        name: str,
        targeting_type: str,
        kind: str,
        budget: float,
        start: date,
        state: str = "ENABLED",
        strategy: str = "LEGACY_FOR_SALES",
    ) -> Campaign:
        campaign = Campaign(
            index=len(self.campaigns),
            campaign_id=self.ids.next("campaign", len(self.campaigns)),
            name=name,
            targeting_type=targeting_type,
            kind=kind,
            state=state,
            budget=float(max(5, math.ceil(budget))),
            start_date=start,
            strategy=strategy,
            top_of_search_percentage=int(self.rng.choice([0, 0, 20, 50])),
        )
        self.campaigns.append(campaign)
        return campaign

    def _ad_group(
        self, campaign: Campaign, name: str, kind: str, default_bid: float, products: list[Product]
    ) -> AdGroup:
        group = AdGroup(
            index=len(self.ad_groups),
            ad_group_id=self.ids.next("adGroup", len(self.ad_groups)),
            campaign_index=campaign.index,
            name=name,
            kind=kind,
            state="ENABLED",
            default_bid=default_bid,
            product_indices=tuple(p.index for p in products),
        )
        self.ad_groups.append(group)
        share_by_kind = {"auto": 0.32, "exact": 0.3, "broad": 0.28, "product": 0.14}
        for product in products:
            retired = (
                product.discontinued_offset_days is not None
                and product.discontinued_offset_days <= self.window_index
            )
            self.product_ads.append(
                ProductAd(
                    index=len(self.product_ads),
                    ad_id=self.ids.next("ad", len(self.product_ads)),
                    ad_group_index=group.index,
                    product_index=product.index,
                    asin=product.asin,
                    sku=product.sku,
                    state="ARCHIVED" if retired else "ENABLED",
                    share=share_by_kind[kind] * float(self.rng.lognormal(0.0, 0.35)),
                )
            )
        return group

    def _target(
        self,
        group: AdGroup,
        kind: str,
        text: str,
        match_type: str,
        expression: tuple[tuple[str, str | None], ...],
        bid: float,
        weight: float,
        conversion: float,
        ctr: float,
        cpc: float,
        terms: list[SearchTerm],
        state: str = "ENABLED",
    ) -> None:
        self.targets.append(
            Target(
                index=len(self.targets),
                target_id=self.ids.next("target", len(self.targets)),
                ad_group_index=group.index,
                campaign_index=group.campaign_index,
                kind=kind,
                text=text,
                match_type=match_type,
                expression=expression,
                bid=bid,
                state=state,
                weight=weight,
                conversion=conversion,
                ctr=ctr,
                cpc=cpc,
                terms=_merge_terms(terms),
            )
        )

    def _profile_conversion(self) -> float:
        names = [p[0] for p in _PROFILES]
        pick = int(self.rng.choice(len(names), p=[p[1] for p in _PROFILES]))
        return _PROFILES[pick][2] * float(self.rng.lognormal(0.0, 0.2))

    def _term(self, text: str, weight: float, quality: float) -> SearchTerm:
        noise = float(self.rng.lognormal(0.0, 0.4))
        return SearchTerm(text=text, weight=weight * noise, quality=quality)

    def _waste(
        self, phrase: str, count: int, words: tuple[str, ...] = _WASTE_WORDS
    ) -> list[SearchTerm]:
        chosen = _choice(self.rng, list(words), count)
        return [self._term(f"{word} {phrase}", 0.05, 0.0) for word in chosen]

    def _long_tail(self, phrase: str, count: int) -> list[str]:
        words = set(phrase.split())
        options = [f"{phrase} {s}" for s in _LONG_TAIL_SUFFIXES if not set(s.split()) & words]
        options += [f"{p} {phrase}" for p in _LONG_TAIL_PREFIXES if not set(p.split()) & words]
        return _choice(self.rng, options, count)

    def _keyword_terms(
        self, text: str, match: str, family: _Family, others: list[str]
    ) -> list[SearchTerm]:
        if match == "EXACT":
            return [self._term(text, 0.85, 1.15), self._term(_plural_variant(text), 0.12, 1.0)]
        terms = [self._term(text, 0.35 if match == "PHRASE" else 0.22, 1.15)]
        for variant in self._long_tail(text, 3 if match == "PHRASE" else 2):
            terms.append(self._term(variant, 0.09, float(self.rng.choice([0.5, 1.0, 1.6]))))
        if match == "BROAD":
            for related in _choice(self.rng, [o for o in others if o != text], 2):
                terms.append(self._term(related, 0.12, 0.9))
            terms += self._waste(text, 2)
            unrelated = _choice(self.rng, list(_UNRELATED), 1)
            terms += [self._term(u, 0.04, 0.0) for u in unrelated]
        else:
            terms += self._waste(text, 1)
        return terms

    def _auto_terms(self, name: str, family: _Family, other_heads: list[str]) -> list[SearchTerm]:
        if name == "close-match":
            terms = [self._term(family.head, 0.3, 1.2), self._term(family.core, 0.25, 1.3)]
            terms += [self._term(p, 0.15, 1.1) for p in family.phrases[:3]]
            terms += [self._term(t, 0.05, 1.6) for t in self._long_tail(family.core, 2)]
            return terms
        if name == "loose-match":
            terms = [self._term(h, 0.15, 0.2) for h in _choice(self.rng, other_heads, 2)]
            terms += [self._term(p, 0.2, 0.8) for p in family.phrases[-2:]]
            terms += [self._term(family.head.split()[-1], 0.2, 0.4)]
            terms += self._waste(family.head, 2, ("cheap", "used"))
            return terms
        asins = _choice(self.rng, self.competitors, 3)
        terms = [self._term(a.lower(), 0.25, 0.9) for a in asins]
        if name == "complements":
            own = [p.asin for p in self.catalogue.products if p not in family.products]
            terms += [self._term(a.lower(), 0.2, 0.7) for a in _choice(self.rng, own, 2)]
        return [*terms, self._term("*", 0.3, 0.8)]

    def _keyword_group(
        self,
        group: AdGroup,
        family: _Family,
        cpc: float,
        match_plan: list[tuple[str, str, float]],
        others: list[str],
    ) -> None:
        seen: set[tuple[str, str]] = set()
        for text, match, weight in match_plan:
            if not text or (text, match) in seen or len(text) > 80 or len(text.split()) > 10:
                continue
            seen.add((text, match))
            is_tail = weight < 0.1
            conversion = self._profile_conversion()
            if text.startswith(fold(self.catalogue.brand)):
                conversion = 2.5  # branded searches convert best
            state = "ENABLED"
            roll = float(self.rng.random())
            if roll < 0.05:
                state = "PAUSED"
            elif roll < 0.08:
                state = "ARCHIVED"
            cpc_factor = _MATCH_CPC[match] * float(self.rng.lognormal(0.0, 0.25))
            self._target(
                group,
                "keyword",
                text,
                match,
                (),
                bid=self._bid(cpc, cpc_factor),
                weight=weight * float(self.rng.lognormal(0.0, 0.8 if is_tail else 0.5)),
                conversion=conversion,
                ctr=_MATCH_CTR[match] * (1.4 if is_tail else 1.0),
                cpc=cpc_factor,
                terms=self._keyword_terms(text, match, family, others),
                state=state,
            )

    def build(self) -> AdsCatalogue:
        brand = self.catalogue.brand
        families = _families(brand, self.catalogue.products)
        heads = sorted({f.head for f in families})
        history_start = self.truth.first_day
        for family in families:
            self._family(family, brand, heads, history_start)
        self._product_targeting(families, brand)
        currency = self.profile.marketplace.currency
        return AdsCatalogue(
            profile=self.profile,
            brand=brand,
            currency=currency,
            today=self.today,
            window_start=self.window_start,
            campaigns=tuple(self.campaigns),
            ad_groups=tuple(self.ad_groups),
            product_ads=tuple(self.product_ads),
            targets=tuple(self.targets),
            negative_keywords=tuple(self.negatives),
            campaign_negative_keywords=tuple(self.campaign_negatives),
            competitor_asins=tuple(self.competitors),
        )

    def _family(self, family: _Family, brand: str, heads: list[str], history_start: date) -> None:
        cpc = self._family_cpc(family)
        spend = self._family_daily_spend(family)
        started = history_start - timedelta(days=int(self.rng.integers(20, 500)))
        auto = self._campaign(
            f"{brand} {family.label} - SP - Auto",
            "AUTO",
            "auto",
            budget=spend * 0.35 * float(self.rng.uniform(1.5, 2.6)),
            start=started,
        )
        self.campaign_negatives.append(
            NegativeKeyword(
                keyword_id=self.ids.next("campaignNegative", len(self.campaign_negatives)),
                campaign_index=auto.index,
                ad_group_index=None,
                text="free",
                match_type="NEGATIVE_PHRASE",
                state="ENABLED",
            )
        )
        auto_group = self._ad_group(
            auto, f"Auto - {family.label}", "auto", round(cpc * 1.2, 2), family.products
        )
        other_heads = [h for h in heads if h != family.head] or list(_UNRELATED)
        for name, expression_type, share, ctr, cpc_factor, conversion in _AUTO_TARGETS:
            state = "ENABLED"
            if name == "complements" and self.rng.random() < 0.15:
                state = "PAUSED"
            self._target(
                auto_group,
                "auto",
                name,
                "TARGETING_EXPRESSION_PREDEFINED",
                ((expression_type, None),),
                bid=self._bid(cpc, cpc_factor),
                weight=share,
                conversion=conversion * float(self.rng.lognormal(0.0, 0.2)),
                ctr=ctr,
                cpc=cpc_factor,
                terms=self._auto_terms(name, family, other_heads),
                state=state,
            )

        paused = len(self.campaigns) > 4 and self.rng.random() < 0.12
        strategy = str(self.rng.choice(["LEGACY_FOR_SALES", "AUTO_FOR_SALES", "MANUAL"]))
        manual = self._campaign(
            f"{brand} {family.label} - SP - Manual KW",
            "MANUAL",
            "keyword",
            budget=spend * 0.55 * float(self.rng.uniform(1.5, 2.6)),
            start=started + timedelta(days=int(self.rng.integers(0, 60))),
            state="PAUSED" if paused else "ENABLED",
            strategy=strategy,
        )
        brand_term = f"{fold(brand)} {family.head}"
        labels = [
            f"{fold(p.variation_label).replace(' in', ' inch')} {family.head}"
            for p in family.products
            if p.variation_label
        ]
        phrases = list(family.phrases)
        exact = self._ad_group(
            manual, f"{family.label} - Exact", "exact", round(cpc * 1.25, 2), family.products
        )
        plan: list[tuple[str, str, float]] = [
            (family.head, "EXACT", 1.6),
            (family.core, "EXACT", 0.9),
            (brand_term, "EXACT", 0.25),
        ]
        plan += [(p, "EXACT", 0.8) for p in _choice(self.rng, phrases, 2)]
        plan += [(t, "EXACT", 0.2) for t in _choice(self.rng, labels, 2)]
        for phrase in _choice(self.rng, phrases, 3):
            plan += [(t, "EXACT", 0.02) for t in self._long_tail(phrase, 2)]
        self._keyword_group(exact, family, cpc, plan, phrases)
        self.negatives.append(
            NegativeKeyword(
                keyword_id=self.ids.next("negative", len(self.negatives)),
                campaign_index=manual.index,
                ad_group_index=exact.index,
                text=f"{family.head} replacement parts",
                match_type="NEGATIVE_PHRASE",
                state="ENABLED",
            )
        )

        broad = self._ad_group(
            manual,
            f"{family.label} - Phrase & Broad",
            "broad",
            round(cpc * 1.1, 2),
            family.products,
        )
        plan = [(family.head, "PHRASE", 1.2), (family.core, "PHRASE", 0.6)]
        plan += [(p, "PHRASE", 0.7) for p in _choice(self.rng, phrases, 2)]
        plan += [(family.head.split()[-1], "BROAD", 1.8), (family.head, "BROAD", 1.0)]
        plan += [(p, "BROAD", 0.6) for p in _choice(self.rng, phrases, 2)]
        for phrase in _choice(self.rng, phrases, 2):
            plan += [
                (t, str(self.rng.choice(["PHRASE", "BROAD"])), 0.03)
                for t in self._long_tail(phrase, 2)
            ]
        self._keyword_group(broad, family, cpc, plan, phrases)
        if self.rng.random() < 0.5:
            self.negatives.append(
                NegativeKeyword(
                    keyword_id=self.ids.next("negative", len(self.negatives)),
                    campaign_index=manual.index,
                    ad_group_index=broad.index,
                    text=f"{family.head} toy",
                    match_type="NEGATIVE_EXACT",
                    state="ENABLED",
                )
            )

    def _product_targeting(self, families: list[_Family], brand: str) -> None:
        window = slice(self.window_index, None)
        busiest = sorted(
            families,
            key=lambda f: -int(self.market.ad_clicks[[p.index for p in f.products], window].sum()),
        )[:3]
        if not busiest:
            return
        start = max(self.truth.first_day, self.today - timedelta(days=40))
        spend = sum(self._family_daily_spend(f) for f in busiest)
        campaign = self._campaign(
            f"{brand} - SP - Product Targeting",
            "MANUAL",
            "product",
            budget=spend * 0.2 * float(self.rng.uniform(1.5, 2.5)),
            start=start,
        )
        for family in busiest:
            cpc = self._family_cpc(family)
            group = self._ad_group(
                campaign,
                f"{family.label} - Competitor ASINs",
                "product",
                round(cpc, 2),
                family.products,
            )
            for asin in _choice(self.rng, self.competitors, int(self.rng.integers(3, 6))):
                cpc_factor = 0.85 * float(self.rng.lognormal(0.0, 0.25))
                terms = [self._term(asin.lower(), 0.6, 1.0), self._term("*", 0.2, 0.8)]
                terms.append(self._term(family.head, 0.15, 1.0))
                self._target(
                    group,
                    "product",
                    f'asin="{asin}"',
                    "TARGETING_EXPRESSION",
                    (("ASIN_SAME_AS", asin),),
                    bid=self._bid(cpc, cpc_factor),
                    weight=float(self.rng.lognormal(0.0, 0.9)),
                    conversion=self._profile_conversion(),
                    ctr=0.9,
                    cpc=cpc_factor,
                    terms=terms,
                )


_catalogue_lock = threading.Lock()
_catalogues: dict[tuple[SandboxAccount, str], AdsCatalogue] = {}


def ads_catalogue(account: SandboxAccount, country_code: str) -> AdsCatalogue:
    """The account's Sponsored Products catalogue in one marketplace, built once per process."""
    key = (account, country_code)
    with _catalogue_lock:
        found = _catalogues.get(key)
    if found is not None:
        return found
    profile = next(p for p in ads_profiles(account) if p.country_code == country_code)
    built = _Builder(account, profile).build()
    with _catalogue_lock:
        if len(_catalogues) >= 16:
            _catalogues.pop(next(iter(_catalogues)))
        return _catalogues.setdefault(key, built)
