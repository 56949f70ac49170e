"""One module per report type; the registry below is the list a reader scans."""

from __future__ import annotations

from amzinsight.errors import ConfigError, ReportParseError
from amzinsight.reports import (
    ads_ad_groups,
    ads_advertised_products,
    ads_campaigns,
    ads_console,
    ads_entities,
    ads_purchased_products,
    ads_search_terms,
    ads_targeting,
    catalog,
    finance_transactions,
    inventory,
    inventory_summaries,
    listings,
    orders,
    ratings,
    sales_traffic,
    sales_traffic_kiosk,
    settlement,
    settlement_flat_file,
)
from amzinsight.reports.base import ReportSpec

DETECT_BYTES = 64 * 1024
"""How much of a decompressed document `detect_report` looks at."""

# Order matters for a full sync: catalog looks up the ASINs that sales and listings found.
REPORTS: dict[str, ReportSpec] = {
    spec.key: spec
    for spec in (
        sales_traffic.SPEC,  # GET_SALES_AND_TRAFFIC_REPORT, one JSON report per day
        sales_traffic_kiosk.SPEC,  # the same figures' history from Data Kiosk, per window
        orders.SPEC,  # GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL
        settlement.SPEC,  # GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2, listed, not requested
        settlement_flat_file.SPEC,  # GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE, files sellers kept
        finance_transactions.SPEC,  # Finances API v2024-06-19 listTransactions, per window
        inventory.SPEC,  # GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA
        inventory_summaries.SPEC,  # FBA Inventory API getInventorySummaries
        listings.SPEC,  # GET_MERCHANT_LISTINGS_ALL_DATA
        catalog.SPEC,  # Catalog Items API getCatalogItem
        ratings.SPEC,  # product ratings CSV a person provides
        ads_campaigns.SPEC,  # Amazon Ads spCampaigns by campaign, per profile and day
        ads_ad_groups.SPEC,  # Amazon Ads spCampaigns by campaign and ad group
        ads_targeting.SPEC,  # Amazon Ads spTargeting: keywords and product targets
        ads_search_terms.SPEC,  # Amazon Ads spSearchTerm: clicked customer search terms
        ads_advertised_products.SPEC,  # Amazon Ads spAdvertisedProduct: product ads
        ads_purchased_products.SPEC,  # Amazon Ads spPurchasedProduct: other ASINs bought
        ads_entities.SPEC,  # SP v3 campaign management list calls, one document per profile
        ads_console.SPEC,  # SP reports downloaded from the advertising console (CSV, XLSX)
    )
}


# What people read wherever a report type is named (pages, alerts); the keys stay for the CLI.
REPORT_TITLES: dict[str, str] = {
    "sales_traffic": "Sales and Traffic",
    "sales_traffic_history": "Sales and Traffic history (Data Kiosk)",
    "orders": "Orders",
    "settlement": "Settlements",
    "settlement_flat_file": "Settlements (older flat file)",
    "finance_transactions": "Finances transactions",
    "fba_inventory": "FBA inventory",
    "inventory_summaries": "FBA inventory summaries",
    "listings": "Listings",
    "catalog": "Catalog items",
    "ratings": "Product ratings",
    "sp_campaigns": "Sponsored Products campaigns",
    "sp_ad_groups": "Sponsored Products ad groups",
    "sp_targeting": "Sponsored Products keywords and targets",
    "sp_search_term": "Sponsored Products search terms",
    "sp_advertised_product": "Sponsored Products advertised products",
    "sp_purchased_product": "Sponsored Products purchased products",
    "sp_entities": "Sponsored Products campaign settings",
    "sp_console": "Sponsored Products console report",
    "unrecognised": "Unrecognised file",  # an import whose type could not be detected
}


def report_title(key: str | None) -> str:
    """The human name of a report key ("sales_traffic" -> "Sales and Traffic")."""
    if not key:
        return "unknown report"
    return REPORT_TITLES.get(key) or key.replace("_", " ").capitalize()


def get_report(key: str) -> ReportSpec:
    """The spec registered under our key (e.g. from the CLI's --report)."""
    try:
        return REPORTS[key]
    except KeyError:
        known = ", ".join(REPORTS)
        raise ConfigError(f"Unknown report type {key!r}: use one of {known}.") from None


def detect_report(head: bytes) -> ReportSpec:
    """The spec whose document this is, judged from its first bytes (a file a user uploads)."""
    head = head[:DETECT_BYTES]
    if not head.strip():
        raise ReportParseError("The document is empty: there is nothing to import.")
    for spec in REPORTS.values():
        if spec.detect(head):
            return spec
    first_line = head.split(b"\n", 1)[0][:60].decode("utf-8", errors="replace")
    # One readable line however many types there are: the Amazon Ads ones go by their prefix.
    known = ", ".join(key for key in REPORTS if not key.startswith("sp_"))
    raise ReportParseError(
        f"The document is not a report type AmzInsight knows (it starts {first_line!r}); "
        f"import one of: {known}, or an Amazon Ads report (sp_...)."
    )
