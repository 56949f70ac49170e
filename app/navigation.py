"""The app's pages in one list: the entry point's navigation and every cross-page link use it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

# (file stem, title, icon); the first is the default page. url paths derive from the file names.
PAGES = (
    ("home", "Overview", ":material/home:"),
    ("sales", "Sales", ":material/trending_up:"),
    ("advertising", "Advertising", ":material/campaign:"),
    ("inventory", "Inventory", ":material/inventory_2:"),
    ("finance", "Finance", ":material/payments:"),
    ("listings", "Listings", ":material/description:"),
    ("assistant", "Assistant", ":material/auto_awesome:"),
    ("sync", "Sync", ":material/sync:"),
    ("privacy", "Data & privacy", ":material/shield:"),
)


def page(stem: str) -> st.Page:
    """The st.Page for pages/<stem>.py, for st.navigation and st.page_link alike."""
    for index, (name, title, icon) in enumerate(PAGES):
        if name == stem:
            return st.Page(PAGES_DIR / f"{name}.py", title=title, icon=icon, default=index == 0)
    raise KeyError(f"no page {stem!r} in app.navigation.PAGES")


def all_pages() -> list[st.Page]:
    return [page(name) for name, _, _ in PAGES]
