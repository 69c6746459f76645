"""Streamlit pages. The only package besides app.py that imports Streamlit."""
