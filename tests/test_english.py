"""The English toggle on every page, in a real browser (Playwright + Debian's Chromium).

For each page of the app (both public pages in public mode, every staff page in staff
mode) the test switches to English and checks that

- ``<html lang="en">`` is set;
- nothing a user reads is left in Swedish: the page's text, the cells and headers of every
  table (the data grids expose them to screen readers in the DOM), widget values and
  placeholders, image text alternatives and the text of the map (legends, notices);
- the choice survives a page switch;

and then the same back to Swedish (``lang="sv"``, no English UI text left, kept after a
page switch).

"Swedish" is decided by words: the vocabulary of the Swedish UI strings (:data:`ui.texts.
TEXTS` and the labels translated by :mod:`ui.translate`) minus every word that also occurs
in the English strings. Data values are Swedish by nature (finding descriptions, street
and school names, the promise texts, walk titles): every string of the demo's data files
and of the test store is cut out of the page text before the words are looked at, so a
Swedish word *inside* such a value does not count, but the same word as a label does.

AppTest cannot do this: switching language mid-session makes its widget replay look for
the old option ("'Alla' is not in list"). Text Streamlit itself draws (the file
uploader's "Browse files", the data grid toolbar's tooltips) stays English in both
languages (:data:`CHROME`; see README, "Streamlit's own controls").
"""

from __future__ import annotations

import csv
import functools
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from _server import (
    APP_IDLE,
    MAP_FRAME,
    ROOT,
    browser,  # noqa: F401  (fixture)
    new_page,
    screenshot,
    shared_server,
    skip_without_chromium,
)

pytestmark = skip_without_chromium()

#: A page's first run builds its caches (the follow-up report takes the longest); on a
#: busy machine that can take minutes.
LOAD_MS = 180_000
#: File names (data: the layers' sources, download names).
FILE_NAME = re.compile(r"[\w./-]+\.(?:geojson|osm|csv|toml|gpkg|json|atom|html|pdf|xlsx|"
                       r"tif|txt|zip)\b")
WORD = re.compile(r"[A-Za-zÅÄÖåäöÉéÜü]+")

#: (page path, Swedish title, English title, mode)
STAFF_PAGES = [
    ("", "Karta & prioritering", "Map & priorities"),
    ("vandringar", "Trygghetsvandringar", "Safety walks"),
    ("atgarder", "Åtgärder", "Actions"),
    ("offentlig", "Offentlig karta", "Public map"),
    ("uppfoljning", "Uppföljning", "Follow-up"),
    ("lagesbild", "Lägesbild", "Situation report"),
    ("lager", "Lager", "Layers"),
]
PUBLIC_PAGES = [
    ("", "Offentlig karta", "Public map"),
    ("uppfoljning", "Uppföljning", "Follow-up"),
]
#: Words both languages use as they are (names, units, formats, abbreviations).
SHARED = {"trygga", "stråk", "led", "km", "lx", "kwh", "sek", "gpkg", "csv", "xlsx", "html",
          "pdf", "json", "gpx", "kml", "kmz", "geojson", "qfield", "epicollect", "survey",
          "open", "atom", "osm", "hps", "hg", "mh", "lps", "crs", "id", "ok", "demo", "p",
          "m", "w", "s", "st", "min", "max", "lux", "status", "filter", "segment", "x", "y",
          "oidc", "toml", "secrets", "streamlit", "auth", "python", "ui", "hash", "geotiff",
          "lantmäteriet", "openstreetmap", "trafikverket", "medborgarloften", "upload",
          "mb", "limits", "school", "times", "co", "i", "a", "e", "v", "en", "sv"}


# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------

def _words(text: str) -> set[str]:
    return {w.casefold() for w in WORD.findall(text)}


def _strip_markup(text: str) -> str:
    """A UI string without placeholders, Markdown code and URLs."""
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    return re.sub(r"https?://\S+", " ", text)


@functools.cache
def vocabularies() -> tuple[frozenset[str], frozenset[str]]:
    """(Swedish-only UI words, English-only UI words)."""
    from ui import translate
    from ui.texts import TEXTS

    sv_texts = [_strip_markup(sv) for sv, _ in TEXTS.values()]
    en_texts = [_strip_markup(en) for _, en in TEXTS.values()]
    sv_texts += list(translate.CATEGORY_EN) + list(translate.STATE_EN)
    sv_texts += list(translate.RESPONSIBLE_EN)
    en_texts += list(translate.CATEGORY_EN.values()) + list(translate.STATE_EN.values())
    en_texts += list(translate.RESPONSIBLE_EN.values())
    sv = set().union(*map(_words, sv_texts))
    en = set().union(*map(_words, en_texts))
    return frozenset(sv - en - SHARED), frozenset(en - sv - SHARED)


def _toml_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _toml_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _toml_strings(v)]
    return []


