"""Process-wide resources for the pages: settings and the database engine (cached, never data)."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from amzinsight.config import Settings, get_settings
from amzinsight.db.engine import get_engine
from amzinsight.embedded import database_url_for
from amzinsight.errors import AmzInsightError


def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner="Connecting to the database...")
def _engine_for(database_url: str | None, data_dir: str) -> Engine:
    from pathlib import Path

    return get_engine(database_url_for(database_url, Path(data_dir)))


def engine() -> Engine:
    """The database engine, or a clear error on the page (and a stop) when it is unreachable."""
    current = settings()
    try:
        return _engine_for(current.database_url, str(current.data_dir))
    except AmzInsightError as error:
        st.error(str(error))
        st.stop()
        raise  # st.stop() raises; this satisfies the type checker


def show_error(error: AmzInsightError) -> None:
    """The one way pages report a problem a user can meet: one sentence, no traceback."""
    st.error(str(error))
