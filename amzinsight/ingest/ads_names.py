"""Names and ids of a profile's Amazon Ads entities, read from what the API has loaded, and the
adoption of Amazon's ids by rows a console export loaded under ids derived from names.

A console file imported before the API knew its campaigns keeps ids such as name-3f2a...
(amzinsight/reports/ads_names.py). When the API later reports those entities (a sync, its
campaign settings, or an API document imported by hand), `adopt_named_ids` gives those rows
Amazon's ids, in the API load's own transaction; where the API already holds the same entity and
day, the API's row stands and the console's is deleted, so no day counts twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amzinsight.db import tables
from amzinsight.reports.ads_names import NAMED_ID_PREFIX, AdsNames, is_named_id, target_key
from amzinsight.reports.base import ReportSpec

logger = logging.getLogger(__name__)

CONSOLE_KEY = "sp_console"
_NAMED = NAMED_ID_PREFIX + "%"

# Daily tables and the id columns each holds (besides the key's profile and date).
_DAILY_IDS: dict[sa.Table, tuple[str, ...]] = {
    tables.ads_campaign_daily: ("campaign_id", "ad_group_id"),
    tables.ads_target_daily: ("campaign_id", "ad_group_id", "target_id"),
    tables.ads_search_term_daily: ("campaign_id", "ad_group_id", "target_id"),
    tables.ads_advertised_product_daily: ("campaign_id", "ad_group_id", "ad_id"),
    tables.ads_purchased_product_daily: ("campaign_id", "ad_group_id", "keyword_id"),
}
_ADOPTED = sa.table("adopted_ads_ids", sa.column("derived"), sa.column("amazon"))
"""A temporary table of derived id -> Amazon's id, for one adoption."""


def teaches_ads_ids(spec: ReportSpec) -> bool:
    """Documents from the Ads API (reports and campaign settings) carry Amazon's ids with names."""
    return spec.acquisition == "ads" or spec.api_operation == "spEntities"


def load_ads_names(connection: Connection, store_id: int, profile_id: str) -> AdsNames:
    """Every name -> id pair the profile's API data holds; later rows win over earlier ones."""
    campaigns: dict[str, str] = {}
    ad_groups: dict[tuple[str, str], str] = {}
    targets: dict[tuple[str, str, str], str] = {}
    ads: dict[tuple[str, str], str] = {}

    def rows(query: sa.Select[Any]) -> Iterable[Any]:
        return connection.execute(query)

    for table, name_column in (
        (tables.ads_campaign_daily, "campaign_name"),
        (tables.ads_target_daily, "campaign_name"),
        (tables.ads_campaigns, "name"),
    ):
        query = _distinct(table, store_id, profile_id, table.c[name_column], table.c.campaign_id)
        for name, campaign_id in rows(query):
            campaigns[str(name).strip()] = str(campaign_id)
    for table, name_column in (
        (tables.ads_target_daily, "ad_group_name"),
        (tables.ads_advertised_product_daily, "ad_group_name"),
        (tables.ads_ad_groups, "name"),
    ):
        query = _distinct(
            table,
            store_id,
            profile_id,
            table.c.campaign_id,
            table.c[name_column],
            table.c.ad_group_id,
        )
        for campaign_id, name, ad_group_id in rows(query):
            ad_groups[(str(campaign_id), str(name).strip())] = str(ad_group_id)
    daily = tables.ads_target_daily
    for ad_group_id, text, match_type, target_id in rows(
        _distinct(
            daily,
            store_id,
            profile_id,
            daily.c.ad_group_id,
            daily.c.keyword_text,
            daily.c.match_type,
            daily.c.target_id,
        )
    ):
        targets[(str(ad_group_id), *target_key(str(text), str(match_type)))] = str(target_id)
    entity = tables.ads_targets
    for ad_group_id, text, match_type, target_id in rows(
        _distinct(
            entity,
            store_id,
            profile_id,
            entity.c.ad_group_id,
            sa.func.coalesce(entity.c.keyword_text, entity.c.expression),
            entity.c.match_type,
            entity.c.target_id,
        ).where(~entity.c.kind.like("%negative%"))
    ):
        targets[(str(ad_group_id), *target_key(str(text), str(match_type or "")))] = str(target_id)
    product = tables.ads_advertised_product_daily
    for ad_group_id, sku, asin, ad_id in rows(
        _distinct(
            product,
            store_id,
            profile_id,
            product.c.ad_group_id,
            product.c.advertised_sku,
            product.c.advertised_asin,
            product.c.ad_id,
        )
    ):
        for key in (sku, asin):
            if key:
                ads[(str(ad_group_id), str(key).strip())] = str(ad_id)
    return AdsNames(campaigns, ad_groups, targets, ads)


def _distinct(
    table: sa.Table, store_id: int, profile_id: str, *columns: sa.ColumnElement[Any]
) -> sa.Select[Any]:
    """Distinct combinations of Amazon's ids (never derived ones) with their names, the latest
    last (so a name used twice ends up with the entity that used it last)."""
    id_columns = [c for c in columns if isinstance(c, sa.Column) and c.name.endswith("_id")]
    latest = table.c.report_date if "report_date" in table.c else table.c.updated_at
    return (
        sa.select(*columns)
        .where(table.c.store_id == store_id, table.c.profile_id == profile_id)
        .where(*[column.is_not(None) for column in columns])
        .where(*[~column.like(_NAMED) for column in id_columns])
        .group_by(*columns)
        .order_by(sa.func.max(latest).nulls_first())
    )


