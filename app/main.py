"""Streamlit entry point: page config, the shared filters, and navigation over pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from amzinsight.logs import configure_logging
from app.context import settings
from app.filters import render_shared_filters

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

st.set_page_config(page_title="AmzInsight", page_icon=":material/insights:", layout="wide")
configure_logging(settings().log_level, settings().secret_values())

navigation = st.navigation(
    [
        st.Page(PAGES_DIR / "home.py", title="Overview", icon=":material/home:", default=True),
        st.Page(PAGES_DIR / "sales.py", title="Sales", icon=":material/trending_up:"),
        st.Page(PAGES_DIR / "advertising.py", title="Advertising", icon=":material/campaign:"),
        st.Page(PAGES_DIR / "inventory.py", title="Inventory", icon=":material/inventory_2:"),
        st.Page(PAGES_DIR / "finance.py", title="Finance", icon=":material/payments:"),
        st.Page(PAGES_DIR / "listings.py", title="Listings", icon=":material/description:"),
        st.Page(PAGES_DIR / "sync.py", title="Sync", icon=":material/sync:"),
    ]
)
render_shared_filters()
navigation.run()
