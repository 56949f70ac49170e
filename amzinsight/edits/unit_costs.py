"""Unit costs (COGS) a person enters or uploads: checked row by row, saved all or nothing.

A row names a SKU, or an ASIN that stands for every SKU of it the store knows, with its unit
cost, currency and the date it applies from; profit (`analytics.finance`) uses the cost in
effect on each sale's date. A save makes the store's cached results stale.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from amzinsight.analytics.finance import sku_asins
from amzinsight.cache import bump_data_version
from amzinsight.db.tables import cogs
from amzinsight.edits.audit import UNIT_COST_ACTION, Change, checked_actor, record_changes
from amzinsight.errors import ConfigError
from amzinsight.marketplaces import MARKETPLACES

KNOWN_CURRENCIES = frozenset(m.currency for m in MARKETPLACES.values())
UNIT_COST_PLACES = 4  # cogs.unit_cost is NUMERIC(12, 4)
MAX_UNIT_COST = Decimal("99999999.9999")
MAX_ERRORS_SHOWN = 5
EXTRA_VALUES = "\x00extra"  # where csv puts values past the header's columns


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN: an empty cell from a data editor
        return ""
    return str(value).strip()


def _unit_cost(value: Any) -> Decimal:
    text = _text(value)
    if not text:
        raise ValueError("unit_cost is empty")
    try:
        cost = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"unit_cost {text!r} is not a number") from None
    if not cost.is_finite():
        raise ValueError(f"unit_cost {text!r} is not a number")
    if cost < 0:
        raise ValueError(f"unit_cost {text} is negative")
    if cost > MAX_UNIT_COST:
        raise ValueError(f"unit_cost {text} is too large")
    exponent = cost.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > UNIT_COST_PLACES:
        raise ValueError(f"unit_cost {text} has more than {UNIT_COST_PLACES} decimal places")
    return cost


def _currency(value: Any) -> str:
    text = _text(value).upper()
    if text not in KNOWN_CURRENCIES:
        known = ", ".join(sorted(KNOWN_CURRENCIES))
        raise ValueError(f"currency {_text(value)!r} is not one of the marketplaces' ({known})")
    return text


def _effective_from(value: Any) -> date:
    if isinstance(value, datetime):  # pandas Timestamps from a data editor
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    try:
        return date.fromisoformat(text[:10] if len(text) > 10 and "T" in text else text)
    except ValueError:
        raise ValueError(f"effective_from {text!r} is not a date (YYYY-MM-DD)") from None


def _validated_cogs(
    connection: sa.Connection,
    store_id: int,
    rows: Iterable[Mapping[str, Any]],
    where: Callable[[int], str],
) -> list[dict[str, Any]]:
    """Rows ready to upsert, or one ConfigError naming every bad row (up to a few).

    A row names a SKU, or an ASIN that stands for every SKU of it the store knows.
    """
    sku_asin = sku_asins(store_id)
    skus_of: dict[str, list[str]] = {}
    for sku, asin in connection.execute(
        sa.select(sku_asin.c.sku, sku_asin.c.asin).order_by(sku_asin.c.sku)
    ):
        skus_of.setdefault(asin, []).append(sku)
    ready: list[dict[str, Any]] = []
    first_seen: dict[tuple[str, date], int] = {}
    errors: list[str] = []
    for number, row in enumerate(rows, start=1):
        try:
            sku, asin = _text(row.get("sku")), _text(row.get("asin"))
            if not sku and not asin:
                raise ValueError("neither sku nor asin is given")
            if sku:
                skus = [sku]
            else:
                skus = skus_of.get(asin, [])
                if not skus:
                    raise ValueError(
                        f"ASIN {asin} has no SKU in this store yet (give the sku, or sync "
                        "orders or listings first)"
                    )
            cost = _unit_cost(row.get("unit_cost"))
            currency = _currency(row.get("currency"))
            effective = _effective_from(row.get("effective_from"))
            note = _text(row.get("note")) or None
            for one in skus:
                earlier = first_seen.get((one, effective))
                if earlier is not None:
                    raise ValueError(
                        f"SKU {one} from {effective} is also on {where(earlier)}; keep one"
                    )
                first_seen[(one, effective)] = number
                ready.append(
                    {
                        "store_id": store_id,
                        "sku": one,
                        "effective_from": effective,
                        "unit_cost": cost,
                        "currency": currency,
                        "note": note,
                    }
                )
        except ValueError as error:
            errors.append(f"{where(number)}: {error}")
    if errors:
        more = len(errors) - MAX_ERRORS_SHOWN
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN]) + (f"; and {more} more" if more > 0 else "")
        raise ConfigError(f"No unit costs were saved. {shown}.")
    return ready


def _cost_text(unit_cost: Decimal, currency: str) -> str:
    """`11.5000 USD`, as the column stores it, so that saving the same cost again logs nothing."""
    return f"{Decimal(unit_cost).quantize(Decimal(1).scaleb(-UNIT_COST_PLACES))} {currency}"


def _cost_changes(
    connection: sa.Connection, store_id: int, ready: list[dict[str, Any]]
) -> list[Change]:
    """Each row's cost before (None: new) and after the save, for the change log."""
    keys = [(row["sku"], row["effective_from"]) for row in ready]
    before = {
        (sku, effective): _cost_text(unit_cost, currency)
        for sku, effective, unit_cost, currency in connection.execute(
            sa.select(cogs.c.sku, cogs.c.effective_from, cogs.c.unit_cost, cogs.c.currency).where(
                cogs.c.store_id == store_id,
                sa.tuple_(cogs.c.sku, cogs.c.effective_from).in_(keys),
            )
        )
    }
    return [
        Change(
            {"sku": row["sku"], "effective_from": row["effective_from"].isoformat()},
            before.get((row["sku"], row["effective_from"])),
            _cost_text(row["unit_cost"], row["currency"]),
        )
        for row in ready
    ]


