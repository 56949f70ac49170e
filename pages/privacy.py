"""Data & privacy (being built: this placeholder only keeps the navigation complete)."""

from __future__ import annotations

import streamlit as st

from app.components import require_store
from app.filters import current_filters

st.title("Data & privacy")
require_store(current_filters(), "the sync")
st.caption("Coming next.")
