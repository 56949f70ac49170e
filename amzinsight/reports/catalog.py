"""Catalog Items API 2022-04-01 getCatalogItem, as one JSON document the client assembles from
one call per ASIN: one row per ASIN for the document's marketplace (`catalog_items`).

Document: {"source": "getCatalogItem", "marketplaceId", "snapshotDate", "items": [Item, ...]},
each Item as Amazon returns it with includedData=attributes,images,productTypes,relationships,
salesRanks,summaries,classifications.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    Field,
    json_frame,
    json_head_declares,
    parse_values,
    read_json_document,
    require_unique,
)

SOURCE = "getCatalogItem"
KEY = ("marketplace_id", "asin")

_FIELDS = {
    "asin": Field("asin", required=True),
    "parent_asin": Field("parent_asin"),
    "item_name": Field("item_name"),
    "brand": Field("brand"),
    "manufacturer": Field("manufacturer"),
    "model_number": Field("model_number"),
    "item_classification": Field("item_classification"),
    "browse_node": Field("browse_node"),
    "category": Field("category"),
    "product_type": Field("product_type"),
    "bullet_points": Field("bullet_points"),
    "description": Field("description"),
    "images_count": Field("images_count", "integer"),
    "main_image_url": Field("main_image_url"),
    "sales_rank": Field("sales_rank", "integer"),
    "sales_rank_category": Field("sales_rank_category"),
    "list_price": Field("list_price", "money"),
    "currency": Field("currency"),
    "attributes": Field("attributes"),
}


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """Each item's sections for one marketplace; `attributes` is kept whole as JSON text."""
    document = read_json_document(path, SOURCE)
    if not isinstance(document, dict) or document.get("source") != SOURCE:
        raise ReportParseError(
            f"{SOURCE}: not a catalog items document (its source is not {SOURCE!r})"
        )
    marketplace_id = document.get("marketplaceId") or context.marketplace_id
    if marketplace_id is None:
        raise ReportParseError(f"{SOURCE}: the document names no marketplaceId, and none was given")
    items = document.get("items") or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ReportParseError(f"{SOURCE} items: expected a list of objects")
    described = [_describe(item, marketplace_id, context.currency) for item in items]
    columns = {
        field.source: [row.get(field.source) for row in described] for field in _FIELDS.values()
    }
    rows = parse_values(
        json_frame(columns, len(items)),
        _FIELDS,
        report_type=SOURCE,
        where=lambda index: f"items[{index}]",
    )
    require_unique(rows, ["asin"], report_type=SOURCE, where=lambda index: f"items[{index}]")
    frame = rows.select(pl.lit(marketplace_id, pl.String).alias("marketplace_id"), *_FIELDS)
    return ParsedReport([TableRows(tables.catalog_items, frame, KEY)])


def detect(head: bytes) -> bool:
    return json_head_declares(head, "source", SOURCE)


