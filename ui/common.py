"""Shared page pieces: loading layers or stopping with the error, the demo notice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from layers import Profile, ValidationError
from layers.loader import Layers
from layers.osm import OsmDownloadError
from ui.st_cache import inputs_key, profile_path, st_layers
from ui.state import t
from walks.store import FindingStore


def load_or_stop() -> Layers:
    """The cached layers, or an error message and ``st.stop()`` (STYLE rule 11)."""
    path = profile_path()
    try:
        return st_layers(str(path), inputs_key(path))
    except (ValidationError, OsmDownloadError) as exc:
        st.error(f"{t('input_error')}:\n\n{exc}")
        st.stop()
        raise  # unreachable: st.stop() raises


def show_error(title: str, detail: object = None) -> None:
    """A domain error: the translated *title*, and *detail* as plain text (never Markdown)."""
    st.error(title)
    if detail is not None and str(detail):
        st.code(str(detail), language=None, wrap_lines=True)


def show_demo_notice(profile: Profile) -> None:
    """The visible "demo data" notice whenever the profile runs on the synthetic demo."""
    if profile.demo:
        st.warning(t("demo_notice"), icon="⚠️")


@contextmanager
def staff_store_page(title_key: str) -> Iterator[tuple[str, Layers, FindingStore]]:
    """The shared start of a staff page: login, layers, demo notice, title, open store.

    Yields ``(role, layers, store)`` and closes the store afterwards; the store writes as
    the logged-in user's pseudonymous id (:func:`ui.auth.current_user_id`). A store that
    cannot be opened is shown as an error and stops the page.
    """
    from ui.auth import current_user_id, require_staff
    from walks.service import open_store

    role = require_staff()
    layers = load_or_stop()
    show_demo_notice(layers.profile)
    st.title(t(title_key))
    try:
        store = open_store(layers.profile, actor_id=current_user_id())
    except (ValidationError, OSError) as exc:
        show_error(t("store_error"), exc)
        st.stop()
        raise
    try:
        yield role, layers, store
    finally:
        store.close()
