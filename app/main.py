"""Streamlit entry point: page config, the shared filters, who is making changes, and navigation
over pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from amzinsight.logs import configure_logging
from app.context import render_user, settings
from app.filters import render_shared_filters
from app.navigation import all_pages

# A file served by the app itself: a Material icon here makes every browser fetch it from
# fonts.gstatic.com, and an intranet tool makes no outbound request.
FAVICON = Path(__file__).resolve().parent / "favicon.png"

st.set_page_config(page_title="AmzInsight", page_icon=str(FAVICON), layout="wide")
configure_logging(settings().log_level, settings().secret_values())

navigation = st.navigation(all_pages())
render_shared_filters()
render_user()
navigation.run()
