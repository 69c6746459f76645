"""The residents' map: findings from :func:`walks.public.public_view` only (no Streamlit).

Used by the "Offentlig karta" page and by ``trygga public-map``, which writes one
self-contained HTML file (Leaflet's script, style sheet and images inlined), so the kommun's
website gets a single file to upload and makes no third-party requests (except optional
basemap tiles). The file is written atomically and carries :data:`GENERATOR_META`, so a
later run replaces only a file it wrote itself (anything else needs ``force=True``).
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np

from layers.io import write_atomic
from ui import maps
from ui.texts import tr
from ui.translate import category_text
from walks.public import PUBLIC_COLUMNS

#: folium's ``<meta name="viewport" ... user-scalable=no>`` (removed from static pages).
_NO_ZOOM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*user-scalable=no[^>]*>\s*')

#: Marks a file written by :func:`write_static_map` (checked before overwriting a file).
GENERATOR_META = '<meta name="generator" content="trygga-strak public-map">'

#: Placeholder URL prefix of the vendor folder while rendering; replaced by inline copies.
_INLINE_PREFIX = "trygga-inline-vendor"

STATE_COLOURS = {"open": "#d7301f", "fixed": "#1a9641", "closed": "#7f7f7f"}


def _state_text(state_type: str, lang: str) -> str:
    return {"open": tr("state_open", lang), "fixed": tr("state_fixed", lang),
            "closed": tr("state_closed", lang)}.get(state_type, state_type)


def build_public_map(view: gpd.GeoDataFrame, bounds_4326: tuple[float, float, float, float],
                     basemap: str = "none", lang: str = "sv",
                     led: gpd.GeoDataFrame | None = None,
                     context: gpd.GeoDataFrame | None = None,
                     height: str | int = "100%") -> folium.Map:
    """A folium map of the public view: open and fixed findings, optionally LED luminaires.

    Parameters
    ----------
    view : GeoDataFrame
        Exactly the result of :func:`walks.public.public_view` (allow-listed, escaped).
    bounds_4326 : tuple
        (west, south, east, north) in degrees to fit the map to.
    basemap : str
        Key of :data:`ui.maps.BASEMAPS`; ``"none"`` works offline.
    lang : str
        ``"sv"`` or ``"en"``.
    led : GeoDataFrame, optional
        Luminaires converted to LED (points), shown as a separate layer.
    context : GeoDataFrame, optional
        Lines drawn thin and grey for orientation (the walking and cycle paths).
    """
    if list(view.columns) != list(PUBLIC_COLUMNS):
        raise ValueError("build_public_map takes only the result of public_view()")
    m = maps.base_map(bounds_4326, basemap, height=height)
    if context is not None:
        maps.add_context_lines(m, context, tr("paths", lang))
    if led is not None and len(led):
        maps.add_points(m, led.assign(what=tr("led_converted", lang)), "#2b83ba",
                        {"what": ""}, tr("led_converted", lang), radius=2.5)
    for state_type in ("fixed", "open", "closed"):
        part = view[view["state_type"] == state_type]
        if part.empty:
            continue
        shown = part.assign(state=_state_text(state_type, lang))
        if lang == "en":  # the view's category labels are escaped Swedish
            shown = shown.assign(category=[html.escape(category_text(html.unescape(str(c)),
                                                                     lang), quote=True)
                                           for c in shown["category"]])
        maps.add_points(m, shown, STATE_COLOURS[state_type],
                        {"category": tr("category", lang), "description": "",
                         "state": tr("status", lang), "date": tr("date", lang),
                         **({"public_note": tr("what_done", lang)}
                            if "public_note" in shown.columns else {})},
                        _state_text(state_type, lang), radius=6, already_escaped=True)
    maps.add_legend(m, tr("legend", lang), [
        (_state_text(k, lang), c) for k, c in STATE_COLOURS.items()])
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def list_html(view: gpd.GeoDataFrame, lang: str = "sv", title: str = "",
              demo: bool = False) -> str:
    """The findings as an HTML table under the map, usable by keyboard and screen reader.

    *view* is the escaped public view, so its text is inserted as it is. With *demo* the
    page says first that it shows synthetic demo data.
    """
    def text(v: object) -> str:
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)

    rows = "".join(
        f"<tr><td>{text(r['date'])}</td><td>{text(r['category'])}</td>"
        f"<td>{text(r['description'])}</td><td>{_state_text(text(r['state_type']), lang)} "
        f"{text(r['fixed_date'])}"
        + (f"<br>{text(r.get('public_note'))}" if text(r.get("public_note")) else "")
        + "</td></tr>"
        for _, r in view.sort_values("date", ascending=False).iterrows())
    return (
        '<main style="font:15px/1.5 sans-serif;color:#111;max-width:60rem;margin:1rem auto;'
        'padding:0 1rem">'
        f"<h1 style='font-size:1.4rem'>{html.escape(title)}</h1>"
        + (_demo_notice(lang) if demo else "") +
        f"<p>{html.escape(tr('public_intro', lang))}</p>"
        f"<table style='border-collapse:collapse;width:100%'><caption style='text-align:left;"
        f"font-weight:bold'>{html.escape(tr('findings', lang))} ({len(view)})</caption>"
        f"<thead><tr><th scope='col'>{html.escape(tr('date', lang))}</th>"
        f"<th scope='col'>{html.escape(tr('category', lang))}</th>"
        f"<th scope='col'>{html.escape(tr('description', lang))}</th>"
        f"<th scope='col'>{html.escape(tr('status', lang))}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></main>")


def _demo_notice(lang: str) -> str:
    """The demo-data notice (the same text as the app's), as an alert box."""
    text = html.escape(tr("demo_notice", lang).replace("**", ""))
    return ('<p role="note" class="trygga-demo-notice" style="background:#fff4ce;'
            'border:1px solid #8a6d00;color:#3d2c00;padding:.5rem .75rem;border-radius:4px">'
            f"{text}</p>")
class NotOurFileError(FileExistsError):
    """The output file exists and was not written by :func:`write_static_map`."""


def is_our_map(path: Path) -> bool:
    """True when *path* is a file that :func:`write_static_map` wrote (its generator tag)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return GENERATOR_META.encode() in head


def _inline_css(css: str, folder: Path) -> str:
    """Leaflet's CSS with every ``url(images/x.png)`` turned into a ``data:`` URI."""
    def data_uri(match: re.Match[str]) -> str:
        ref = match.group(1).strip("'\"")
        image = folder / ref
        if ref.startswith(("#", "data:")) or not image.is_file():
            return match.group(0)
        return f"url(data:image/png;base64,{base64.b64encode(image.read_bytes()).decode()})"
    return re.sub(r"url\(([^)]+)\)", data_uri, css)


def _inline_assets(page: str) -> str:
    """Replace the placeholder ``<script src>``/``<link href>`` of Leaflet by inline copies."""
    leaflet = maps.VENDOR_DIR / "leaflet"
    js = (leaflet / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    css = _inline_css((leaflet / "leaflet.css").read_text(encoding="utf-8"), leaflet)
    script = re.compile(rf'<script src="{_INLINE_PREFIX}/leaflet/leaflet\.js"></script>')
    link = re.compile(rf'<link rel="stylesheet" href="{_INLINE_PREFIX}/leaflet/leaflet\.css"\s*/?>')
    page, n_js = script.subn(lambda _m: f"<script>{js}</script>", page, count=1)
    page, n_css = link.subn(lambda _m: f"<style>{css}</style>", page, count=1)
    if n_js != 1 or n_css != 1 or _INLINE_PREFIX in page:
        raise RuntimeError("could not inline Leaflet into the public map (folium changed?)")
    return page


def write_static_map(view: gpd.GeoDataFrame, out: str | Path,
                     bounds_4326: tuple[float, float, float, float] | None = None,
                     basemap: str = "none", lang: str = "sv",
                     title: str = "Trygga stråk",
                     context: gpd.GeoDataFrame | None = None, demo: bool = False,
                     force: bool = False) -> Path:
    """Write the public map as one self-contained HTML file (Leaflet inlined).

    The file is written to a temporary name beside *out* and then moved over it
    (``os.replace``), so a reader sees the old file or the whole new one. Nothing else is
    created or deleted.

    Parameters
    ----------
    view : GeoDataFrame
        The result of :func:`walks.public.public_view`.
    out : path
        Output ``.html`` file.
    bounds_4326 : tuple, optional
        Map extent (west, south, east, north) in degrees; defaults to the findings' extent.
    basemap : str
        ``"none"`` (default: no third-party request at all) or ``"osm"``.
    context : GeoDataFrame, optional
        The path network, drawn thin and grey.
    demo : bool
        The data is the synthetic demo (``profile.demo``): the page says so.
    force : bool
        Replace *out* even when it exists and was not written by this function.

    Raises
    ------
    NotOurFileError
        *out* exists, is not a map this function wrote, and *force* is false; or *out*
        is a folder.
    FileNotFoundError
        Leaflet is missing in ``static/vendor`` (``./dev.sh setup``).
    """
    out = Path(out)
    if out.is_dir():
        raise NotOurFileError(f"{out} is a folder; give a file name such as karta.html")
    if out.exists() and not force and not is_our_map(out):
        raise NotOurFileError(
            f"{out} exists and was not written by `trygga public-map`; choose another "
            "file name, or pass --force to replace it")
    if not maps.assets_present():
        raise FileNotFoundError("Leaflet is missing in static/vendor: run ./dev.sh setup")
    if bounds_4326 is None:
        if len(view):
            w, s, e, n = view.total_bounds
            pad = 0.005
            bounds_4326 = (w - pad, s - pad, e + pad, n + pad)
        else:
            bounds_4326 = (11.1, 58.9, 11.25, 58.97)
    maps.configure_folium(_INLINE_PREFIX)
    try:
        m = build_public_map(view, tuple(np.asarray(bounds_4326, dtype=float)), basemap,
                             lang, context=context, height="70vh")
        maps.root_figure(m).header.add_child(maps.RawHtml(
            f'{GENERATOR_META}<title>{html.escape(title)}</title><meta name="viewport" '
            'content="width=device-width, initial-scale=1">'))
        page = maps.root_figure(m).render()
    finally:
        maps.configure_folium()  # back to the app's prefix: folium's lists are global
    page = page.replace("<html>", f'<html lang="{lang}">', 1)
    # folium's own viewport tag forbids zooming (WCAG 1.4.4); ours above allows it.
    page = _NO_ZOOM_VIEWPORT.sub("", page, count=1)
    # The generator tag goes first in <head>, so is_our_map finds it in the first bytes.
    page = page.replace(GENERATOR_META, "", 1).replace("<head>", "<head>" + GENERATOR_META, 1)
    page = _inline_assets(page)
    # The accessible list goes after the map, at the end of the body.
    head, sep, tail = page.rpartition("</body>")
    html_text = head + list_html(view, lang, title, demo=demo) + sep + tail
    return write_atomic(out, html_text.encode("utf-8"))
