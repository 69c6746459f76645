"""Trygga stråk — Streamlit entry point. Thin: page config, logging, navigation."""

from __future__ import annotations

import logging
import os

import streamlit as st

from ui import layers_page

logging.basicConfig(level=os.environ.get("TRYGGA_LOGLEVEL", "WARNING"))

st.set_page_config(page_title="Trygga stråk", page_icon="🔦", layout="wide")

pages = [st.Page(layers_page.render, title="Lager", url_path="lager", default=True)]
st.navigation(pages).run()
