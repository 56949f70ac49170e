"""Audited corrections that syncs keep, order shipping retention, and no buyer data in orders.

Real PostgreSQL: the fixture files are imported through the normal pipeline, corrected, then
imported again, as a later sync would deliver them. Expected values are read from the files here.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.config import Settings, get_settings
from amzinsight.db import tables
from amzinsight.edits.corrections import (
    CorrectionError,
    correct_value,
    correction_history,
    corrections,
)
from amzinsight.ingest.imports import import_file
from amzinsight.privacy import redact_order_shipping
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, add_store
from launcher.cli import main
from workers.schedule import declared_schedule

pytestmark = [pytest.mark.postgres]

FIXTURES = Path(__file__).parents[1] / "fixtures"
NOW = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)
US = "ATVPDKIKX0DER"
KETTLE = "BL-KETTLE-1L-BLK"
KETTLE_ORDER = "111-4820193-5502614"
SETTLEMENT = "27519934021"
BUYER_VALUES = {
    "buyer-name": "Jane Q. Buyer",
    "buyer-email": "jane.buyer@marketplace.amazon.example",
    "buyer-phone-number": "+1 206-555-0199",
    "recipient-name": "Jane Recipient",
    "ship-address-1": "1234 Private Lane",
    "ship-address-2": "Apt 99",
    "ship-address-3": "c/o Neighbour",
    "ship-phone-number": "+1 206-555-0142",
    "bill-address-1": "77 Billing Street",
}


@pytest.fixture
def runtime(migrated_database_url: str, tmp_path: Path) -> Runtime:
    return build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path / "data"))


@pytest.fixture
def store(runtime: Runtime) -> Store:
    return add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])


def load(runtime: Runtime, store: Store, path: Path) -> int:
    outcome = import_file(runtime.engine, runtime.archive, store, path, now=NOW)
    assert outcome.status == "succeeded"
    return outcome.run_id


def tsv_rows(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def scalar(engine: Engine, query: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def audit_entries(engine: Engine, action: str) -> list[Any]:
    query = (
        sa.select(tables.audit_log)
        .where(tables.audit_log.c.action == action)
        .order_by(tables.audit_log.c.id)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).all())


def listing_title(engine: Engine, store: Store) -> str:
    return scalar(
        engine,
        sa.select(tables.listings.c.item_name).where(
            tables.listings.c.store_id == store.id, tables.listings.c.sku == KETTLE
        ),
    )


# --- corrections ---------------------------------------------------------------------------------


def test_a_corrected_listing_title_survives_later_syncs_and_shows_what_amazon_says(
    runtime: Runtime, store: Store, tmp_path: Path
) -> None:
    listings_file = FIXTURES / "merchant_listings.tsv"
    load(runtime, store, listings_file)
    from_file = next(
        r["item-name"] for r in tsv_rows("merchant_listings.tsv") if r["seller-sku"] == KETTLE
    )
    assert listing_title(runtime.engine, store) == from_file
    corrected = "Brewlane Gooseneck Kettle 1 L, Matte Black (our wording)"
    version_before = scalar(runtime.engine, sa.select(tables.stores.c.data_version))

    result = correct_value(
        runtime.engine, store, "listings", {"marketplace_id": US, "sku": KETTLE}, "item_name",
        corrected, "brand guide wording", "anna",
    )  # fmt: skip

    assert result["old"] == from_file and result["new"] == corrected
    assert listing_title(runtime.engine, store) == corrected
    assert scalar(runtime.engine, sa.select(tables.stores.c.data_version)) == version_before + 1
    [entry] = audit_entries(runtime.engine, "correction")
    assert (entry.store_id, entry.table_name, entry.field) == (store.id, "listings", "item_name")
    assert entry.row_key == {"marketplace_id": US, "sku": KETTLE}
    assert (entry.old_value, entry.new_value) == (from_file, corrected)
    assert (entry.reason, entry.actor) == ("brand guide wording", "anna")

    # A later sync delivers Amazon's title again: the correction stays, and says so.
    run_id = load(runtime, store, listings_file)
    assert listing_title(runtime.engine, store) == corrected
    [kept] = audit_entries(runtime.engine, "correction_kept")
    assert (kept.old_value, kept.new_value, kept.actor) == (from_file, corrected, "sync")
    assert f"run {run_id}" in kept.reason
    frame = corrections(runtime.engine, store.id)
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert row["source_value"] == from_file and row["corrected_value"] == corrected
    assert row["sync_disagreed"] is True and row["reason"] == "brand guide wording"
    assert json.loads(row["key"]) == {"marketplace_id": US, "sku": KETTLE}

    # The same value again is kept silently; a new value from Amazon is recorded.
    load(runtime, store, listings_file)
    assert listing_title(runtime.engine, store) == corrected
    assert len(audit_entries(runtime.engine, "correction_kept")) == 1
    renamed = tmp_path / "merchant_listings.tsv"
    renamed.write_text(
        listings_file.read_text(encoding="utf-8").replace(from_file, "Amazon's New Kettle Title"),
        encoding="utf-8",
    )
    load(runtime, store, renamed)
    assert listing_title(runtime.engine, store) == corrected
    assert [e.old_value for e in audit_entries(runtime.engine, "correction_kept")] == [
        from_file,
        "Amazon's New Kettle Title",
    ]
    assert corrections(runtime.engine, store.id)["source_value"].to_list() == [
        "Amazon's New Kettle Title"
    ]
    history = correction_history(runtime.engine, store.id)
    assert history["action"].to_list() == ["correction_kept", "correction_kept", "correction"]


def test_corrected_amounts_are_kept_over_a_reimport_and_change_the_totals(
    runtime: Runtime, store: Store
) -> None:
    load(runtime, store, FIXTURES / "settlement_v2.tsv")
    load(runtime, store, FIXTURES / "all_orders.tsv")
    lines = [r for r in tsv_rows("settlement_v2.tsv")[1:]]
    first_amount = Decimal(lines[0]["amount"])
    usd_item_price = sum(
        (Decimal(r["item-price"]) for r in tsv_rows("all_orders.tsv") if r["currency"] == "USD"),
        Decimal(0),
    )
    assert usd_item_price == Decimal("406.37")  # fixtures/README.md

    correct_value(
        runtime.engine, store, "settlement_lines", {"settlement_id": SETTLEMENT, "line_no": "1"},
        "amount", "41.99", "mis-parsed: the statement says 41.99", "anna",
    )  # fmt: skip
    correct_value(
        runtime.engine, store, "order_items",
        {"amazon_order_id": KETTLE_ORDER, "sku": KETTLE, "asin": "B0FTK2M3L8", "line_no": 1},
        "item_price", Decimal("38.99"), "price match refund booked on the order", "anna",
    )  # fmt: skip
    load(runtime, store, FIXTURES / "settlement_v2.tsv")
    load(runtime, store, FIXTURES / "all_orders.tsv")

    lines_sum = scalar(
        runtime.engine,
        sa.select(sa.func.sum(tables.settlement_lines.c.amount)).where(
            tables.settlement_lines.c.store_id == store.id
        ),
    )
    assert lines_sum == Decimal("6.45") - first_amount + Decimal("41.99")
    item_price = scalar(
        runtime.engine,
        sa.select(sa.func.sum(tables.order_items.c.item_price)).where(
            tables.order_items.c.store_id == store.id, tables.order_items.c.currency == "USD"
        ),
    )
    assert item_price == usd_item_price - Decimal("1.00")
    kept = audit_entries(runtime.engine, "correction_kept")
    assert sorted((e.table_name, e.old_value, e.new_value) for e in kept) == [
        ("order_items", "39.99", "38.99"),
        ("settlement_lines", str(first_amount), "41.99"),
    ]


def test_cogs_and_inventory_settings_corrections_are_typed_and_audited(
    runtime: Runtime, store: Store
) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(
            sa.insert(tables.cogs).values(
                store_id=store.id, sku=KETTLE, effective_from=date(2026, 1, 1),
                unit_cost=Decimal("12.50"), currency="USD",
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(tables.inventory_settings).values(
                store_id=store.id, sku="", lead_time_days=30, safety_days=7, target_cover_days=60
            )
        )
    correct_value(
        runtime.engine, store, "cogs", {"sku": KETTLE, "effective_from": "2026-01-01"},
        "unit_cost", "13.1", "supplier invoice 4471", "ben",
    )  # fmt: skip
    correct_value(
        runtime.engine, store, "inventory_settings", {"sku": ""}, "lead_time_days", "45",
        "sea freight now", "ben",
    )  # fmt: skip
    with runtime.engine.connect() as connection:
        assert connection.execute(sa.select(tables.cogs.c.unit_cost)).scalar() == Decimal("13.1")
        days = connection.execute(sa.select(tables.inventory_settings.c.lead_time_days)).scalar()
        assert days == 45
    entries = {
        (e.table_name, e.old_value, e.new_value)
        for e in audit_entries(runtime.engine, "correction")
    }
    assert entries == {("cogs", "12.5000", "13.1000"), ("inventory_settings", "30", "45")}
    # A second correction of the same field keeps what it first replaced.
    correct_value(
        runtime.engine, store, "cogs", {"sku": KETTLE, "effective_from": date(2026, 1, 1)},
        "unit_cost", "13.25", "invoice corrected", "ben",
    )  # fmt: skip
    frame = corrections(runtime.engine, store.id).filter(table="cogs")
    assert frame.select("source_value", "corrected_value", "reason").rows() == [
        ("12.5000", "13.2500", "invoice corrected")
    ]


@pytest.mark.parametrize(
    ("table", "key", "column", "value", "message"),
    [
        ("orders", {"amazon_order_id": KETTLE_ORDER}, "ship_city", "X", "cannot be corrected"),
        ("listings", {"marketplace_id": US, "sku": KETTLE}, "price", "1.00", "cannot be corrected"),
        ("cogs", {"sku": KETTLE, "effective_from": "2026-01-01"}, "unit_cost", 13.25, "amount"),
        ("cogs", {"sku": KETTLE, "effective_from": "2026-01-01"}, "unit_cost", "-1", "negative"),
        ("cogs", {"sku": KETTLE, "effective_from": "2026-01-01"}, "unit_cost", "ten", "amount"),
        ("settlement_lines", {"settlement_id": SETTLEMENT, "line_no": 1}, "amount", "1.234",
         "decimal places"),
        ("cogs", {"sku": KETTLE, "effective_from": "yesterday"}, "unit_cost", "1", "valid value"),
        ("cogs", {"sku": KETTLE}, "unit_cost", "1", "named by"),
        ("cogs", {"sku": "NO-SUCH-SKU", "effective_from": "2026-01-01"}, "unit_cost", "1",
         "No cogs row"),
        ("inventory_settings", {"sku": ""}, "safety_days", "-3", "whole number"),
        ("listings", {"marketplace_id": US, "sku": KETTLE}, "item_name", "  ", "not empty"),
    ],
)  # fmt: skip
def test_refused_corrections_change_nothing(
    runtime: Runtime,
    store: Store,
    table: str,
    key: dict[str, Any],
    column: str,
    value: Any,
    message: str,
) -> None:
    load(runtime, store, FIXTURES / "merchant_listings.tsv")
    with runtime.engine.begin() as connection:
        connection.execute(
            sa.insert(tables.cogs).values(
                store_id=store.id, sku=KETTLE, effective_from=date(2026, 1, 1),
                unit_cost=Decimal("12.50"), currency="USD",
            )
        )  # fmt: skip
        connection.execute(sa.insert(tables.inventory_settings).values(store_id=store.id, sku=""))
    with pytest.raises(CorrectionError, match=message):
        correct_value(runtime.engine, store, table, key, column, value, "why", "anna")
    with pytest.raises(CorrectionError, match="reason"):
        correct_value(
            runtime.engine, store, "cogs", {"sku": KETTLE, "effective_from": "2026-01-01"},
            "unit_cost", "14", " ", "anna",
        )  # fmt: skip
    assert scalar(runtime.engine, sa.select(sa.func.count()).select_from(tables.audit_log)) == 0
    assert (
        scalar(runtime.engine, sa.select(sa.func.count()).select_from(tables.data_corrections)) == 0
    )
    assert scalar(runtime.engine, sa.select(tables.cogs.c.unit_cost)) == Decimal("12.50")


def test_the_cli_corrects_with_key_parts(
    runtime: Runtime, store: Store, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    load(runtime, store, FIXTURES / "merchant_listings.tsv")
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    get_settings.cache_clear()
    argv = ["privacy", "correct", "brewlane", "listings", "backend_search_terms",
            "pour over kettle gooseneck", "--key", f"marketplace_id={US}", "--key",
            f"sku={KETTLE}", "--reason", "keywords", "--actor", "cli"]  # fmt: skip
    assert main(argv) == 0
    assert "later syncs keep it" in capsys.readouterr().out
    assert main([*argv[:6], "--key", "sku", "--reason", "x"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    [entry] = audit_entries(runtime.engine, "correction")
    assert (entry.new_value, entry.actor) == ("pour over kettle gooseneck", "cli")


# --- retention and buyer data --------------------------------------------------------------------


def test_redact_order_shipping_blanks_only_orders_past_the_retention(
    runtime: Runtime, store: Store
) -> None:
    load(runtime, store, FIXTURES / "all_orders.tsv")
    now = datetime(2026, 4, 9, 10, 0, tzinfo=UTC)
    cutoff = now - timedelta(days=30)
    rows = tsv_rows("all_orders.tsv")
    with_address = {
        r["amazon-order-id"]
        for r in rows
        if r["ship-city"] or r["ship-state"] or r["ship-postal-code"]
    }
    due = {
        r["amazon-order-id"] for r in rows if datetime.fromisoformat(r["purchase-date"]) < cutoff
    } & with_address
    assert due and with_address - due  # the fixed dates split the file

    assert redact_order_shipping(runtime.engine, 30, now) == {"brewlane": len(due)}

    orders = tables.orders.c
    with runtime.engine.connect() as connection:
        result = connection.execute(
            sa.select(orders.amazon_order_id, orders.ship_city, orders.ship_state,
                      orders.ship_postal_code, orders.ship_country, orders.ship_redacted_at)
        ).all()  # fmt: skip
    by_id = {row.amazon_order_id: row for row in result}
    for order_id in due:
        row = by_id[order_id]
        assert (row.ship_city, row.ship_state, row.ship_postal_code) == (None, None, None)
        assert row.ship_redacted_at == now and row.ship_country is not None
    for order_id in with_address - due:
        assert by_id[order_id].ship_city is not None and by_id[order_id].ship_redacted_at is None
    [entry] = audit_entries(runtime.engine, "orders_shipping_redacted")
    assert (entry.new_value, entry.actor) == (str(len(due)), "retention")
    assert redact_order_shipping(runtime.engine, 30, now) == {}  # nothing left to do

    # A later sync writes the address back: the next run blanks it again.
    load(runtime, store, FIXTURES / "all_orders.tsv")
    assert redact_order_shipping(runtime.engine, 30, now) == {"brewlane": len(due)}


def test_order_retention_command_job_and_schedule(
    runtime: Runtime, store: Store, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from workers.jobs import redact_old_order_shipping

    load(runtime, store, FIXTURES / "all_orders.tsv")
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    get_settings.cache_clear()
    assert main(["privacy", "redact-orders"]) == 2
    assert "AMZ_PRIVACY_ORDER_RETENTION_DAYS" in capsys.readouterr().err
    assert redact_old_order_shipping() == {"skipped": "AMZ_PRIVACY_ORDER_RETENTION_DAYS is not set"}
    ids = [job.id for job in declared_schedule(["brewlane"])]
    assert "housekeeping-redact-order-shipping" not in ids

    # The fixture orders are from March 2026, long before the real "now": all are due.
    with_address = {r["amazon-order-id"] for r in tsv_rows("all_orders.tsv") if r["ship-city"]}
    assert main(["privacy", "redact-orders", "--days", "30"]) == 0
    assert f"blanked on {len(with_address)}" in capsys.readouterr().out
    load(runtime, store, FIXTURES / "all_orders.tsv")
    monkeypatch.setenv("AMZ_PRIVACY_ORDER_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    assert redact_old_order_shipping() == {"days": 30, "redacted": {"brewlane": len(with_address)}}
    [job] = [
        job
        for job in declared_schedule(["brewlane"], order_retention=True)
        if job.id == "housekeeping-redact-order-shipping"
    ]
    assert job.func == "workers.jobs.redact_old_order_shipping"


def test_orders_keep_no_buyer_personal_data(runtime: Runtime, store: Store, tmp_path: Path) -> None:
    """A file that carries buyer names, e-mails, phones and address lines loads without them."""
    source = (FIXTURES / "all_orders.tsv").read_text(encoding="utf-8").splitlines()
    extra = list(BUYER_VALUES)
    lines = ["\t".join([source[0], *extra])]
    lines += ["\t".join([line, *BUYER_VALUES.values()]) for line in source[1:]]
    with_buyers = tmp_path / "all_orders_with_buyers.tsv"
    with_buyers.write_text("\n".join(lines) + "\n", encoding="utf-8")

    load(runtime, store, with_buyers)

    personal = ("buyer", "email", "phone", "recipient", "address", "bill")
    for table in (tables.orders, tables.order_items):
        assert not [c.name for c in table.c if any(word in c.name for word in personal)]
        with runtime.engine.connect() as connection:
            text = " ".join(
                connection.execute(
                    sa.text(f"SELECT t::text FROM {table.name} t WHERE store_id = :s"),  # noqa: S608
                    {"s": store.id},
                ).scalars()
            )
        assert text.count(KETTLE_ORDER) >= 1  # the rows are there
        for value in BUYER_VALUES.values():
            assert value not in text
    orders_count = scalar(runtime.engine, sa.select(sa.func.count()).select_from(tables.orders))
    assert orders_count == 11  # fixtures/README.md


# --- jobs of a deleted store ---------------------------------------------------------------------


def test_cancel_store_jobs_cancels_the_stores_queued_jobs(
    runtime: Runtime, store: Store, migrated_database_url: str, private_redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from workers.bidding_jobs import enqueue_apply
    from workers.jobs import cancel_store_jobs, plan_sync
    from workers.queueing import enqueue_unique, live_job

    private = private_redis_url
    client = redis.Redis.from_url(private)
    try:
        monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
        monkeypatch.setenv("AMZ_REDIS_URL", private)
        get_settings.cache_clear()
        ours, _ = enqueue_unique(
            client, plan_sync, "plan-brewlane-orders-manual", args=("brewlane",)
        )
        applying, _ = enqueue_apply(client, "brewlane", [1], "anna")
        theirs, _ = enqueue_unique(client, plan_sync, "plan-other-orders-manual", args=("other",))
        with runtime.engine.begin() as connection:
            connection.execute(sa.delete(tables.stores).where(tables.stores.c.id == store.id))
        assert cancel_store_jobs(get_settings(), "brewlane") == 2
        assert live_job(client, ours.id) is None
        assert live_job(client, applying.id) is None  # every kind of the store's work
        assert live_job(client, theirs.id) is not None
    finally:
        client.flushdb()
        client.close()
