"""Amazon Ads entities known by name: how a console export (names, no ids) finds Amazon's ids.

Files downloaded from the advertising console name campaigns, ad groups, targets and products;
the API's reports and campaign-management calls give ids. A console row takes the id Amazon gave
the entity of that name within the profile (the sync's entities and reports tell), and, where no
entity of that name is known yet, a stable id derived from the names (`named_id`): the same
names always give the same id, so importing a file twice changes nothing, and when the API later
reports the entity, its rows adopt Amazon's id (amzinsight/ingest/ads_names.py) so that no day is
counted under two ids. Names are compared as written after trimming; a renamed campaign is a new
name (the console writes the name of the day of the export).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

NAMED_ID_PREFIX = "name-"
"""Ids derived from names start with this; Amazon's ids are digits only."""

KEYWORD_MATCH_TYPES = frozenset({"BROAD", "PHRASE", "EXACT"})


def named_id(level: str, *names: str) -> str:
    """A stable id for an entity known only by its names (level: campaign, ad_group, target, ad)."""
    digest = hashlib.sha256("\x1f".join((level, *names)).encode()).hexdigest()
    return f"{NAMED_ID_PREFIX}{digest[:24]}"


def is_named_id(value: str | None) -> bool:
    return value is not None and value.startswith(NAMED_ID_PREFIX)


def target_key(text: str | None, match_type: str | None) -> tuple[str, str]:
    """How a keyword or product target is recognised across the console and the API: its text
    (lower case, trimmed) and, for keywords only, the match type; product and auto targets are
    matched by their expression alone (the console writes "-" where the API writes
    TARGETING_EXPRESSION)."""
    kind = (match_type or "").strip().upper()
    return (text or "").strip().lower(), kind if kind in KEYWORD_MATCH_TYPES else ""


@dataclass(frozen=True)
class AdsNames:
    """What a profile's Amazon Ads data already says about names and ids (all Amazon's ids)."""

    campaigns: Mapping[str, str] = field(default_factory=dict)
    """campaign name -> campaign id"""
    ad_groups: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(campaign id, ad group name) -> ad group id"""
    targets: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    """(ad group id, *target_key) -> keyword or target id"""
    ads: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(ad group id, advertised SKU or ASIN) -> ad id"""

    def campaign_id(self, campaign: str) -> str:
        return self.campaigns.get(campaign.strip()) or named_id("campaign", campaign.strip())

    def ad_group_id(self, campaign: str, ad_group: str) -> str:
        known = self.ad_groups.get((self.campaign_id(campaign), ad_group.strip()))
        return known or named_id("ad_group", campaign.strip(), ad_group.strip())

    def target_id(self, campaign: str, ad_group: str, text: str, match_type: str) -> str:
        key = target_key(text, match_type)
        known = self.targets.get((self.ad_group_id(campaign, ad_group), *key))
        return known or named_id("target", campaign.strip(), ad_group.strip(), *key)

    def ad_id(self, campaign: str, ad_group: str, sku: str | None, asin: str | None) -> str:
        """A product ad by its SKU (sellers advertise SKUs), else its ASIN."""
        group = self.ad_group_id(campaign, ad_group)
        for product in (sku, asin):
            if product and (known := self.ads.get((group, product.strip()))):
                return known
        product = (sku or asin or "").strip()
        return named_id("ad", campaign.strip(), ad_group.strip(), product)
