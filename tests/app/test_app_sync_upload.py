"""The Sync page's file upload through AppTest: the page saves the file and queues its import; the
worker (run here in burst mode) loads it like `amzinsight import`; the page then shows the rows
loaded, or the import's one-sentence error."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue
from streamlit.testing.v1 import AppTest

from amzinsight.config import get_settings
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import sync_runs
from amzinsight.stores import add_store
from app.components import as_text
from tests.integration.test_long_jobs import run_jobs
from workers.upload_jobs import UPLOADS_FOLDER

pytestmark = [pytest.mark.app, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def sync_page(
    migrated_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> AppTest:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    get_settings.cache_clear()
    add_store(
        get_engine(migrated_database_url), slug="acme_us", name="Acme US", country_codes=["US"]
    )
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(str(ROOT / "pages" / "sync.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def load(at: AppTest, name: str, content: bytes) -> None:
    at.file_uploader(key="sync_upload").set_value((name, content, "application/octet-stream"))
    at.run()
    at.button(key="sync_upload_load").click().run()
    assert not at.exception, [e.value for e in at.exception]


def statuses(at: AppTest) -> dict[str, str]:
    return {status.label: status.state for status in at.status}


def saved_uploads() -> list[Path]:
    folder = get_settings().data_dir / UPLOADS_FOLDER
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_an_uploaded_report_is_loaded_by_the_worker(
    sync_page: AppTest, redis_url: str, migrated_database_url: str
) -> None:
    at = sync_page
    content = (FIXTURES / "all_orders.tsv").read_bytes()
    load(at, "all_orders.tsv", content)
    at.button(key="sync_upload_load").click().run()  # a second click finds the queued import

    (identifier,) = Queue("ingest", connection=Redis.from_url(redis_url)).get_job_ids()
    assert identifier.startswith("upload-acme_us-")
    assert [toast.value for toast in at.toast] == [
        f"{as_text('all_orders.tsv')} is already being loaded."  # a file's name is shown as text
    ]
    assert statuses(at)["Loading the file: waiting for a worker"] == "running"
    assert [path.name for path in saved_uploads()] == ["all_orders.tsv"]
    # the live job list names the upload (not only syncs) for what it is
    (live,) = [frame.value for frame in at.dataframe if "step" in frame.value.columns]
    assert live["step"].tolist() == ["Loading an uploaded file"]

    run_jobs(Redis.from_url(redis_url))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert statuses(at)[f"{as_text('all_orders.tsv')} loaded"] == "complete"
    with get_engine(migrated_database_url).connect() as connection:
        run_id = connection.execute(sa.select(sync_runs.c.id)).scalar_one()
    assert [block.value for block in at.success] == [
        f"25 rows parsed, 25 inserted or changed (run {run_id})."
    ]
    assert saved_uploads() == []  # the job deleted its copy; the archive keeps the file


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"\x89\xfe\r\n\x00garbage\xff" * 64, "not valid UTF-8"),
        (b"", "empty"),
        (b"hello\tworld\n1\t2\n", "not a report type AmzInsight knows"),
    ],
    ids=["garbage", "empty", "unknown-text"],
)
def test_a_bad_upload_shows_the_import_sentence(
    sync_page: AppTest, redis_url: str, content: bytes, phrase: str
) -> None:
    at = sync_page
    load(at, "report.txt", content)
    run_jobs(Redis.from_url(redis_url))
    at.run()

    assert not at.exception, [e.value for e in at.exception]
    assert statuses(at)[f"{as_text('report.txt')} was not loaded"] == "error"
    (error,) = [block.value for block in at.error if as_text(phrase) in block.value]
    assert "Traceback" not in error
    assert saved_uploads() == []
