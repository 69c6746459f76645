"""Help texts of the command line in Swedish (default) and English (``TRYGGA_LANG=en``)."""

from __future__ import annotations

import os


def lang() -> str:
    """The CLI language: ``"en"`` when ``TRYGGA_LANG`` starts with ``en``, else ``"sv"``."""
    return "en" if os.environ.get("TRYGGA_LANG", "sv").lower().startswith("en") else "sv"


def t(sv: str, en: str) -> str:
    """Pick the Swedish or English text for the current language."""
    return en if lang() == "en" else sv
