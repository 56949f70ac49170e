"""Amazon Ads reporting v3 `spSearchTerm` grouped by search term (docs/amazon-formats.md 4.2): one
row per customer search term, keyword or target and day, loaded into `ads_search_term_daily`.

Amazon lists only search terms that got at least one click. The term is kept exactly as Amazon
writes it: "*" for a detail-page placement without a query, and a lower-cased ASIN when a shopper
reached a product target from a product page. keywordId (the keyword's or target's id) is target_id.
Reading rules: amzinsight/reports/ads_campaigns.py.
"""

from __future__ import annotations

from pathlib import Path

from amzinsight.db import tables
from amzinsight.reports.ads_campaigns import (
    ADS_LOOKBACK_DAYS,
    ADS_MAX_WINDOW_DAYS,
    AdsColumn,
    DailyAdsReport,
    daily_report_key,
    other_sku_7d,
    performance,
)
from amzinsight.reports.base import AdsReportRequest, ParseContext, ParsedReport, ReportSpec

REPORT_TYPE = "spSearchTerm"
KEY = ("profile_id", "report_date", "campaign_id", "ad_group_id", "target_id", "search_term")

REPORT = DailyAdsReport(
    spec_key="sp_search_term",
    report_type=REPORT_TYPE,
    table=tables.ads_search_term_daily,
    key=KEY,
    columns={
        "campaign_id": AdsColumn("campaignId", "id", required=True),
        "ad_group_id": AdsColumn("adGroupId", "id", required=True),
        "target_id": AdsColumn("keywordId", "id", required=True),
        "search_term": AdsColumn("searchTerm", required=True),
        "campaign_name": AdsColumn("campaignName"),
        "ad_group_name": AdsColumn("adGroupName"),
        "keyword_text": AdsColumn("keyword"),
        "targeting": AdsColumn("targeting"),
        "match_type": AdsColumn("matchType"),
        "keyword_type": AdsColumn("keywordType"),
        "keyword_bid": AdsColumn("keywordBid", "bid"),
        **performance(),
        **other_sku_7d(),
    },
)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """One row per search term, target and day; the term exactly as Amazon wrote it."""
    return REPORT.parse(path, context)


def detect(head: bytes) -> bool:
    return daily_report_key(head) == REPORT.spec_key


SPEC = ReportSpec(
    key=REPORT.spec_key,
    amazon_report_type=REPORT_TYPE,
    description="Sponsored Products customer search terms per target and day (spSearchTerm)",
    parse=parse,
    detect=detect,
    acquisition="ads",
    window="range",
    extension="json",
    lookback_days=ADS_LOOKBACK_DAYS,
    max_window_days=ADS_MAX_WINDOW_DAYS,
    ads_report=AdsReportRequest(
        report_type_id=REPORT_TYPE,
        group_by=("searchTerm",),
        columns=REPORT.request_columns,
    ),
    per_marketplace=True,  # one report per Ads profile
)
