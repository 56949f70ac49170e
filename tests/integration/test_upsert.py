"""The COPY + ON CONFLICT upsert against real PostgreSQL: exact values, idempotent, strict keys."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from amzinsight.db.engine import get_engine
from amzinsight.db.tables import listings, orders, sales_traffic_by_asin
from amzinsight.db.upsert import upsert_frame
from amzinsight.errors import ReportParseError
from amzinsight.stores import add_store

pytestmark = pytest.mark.postgres

KEY = ("marketplace_id", "report_date", "parent_asin", "child_asin", "sku")


@pytest.fixture
def engine(migrated_database_url: str) -> sa.Engine:
    return get_engine(migrated_database_url)


@pytest.fixture
def store_id(engine: sa.Engine) -> int:
    return add_store(engine, slug="acme_us", name="Acme", country_codes=["US"]).id


def _asin_rows(units: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "marketplace_id": ["ATVPDKIKX0DER"] * len(units),
            "report_date": [date(2026, 3, 10)] * len(units),
            "parent_asin": ["B0PARENT01"] * len(units),
            "child_asin": [f"B0CHILD{i:03d}" for i in range(len(units))],
            "sku": [""] * len(units),
            "currency": ["USD"] * len(units),
            "ordered_product_sales": [Decimal("19.99") * u for u in units],
            "units_ordered": units,
        },
        schema_overrides={"ordered_product_sales": pl.Decimal(14, 2)},
    )


def _stored(engine: sa.Engine) -> list[dict]:
    with engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(
                sa.select(sales_traffic_by_asin).order_by(sales_traffic_by_asin.c.child_asin)
            ).mappings()
        ]


def test_upsert_inserts_exact_values_then_changes_nothing(engine: sa.Engine, store_id: int) -> None:
    frame = _asin_rows([3, 1, 0])
    with engine.begin() as connection:
        assert (
            upsert_frame(connection, sales_traffic_by_asin, frame, KEY, {"store_id": store_id}) == 3
        )
    first = _stored(engine)
    assert [row["ordered_product_sales"] for row in first] == [
        Decimal("59.97"),
        Decimal("19.99"),
        Decimal("0.00"),
    ]
    assert all(row["sku"] == "" for row in first)  # '' stays '', not NULL

    with engine.begin() as connection:
        assert (
            upsert_frame(connection, sales_traffic_by_asin, frame, KEY, {"store_id": store_id}) == 0
        )
    assert _stored(engine) == first  # not even loaded_at moved


def test_a_changed_value_updates_only_that_row(engine: sa.Engine, store_id: int) -> None:
    with engine.begin() as connection:
        upsert_frame(
            connection, sales_traffic_by_asin, _asin_rows([3, 1]), KEY, {"store_id": store_id}
        )
    before = _stored(engine)
    with engine.begin() as connection:
        changed = upsert_frame(
            connection, sales_traffic_by_asin, _asin_rows([3, 2]), KEY, {"store_id": store_id}
        )
    after = _stored(engine)
    assert changed == 1
    assert after[0] == before[0]
    assert after[1]["units_ordered"] == 2 and after[1]["id"] == before[1]["id"]


def test_duplicate_keys_in_one_load_are_refused(engine: sa.Engine, store_id: int) -> None:
    frame = pl.concat([_asin_rows([1]), _asin_rows([2])])
    with pytest.raises(ReportParseError, match="share a natural key"), engine.begin() as connection:
        upsert_frame(connection, sales_traffic_by_asin, frame, KEY, {"store_id": store_id})
    assert _stored(engine) == []


def test_timestamps_booleans_and_json_lists_round_trip(engine: sa.Engine, store_id: int) -> None:
    purchase = datetime(2026, 3, 10, 7, 5, 21, tzinfo=UTC)
    order_frame = pl.DataFrame(
        {
            "amazon_order_id": ["111-0000001-0000001"],
            "purchase_date": [purchase],
            "purchase_local_date": [date(2026, 3, 9)],
            "is_business_order": [True],
            "order_status": ["Shipped"],
        }
    )
    listing_frame = pl.DataFrame(
        {
            "marketplace_id": ["ATVPDKIKX0DER"],
            "sku": ["KT-1"],
            "asin": ["B0CHILD001"],
            "item_name": ["Käse board — large"],
            "bullet_points": [["Solid bamboo", "Juice groove"]],
        }
    )
    with engine.begin() as connection:
        upsert_frame(connection, orders, order_frame, ("amazon_order_id",), {"store_id": store_id})
        upsert_frame(
            connection, listings, listing_frame, ("marketplace_id", "sku"), {"store_id": store_id}
        )
    with engine.connect() as connection:
        order = connection.execute(sa.select(orders)).mappings().one()
        listing = connection.execute(sa.select(listings)).mappings().one()
    assert order["purchase_date"] == purchase and order["is_business_order"] is True
    assert listing["item_name"] == "Käse board — large"
    assert listing["bullet_points"] == ["Solid bamboo", "Juice groove"]


@pytest.mark.parametrize("direct_min_rows", [0, 10**9], ids=["direct-copy-first", "stage-only"])
def test_both_load_paths_give_the_same_rows(
    engine: sa.Engine, store_id: int, direct_min_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big first loads COPY straight into the table; a conflict falls back to the staged merge."""
    from amzinsight.db import upsert

    monkeypatch.setattr(upsert, "DIRECT_COPY_MIN_ROWS", direct_min_rows)
    with engine.begin() as connection:
        assert (
            upsert_frame(
                connection, sales_traffic_by_asin, _asin_rows([3, 1]), KEY, {"store_id": store_id}
            )
            == 2
        )
    first = _stored(engine)
    with engine.begin() as connection:  # one row changed, one new, one the same
        changed = upsert_frame(
            connection, sales_traffic_by_asin, _asin_rows([3, 2, 5]), KEY, {"store_id": store_id}
        )
    after = _stored(engine)
    assert changed == 2
    assert after[0] == first[0]
    assert [row["units_ordered"] for row in after] == [3, 2, 5]