def _describe(item: Mapping[str, Any], marketplace_id: str, currency: str | None) -> dict[str, Any]:
    """The values of one item for one marketplace, picked out of Amazon's nested sections."""
    # Every section but attributes is a list of per-marketplace objects
    # (docs/amazon-formats.md 3.6).
    summary = _for_marketplace(item.get("summaries"), marketplace_id)
    attributes = item.get("attributes") or {}
    browse = summary.get("browseClassification") or _first_classification(
        _for_marketplace(item.get("classifications"), marketplace_id)
    )
    images_entry = _for_marketplace(item.get("images"), marketplace_id)
    images = images_entry.get("images") or []
    rank, rank_category = _best_rank(_for_marketplace(item.get("salesRanks"), marketplace_id))
    price = _attribute(attributes, "list_price", marketplace_id)
    bullets = [
        entry.get("value")
        for entry in _attribute_entries(attributes, "bullet_point", marketplace_id)
        if entry.get("value")
    ]
    return {
        "asin": item.get("asin"),
        "parent_asin": _parent_asin(_for_marketplace(item.get("relationships"), marketplace_id)),
        "item_name": summary.get("itemName")
        or _attribute_value(attributes, "item_name", marketplace_id),
        "brand": summary.get("brand") or _attribute_value(attributes, "brand", marketplace_id),
        "manufacturer": summary.get("manufacturer")
        or _attribute_value(attributes, "manufacturer", marketplace_id),
        "model_number": summary.get("modelNumber")
        or _attribute_value(attributes, "model_number", marketplace_id),
        "item_classification": summary.get("itemClassification"),
        "browse_node": browse.get("classificationId"),
        "category": browse.get("displayName"),
        "product_type": _for_marketplace(item.get("productTypes"), marketplace_id).get(
            "productType"
        ),
        "bullet_points": json.dumps(bullets, ensure_ascii=False) if bullets else None,
        "description": _attribute_value(attributes, "product_description", marketplace_id),
        # Amazon lists each image variant at several sizes: count variants, keep MAIN's largest.
        "images_count": len({image.get("variant") for image in images}) if images_entry else None,
        "main_image_url": _main_image(images),
        "sales_rank": rank,
        "sales_rank_category": rank_category,
        "list_price": price.get("value", price.get("value_with_tax")),
        "currency": price.get("currency") or currency,
        # default=float: attribute numbers came in as Decimal; a float repr writes them back as
        # Amazon sent them (prices, dimensions have far fewer than 15 digits).
        "attributes": json.dumps(attributes, ensure_ascii=False, default=float)
        if attributes
        else None,
    }


def _for_marketplace(section: Any, marketplace_id: str) -> dict[str, Any]:
    for entry in section or []:
        if isinstance(entry, dict) and entry.get("marketplaceId") == marketplace_id:
            return entry
    return {}


def _attribute_entries(
    attributes: Mapping[str, Any], name: str, marketplace_id: str
) -> list[dict[str, Any]]:
    """An attribute's values for the marketplace (values without a marketplace_id apply to all)."""
    return [
        entry
        for entry in attributes.get(name) or []
        if isinstance(entry, dict) and entry.get("marketplace_id") in (None, marketplace_id)
    ]


def _attribute(attributes: Mapping[str, Any], name: str, marketplace_id: str) -> dict[str, Any]:
    entries = _attribute_entries(attributes, name, marketplace_id)
    return entries[0] if entries else {}


def _attribute_value(attributes: Mapping[str, Any], name: str, marketplace_id: str) -> Any:
    return _attribute(attributes, name, marketplace_id).get("value")


def _first_classification(section: Mapping[str, Any]) -> dict[str, Any]:
    classifications = section.get("classifications") or []
    return classifications[0] if classifications else {}


def _best_rank(section: Mapping[str, Any]) -> tuple[Any, Any]:
    """The best (lowest) rank in the website display group, else in a browse classification."""
    for ranks_key in ("displayGroupRanks", "classificationRanks"):
        ranks = [rank for rank in section.get(ranks_key) or [] if rank.get("rank") is not None]
        if ranks:
            best = min(ranks, key=lambda rank: rank["rank"])
            return best["rank"], best.get("title")
    return None, None


def _main_image(images: list[dict[str, Any]]) -> str | None:
    main = [image for image in images if image.get("variant") == "MAIN" and image.get("link")]
    if not main:
        return None
    largest = max(main, key=lambda image: (image.get("height") or 0) * (image.get("width") or 0))
    return str(largest["link"])


def _parent_asin(section: Mapping[str, Any]) -> str | None:
    for relationship in section.get("relationships") or []:
        parents = relationship.get("parentAsins") or []
        if relationship.get("type") == "VARIATION" and parents:
            return str(parents[0])
    return None


SPEC = ReportSpec(
    key="catalog",
    amazon_report_type=None,
    description="Catalog items: title, bullets, images, sales rank and parent per ASIN",
    parse=parse,
    detect=detect,
    acquisition="api",
    window="snapshot",
    extension="json",
    api_operation=SOURCE,
)
