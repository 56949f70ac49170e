"""Streamlit entry point and the UI pieces every page shares."""
