"""Folium maps built from our layers, with Leaflet served locally (no CDN).

No Streamlit here: the app and ``trygga public-map`` both use these builders. Every text
that reaches a popup or tooltip is HTML-escaped here, because Leaflet inserts tooltip and
popup content as HTML.
"""

from __future__ import annotations

import html
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from gis.packages import runs

VENDOR_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor"
#: URL under which Streamlit serves ``static/`` next to app.py (``server.enableStaticServing``).
STREAMLIT_STATIC = "/app/static/vendor"

STATUS_COLOURS = {
    "unlit": "#1a1a1a", "underlit": "#d7301f", "lit_old_technology": "#f08c00",
    "ok": "#2b8cbe", "unknown": "#8c8c8c",
}
SOURCE_COLOURS = {"LED": "#2b83ba", "HPS": "#f08c00", "Hg": "#c51b1b", "MH": "#5aae61",
                  "LPS": "#b8a300", "fluorescent": "#8e6bb0", "other": "#777777",
                  "unknown": "#777777"}
SCORE_BREAKS = (0.0, 1.0, 2.5, 4.0, 6.0)
SCORE_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")

#: Basemaps: name -> (tile URL template or None, attribution).
BASEMAPS: dict[str, tuple[str | None, str]] = {
    "none": (None, ""),
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
            "contributors"),
}


def root_figure(m: folium.Map) -> Figure:
    """The map's root :class:`branca.element.Figure` (typed)."""
    root = m.get_root()
    assert isinstance(root, Figure)
    return root


def assets_present() -> bool:
    """True when the pinned Leaflet files are in ``static/vendor`` (``./dev.sh setup``)."""
    return (VENDOR_DIR / "leaflet" / "leaflet.js").exists()


def configure_folium(prefix: str = STREAMLIT_STATIC) -> None:
    """Point folium at local Leaflet files instead of CDNs. Idempotent.

    folium keeps these lists as class attributes, i.e. global state (TRAPS.md): this is
    the one place that sets them. Only Leaflet itself is loaded; our maps use no
    Bootstrap, jQuery or awesome-markers.

    Parameters
    ----------
    prefix : str
        URL prefix of the vendor folder: ``"/app/static/vendor"`` inside Streamlit, or a
        relative folder such as ``"karta_filer"`` next to a static HTML file.
    """
    folium.Map.default_js = [("leaflet", f"{prefix}/leaflet/leaflet.js")]
    folium.Map.default_css = [("leaflet_css", f"{prefix}/leaflet/leaflet.css")]


def esc(values: pd.Series) -> pd.Series:
    """HTML-escape every value of a Series (``None``/NaN become an empty string)."""
    return values.astype(object).where(values.notna(), "").astype(str).map(html.escape)


