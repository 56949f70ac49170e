"""Amazon Ads reporting v3 `spAdvertisedProduct` grouped by advertiser (docs/amazon-formats.md 4.2):
one row per product ad (an advertised ASIN and SKU in an ad group) and day, loaded into
`ads_advertised_product_daily`. advertisedSku is absent for vendors and stays null then.
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

REPORT_TYPE = "spAdvertisedProduct"
KEY = ("profile_id", "report_date", "campaign_id", "ad_group_id", "ad_id")

REPORT = DailyAdsReport(
    spec_key="sp_advertised_product",
    report_type=REPORT_TYPE,
    table=tables.ads_advertised_product_daily,
    key=KEY,
    columns={
        "campaign_id": AdsColumn("campaignId", "id", required=True),
        "ad_group_id": AdsColumn("adGroupId", "id", required=True),
        "ad_id": AdsColumn("adId", "id", required=True),
        "campaign_name": AdsColumn("campaignName"),
        "ad_group_name": AdsColumn("adGroupName"),
        "advertised_asin": AdsColumn("advertisedAsin"),
        "advertised_sku": AdsColumn("advertisedSku"),
        **performance(),
        **other_sku_7d(),
    },
)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """One row per product ad and day."""
    return REPORT.parse(path, context)


def detect(head: bytes) -> bool:
    return daily_report_key(head) == REPORT.spec_key


SPEC = ReportSpec(
    key=REPORT.spec_key,
    amazon_report_type=REPORT_TYPE,
    description="Sponsored Products product ads per day (spAdvertisedProduct)",
    parse=parse,
    detect=detect,
    acquisition="ads",
    window="range",
    extension="json",
    lookback_days=ADS_LOOKBACK_DAYS,
    max_window_days=ADS_MAX_WINDOW_DAYS,
    ads_report=AdsReportRequest(
        report_type_id=REPORT_TYPE,
        group_by=("advertiser",),
        columns=REPORT.request_columns,
    ),
    per_marketplace=True,  # one report per Ads profile
)
