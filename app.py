"""Trygga stråk — Streamlit entry point. Thin: page config, logging, navigation."""

from __future__ import annotations

import logging
import os

import streamlit as st

from ui.auth import require_staff
from ui.maps import assets_present
from ui.state import init_state, lang, public_mode, refresh_widget_labels, t
from ui.uploads import purge_uploads_once

PAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ui", "pages")

logging.basicConfig(level=os.environ.get("TRYGGA_LOGLEVEL", "WARNING"))

st.set_page_config(page_title="Trygga stråk", page_icon="🔦", layout="wide")
init_state()
purge_uploads_once()  # uploads an earlier run left behind (once per server process)

with st.sidebar:
    st.radio("Språk / Language", ["sv", "en"], key="lang", horizontal=True,
             format_func=lambda v: {"sv": "Svenska", "en": "English"}[v],
             on_change=refresh_widget_labels)
# Streamlit draws captions faded (opacity 0.6: about 2.7:1 on white); WCAG 1.4.3 asks
# for 4.5:1. #5f5e5c at full opacity is 6.4:1.
st.html("<style>[data-testid='stCaptionContainer']{opacity:1 !important}"
        "[data-testid='stCaptionContainer'],[data-testid='stCaptionContainer'] *"
        "{color:#5f5e5c !important}</style>")
# <html lang> follows the chosen language (WCAG 3.1.1); Streamlit's page says "en". The
# script runs in a same-origin iframe (st.html does not run scripts).
st.iframe(f'<script>window.parent.document.documentElement.lang = "{lang()}";</script>',
          height=1, alt="")

if not assets_present():
    st.error("Leaflet saknas i static/vendor. Kör `./dev.sh setup`. / Leaflet is missing "
             "in static/vendor: run `./dev.sh setup`.")
    st.stop()

if public_mode():
    # Residents only: no staff page exists in this mode, so no URL can reach one.
    pages = [st.Page(f"{PAGES}/offentlig.py", title=t("page_public"), default=True),
             st.Page(f"{PAGES}/uppfoljning.py", title=t("page_followup"))]
else:
    require_staff()
    pages = [
        st.Page(f"{PAGES}/karta.py", title=t("page_map"), default=True),
        st.Page(f"{PAGES}/vandringar.py", title=t("page_walks")),
        st.Page(f"{PAGES}/atgarder.py", title=t("page_actions")),
        st.Page(f"{PAGES}/offentlig.py", title=t("page_public")),
        st.Page(f"{PAGES}/uppfoljning.py", title=t("page_followup")),
        st.Page(f"{PAGES}/lagesbild.py", title=t("page_lagesbild")),
        st.Page(f"{PAGES}/lager.py", title=t("page_layers")),
    ]
st.navigation(pages).run()
