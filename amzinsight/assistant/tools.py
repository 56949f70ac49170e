"""Lookups the model may call (OpenAI function calling), always for the chat's store and ASIN.

The model names a tool and passes JSON arguments; `ToolRunner.run` answers with JSON-ready data
or, for an unknown tool or arguments that are not valid JSON, an `error` the model reads (and
the page shows) instead of a traceback. The chat client sends the result through the anonymiser
like everything else.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.sales import sales_by_asin
from amzinsight.rules.listing_score import SCORE_RULES, SCORE_WEIGHTS
from amzinsight.rules.listings import LISTING_RULES

MAX_DAYS = 365
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "search_term_history",
            "description": "Weekly clicks, 7-day orders, spend, 7-day sales and ACoS of one "
            "customer search term in this product's ad groups over the last 90 days.",
            "parameters": {
                "type": "object",
                "properties": {"term": {"type": "string", "description": "the search term"}},
                "required": ["term"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "asin_sales_summary",
            "description": "This product's ordered sales, units, sessions and conversion over "
            "the last N days (no other product's data).",
            "parameters": {
                "type": "object",
                "properties": {"days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS}},
                "required": ["days"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "listing_rules",
            "description": "Amazon's listing rules AmzInsight checks (limits, sources) and the "
            "listing score's weights.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]
TOOL_NAMES = tuple(tool["function"]["name"] for tool in TOOLS)

HISTORY_SCHEMA = pl.Schema(
    {
        "week": pl.Date(),
        "clicks": pl.Int64(),
        "orders_7d": pl.Int64(),
        "spend": pl.Decimal(18, 2),
        "sales_7d": pl.Decimal(18, 2),
        "acos_7d": pl.Float64(),
        "currency": pl.String(),
    }
)
HISTORY_SQL = sa.text(
    """
    WITH asin_ad_groups AS (
        SELECT DISTINCT a.profile_id, a.ad_group_id
        FROM ads_advertised_product_daily a
        JOIN ads_profiles p ON p.store_id = a.store_id AND p.profile_id = a.profile_id
        WHERE a.store_id = :store_id AND a.advertised_asin = :asin
          AND p.marketplace_id IN :marketplace_ids
          AND a.report_date BETWEEN :start AND :end
    )
    SELECT CAST(date_trunc('week', CAST(t.report_date AS timestamp)) AS date) AS week,
           sum(t.clicks) AS clicks, coalesce(sum(t.purchases_7d), 0) AS orders_7d,
           sum(t.cost) AS spend, sum(t.sales_7d) AS sales_7d,
           CAST(round(sum(t.cost) / nullif(sum(t.sales_7d), 0), 4) AS float8) AS acos_7d,
           t.currency
    FROM ads_search_term_daily t
    JOIN asin_ad_groups g ON g.profile_id = t.profile_id AND g.ad_group_id = t.ad_group_id
    WHERE t.store_id = :store_id AND t.report_date BETWEEN :start AND :end
      AND lower(t.search_term) = lower(:term)
    GROUP BY 1, t.currency
    ORDER BY 1
    """
).bindparams(sa.bindparam("marketplace_ids", expanding=True))


def search_term_history(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    asin: str,
    term: str,
    start: date,
    end: date,
) -> pl.DataFrame:
    """Per week (Monday): one search term's ad figures in the ad groups advertising the ASIN."""
    if not marketplace_ids:
        return pl.DataFrame(schema=HISTORY_SCHEMA)
    parameters = {
        "store_id": store_id,
        "marketplace_ids": list(marketplace_ids),
        "asin": asin,
        "term": term.strip(),
        "start": start,
        "end": end,
    }
    with engine.connect() as connection:
        rows = connection.execute(HISTORY_SQL, parameters).mappings()
        return pl.DataFrame([dict(row) for row in rows], schema=HISTORY_SCHEMA, orient="row")


@dataclass(frozen=True)
class ToolCall:
    """One call the model made and what it got back (shown on the page)."""

    id: str
    name: str
    arguments: str
    result: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class ToolRunner:
    """Runs the model's tool calls against one store, marketplace set and ASIN."""

    engine: Engine
    store_id: int
    marketplace_ids: tuple[str, ...]
    asin: str
    today: date

    def run(self, call_id: str, name: str, arguments: str) -> ToolCall:
        if name not in TOOL_NAMES:
            return self._failed(
                call_id, name, arguments, f"There is no tool {name!r}: use {', '.join(TOOL_NAMES)}."
            )
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError as error:
            return self._failed(
                call_id,
                name,
                arguments,
                f"The arguments for {name} are not valid JSON ({error.msg} at character "
                f"{error.pos}); call it again with a JSON object.",
            )
        if not isinstance(parsed, dict):
            return self._failed(
                call_id, name, arguments, f"The arguments for {name} must be a JSON object."
            )
        try:
            result = getattr(self, f"_{name}")(**parsed)
        except (TypeError, ValueError) as error:
            return self._failed(call_id, name, arguments, f"{name} cannot use {parsed}: {error}.")
        return ToolCall(call_id, name, arguments, result)

    def _failed(self, call_id: str, name: str, arguments: str, message: str) -> ToolCall:
        return ToolCall(call_id, name, arguments, {"error": message}, message)

    def _search_term_history(self, term: str) -> dict[str, Any]:
        if not isinstance(term, str) or not term.strip():
            raise ValueError("term must be a non-empty string")
        start = self.today - timedelta(days=89)
        frame = search_term_history(
            self.engine, self.store_id, self.marketplace_ids, self.asin, term, start, self.today
        )
        return {
            "term": term,
            "from": start.isoformat(),
            "to": self.today.isoformat(),
            "weeks": [_plain(row) for row in frame.to_dicts()],
            "note": None if frame.height else "no clicks on this term in this product's ad groups",
        }

    def _asin_sales_summary(self, days: int = 30) -> dict[str, Any]:
        days = int(days)
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be between 1 and {MAX_DAYS}")
        start = self.today - timedelta(days=days - 1)
        frame = sales_by_asin(self.engine, self.store_id, self.marketplace_ids, start, self.today)
        rows = frame.filter(pl.col("child_asin") == self.asin).drop("daily_sales", "title", "sku")
        summary = {"from": start.isoformat(), "to": self.today.isoformat(), "days": days}
        if rows.is_empty():  # unknown, not zero: the range may simply not be synced
            return summary | {"note": "no sales and traffic rows for this product in the range"}
        return summary | _plain(rows.to_dicts()[0])

    def _listing_rules(self) -> dict[str, Any]:
        return {
            "rules": [asdict(rule) for rule in LISTING_RULES.values()],
            "score_weights": SCORE_WEIGHTS,
            "score_rules": SCORE_RULES,
        }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: money as text (exact), dates as ISO text."""
    return {
        key: str(value) if isinstance(value, Decimal | date) else value
        for key, value in row.items()
    }
