"""Order retention reaches the raw archive: archived order files lose the old lines' shipping
details, byte for byte otherwise, so that `replay` cannot bring the redacted addresses back.

Real PostgreSQL, the local archive and S3 (moto). Expected files are built here from the fixture.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from amzinsight.config import Settings
from amzinsight.db import tables
from amzinsight.ingest.archive import S3Archive
from amzinsight.ingest.imports import import_file, replay
from amzinsight.privacy import redact_archived_orders, redact_order_shipping
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, add_store

pytestmark = [pytest.mark.postgres]

FIXTURE = Path(__file__).parents[1] / "fixtures" / "all_orders.tsv"
IMPORTED_AT = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)
# 30 days after 2026-03-10 18:00 UTC: the cutoff falls between the fixture's purchase times.
NOW = datetime(2026, 4, 9, 18, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=30)
SHIPPING = ("ship-city", "ship-state", "ship-postal-code")


@pytest.fixture(params=["local-plain", "s3-gzip"])
def case(
    request: pytest.FixtureRequest, migrated_database_url: str, tmp_path: Path
) -> tuple[Runtime, Store, bool]:
    if request.param.startswith("s3"):
        request.getfixturevalue("s3_bucket")
    runtime = build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path / "d"))
    assert isinstance(runtime.archive, S3Archive) == request.param.startswith("s3")
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    source = FIXTURE
    if request.param.endswith("gzip"):
        source = tmp_path / "all_orders.tsv.gz"
        source.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    outcome = import_file(runtime.engine, runtime.archive, store, source, now=IMPORTED_AT)
    assert outcome.status == "succeeded"
    return runtime, store, request.param.endswith("gzip")


def expected_file() -> bytes:
    """The fixture with the shipping cells of lines bought before the cutoff emptied."""
    lines = FIXTURE.read_bytes().splitlines(keepends=True)
    header = lines[0].rstrip(b"\r\n").split(b"\t")
    date_at = header.index(b"purchase-date")
    blank = [header.index(name.encode()) for name in SHIPPING]
    out = [lines[0]]
    for line in lines[1:]:
        body = line.rstrip(b"\r\n")
        fields = body.split(b"\t")
        if datetime.fromisoformat(fields[date_at].decode()) < CUTOFF:
            for index in blank:
                fields[index] = b""
        out.append(b"\t".join(fields) + line[len(body) :])
    return b"".join(out)


def fixture_rows() -> list[dict[str, str]]:
    with FIXTURE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def archived(runtime: Runtime, tmp_path: Path) -> tuple[str, bytes, Any]:
    with runtime.engine.connect() as connection:
        [row] = connection.execute(sa.select(tables.raw_reports)).all()
    target = tmp_path / "archived"
    runtime.archive.download(row.archive_key, target)
    return row.archive_key, target.read_bytes(), row


def table_state(runtime: Runtime) -> tuple[Any, ...]:
    """Everything of orders and order_items except the shipping details retention may blank."""
    o, i = tables.orders.c, tables.order_items.c
    with runtime.engine.connect() as connection:
        order_rows = connection.execute(
            sa.select(o.amazon_order_id, o.marketplace_id, o.purchase_date, o.purchase_local_date,
                      o.order_status, o.fulfillment_channel, o.sales_channel, o.ship_country,
                      o.is_business_order, o.purchase_order_number, o.currency)
            .order_by(o.amazon_order_id)
        ).all()  # fmt: skip
        item_rows = connection.execute(
            sa.select(i.amazon_order_id, i.sku, i.asin, i.line_no, i.quantity, i.currency,
                      i.item_price, i.item_tax, i.shipping_price, i.item_promotion_discount)
            .order_by(i.amazon_order_id, i.sku, i.asin, i.line_no)
        ).all()  # fmt: skip
        sums = connection.execute(
            sa.select(sa.func.count(), sa.func.sum(i.quantity), sa.func.sum(i.item_price))
        ).one()
    return tuple(order_rows), tuple(item_rows), tuple(sums)


def shipping(runtime: Runtime) -> dict[str, tuple[Any, ...]]:
    o = tables.orders.c
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.select(o.amazon_order_id, o.ship_city, o.ship_state, o.ship_postal_code)
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_archived_order_files_lose_old_addresses_and_replay_keeps_them_blank(
    case: tuple[Runtime, Store, bool], tmp_path: Path
) -> None:
    runtime, store, compressed = case
    rows = fixture_rows()
    old = [r for r in rows if datetime.fromisoformat(r["purchase-date"]) < CUTOFF]
    new = [r for r in rows if r not in old]
    assert old and new and all(r["ship-postal-code"] for r in old)  # the cutoff splits the file
    before_tables = table_state(runtime)
    key, before_bytes, before_row = archived(runtime, tmp_path)

    assert redact_order_shipping(runtime.engine, 30, NOW)
    assert redact_archived_orders(runtime.engine, runtime.archive, 30, NOW) == {"brewlane": 1}

    after_key, stored, row = archived(runtime, tmp_path)
    assert after_key == key
    assert stored.startswith(b"\x1f\x8b") == compressed  # gzip stays gzip
    text = gzip.decompress(stored) if compressed else stored
    assert text == expected_file()  # every other byte as it was
    new_values = {r[name] for r in new for name in SHIPPING}
    for line in old:
        for name in ("ship-city", "ship-postal-code"):
            if line[name] not in new_values:
                assert f"\t{line[name]}\t".encode() not in text
    for line in new:
        for name in ("ship-city", "ship-postal-code"):
            assert f"\t{line[name]}\t".encode() in text
    parsed = list(csv.DictReader(io.StringIO(text.decode()), delimiter="\t"))
    assert [r["amazon-order-id"] for r in parsed] == [r["amazon-order-id"] for r in rows]
    assert (row.sha256, row.bytes) == (hashlib.sha256(stored).hexdigest(), len(stored))
    assert row.sha256 != before_row.sha256 and before_bytes != stored
    [entry] = _audit(runtime)
    assert (entry.store_slug, entry.new_value, entry.actor) == ("brewlane", "1", "retention")

    # Idempotent: nothing left to do, the object and its record stay as they are.
    assert redact_archived_orders(runtime.engine, runtime.archive, 30, NOW) == {}
    _, again, row_again = archived(runtime, tmp_path)
    assert again == stored and (row_again.sha256, row_again.bytes) == (row.sha256, row.bytes)
    assert len(_audit(runtime)) == 1

    # Replay rebuilds from the archive: old addresses stay blank, everything else is unchanged.
    outcomes = replay(runtime.engine, runtime.archive, store)
    assert [outcome.status for outcome in outcomes] == ["succeeded"]
    assert table_state(runtime) == before_tables
    addresses = shipping(runtime)
    for line in old:
        assert addresses[line["amazon-order-id"]] == (None, None, None)
    for line in new:
        assert addresses[line["amazon-order-id"]] == (
            line["ship-city"] or None,
            line["ship-state"] or None,
            line["ship-postal-code"] or None,
        )


def test_archive_redaction_leaves_files_without_old_orders_alone(
    case: tuple[Runtime, Store, bool], tmp_path: Path
) -> None:
    runtime, _store, _compressed = case
    _, before, before_row = archived(runtime, tmp_path)
    earlier = CUTOFF - timedelta(days=1) + timedelta(days=30)  # cutoff before every purchase
    assert redact_archived_orders(runtime.engine, runtime.archive, 30, earlier) == {}
    _, after, row = archived(runtime, tmp_path)
    assert after == before and row.sha256 == before_row.sha256
    assert _audit(runtime) == []


def _audit(runtime: Runtime) -> list[Any]:
    query = sa.select(tables.audit_log).where(
        tables.audit_log.c.action == "archived_orders_shipping_redacted"
    )
    with runtime.engine.connect() as connection:
        return list(connection.execute(query).all())


def test_command_and_daily_job_redact_the_archive_too(
    migrated_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from amzinsight.config import get_settings
    from launcher.cli import main
    from workers.jobs import redact_old_order_shipping

    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_DATA_DIR", str(tmp_path / "d"))
    get_settings.cache_clear()
    runtime = build_runtime(get_settings())
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    import_file(runtime.engine, runtime.archive, store, FIXTURE, now=IMPORTED_AT)
    # The fixture orders are from March 2026, long before the real "now": every line is due.
    assert main(["privacy", "redact-orders", "--days", "30"]) == 0
    assert "archived order files rewritten without them: 1" in capsys.readouterr().out
    _, stored, _ = archived(runtime, tmp_path)
    assert all(f"\t{r['ship-postal-code']}\t".encode() not in stored for r in fixture_rows())

    import_file(runtime.engine, runtime.archive, store, FIXTURE, now=IMPORTED_AT)  # a re-pull
    monkeypatch.setenv("AMZ_PRIVACY_ORDER_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    redact_old_order_shipping()
    _, stored, _ = archived(runtime, tmp_path)
    assert all(f"\t{r['ship-postal-code']}\t".encode() not in stored for r in fixture_rows())
    assert len(_audit(runtime)) == 2
