"""Amazon Ads reporting v3 `spPurchasedProduct` grouped by ASIN (docs/amazon-formats.md 4.2):
products bought after an ad click that were not the advertised product, one row per ad (campaign, ad
group, keyword or target, advertised ASIN), purchased ASIN and day, loaded into
`ads_purchased_product_daily`.

The report has its own metrics (unitsSoldOtherSku, salesOtherSku, purchasesOtherSku in every
window) and no impressions, clicks or cost. A row without keywordId has keyword_id '' (the key
column cannot be null). Reading rules: amzinsight/reports/ads_campaigns.py.
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
)
from amzinsight.reports.base import AdsReportRequest, ParseContext, ParsedReport, ReportSpec

REPORT_TYPE = "spPurchasedProduct"
KEY = (
    "profile_id",
    "report_date",
    "campaign_id",
    "ad_group_id",
    "keyword_id",
    "advertised_asin",
    "purchased_asin",
)
_WINDOWS = ("1d", "7d", "14d", "30d")

REPORT = DailyAdsReport(
    spec_key="sp_purchased_product",
    report_type=REPORT_TYPE,
    table=tables.ads_purchased_product_daily,
    key=KEY,
    columns={
        "campaign_id": AdsColumn("campaignId", "id", required=True),
        "ad_group_id": AdsColumn("adGroupId", "id", required=True),
        "keyword_id": AdsColumn("keywordId", "id"),
        "advertised_asin": AdsColumn("advertisedAsin", required=True),
        "purchased_asin": AdsColumn("purchasedAsin", required=True),
        "campaign_name": AdsColumn("campaignName"),
        "ad_group_name": AdsColumn("adGroupName"),
        "advertised_sku": AdsColumn("advertisedSku"),
        "keyword_text": AdsColumn("keyword"),
        "keyword_type": AdsColumn("keywordType"),
        "match_type": AdsColumn("matchType"),
        **{
            f"units_sold_other_sku_{window}": AdsColumn(f"unitsSoldOtherSku{window}", "integer")
            for window in _WINDOWS
        },
        **{
            f"sales_other_sku_{window}": AdsColumn(f"salesOtherSku{window}", "money")
            for window in _WINDOWS
        },
        **{
            f"purchases_other_sku_{window}": AdsColumn(f"purchasesOtherSku{window}", "integer")
            for window in _WINDOWS
        },
    },
    blank_when_missing=("keyword_id",),
)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """One row per ad, purchased ASIN and day."""
    return REPORT.parse(path, context)


def detect(head: bytes) -> bool:
    return daily_report_key(head) == REPORT.spec_key


SPEC = ReportSpec(
    key=REPORT.spec_key,
    amazon_report_type=REPORT_TYPE,
    description="Other products bought after a Sponsored Products click, per day "
    "(spPurchasedProduct)",
    parse=parse,
    detect=detect,
    acquisition="ads",
    window="range",
    extension="json",
    lookback_days=ADS_LOOKBACK_DAYS,
    max_window_days=ADS_MAX_WINDOW_DAYS,
    ads_report=AdsReportRequest(
        report_type_id=REPORT_TYPE,
        group_by=("asin",),
        columns=REPORT.request_columns,
    ),
    per_marketplace=True,  # one report per Ads profile
)