def has_named_rows(connection: Connection, store_id: int) -> bool:
    """Cheap guard: only a store that ever imported a console export can hold derived ids."""
    runs = tables.sync_runs
    query = sa.select(
        sa.exists().where(
            runs.c.store_id == store_id,
            runs.c.report_type == CONSOLE_KEY,
            runs.c.status == "succeeded",
        )
    )
    return bool(connection.execute(query).scalar())


def adopt_named_ids(connection: Connection, store_id: int, profile_id: str) -> int:
    """Give console rows Amazon's ids where the API now names their entities; returns the rows
    changed or deleted. Runs in a savepoint: should two console rows meet one API key, the
    adoption is skipped (logged) rather than failing the API load."""
    if not has_named_rows(connection, store_id):
        return 0
    names = load_ads_names(connection, store_id, profile_id)
    mapping = _derived_to_amazon(connection, store_id, profile_id, names)
    if not mapping:
        return 0
    changed = 0
    try:
        with connection.begin_nested():
            connection.execute(
                sa.text(
                    "CREATE TEMP TABLE IF NOT EXISTS adopted_ads_ids "
                    "(derived text PRIMARY KEY, amazon text NOT NULL) ON COMMIT DROP"
                )
            )
            connection.execute(sa.text("TRUNCATE adopted_ads_ids"))
            connection.execute(
                sa.text("INSERT INTO adopted_ads_ids (derived, amazon) VALUES (:derived, :amazon)"),
                [{"derived": derived, "amazon": amazon} for derived, amazon in mapping.items()],
            )
            for table, id_columns in _DAILY_IDS.items():
                changed += _adopt_in(connection, table, id_columns, store_id, profile_id)
    except sa.exc.IntegrityError as error:
        logger.warning(
            "console rows of profile %s could not take Amazon's ids (%s); they keep derived ids",
            profile_id, str(error).splitlines()[0],
        )  # fmt: skip
        return 0
    if changed:
        logger.info("%d console rows of profile %s took Amazon's ids", changed, profile_id)
    return changed


def _derived_to_amazon(
    connection: Connection, store_id: int, profile_id: str, names: AdsNames
) -> dict[str, str]:
    """Derived id -> Amazon's id, for every derived id whose names the API now knows."""
    mapping: dict[str, str] = {}
    for table in (
        tables.ads_target_daily,
        tables.ads_search_term_daily,
        tables.ads_advertised_product_daily,
        tables.ads_purchased_product_daily,
        tables.ads_campaign_daily,
    ):
        columns = [
            table.c[name]
            for name in (
                "campaign_id",
                "campaign_name",
                "ad_group_id",
                "ad_group_name",
                "target_id",
                "keyword_id",
                "keyword_text",
                "match_type",
                "ad_id",
                "advertised_sku",
                "advertised_asin",
            )
            if name in table.c
        ]
        named = sa.or_(*[c.like(_NAMED) for c in columns if c.name.endswith("_id")])
        query = (
            sa.select(*columns)
            .where(table.c.store_id == store_id, table.c.profile_id == profile_id, named)
            .distinct()
        )
        for row in connection.execute(query).mappings():
            campaign = row["campaign_name"] or ""
            ad_group = row.get("ad_group_name") or ""
            found = {"campaign_id": names.campaign_id(campaign)}
            if ad_group:
                found["ad_group_id"] = names.ad_group_id(campaign, ad_group)
            text, match = row.get("keyword_text"), row.get("match_type") or ""
            if text and "target_id" in row:
                found["target_id"] = names.target_id(campaign, ad_group, text, match)
            if text and "keyword_id" in row:
                found["keyword_id"] = names.target_id(campaign, ad_group, text, match)
            if "ad_id" in row:
                found["ad_id"] = names.ad_id(
                    campaign, ad_group, row["advertised_sku"], row["advertised_asin"]
                )
            for column, amazon in found.items():
                derived = row.get(column)
                if is_named_id(derived) and not is_named_id(amazon):
                    mapping[str(derived)] = amazon
    return mapping


def _adopt_in(
    connection: Connection,
    table: sa.Table,
    id_columns: tuple[str, ...],
    store_id: int,
    profile_id: str,
) -> int:
    """Delete the console rows whose adopted key the API already holds, then re-key the rest."""
    key = next(c for c in table.constraints if isinstance(c, sa.UniqueConstraint))
    key_columns = [c.name for c in key.columns if c.name not in ("store_id", "profile_id")]
    api = table.alias("api")

    def adopted(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        amazon = sa.select(_ADOPTED.c.amazon).where(_ADOPTED.c.derived == column)
        return sa.func.coalesce(amazon.scalar_subquery(), column)

    mine = sa.and_(
        table.c.store_id == store_id,
        table.c.profile_id == profile_id,
        sa.or_(*[table.c[name].in_(sa.select(_ADOPTED.c.derived)) for name in id_columns]),
    )
    same_key = [
        api.c[name] == (adopted(table.c[name]) if name in id_columns else table.c[name])
        for name in key_columns
    ]
    deleted = connection.execute(
        sa.delete(table).where(
            mine,
            api.c.store_id == table.c.store_id,
            api.c.profile_id == table.c.profile_id,
            api.c.id != table.c.id,
            *same_key,
        )
    ).rowcount
    updated = connection.execute(
        sa.update(table).where(mine).values({name: adopted(table.c[name]) for name in id_columns})
    ).rowcount
    return int(deleted or 0) + int(updated or 0)
