"""The Data & privacy page through AppTest: an empty store, a store holding the fixture files (its
numbers equal `data_summary`), a correction through the form, and deletion that needs the slug.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.ingest.imports import import_file
from amzinsight.privacy import data_summary
from amzinsight.runtime import build_runtime
from amzinsight.stores import add_store, list_stores
from app.context import USER_INPUT_KEY
from app.labels import format_bytes, humanise

pytestmark = [pytest.mark.app, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PAGE = str(ROOT / "pages" / "privacy.py")
FIXTURES = Path(__file__).parents[1] / "fixtures"
NOW = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)
FILES = ["all_orders.tsv", "settlement_v2.tsv", "merchant_listings.tsv", "product_ratings.csv"]


@pytest.fixture
def app_database(
    migrated_database_url: str, private_redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The page cancels jobs and re-registers the schedule: a Redis database of its own."""
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", private_redis_url)
    get_settings.cache_clear()
    return migrated_database_url


def privacy_page() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    (found,) = [m for m in at.metric if m.label == label]
    return found.value


def summary_table(at: AppTest):  # -> pandas.DataFrame
    (found,) = [f for f in at.dataframe if "category" in f.value.columns]
    return found.value


def test_an_empty_store_shows_zero_rows_and_names_the_sync(app_database: str) -> None:
    add_store(get_engine(app_database), slug="acme_us", name="Acme US", country_codes=["US"])

    at = privacy_page()

    assert metric(at, "Rows stored") == "1"  # its marketplace row: store setup
    assert metric(at, "Archived raw files") == "0"
    assert summary_table(at)["rows"].sum() == 1
    assert "never" in " ".join(caption.value for caption in at.caption)
    assert not [e.value for e in at.error]


def test_a_store_with_data_shows_its_summary_takes_a_correction_and_deletes_on_its_slug(
    app_database: str,
) -> None:
    runtime = build_runtime(get_settings())
    engine = runtime.engine
    store = add_store(engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    other = add_store(engine, slug="other", name="Other", country_codes=["US"])
    for name in FILES:
        assert import_file(engine, runtime.archive, store, FIXTURES / name, now=NOW).status == (
            "succeeded"
        )
    expected = data_summary(engine, runtime.archive, None, store)

    at = privacy_page()
    at.sidebar.selectbox(key="filters_store").set_value("brewlane").run()
    assert not at.exception

    assert metric(at, "Rows stored") == f"{expected['total_rows']:,}"
    assert metric(at, "Archived raw files") == str(expected["archive"]["files"])
    assert metric(at, "Archive size") == format_bytes(expected["archive"]["bytes"])
    assert metric(at, "Archive size").endswith(("KB", "MB"))
    shown = summary_table(at)
    by_category = dict(zip(shown["category"], shown["rows"], strict=True))
    assert by_category == {humanise(n): g["rows"] for n, g in expected["categories"].items()}
    assert by_category["Orders"] > 0 and by_category["Settlements"] > 0

    # A correction through the form: stored, audited and listed on the page.
    at.sidebar.text_input(key=USER_INPUT_KEY).set_value("anna")  # who the audit log names
    at.selectbox(key="privacy_correction_table").set_value("listings").run()
    at.selectbox(key="privacy_correction_field").set_value("item_name")
    at.text_input(key="privacy_correction_key_marketplace_id").set_value("ATVPDKIKX0DER")
    at.text_input(key="privacy_correction_key_sku").set_value("BL-KETTLE-1L-BLK")
    at.text_area(key="privacy_correction_value").set_value("Brewlane Kettle (our title)")
    at.text_input(key="privacy_correction_reason").set_value("brand guide")
    at.button[0].click()  # the form's submit button comes first on the page
    at.run()
    assert not at.exception and not [e.value for e in at.error], [e.value for e in at.error]
    assert any("Later syncs keep it" in s.value for s in at.success)
    (corrections,) = [f for f in at.dataframe if "corrected_value" in f.value.columns]
    assert corrections.value["corrected_value"].tolist() == ["Brewlane Kettle (our title)"]
    (history,) = [f for f in at.dataframe if "old_value" in f.value.columns]
    assert history.value["actor"].tolist() == ["anna"]  # the name given in the sidebar
    with engine.connect() as connection:
        title = connection.execute(
            sa.select(tables.listings.c.item_name).where(
                tables.listings.c.store_id == store.id,
                tables.listings.c.sku == "BL-KETTLE-1L-BLK",
            )
        ).scalar_one()
    assert title == "Brewlane Kettle (our title)"

    # The wrong slug: refused, nothing deleted.
    at.text_input(key="privacy_delete_slug").set_value("brewlan").run()
    at.button(key="privacy_delete_button").click().run()
    assert not at.exception
    assert any("Deletion not confirmed" in e.value for e in at.error)
    assert {s.slug for s in list_stores(engine)} == {"brewlane", "other"}

    # The right slug: deleted (the summary's rows, the correction's two rows, the store), said
    # so, and gone from the filters.
    at.text_input(key="privacy_delete_slug").set_value("brewlane").run()
    at.button(key="privacy_delete_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(
        "Store **brewlane** deleted" in s.value
        and f"{expected['total_rows'] + 3:,} rows" in s.value
        for s in at.success
    ), [s.value for s in at.success]
    assert {s.slug for s in list_stores(engine)} == {"other"}
    assert at.sidebar.selectbox(key="filters_store").options == ["Other (other)"]
    with engine.connect() as connection:
        deleted_by = connection.execute(
            sa.select(tables.audit_log.c.actor).where(tables.audit_log.c.action == "store_deleted")
        ).scalar_one()
    assert deleted_by == "anna"
    with engine.connect() as connection:
        kept = connection.execute(
            sa.select(sa.func.count())
            .select_from(tables.marketplaces)
            .where(tables.marketplaces.c.store_id == other.id)
        ).scalar_one()
    assert kept == 1
