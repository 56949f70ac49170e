"""Amazon Ads reporting v3 `spCampaigns` grouped by campaign and ad group
(docs/amazon-formats.md 4.2): one row per Sponsored Products ad group and day, loaded into
`ads_campaign_daily` next to the campaign rows (which have ad_group_id ''). Reading rules:
amzinsight/reports/ads_campaigns.py.
"""

from __future__ import annotations

from pathlib import Path

from amzinsight.db import tables
from amzinsight.reports.ads_campaigns import (
    ADS_LOOKBACK_DAYS,
    ADS_MAX_WINDOW_DAYS,
    CAMPAIGN_COLUMNS,
    KEY,
    REPORT_TYPE,
    AdsColumn,
    DailyAdsReport,
    daily_report_key,
    performance,
)
from amzinsight.reports.base import AdsReportRequest, ParseContext, ParsedReport, ReportSpec

REPORT = DailyAdsReport(
    spec_key="sp_ad_groups",
    report_type=REPORT_TYPE,
    table=tables.ads_campaign_daily,
    key=KEY,
    columns={
        **CAMPAIGN_COLUMNS,
        "ad_group_id": AdsColumn("adGroupId", "id", required=True),
        "ad_group_name": AdsColumn("adGroupName"),
        "ad_status": AdsColumn("adStatus"),
        **performance(),
    },
)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """One row per ad group and day."""
    return REPORT.parse(path, context)


def detect(head: bytes) -> bool:
    return daily_report_key(head) == REPORT.spec_key


SPEC = ReportSpec(
    key=REPORT.spec_key,
    amazon_report_type=REPORT_TYPE,
    description="Sponsored Products ad groups per day (Amazon Ads spCampaigns by ad group)",
    parse=parse,
    detect=detect,
    acquisition="ads",
    window="range",
    extension="json",
    lookback_days=ADS_LOOKBACK_DAYS,
    max_window_days=ADS_MAX_WINDOW_DAYS,
    ads_report=AdsReportRequest(
        report_type_id=REPORT_TYPE,
        group_by=("campaign", "adGroup"),
        columns=REPORT.request_columns,
    ),
    per_marketplace=True,  # one report per Ads profile
)
