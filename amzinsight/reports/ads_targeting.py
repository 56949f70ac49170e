"""Amazon Ads reporting v3 `spTargeting` grouped by targeting (docs/amazon-formats.md 4.2): one row
per keyword or product target and day, loaded into `ads_target_daily`.

Keywords and targets come in one report (no keywordType filter): keyword rows have matchType and
keywordType BROAD, PHRASE or EXACT and the keyword text in `keyword`; target rows have
TARGETING_EXPRESSION (a manual expression such as asin="B0...") or TARGETING_EXPRESSION_PREDEFINED
(close-match, loose-match, substitutes, complements), with the expression in both `keyword` and
`targeting`. keywordId is the keyword's or the target's id, stored as target_id.
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

REPORT_TYPE = "spTargeting"
KEY = ("profile_id", "report_date", "target_id")

REPORT = DailyAdsReport(
    spec_key="sp_targeting",
    report_type=REPORT_TYPE,
    table=tables.ads_target_daily,
    key=KEY,
    columns={
        "target_id": AdsColumn("keywordId", "id", required=True),
        "campaign_id": AdsColumn("campaignId", "id"),
        "ad_group_id": AdsColumn("adGroupId", "id"),
        "campaign_name": AdsColumn("campaignName"),
        "ad_group_name": AdsColumn("adGroupName"),
        "keyword_text": AdsColumn("keyword"),
        "targeting": AdsColumn("targeting"),
        "match_type": AdsColumn("matchType"),
        "keyword_type": AdsColumn("keywordType"),
        "keyword_bid": AdsColumn("keywordBid", "bid"),
        "ad_keyword_status": AdsColumn("adKeywordStatus"),
        "top_of_search_impression_share": AdsColumn("topOfSearchImpressionShare", "ratio"),
        **performance(),
        **other_sku_7d(),
    },
)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """One row per keyword or product target and day."""
    return REPORT.parse(path, context)


def detect(head: bytes) -> bool:
    return daily_report_key(head) == REPORT.spec_key


SPEC = ReportSpec(
    key=REPORT.spec_key,
    amazon_report_type=REPORT_TYPE,
    description="Sponsored Products keywords and product targets per day (spTargeting)",
    parse=parse,
    detect=detect,
    acquisition="ads",
    window="range",
    extension="json",
    lookback_days=ADS_LOOKBACK_DAYS,
    max_window_days=ADS_MAX_WINDOW_DAYS,
    ads_report=AdsReportRequest(
        report_type_id=REPORT_TYPE,
        group_by=("targeting",),
        columns=REPORT.request_columns,
    ),
    per_marketplace=True,  # one report per Ads profile
)
