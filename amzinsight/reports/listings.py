"""GET_MERCHANT_LISTINGS_ALL_DATA: one row per seller SKU listed in the marketplace (active or
not), loaded as that SKU's `listings` row (latest state). The file may come with its headers in
the seller's language (French, German, Italian, Spanish, Japanese): they map to the same fields.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    Field,
    header_names,
    parse_values,
    read_flat_file,
    require_unique,
    slash_dates_day_first,
)

REPORT_TYPE = "GET_MERCHANT_LISTINGS_ALL_DATA"

KEY = ("marketplace_id", "sku")

_FIELDS = {
    "sku": Field("seller-sku", required=True),
    "asin1": Field("asin1"),
    "product_id": Field("product-id"),
    "product_id_type": Field("product-id-type"),
    "listing_id": Field("listing-id"),
    "item_name": Field("item-name"),
    "item_description": Field("item-description"),
    "price": Field("price", "money"),
    "quantity": Field("quantity", "integer"),  # empty for FBA listings (docs/amazon-formats.md 3.5)
    # open-date is written in the seller's locale with a zone name ("2022-07-11 01:34:18 PDT",
    # "08/07/2016 10:12:40 BST"): its local date is kept, and a form we cannot read is no reason
    # to fail the load.
    "open_date": Field("open-date", "date_or_null"),
    "fulfillment_channel": Field("fulfillment-channel"),
    "status": Field("status"),
    "item_condition": Field("item-condition"),
    "image_url": Field("image-url"),
}
_REQUIRED = ("seller-sku", "item-name", "listing-id")

# Header names of this report when Seller Central's language is not English, normalised (lower
# case), each mapped to the English name; only names found in public sources are listed, each
# with its source in docs/amazon-formats.md ("Localised listings headers").
LOCALISED_HEADERS: dict[str, str] = {
    # French
    "sku-vendeur": "seller-sku",
    "nom-produit": "item-name",
    "description-article": "item-description",
    "id-offre": "listing-id",
    "prix": "price",
    "quantité": "quantity",
    "date-ouverture": "open-date",
    "id-produit": "product-id",
    "type-id-produit": "product-id-type",
    "état-produit": "item-condition",
    "canal-traitement": "fulfillment-channel",
    "état": "status",
    # German
    "händler-sku": "seller-sku",
    "artikelbezeichnung": "item-name",
    "artikelbeschreibung": "item-description",
    "angebotsnummer": "listing-id",
    "preis": "price",
    "menge": "quantity",
    "erstellungsdatum": "open-date",
    "produkt-id": "product-id",
    "produkt-id-typ": "product-id-type",
    "artikelzustand": "item-condition",
    "versender": "fulfillment-channel",
    # Italian
    "sku venditore": "seller-sku",
    "nome dell'articolo": "item-name",
    "descrizione dell'articolo": "item-description",
    "numero offerta": "listing-id",
    "prezzo": "price",
    "quantità": "quantity",
    "data di creazione": "open-date",
    "identificativo del prodotto": "product-id",
    "tipo di identificativo del prodotto": "product-id-type",
    "condizione dell'articolo": "item-condition",
    "canale di gestione": "fulfillment-channel",
    "stato": "status",
    "asin 1": "asin1",
    # Spanish
    "sku del vendedor": "seller-sku",
    "título del producto": "item-name",
    "descripción del producto": "item-description",
    "identificador del listing": "listing-id",
    "precio": "price",
    "cantidad": "quantity",
    "fecha de creación": "open-date",
    "identificador del producto": "product-id",
    "tipo de identificador de producto": "product-id-type",
    "canal de gestión logística": "fulfillment-channel",
    "estado": "status",
    # Japanese
    "出品者sku": "seller-sku",
    "商品名": "item-name",
    "出品id": "listing-id",
    "価格": "price",
    "数量": "quantity",
    "出品日": "open-date",
    "商品id": "product-id",
    "商品idタイプ": "product-id-type",
    "コンディション": "item-condition",
    "フルフィルメント・チャンネル": "fulfillment-channel",
    "ステータス": "status",
}
# bullet_points and backend_search_terms are not in this file: they are left out of the frame so
# a listings sync never blanks what the catalog sync (bullets) or a person (search terms) wrote.
_COLUMNS = (
    "listing_id",
    "item_name",
    "item_description",
    "price",
    "currency",
    "quantity",
    "open_date",
    "fulfillment_channel",
    "status",
    "item_condition",
    "image_url",
)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """Listings of the marketplace the report was requested for (the file does not say)."""
    if context.marketplace_id is None:
        raise ReportParseError(
            f"{REPORT_TYPE}: needs the marketplace it was requested for (the file does not "
            "name it); import it with the store's marketplace"
        )
    raw = read_flat_file(
        path,
        REPORT_TYPE,
        required=_REQUIRED,
        optional=[field.source for field in _FIELDS.values() if field.source not in _REQUIRED],
        aliases=LOCALISED_HEADERS,
    )
    rows = parse_values(
        raw,
        _FIELDS,
        report_type=REPORT_TYPE,
        day_first=slash_dates_day_first(context.marketplace_id, context.currency),
    )
    require_unique(rows, ["sku"], report_type=REPORT_TYPE)
    frame = rows.select(
        pl.lit(context.marketplace_id, pl.String).alias("marketplace_id"),
        "sku",
        # product-id-type 1 means product-id is the ASIN (docs/amazon-formats.md 3.5, from MWS).
        pl.coalesce(
            pl.col("asin1"),
            pl.when(pl.col("product_id_type") == "1").then(pl.col("product_id")),
        ).alias("asin"),
        pl.lit(context.currency, pl.String).alias("currency"),
        *[name for name in _COLUMNS if name != "currency"],
    ).select(*KEY, "asin", *_COLUMNS)
    return ParsedReport([TableRows(tables.listings, frame, KEY)])


def detect(head: bytes) -> bool:
    return {"seller-sku", "listing-id", "item-name"} <= set(
        header_names(head, aliases=LOCALISED_HEADERS)
    )


SPEC = ReportSpec(
    key="listings",
    amazon_report_type=REPORT_TYPE,
    description="All listings: one row per seller SKU, active or inactive",
    parse=parse,
    detect=detect,
    acquisition="create",
    window="snapshot",
    extension="tsv",
)
