"""The services every entry point needs, built once from settings: database engine and archive."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from amzinsight.config import Settings, get_settings
from amzinsight.db.engine import get_engine
from amzinsight.embedded import database_url_for
from amzinsight.ingest.archive import RawArchive, archive_from_settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    archive: RawArchive


def build_runtime(settings: Settings | None = None) -> Runtime:
    """Engine and archive for these settings (the embedded database when no URL is set)."""
    settings = settings or get_settings()
    engine = get_engine(database_url_for(settings.database_url, settings.data_dir))
    return Runtime(settings=settings, engine=engine, archive=archive_from_settings(settings))
