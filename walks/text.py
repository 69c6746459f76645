"""Cleaning text and ids on the way in (importers, the store, the app's forms).

One pure function, :func:`clean_text`, used wherever text from outside enters the tool:
it removes what no finding description or id needs and what can hide or reorder what a
reader sees:

* C0 and C1 control characters (``U+0000``–``U+001F`` except tab and newline,
  ``U+007F``–``U+009F``), which break CSV/XML exports and terminals;
* bidirectional controls: the embeddings and overrides ``U+202A``–``U+202E``, the isolates
  ``U+2066``–``U+2069``, the marks ``U+200E``/``U+200F``/``U+061C`` (a right-to-left
  override can make ``"gpj.exe"`` read as ``"exe.jpg"``);
* zero-width space ``U+200B``, word joiner ``U+2060``, byte-order mark ``U+FEFF`` and the
  interlinear annotation characters ``U+FFF9``–``U+FFFB`` (invisible look-alikes of other
  text).

Line breaks (``\\r\\n``, ``\\r``, ``U+2028``, ``U+2029``) become ``\\n``; the text is NFC
normalised and stripped. Zero-width (non-)joiners ``U+200C``/``U+200D`` are kept: emoji
sequences and Persian/Indic scripts need them. HTML is *not* touched: data keeps the raw
text and escaping happens where HTML is rendered.
"""

from __future__ import annotations

import math
import re
import unicodedata

#: Characters removed by :func:`clean_text` (see the module docstring).
STRIPPED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060"
    "\u2066-\u2069\ufeff\ufff9-\ufffb]")
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029]")
_SPACES = re.compile(r"\s+")


def clean_text(value: object, *, single_line: bool = False) -> str:
    """*value* as text without control, bidi-override and invisible characters.

    Parameters
    ----------
    value : object
        Text, a number, or None/NaN (→ ``""``).
    single_line : bool
        For ids, names and categories: every run of white space (tabs, newlines)
        becomes one space.

    Returns
    -------
    str
        NFC-normalised, stripped text; newlines as ``\\n``.

    Examples
    --------
    >>> clean_text("Lampa\\x07 <b>trasig</b>\\r\\n")
    'Lampa <b>trasig</b>'
    >>> clean_text("foto\\u202egpj.exe")
    'fotogpj.exe'
    >>> clean_text(" fynd\\t1\\n", single_line=True)
    'fynd 1'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = unicodedata.normalize("NFC", value if isinstance(value, str) else str(value))
    text = STRIPPED.sub("", _LINE_BREAKS.sub("\n", text))
    if single_line:
        text = _SPACES.sub(" ", text)
    return text.strip()


def needs_cleaning(value: str) -> bool:
    """True when :func:`clean_text` would remove a character from *value* (besides line
    endings and surrounding white space)."""
    return STRIPPED.search(value) is not None
