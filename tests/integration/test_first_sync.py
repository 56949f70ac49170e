"""A store gets its first Amazon sync at once, even when a file was imported into it before."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from amzinsight.db.engine import get_engine
from amzinsight.db.tables import sync_runs
from amzinsight.ingest.archive import LocalArchive
from amzinsight.ingest.imports import import_file
from amzinsight.stores import add_store, never_synced

FIXTURES = Path(__file__).parents[1] / "fixtures"

pytestmark = pytest.mark.postgres


def test_an_imported_file_is_no_first_sync_but_a_run_from_amazon_is(
    migrated_database_url: str, tmp_path: Path
) -> None:
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    assert never_synced(engine) == ["brewlane"]

    outcome = import_file(
        engine, LocalArchive(tmp_path / "archive"), store, FIXTURES / "product_ratings.csv"
    )
    assert outcome.status == "succeeded"
    assert never_synced(engine) == ["brewlane"]  # the upload called no Amazon API

    with engine.begin() as connection:
        connection.execute(
            sa.insert(sync_runs).values(
                store_id=store.id, source="sp_api", report_type="orders", status="succeeded"
            )
        )
    assert never_synced(engine) == []
