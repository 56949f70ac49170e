"""Listings: the GET_MERCHANT_LISTINGS_ALL_DATA flat file and Catalog Items 2022-04-01 items."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from amzinsight.marketplaces import Marketplace
from amzinsight_sandbox.catalog import ParentItem, Product, open_date
from amzinsight_sandbox.truth import AccountTruth

LISTING_COLUMNS = (
    "item-name", "item-description", "listing-id", "seller-sku", "price", "quantity", "open-date",
    "image-url", "item-is-marketplace", "product-id-type", "zshop-shipping-fee", "item-note",
    "item-condition", "zshop-category1", "zshop-browse-path", "zshop-storefront-feature",
    "asin1", "asin2", "asin3", "will-ship-internationally", "expedited-shipping",
    "zshop-boldface", "product-id", "bid-for-featured-placement", "add-delete",
    "pending-quantity", "fulfillment-channel", "merchant-shipping-group", "status",
)  # fmt: skip
CATALOG_INCLUDED_DATA = (
    "attributes", "classifications", "dimensions", "identifiers", "images", "productTypes",
    "relationships", "salesRanks", "summaries", "vendorDetails",
)  # fmt: skip
_WEBSITE_DISPLAY_GROUP = ("home_garden_display_on_website", "Kitchen")
_LANGUAGE = {"US": "en_US", "CA": "en_CA", "GB": "en_GB", "AU": "en_AU", "DE": "de_DE",
             "FR": "fr_FR", "IT": "it_IT", "ES": "es_ES", "JP": "ja_JP", "MX": "es_MX"}  # fmt: skip


def _image_link(image_id: str) -> str:
    return f"https://m.media-amazon.com/images/I/{image_id}.jpg"


def _open_date_text(moment: datetime, marketplace: Marketplace) -> str:
    """Seller Central writes open-date in local time and a local date order (US vs UK)."""
    local = moment.astimezone(ZoneInfo(marketplace.time_zone))
    if marketplace.region == "eu":
        return local.strftime("%d/%m/%Y %H:%M:%S %Z")
    return local.strftime("%Y-%m-%d %H:%M:%S %Z")


def merchant_listings_document(truth: AccountTruth, country_code: str) -> str:
    """All listings, FBA and merchant-fulfilled; discontinued products are Inactive."""
    mt = truth.marketplaces[country_code]
    marketplace = mt.marketplace
    rng = np.random.default_rng(
        [truth.account.seed, 9, truth.account.marketplaces.index(country_code)]
    )
    rows: list[dict[str, str]] = []
    for product in truth.catalogue.products:
        price_cents = int(mt.price_cents[product.index, -1])
        opened = datetime.combine(open_date(truth.account, product), datetime.min.time())
        opened += timedelta(seconds=int(rng.integers(8 * 3600, 20 * 3600)))
        opened_text = _open_date_text(
            opened.replace(tzinfo=ZoneInfo(marketplace.time_zone)), marketplace
        )
        active = product.discontinued_offset_days is None
        common = {
            "item-name": product.title,
            "item-description": product.description,
            "price": f"{price_cents // 100}.{price_cents % 100:02d}",
            "open-date": opened_text,
            "image-url": _image_link(product.image_ids[0]),
            "item-is-marketplace": "y",
            "product-id-type": "1",
            "item-condition": "11",
            "asin1": product.asin,
            "product-id": product.asin,
            "merchant-shipping-group": "Migrated Template",
            "status": "Active" if active else "Inactive",
        }
        rows.append(
            {
                **common,
                "listing-id": product.listing_id,
                "seller-sku": product.sku,
                "quantity": "",  # Amazon leaves quantity empty for FBA listings
                "pending-quantity": "",
                "fulfillment-channel": f"AMAZON_{truth.account.region.upper()}",
            }
        )
        if product.mfn_sku:
            rows.append(
                {
                    **common,
                    "listing-id": product.listing_id[:4] + product.listing_id[:3:-1],
                    "seller-sku": product.mfn_sku,
                    "quantity": str(int(rng.integers(0, 25))),
                    "pending-quantity": "0",
                    "fulfillment-channel": "DEFAULT",
                }
            )
    frame = pl.DataFrame(
        [{name: row.get(name, "") for name in LISTING_COLUMNS} for row in rows],
        schema=dict.fromkeys(LISTING_COLUMNS, pl.Utf8),
    )
    return frame.write_csv(separator="\t", quote_style="never", null_value="")


def _attribute(value: Any, marketplace: Marketplace, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": value}
    if isinstance(value, str):
        entry["language_tag"] = _LANGUAGE.get(marketplace.country_code, "en_US")
    entry.update(extra)
    entry["marketplace_id"] = marketplace.marketplace_id
    return entry


def _sales_rank(truth: AccountTruth, country_code: str, item: Product | ParentItem) -> list[int]:
    """(category rank, display group rank) from the last 30 days of units."""
    mt = truth.marketplaces[country_code]
    members = (
        [p.index for p in truth.catalogue.products if p.asin in item.child_asins]
        if isinstance(item, ParentItem)
        else [item.index]
    )
    units = float(mt.units[members, -30:].sum())
    category = max(1, int(60_000 / (1.0 + units) ** 0.85))
    return [category, category * 27 + 113]


def catalog_item(
    truth: AccountTruth, asin: str, marketplaces: list[Marketplace], included: list[str]
) -> dict[str, Any] | None:
    """Catalog Items 2022-04-01 `Item`; only the sections in `included` (Amazon's default:
    summaries)."""
    item = truth.catalogue.by_asin.get(asin)
    if item is None:
        return None
    is_parent = isinstance(item, ParentItem)
    result: dict[str, Any] = {"asin": asin}
    if "attributes" in included:
        attributes: dict[str, list[dict[str, Any]]] = {}
        for marketplace in marketplaces:
            attributes.setdefault("item_name", []).append(_attribute(item.title, marketplace))
            attributes.setdefault("brand", []).append(_attribute(item.brand, marketplace))
            attributes.setdefault("manufacturer", []).append(_attribute(item.brand, marketplace))
            if isinstance(item, Product):
                mt = truth.marketplaces.get(marketplace.country_code)
                price = item.price_cents(marketplace.currency)
                if mt is not None:
                    price = int(mt.price_cents[item.index, -1])
                attributes.setdefault("bullet_point", []).extend(
                    _attribute(b, marketplace) for b in item.bullets
                )
                attributes.setdefault("product_description", []).append(
                    _attribute(item.description, marketplace)
                )
                attributes.setdefault("generic_keyword", []).append(
                    _attribute(item.search_terms, marketplace)
                )
                attributes.setdefault("list_price", []).append(
                    _attribute(round(price / 100.0, 2), marketplace, currency=marketplace.currency)
                )
                attributes.setdefault("model_number", []).append(
                    _attribute(item.model_number, marketplace)
                )
                if item.variation_label:
                    theme = "color" if item.variation_theme == "COLOR_NAME" else "size"
                    attributes.setdefault(theme, []).append(
                        _attribute(item.variation_label, marketplace)
                    )
        result["attributes"] = attributes
    if "classifications" in included:
        result["classifications"] = [
            {
                "marketplaceId": m.marketplace_id,
                "classifications": [
                    {
                        "displayName": item.category,
                        "classificationId": item.category_id,
                        "parent": {"displayName": "Kitchen & Dining", "classificationId": "284507"},
                    }
                ],
            }
            for m in marketplaces
        ]
    if "dimensions" in included and isinstance(item, Product):
        side = round((item.cubic_feet * 1728) ** (1 / 3), 2)
        result["dimensions"] = [
            {
                "marketplaceId": m.marketplace_id,
                "package": {
                    "height": {"unit": "inches", "value": side},
                    "length": {"unit": "inches", "value": side},
                    "width": {"unit": "inches", "value": side},
                    "weight": {"unit": "pounds", "value": round(item.cubic_feet * 9 + 0.2, 2)},
                },
            }
            for m in marketplaces
        ]
    if "identifiers" in included and isinstance(item, Product):
        result["identifiers"] = [
            {
                "marketplaceId": m.marketplace_id,
                "identifiers": [{"identifierType": "EAN", "identifier": item.ean}],
            }
            for m in marketplaces
        ]
    if "images" in included:
        image_ids = item.image_ids if isinstance(item, Product) else ()
        if isinstance(item, ParentItem):
            first_child = next(p for p in truth.catalogue.products if p.asin == item.child_asins[0])
            image_ids = first_child.image_ids[:1]
        variants = ["MAIN"] + [f"PT{n:02d}" for n in range(1, len(image_ids))]
        result["images"] = [
            {
                "marketplaceId": m.marketplace_id,
                "images": [
                    {"variant": variant, "link": _image_link(image), "height": 1500, "width": 1500}
                    for variant, image in zip(variants, image_ids, strict=True)
                ],
            }
            for m in marketplaces
        ]
    if "productTypes" in included:
        result["productTypes"] = [
            {"marketplaceId": m.marketplace_id, "productType": item.product_type}
            for m in marketplaces
        ]
    if "relationships" in included:
        if isinstance(item, ParentItem):
            relationship = {
                "type": "VARIATION",
                "childAsins": list(item.child_asins),
                "variationTheme": {
                    "attributes": ["color" if item.variation_theme == "COLOR_NAME" else "size"],
                    "theme": item.variation_theme,
                },
            }
            relations = [relationship]
        elif isinstance(item, Product) and item.parent_asin != item.asin:
            relations = [
                {
                    "type": "VARIATION",
                    "parentAsins": [item.parent_asin],
                    "variationTheme": {
                        "attributes": ["color" if item.variation_theme == "COLOR_NAME" else "size"],
                        "theme": item.variation_theme,
                    },
                }
            ]
        else:
            relations = []
        result["relationships"] = [
            {"marketplaceId": m.marketplace_id, "relationships": relations} for m in marketplaces
        ]
    if "salesRanks" in included:
        ranks = []
        for m in marketplaces:
            if m.country_code not in truth.marketplaces:
                continue
            category_rank, group_rank = _sales_rank(truth, m.country_code, item)
            ranks.append(
                {
                    "marketplaceId": m.marketplace_id,
                    "classificationRanks": [
                        {
                            "classificationId": item.category_id,
                            "title": item.category,
                            "link": f"http://www.{m.domain}/gp/bestsellers/kitchen/{item.category_id}",
                            "rank": category_rank,
                        }
                    ],
                    "displayGroupRanks": [
                        {
                            "websiteDisplayGroup": _WEBSITE_DISPLAY_GROUP[0],
                            "title": "Kitchen & Dining",
                            "link": f"http://www.{m.domain}/gp/bestsellers/kitchen",
                            "rank": group_rank,
                        }
                    ],
                }
            )
        result["salesRanks"] = ranks
    if "summaries" in included:
        summaries = []
        for m in marketplaces:
            summary: dict[str, Any] = {
                "marketplaceId": m.marketplace_id,
                "brand": item.brand,
                "browseClassification": {
                    "displayName": item.category,
                    "classificationId": item.category_id,
                },
                "itemClassification": "VARIATION_PARENT" if is_parent else "BASE_PRODUCT",
                "itemName": item.title,
                "manufacturer": item.brand,
                "websiteDisplayGroup": _WEBSITE_DISPLAY_GROUP[0],
                "websiteDisplayGroupName": _WEBSITE_DISPLAY_GROUP[1],
            }
            if isinstance(item, Product):
                summary["modelNumber"] = item.model_number
                summary["packageQuantity"] = 1
                if item.variation_label and item.variation_theme == "COLOR_NAME":
                    summary["color"] = item.variation_label
                elif item.variation_label:
                    summary["size"] = item.variation_label
            summaries.append(summary)
        result["summaries"] = summaries
    if "vendorDetails" in included:
        result["vendorDetails"] = []  # only vendors get these
    return result