def to_web(gdf: gpd.GeoDataFrame, simplify_m: float = 0.0) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 for the browser, simplified (metres) and rounded to 6 decimals.

    Parameters
    ----------
    gdf : GeoDataFrame
        In a projected CRS (metres).
    simplify_m : float
        Douglas-Peucker tolerance in metres applied before reprojection; 0 keeps all
        vertices.
    """
    out = gdf
    if simplify_m > 0 and len(gdf):
        out = gdf.set_geometry(shapely.simplify(gdf.geometry.values, simplify_m,
                                                preserve_topology=False))
    out = out.to_crs("EPSG:4326")
    return out.set_geometry(shapely.set_precision(out.geometry.values, 1e-6))


def base_map(bounds_4326: tuple[float, float, float, float], basemap: str = "none",
             height: str | int = "100%") -> folium.Map:
    """An empty map fitted to *bounds* (lon/lat), with the chosen basemap or none."""
    url, attribution = BASEMAPS.get(basemap, BASEMAPS["none"])
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, height=height,
                   zoom_snap=0.25)
    if url:
        folium.TileLayer(url, attr=attribution, name="Bakgrund", max_zoom=19).add_to(m)
    else:
        root_figure(m).html.add_child(Element(
            "<style>.leaflet-container{background:#f4f4f0}</style>"))
    w, s, e, n = bounds_4326
    m.fit_bounds([[s, w], [n, e]])
    return m


def _score_colour(score: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(SCORE_BREAKS, score, side="right") - 1, 0,
                  len(SCORE_COLOURS) - 1)
    return np.asarray(SCORE_COLOURS)[idx]


def add_segments(m: folium.Map, ranked: gpd.GeoDataFrame, colour_by: str = "status",
                 labels: dict[str, str] | None = None, name: str = "Segment") -> None:
    """Ranked segments as ONE GeoJSON layer coloured by status or score, with tooltips.

    Consecutive segments of a way with the same status are merged into runs first
    (:func:`gis.packages.runs`), which keeps the GeoJSON sent to the browser small.
    """
    if ranked.empty:
        return
    merged = runs(ranked)
    web = to_web(merged, simplify_m=1.0)
    colours = (web["lighting_status"].map(STATUS_COLOURS).fillna("#8c8c8c").to_numpy()
               if colour_by == "status" else _score_colour(web["max_score"].to_numpy(float)))
    labels = labels or {}
    props = pd.DataFrame({
        "seg": esc(web["top_segment"]).to_numpy(),
        "rank": web["best_rank"].astype(int).to_numpy(),
        "status": esc(web["lighting_status"].map(lambda s: labels.get(s, s))).to_numpy(),
        "reason": esc(web["reason"]).to_numpy(),
        "c": colours,
    }, index=web.index)
    gj = gpd.GeoDataFrame(props, geometry=web.geometry.values, crs=web.crs)
    folium.GeoJson(
        gj.to_json(drop_id=True),
        name=name,
        style_function=lambda f: {"color": f["properties"]["c"], "weight": 4, "opacity": 0.9},
        smooth_factor=0.5,
        tooltip=folium.GeoJsonTooltip(["rank", "status", "reason"],
                                      aliases=["#", "Status", ""], sticky=True),
        highlight_function=lambda f: {"weight": 7},
    ).add_to(m)


def add_points(m: folium.Map, gdf: gpd.GeoDataFrame, colours: np.ndarray | str,
               tooltip_cols: dict[str, str], name: str, radius: float = 4.0,
               show: bool = True, already_escaped: bool = False) -> None:
    """Points as ONE GeoJSON layer of circle markers; tooltip columns are HTML-escaped.

    Pass ``already_escaped=True`` for frames whose text is escaped already (the result of
    :func:`walks.public.public_view`), so it is not escaped twice.
    """
    if gdf.empty:
        return
    web = to_web(gdf[[*tooltip_cols, "geometry"]])
    props = pd.DataFrame({k: (web[k].fillna("").astype(str) if already_escaped
                              else esc(web[k])).to_numpy() for k in tooltip_cols},
                         index=web.index)
    props["c"] = colours if isinstance(colours, str) else np.asarray(colours)
    gj = gpd.GeoDataFrame(props, geometry=web.geometry.values, crs=web.crs)
    fg = folium.FeatureGroup(name=name, show=show)
    folium.GeoJson(
        gj.to_json(drop_id=True),
        marker=folium.CircleMarker(radius=radius, weight=1, fill=True, fill_opacity=0.85),
        style_function=lambda f: {"color": "#222", "fillColor": f["properties"]["c"]},
        tooltip=folium.GeoJsonTooltip(list(tooltip_cols), aliases=list(tooltip_cols.values())),
    ).add_to(fg)
    fg.add_to(m)


def add_polygons(m: folium.Map, gdf: gpd.GeoDataFrame, colour: str, label_col: str,
                 name: str, dash: str | None = None) -> None:
    """Polygons (schools, priority areas) as one GeoJSON layer with an escaped tooltip."""
    if gdf.empty:
        return
    web = to_web(gdf[[label_col, "geometry"]], simplify_m=0.5)
    gj = gpd.GeoDataFrame({"label": esc(web[label_col]).to_numpy()},
                          geometry=web.geometry.values, crs=web.crs)
    style = {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.12}
    if dash:
        style["dashArray"] = dash
    folium.GeoJson(gj.to_json(drop_id=True), name=name, style_function=lambda f: style,
                   tooltip=folium.GeoJsonTooltip(["label"], labels=False)).add_to(m)


class _Legend(MacroElement):
    """A Leaflet control holding ready-made (escaped) HTML, placed inside the map."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomleft"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "trygga-legend");
            div.setAttribute("role", "region");
            div.setAttribute("aria-label", {{ this.title|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, title: str, html_text: str):
        super().__init__()
        self._name = "Legend"
        self.title = title
        self.html = html_text


def add_legend(m: folium.Map, title: str, items: list[tuple[str, str]]) -> None:
    """An HTML legend as a Leaflet control (no branca colormap: it would load d3 from a CDN)."""
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
        f'vertical-align:middle;background:{html.escape(c)};border:1px solid #333"></span>'
        f"{html.escape(label)}</div>" for label, c in items)
    box = ('<div style="background:white;padding:8px 10px;border:1px solid #999;'
           'border-radius:4px;font:13px/1.5 sans-serif;color:#111">'
           f"<strong>{html.escape(title)}</strong>{rows}</div>")
    _Legend(title, box).add_to(m)


def add_context_lines(m: folium.Map, lines: gpd.GeoDataFrame, name: str,
                      colour: str = "#9a9a9a") -> None:
    """Thin grey lines (e.g. the path network) as context, without tooltips."""
    if lines.empty:
        return
    web = to_web(lines[["geometry"]], simplify_m=2.0)
    folium.GeoJson(web.to_json(drop_id=True), name=name, interactive=False,
                   style_function=lambda f: {"color": colour, "weight": 1.5,
                                             "opacity": 0.8}).add_to(m)