@functools.cache
def _file_data_strings() -> tuple[str, ...]:
    """Every free-text value of the demo's data files (not the UI's vocabulary)."""
    out: list[str] = []
    stromstad = ROOT / "data" / "stromstad"
    demo = ROOT / "data" / "demo"
    for f in stromstad.glob("medborgarloften_*.toml"):
        out += _toml_strings(tomllib.loads(f.read_text(encoding="utf-8")))
    for f in (demo / "aktiviteter_demo.csv", demo / "milstolpar_demo.csv"):
        with f.open(encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh, delimiter=";"))
        # The milestone step column ("påbörjat") is a label, not free text.
        out += [c for r in rows[1:] for i, c in enumerate(r)
                if not (f.name.startswith("milstolpar") and i == 2)]
    for f in sorted(demo.glob("*.osm")):
        out += re.findall(r'k="(?:name|addr:street|addr:place)" v="([^"]*)"',
                          f.read_text(encoding="utf-8"))
    for f in (demo / "prioriterade_omraden_demo.geojson",):
        for feat in json.loads(f.read_text(encoding="utf-8"))["features"]:
            out += [v for v in feat["properties"].values() if isinstance(v, str)]
    # The lighting inventories' labels (snapshot names) come from the profile's register.
    return tuple(out)


def data_strings(profile: Path) -> list[str]:
    """Free-text data values the pages show: the files' and the test store's."""
    from layers import load_profile
    from walks.service import open_store

    out = list(_file_data_strings())
    with open_store(load_profile(profile)) as store:
        found = store.findings()
        for col in ("description", "internal_note", "public_note", "measure", "reason",
                    "original_description"):
            if col in found:
                out += [str(v) for v in found[col].dropna()]
        walks = store.walks()
        for col in ("title", "place", "area", "school", "organiser", "focus", "notes"):
            if col in walks:
                out += [str(v) for v in walks[col].dropna() if isinstance(v, str)]
    strings = {s.strip() for s in out if len(s.strip()) >= 3}
    return sorted(strings, key=len, reverse=True)


def without_data(text: str, strings: list[str]) -> str:
    """*text* with every occurrence of a data string cut out (longest first)."""
    for s in strings:
        if s in text:
            text = text.replace(s, " ")
    return text


# --------------------------------------------------------------------------------------
# What the user reads
# --------------------------------------------------------------------------------------

READ = """() => {
  const out = [];
  const root = document.querySelector('[data-testid=stApp]');
  out.push(root.innerText);
  root.querySelectorAll('[data-testid=stDataFrame]').forEach(df =>
    df.querySelectorAll('th, td').forEach(c => out.push(c.textContent)));
  root.querySelectorAll('input, textarea').forEach(i => {
    if (i.type !== 'hidden' && i.type !== 'radio' && i.type !== 'checkbox') {
      out.push(i.value); out.push(i.placeholder || ''); } });
  root.querySelectorAll('img[alt]').forEach(e => out.push(e.alt));
  return out.join('\\n'); }"""

#: Streamlit's own chrome (its language, not ours; README, "Streamlit's own controls") and
#: switch, which names both languages on purpose.
CHROME = ("Språk / Language", "Svenska", "English", "Skip to main content",
          "keyboard_double_arrow_left", "keyboard_arrow_right", "keyboard_arrow_down",
          "Drag and drop file here", "Browse files", "Choose an option", "upload")


def reader_text(page: Any) -> str:
    """Everything a user reads on the page, the map's text included.

    The data grids update their screen-reader table a little after the script run has
    finished, so the page's text is read until two reads 0.5 s apart agree.
    """
    text = page.evaluate(READ)
    for _ in range(20):
        page.wait_for_timeout(500)  # polling the DOM until it is stable, not a fixed sleep
        again = page.evaluate(READ)
        if again == text:
            break
        text = again
    for frame in page.frames:
        if frame is page.main_frame:
            continue
        try:
            text += "\n" + frame.locator("body").inner_text(timeout=5_000)
        except Exception:  # playwright Error: a frame replaced by a rerun meanwhile
            continue
    for c in CHROME:
        text = text.replace(c, " ")
    # The file uploader's limit line ("200MB per file • JPG, PNG").
    return re.sub(r"\d+MB per file", " ", text)


def offending(text: str, vocabulary: frozenset[str], strings: list[str]) -> dict[str, str]:
    """Words of *vocabulary* in *text* once data is cut out, each with its context."""
    clean = FILE_NAME.sub(" ", without_data(text, strings))
    found: dict[str, str] = {}
    for m in WORD.finditer(clean):
        w = m.group(0).casefold()
        if w in vocabulary and w not in found:
            found[w] = clean[max(0, m.start() - 60):m.end() + 60].replace("\n", " ⏎ ")
    return found


# --------------------------------------------------------------------------------------
# Driving the page
# --------------------------------------------------------------------------------------

def _settle(page: Any, title: str) -> None:
    """Wait until the page's heading says *title* and the script run has finished."""
    page.locator("h1", has_text=title).first.wait_for(timeout=LOAD_MS)
    page.locator(APP_IDLE).wait_for(state="attached", timeout=LOAD_MS)
    if page.locator(MAP_FRAME).count():
        frame = page.frame_locator(MAP_FRAME).first
        frame.locator(".leaflet-container").first.wait_for(state="attached",
                                                           timeout=LOAD_MS)
        frame.locator(".trygga-legend").first.wait_for(state="attached", timeout=LOAD_MS)
    page.locator(APP_IDLE).wait_for(state="attached", timeout=LOAD_MS)