def _upsert_cogs(
    connection: sa.Connection,
    store_id: int,
    ready: list[dict[str, Any]],
    actor: str,
    reason: str | None = None,
) -> int:
    if ready:
        changes = _cost_changes(connection, store_id, ready)
        statement = pg_insert(cogs).values(ready)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[cogs.c.store_id, cogs.c.sku, cogs.c.effective_from],
                set_={
                    "unit_cost": statement.excluded.unit_cost,
                    "currency": statement.excluded.currency,
                    "note": statement.excluded.note,
                },
            )
        )
        record_changes(connection, store_id, UNIT_COST_ACTION, cogs, changes, actor, reason)
        bump_data_version(connection, store_id)  # cached profit must see the new costs
    return len(ready)


def save_cogs(engine: Engine, store_id: int, rows: Iterable[Mapping[str, Any]], actor: str) -> int:
    """Upsert unit costs (sku or asin, unit_cost, currency, effective_from, optional note): all of
    them, or none and a ConfigError naming the bad rows. Each changed cost goes to the change log
    under `actor`. Returns how many SKU rows were written."""
    actor = checked_actor(actor, "Saving unit costs")
    with engine.begin() as connection:
        ready = _validated_cogs(connection, store_id, rows, lambda number: f"row {number}")
        return _upsert_cogs(connection, store_id, ready, actor)


def import_cogs_csv(engine: Engine, store_id: int, content: bytes, actor: str) -> int:
    """Unit costs from a CSV with a header: sku or asin, unit_cost, currency, effective_from
    (YYYY-MM-DD), optionally note. All-or-nothing, like save_cogs; errors name the file line."""
    actor = checked_actor(actor, "Importing unit costs")
    try:
        text = content.decode("utf-8-sig")  # a BOM from spreadsheet exports is not data
    except UnicodeDecodeError:
        raise ConfigError("The COGS file is not UTF-8 text: export it as CSV UTF-8.") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=EXTRA_VALUES)
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    if not header:
        raise ConfigError("The COGS file is empty: it needs a header line and one row per cost.")
    missing = [name for name in ("unit_cost", "currency", "effective_from") if name not in header]
    if "sku" not in header and "asin" not in header:
        missing.insert(0, "sku or asin")
    if missing:
        raise ConfigError(
            f"The COGS file has no {', '.join(missing)} column: the header needs sku (or asin), "
            "unit_cost, currency and effective_from."
        )
    reader.fieldnames = header
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for row in reader:
        if not any(_text(value) for key, value in row.items() if key != EXTRA_VALUES):
            continue  # blank lines at the end of a spreadsheet export
        if row.get(EXTRA_VALUES):
            raise ConfigError(
                f"COGS file line {reader.line_num}: more values than header columns; "
                "quote values that contain commas. No unit costs were saved."
            )
        rows.append(row)
        lines.append(reader.line_num)
    if not rows:
        raise ConfigError("The COGS file has a header but no rows.")
    with engine.begin() as connection:
        ready = _validated_cogs(
            connection, store_id, rows, lambda number: f"line {lines[number - 1]}"
        )
        return _upsert_cogs(connection, store_id, ready, actor, reason="CSV import")