@pytest.mark.parametrize("direct_min_rows", [0, 10**9], ids=["direct-copy-first", "stage-only"])
def test_rows_in_any_order_load_in_several_blocks(
    engine: sa.Engine, store_id: int, direct_min_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows go to COPY in key order, a few per block, the next block formatted while the server
    takes this one: every row arrives once, with its own values."""
    from amzinsight.db import upsert

    monkeypatch.setattr(upsert, "DIRECT_COPY_MIN_ROWS", direct_min_rows)
    monkeypatch.setattr(upsert, "COPY_CHUNK_ROWS", 2)
    units = [7, 3, 0, 9, 1, 4, 8]
    shuffled = _asin_rows(units).sample(fraction=1.0, shuffle=True, seed=3)
    with engine.begin() as connection:
        assert (
            upsert_frame(connection, sales_traffic_by_asin, shuffled, KEY, {"store_id": store_id})
            == 7
        )
    stored = _stored(engine)
    assert [row["units_ordered"] for row in stored] == units
    assert [row["ordered_product_sales"] for row in stored] == [Decimal("19.99") * u for u in units]
    with engine.begin() as connection:  # the same rows in another order change nothing
        again = shuffled.reverse()
        assert (
            upsert_frame(connection, sales_traffic_by_asin, again, KEY, {"store_id": store_id}) == 0
        )
    assert _stored(engine) == stored


def test_duplicates_found_out_of_order_and_with_nulls(engine: sa.Engine, store_id: int) -> None:
    """Sorted, repeated keys are neighbours wherever they were; null keys repeat too."""
    frame = _asin_rows([1, 2, 3, 4])
    far_apart = frame.with_columns(
        pl.Series("child_asin", ["B0CHILD009", "B0CHILD002", "B0CHILD003", "B0CHILD009"])
    )
    with pytest.raises(ReportParseError, match="2 rows share a natural key"), engine.begin() as c:
        upsert_frame(c, sales_traffic_by_asin, far_apart, KEY, {"store_id": store_id})
    null_keys = frame.with_columns(
        pl.lit("B0CHILD001").alias("child_asin"),
        pl.Series("sku", [None, "A", None, "B"], dtype=pl.String),
    )
    with pytest.raises(ReportParseError, match="2 rows share a natural key"), engine.begin() as c:
        upsert_frame(c, sales_traffic_by_asin, null_keys, KEY, {"store_id": store_id})
    assert _stored(engine) == []


@pytest.mark.parametrize("direct_min_rows", [0, 10**9], ids=["direct-copy-first", "stage-only"])
def test_a_value_the_column_cannot_hold_refuses_the_load(
    engine: sa.Engine, store_id: int, direct_min_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value in a later block fails the whole COPY, names the table and changes nothing."""
    from amzinsight.db import upsert

    monkeypatch.setattr(upsert, "DIRECT_COPY_MIN_ROWS", direct_min_rows)
    monkeypatch.setattr(upsert, "COPY_CHUNK_ROWS", 2)
    frame = _asin_rows([1, 2, 3, 4, 5]).with_columns(
        pl.Series("ordered_product_sales", [Decimal("1.00")] * 4 + [Decimal("10") ** 13]).cast(
            pl.Decimal(38, 2)
        )
    )
    refused = pytest.raises(ReportParseError, match=r"sales_traffic_by_asin: .*cannot store")
    with refused, engine.begin() as connection:
        upsert_frame(connection, sales_traffic_by_asin, frame, KEY, {"store_id": store_id})
    assert _stored(engine) == []


def test_a_conflict_the_probes_miss_rolls_the_direct_copy_back(
    engine: sa.Engine, store_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-run whose first, middle or last key is stored merges at once; a conflict elsewhere
    still rolls the direct COPY back to its savepoint and merges."""
    from amzinsight.db import upsert

    monkeypatch.setattr(upsert, "DIRECT_COPY_MIN_ROWS", 0)
    units = [1, 2, 3, 4, 5]
    with engine.begin() as connection:
        stored_second = _asin_rows(units)[1:2]  # B0CHILD001: not a probe of the five below
        upsert_frame(connection, sales_traffic_by_asin, stored_second, KEY, {"store_id": store_id})

    direct: list[bool] = []
    copy_into_target = upsert._copy_into_target

    def watched(*args: Any) -> bool:
        direct.append(copy_into_target(*args))
        return direct[-1]

    monkeypatch.setattr(upsert, "_copy_into_target", watched)
    with engine.begin() as connection:
        changed = upsert_frame(
            connection, sales_traffic_by_asin, _asin_rows(units), KEY, {"store_id": store_id}
        )
    assert direct == [False] and changed == 4  # tried, rolled back, merged
    assert [row["units_ordered"] for row in _stored(engine)] == units
    with engine.begin() as connection:  # every key stored: the probes see it, no COPY is tried
        changed = upsert_frame(
            connection, sales_traffic_by_asin, _asin_rows(units), KEY, {"store_id": store_id}
        )
    assert direct == [False] and changed == 0


@pytest.mark.parametrize("lead", ["day", "text"])
def test_key_order_is_the_full_sort(lead: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows come out in key order (nulls last), part by part, whether the leading column is cut
    into parts of whole values (a date) or sorted whole (text); a column the same in every row is
    left out of the sort."""
    from amzinsight.db import upsert

    monkeypatch.setattr(upsert, "COPY_CHUNK_ROWS", 7)
    size = 200
    frame = pl.DataFrame(
        {
            "store": [1] * size,
            "day": [date(2026, 3, 1 + (i * 7) % 9) if i % 23 else None for i in range(size)],
            "text": [None if i % 17 == 0 else f"t{(i * 31) % 13}" for i in range(size)],
            "n": [(i * 37) % 11 for i in range(size)],
        }
    )
    key = ["store", lead, "text" if lead == "day" else "day", "n"]
    order = upsert._KeyOrder.of(frame.select(key), key)
    assert order is not None and order.keys.columns == ["__amz_row__", *key[1:]]
    assert (len(order.parts) > 1) is (lead == "day")
    positions = pl.concat(list(order))
    expected = frame.with_row_index().sort(key, nulls_last=True, maintain_order=True)
    assert frame[positions].select(key).equals(expected.select(key))
    assert sorted(positions.to_list()) == list(range(size))
    blocks = list(upsert._row_blocks(frame, order))
    assert pl.concat(blocks).equals(frame[positions]) and max(b.height for b in blocks) <= 7


def test_replacing_a_settlements_lines_plans_as_a_hash_not_a_nested_loop(
    engine: sa.Engine, store_id: int
) -> None:
    """delete_absent once planned as a nested loop (89 s for 20,000 lines, quadratic): its plan
    must look the kept keys up in a hash, and it deletes exactly the lines the new file lacks."""
    from amzinsight.db.tables import settlement_lines
    from amzinsight.db.upsert import delete_absent

    lines = 5_000
    with engine.begin() as connection:
        connection.execute(
            sa.insert(settlement_lines),
            [
                {"store_id": store_id, "settlement_id": "S1", "line_no": n}
                for n in range(1, lines + 1)
            ],
        )
    kept = pl.DataFrame({"settlement_id": ["S1"] * (lines - 2), "line_no": range(1, lines - 1)})
    key = ("settlement_id", "line_no")
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("DELETE FROM settlement_lines"):
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        with engine.begin() as connection:
            deleted = delete_absent(
                connection, settlement_lines, kept, key, "settlement_id", store_id
            )
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert deleted == 2  # lines 4,999 and 5,000: the new file does not have them
    ((statement, parameters),) = statements
    with engine.connect() as connection:
        plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    assert "hashed SubPlan" in plan and "Nested Loop" not in plan, plan