def _choose_language(page: Any, label: str, lang: str, title: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text(label, exact=True).click()
    page.wait_for_function(f"document.documentElement.lang === '{lang}'", timeout=LOAD_MS)
    _settle(page, title)


def _go(page: Any, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    _settle(page, title)


def _all_views(page: Any, path: str, lang: str) -> str:
    """The page's text; on Trygghetsvandringar the text of every part of the page."""
    text = reader_text(page)
    if path == "vandringar":
        group = page.get_by_role("radiogroup", name={"sv": "Del", "en": "Part"}[lang])
        labels = [r.inner_text() for r in group.get_by_role("radio").all()] or []
        options = group.locator("label")
        for i in range(1, options.count()):
            options.nth(i).click()
            page.locator(APP_IDLE).wait_for(state="attached", timeout=LOAD_MS)
            page.wait_for_timeout(300)  # the rerun starts after the click event
            page.locator(APP_IDLE).wait_for(state="attached", timeout=LOAD_MS)
            text += "\n" + reader_text(page)
        del labels
        options.nth(0).click()
        page.locator(APP_IDLE).wait_for(state="attached", timeout=LOAD_MS)
    return text


def _check_page(server: Any, browser: Any, path: str, sv_title: str, en_title: str,  # noqa: F811
                other: tuple[str, str]) -> None:
    sv_words, en_words = vocabularies()
    context, page, blocked, _ = new_page(browser, height=2400, width=1440)
    try:
        page.goto(f"{server.url}/{path}", wait_until="domcontentloaded")
        _settle(page, sv_title)
        _choose_language(page, "English", "en", en_title)
        lang_en = page.evaluate("document.documentElement.lang")
        english = _all_views(page, path, "en")
        screenshot(page, f"english_{path or 'start'}")
        # The choice survives a page switch.
        _go(page, other[1])
        lang_other_en = page.evaluate("document.documentElement.lang")
        _choose_language(page, "Svenska", "sv", other[0])
        _go(page, sv_title)
        lang_sv = page.evaluate("document.documentElement.lang")
        swedish = _all_views(page, path, "sv")
        # Screenshots of the page in both languages, on a desktop and a phone (CI keeps
        # them as artefacts).
        screenshot(page, f"swedish_{path or 'start'}")
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator(APP_IDLE).wait_for(state="attached", timeout=LOAD_MS)
        screenshot(page, f"swedish_{path or 'start'}_phone")
    finally:
        context.close()
    strings = data_strings(server.profile)
    assert (lang_en, lang_other_en, lang_sv) == ("en", "en", "sv")
    left_sv = offending(english, sv_words, strings)
    assert left_sv == {}, "Swedish UI text under the English toggle:\n" + "\n".join(
        f"  {w}: …{ctx}…" for w, ctx in left_sv.items())
    left_en = offending(swedish, en_words, strings)
    assert left_en == {}, "English UI text after switching back to Swedish:\n" + "\n".join(
        f"  {w}: …{ctx}…" for w, ctx in left_en.items())
    assert blocked.urls == []


@pytest.fixture(scope="module")
def staff(request):
    return shared_server(request, "staff")


@pytest.fixture(scope="module")
def public(request):
    return shared_server(request, "public")


@pytest.mark.parametrize(("path", "sv_title", "en_title"), STAFF_PAGES,
                         ids=[p or "karta" for p, _, _ in STAFF_PAGES])
def test_english_toggle_on_every_staff_page(staff, browser, path, sv_title,  # noqa: F811
                                            en_title):
    other = STAFF_PAGES[1] if path == "" else STAFF_PAGES[0]
    _check_page(staff, browser, path, sv_title, en_title, (other[1], other[2]))


@pytest.mark.parametrize(("path", "sv_title", "en_title"), PUBLIC_PAGES,
                         ids=["offentlig", "uppfoljning"])
def test_english_toggle_on_every_public_page(public, browser, path, sv_title,  # noqa: F811
                                             en_title):
    other = PUBLIC_PAGES[1] if path == "" else PUBLIC_PAGES[0]
    _check_page(public, browser, path, sv_title, en_title, (other[1], other[2]))


def test_vocabulary_catches_a_swedish_label():
    """The check itself: a Swedish label is found, the same word inside data is not."""
    sv_words, en_words = vocabularies()
    strings = ["Gångvägen saknar belysning mellan vägen och skolgården."]
    text = "Status: Not fixed yet ⏎ Gångvägen saknar belysning mellan vägen och skolgården."
    assert offending(text, sv_words, strings) == {}
    assert set(offending("Ladda ner rapporten", sv_words, strings)) >= {"ladda", "rapporten"}
    assert "åtgärdad" in offending("Status: åtgärdad", sv_words, strings)
    assert set(offending("Download the report", en_words, strings)) >= {"download"}
