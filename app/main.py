"""Streamlit entry point: page config, the shared filters, and navigation over pages/."""

from __future__ import annotations

import streamlit as st

from amzinsight.logs import configure_logging
from app.context import settings
from app.filters import render_shared_filters
from app.navigation import all_pages

st.set_page_config(page_title="AmzInsight", page_icon=":material/insights:", layout="wide")
configure_logging(settings().log_level, settings().secret_values())

navigation = st.navigation(all_pages())
render_shared_filters()
navigation.run()
