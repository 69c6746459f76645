"""Folium maps built from our layers, with Leaflet served locally (no CDN).

No Streamlit here: the app and ``trygga public-map`` both use these builders. Every text
that reaches a popup or tooltip is HTML-escaped here, because Leaflet inserts tooltip and
popup content as HTML.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.elements import ElementAddToElement
from folium.map import Layer
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
    m = folium.Map(tiles=None, control_scale=False, prefer_canvas=False, height=height,
                   zoom_snap=0.25)
    _MetricScale().add_to(m)
    _FocusWithoutScroll().add_to(m)
    _AllowZoom().add_to(m)
    if url:
        folium.TileLayer(url, attr=attribution, name="Bakgrund", max_zoom=19).add_to(m)
    else:
        root_figure(m).html.add_child(Element(
            "<style>.leaflet-container{background:#f4f4f0}</style>"))
    w, s, e, n = bounds_4326
    m.fit_bounds([[s, w], [n, e]])
    return m


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres only (folium's ``control_scale`` adds miles too)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 140})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)


class _AllowZoom(MacroElement):
    """folium's map page forbids pinch zoom (``user-scalable=no``, WCAG 1.4.4). In the
    app the map page is an iframe that streamlit-folium writes with folium's header, so
    the tag is rewritten in the browser; ``write_static_map`` removes it from its file."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        document.querySelectorAll('meta[name=viewport]').forEach(function (m) {
          if (/user-scalable\\s*=\\s*no|maximum-scale/.test(m.content))
            m.setAttribute('content', 'width=device-width, initial-scale=1');
        });
        {% endmacro %}
    """)


class _FocusWithoutScroll(MacroElement):
    """Leaflet focuses the map on mousedown (keyboard handler) with a plain ``focus()``,
    which scrolls the *parent* page to bring the map's iframe into view: the page moves
    between mousedown and click, and the click lands as far off as the page scrolled
    (about 1.4 km on the record-a-finding map). Focusing with ``preventScroll`` keeps the
    point under the pointer where it was."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
          var kb = map.keyboard;
          if (!kb) return;
          var on = kb.enabled();
          if (on) kb.disable();
          kb._onMouseDown = function () {
            if (this._focused) return;
            this._map._container.focus({preventScroll: true});
          };
          if (on) kb.enable();
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)


def _score_colour(score: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(SCORE_BREAKS, score, side="right") - 1, 0,
                  len(SCORE_COLOURS) - 1)
    return np.asarray(SCORE_COLOURS)[idx]


class _Raw(Element):
    """Ready-made script text. Unlike ``Element(text)`` it is not compiled as a Jinja
    template on render, which for a large payload costs more than building it."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs: object) -> str:
        return self._text


#: Public name of :class:`_Raw`, for ready-made HTML (never compiled as a template).
RawHtml = _Raw


class _NoSecondPass(MacroElement):
    """``MacroElement.render`` without branca's second Jinja pass.

    branca renders an element's macros and then wraps each result in ``Element(text)``,
    which compiles that *output* as a Jinja template again. Any ``{{ … }}`` in the data
    (a finding description, an OSM name) would then be evaluated on the server: a
    template injection (``{{ 7*7 }}`` became ``49``), and a Jinja compile of every
    GeoJSON text on every render. Elements with this class in their MRO put their
    rendered macros into the figure as they are (:class:`_Raw`).
    """

    def render(self, **kwargs: object) -> None:  # type: ignore[override]
        figure = self.get_root()
        assert isinstance(figure, Figure), "render the element inside a Figure"
        macros = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html),
                             ("script", figure.script)):
            macro = macros.get(part)
            if macro is not None:
                target.add_child(_Raw(str(macro(self, kwargs))), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class SafeGeoJson(folium.GeoJson, _NoSecondPass):
    """``folium.GeoJson`` whose data is never evaluated as a Jinja template."""


class SafeGeoJsonTooltip(folium.GeoJsonTooltip, _NoSecondPass):
    """``folium.GeoJsonTooltip`` rendered without the second Jinja pass."""


class CompactLines(Layer):
    """Many polylines drawn from one columnar JSON payload on a canvas renderer.

    A GeoJSON layer with a style function costs the browser one SVG path and two JSON
    round trips per feature, and folium a Jinja compile of the whole GeoJSON text. Here
    the payload is ``{"n": vertex counts, "s": scale, "d": lat/lon integer deltas,
    "p": palette, "c": palette index per line, "t": tooltip HTML per line}``
    (:func:`lines_payload`; tooltips already escaped), and one short script builds ``L.polyline``s on a shared ``L.canvas`` renderer. The
    map container gets ``data-trygga-lines="<name>:<count>"`` once the lines are added,
    so tests can check what was drawn.
    """

    # streamlit-folium builds its script from this macro; folium's own render() is
    # overridden below so the (large) result is never compiled as a Jinja template.
    _template = Template("{% macro script(this, kwargs) %}{{ this.js() }}{% endmacro %}")

    def __init__(self, payload: dict[str, Any], name: str, weight: float = 4,
                 highlight_weight: float = 7, opacity: float = 0.9, control: bool = True,
                 legend: tuple[str, list[tuple[str, str]]] | None = None):
        super().__init__(name=name, overlay=True, control=control, show=True)
        self._name = "CompactLines"
        #: (title, items) of a legend shown while the layer is on the map.
        self.legend = legend
        self.payload = payload
        self.style = {"weight": weight, "opacity": opacity, "smoothFactor": 0.5}
        self.highlight_weight = highlight_weight
        self._data: str | None = None

    def data_js(self) -> str:
        """The payload as a JavaScript literal that is safe inside ``<script>``."""
        if self._data is None:  # a map may be rendered more than once
            data = json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False)
            # No "<" may appear raw ("</script>", "<!--"); \u003c is the same character
            # to JSON and JavaScript. U+2028/9 are escaped for older parsers.
            self._data = data.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace(
                "\u2029", "\\u2029")
        return self._data

    def js(self) -> str:
        """The layer's script: ``var <name> = <featureGroup of polylines>;``."""
        style = json.dumps(self.style)
        label = json.dumps(str(self.layer_name), ensure_ascii=False).replace("<", "\\u003c")
        legend = "null"
        if self.legend is not None:
            title, items = self.legend
            legend = json.dumps({"title": title, "html": legend_html(title, items)},
                                ensure_ascii=False).replace("<", "\\u003c")
        return (
            f"var {self.get_name()} = (function () {{\n"
            f"  var D = {self.data_js()};\n"
            f"  var S = {style}, W = {float(self.style['weight'])}, "
            f"H = {float(self.highlight_weight)};\n"
            "  var r = L.canvas({padding: 0.3, tolerance: 3});\n"
            "  var g = L.featureGroup(), o = 0, la = 0, lo = 0;\n"
            "  function on(e) { e.target.setStyle({weight: H}); }\n"
            "  function off(e) { e.target.setStyle({weight: W}); }\n"
            "  for (var i = 0; i < D.n.length; i++) {\n"
            "    var ll = new Array(D.n[i]);\n"
            "    for (var j = 0; j < D.n[i]; j++, o++) {\n"
            "      la += D.d[2 * o]; lo += D.d[2 * o + 1]; ll[j] = [la / D.s, lo / D.s];\n"
            "    }\n"
            "    var p = L.polyline(ll, L.extend({renderer: r, color: D.p[D.c[i]]}, S));\n"
            "    p.bindTooltip(D.t[i], {sticky: true});\n"
            "    p.on('mouseover', on); p.on('mouseout', off);\n"
            "    g.addLayer(p);\n"
            "  }\n"
            f"  var LG = {legend}, ctl = null;\n"
            "  g.on('add', function () {\n"
            "    var map = this._map;\n"
            f"    map.getContainer().setAttribute('data-trygga-lines', {label} + ':' "
            "+ D.n.length);\n"
            "    if (LG && !ctl) {\n"
            "      ctl = L.control({position: 'bottomleft'});\n"
            "      ctl.onAdd = function () {\n"
            "        var div = L.DomUtil.create('div', 'trygga-legend');\n"
            "        div.setAttribute('role', 'region');\n"
            "        div.setAttribute('aria-label', LG.title);\n"
            "        div.innerHTML = LG.html;\n"
            "        return div;\n"
            "      };\n"
            "      ctl.addTo(map);\n"
            "    }\n"
            "  });\n"
            "  g.on('remove', function () { if (ctl) { ctl.remove(); ctl = null; } });\n"
            "  return g;\n"
            "})();\n")

    def render(self, **kwargs: object) -> None:  # type: ignore[override]
        root = self.get_root()
        assert isinstance(root, Figure), f"{type(self).__name__} must be added to a map"
        root.script.add_child(_Raw(self.js()), name=self.get_name())
        if self.show:
            parent = self._parent
            assert parent is not None
            self.add_child(ElementAddToElement(element_name=self.get_name(),
                                               element_parent_name=parent.get_name()),
                           name=self.get_name() + "_add")
        for child in self._children.values():
            child.render(**kwargs)


def lines_payload(web: gpd.GeoDataFrame, colours: np.ndarray, tooltips: np.ndarray,
                  decimals: int = 6) -> dict[str, Any]:
    """The :class:`CompactLines` payload of LineStrings in EPSG:4326 (lon/lat).

    Coordinates are rounded to *decimals* (6 ≈ 0.1 m) and sent as integers in units of
    ``10**-decimals`` degrees, each the difference to the previous number of the same axis
    (``"d"``: lat, lon, lat, lon, …; ``"s"``: the scale), which is about a third of the
    size of the decimal text.

    Parameters
    ----------
    web : GeoDataFrame
        LineStrings in EPSG:4326 (degrees; see :func:`to_web`).
    colours : array of str
        CSS colour per line.
    tooltips : array of str
        Tooltip HTML per line, already escaped.
    decimals : int
        Decimals kept of the coordinates.
    """
    geoms = np.asarray(web.geometry.values, dtype=object)
    palette, index = np.unique(np.asarray(colours, dtype=str), return_inverse=True)
    scale = 10 ** decimals
    q = np.rint(shapely.get_coordinates(geoms)[:, ::-1] * scale).astype(np.int64)  # lat, lon
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    return {"n": shapely.get_num_coordinates(geoms).tolist(), "s": scale,
            "d": d.ravel().tolist(), "p": palette.tolist(), "c": index.ravel().tolist(),
            "t": np.asarray(tooltips, dtype=object).tolist()}


def decode_lines(payload: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """The (lat, lon) vertex lists of a :func:`lines_payload` (what the script draws)."""
    q = np.cumsum(np.asarray(payload["d"], dtype=np.int64).reshape(-1, 2), axis=0)
    xy = q / payload["s"]
    ends = np.cumsum(payload["n"])
    return [[(float(a), float(b)) for a, b in part] for part in np.split(xy, ends[:-1])]


def add_segments(m: folium.Map | folium.FeatureGroup, ranked: gpd.GeoDataFrame,
                 colour_by: str = "status", labels: dict[str, str] | None = None,
                 name: str = "Segment",
                 legend: tuple[str, list[tuple[str, str]]] | None = None) -> None:
    """Ranked segments as ONE canvas layer coloured by status or score, with tooltips.

    Consecutive segments of a way with the same status are merged into runs first
    (:func:`gis.packages.runs`), simplified by 1 m and sent as one compact payload
    (:class:`CompactLines`), which keeps what the browser receives and draws small.
    Added to a ``FeatureGroup`` (e.g. streamlit-folium's ``feature_group_to_add``), the
    layer is not listed in the layer control itself: the group is. *legend* is shown
    while the layer is on the map.
    """
    if ranked.empty:
        return
    merged = runs(ranked)
    web = to_web(merged, simplify_m=1.0)
    colours = (web["lighting_status"].map(STATUS_COLOURS).fillna("#8c8c8c").to_numpy()
               if colour_by == "status" else _score_colour(web["max_score"].to_numpy(float)))
    labels = labels or {}
    status = web["lighting_status"].astype(str)
    status_text = esc(status.map(lambda s: labels.get(s, s)))
    tooltips = ("#" + web["best_rank"].astype(int).astype(str) + " " + status_text
                + "<br>" + esc(web["reason"])).to_numpy(dtype=object)
    CompactLines(lines_payload(web, colours, tooltips), name=name, legend=legend,
                 control=not isinstance(m, folium.FeatureGroup)).add_to(m)


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
    SafeGeoJson(
        gj.to_json(drop_id=True),
        marker=folium.CircleMarker(radius=radius, weight=1, fill=True, fill_opacity=0.85),
        style_function=lambda f: {"color": "#222", "fillColor": f["properties"]["c"]},
        tooltip=SafeGeoJsonTooltip(list(tooltip_cols), aliases=list(tooltip_cols.values())),
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
    SafeGeoJson(gj.to_json(drop_id=True), name=name, style_function=lambda f: style,
                tooltip=SafeGeoJsonTooltip(["label"], labels=False)).add_to(m)


class _NumberedMarkers(_NoSecondPass):
    """Numbered round (or square) markers from one JSON list; tooltips are escaped text."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
          var P = {{ this.points|tojson }}, g = L.featureGroup();
          P.forEach(function (p) {
            var icon = L.divIcon({className: 'trygga-top', iconSize: [22, 22],
              html: '<span style="display:flex;align-items:center;justify-content:center;' +
                    'width:22px;height:22px;border-radius:' + ({{ this.square|tojson }} ?
                    '3px' : '50%') + ';background:{{ this.colour }};color:#fff;' +
                    'font:bold 12px/1 sans-serif;border:2px solid #fff;' +
                    'box-shadow:0 0 2px #000">' + p[2] + '</span>'});
            L.marker([p[0], p[1]], {icon: icon, keyboard: false, title: p[3],
                                     zIndexOffset: 1000 - p[2]})
              .bindTooltip(p[4]).addTo(g);
          });
          return g;
        })();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, points: list[list[Any]], colour: str, square: bool):
        super().__init__()
        self._name = "NumberedMarkers"
        self.points = points
        self.colour = colour if _CSS_COLOUR.fullmatch(colour) else "#111111"
        self.square = square


_CSS_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def add_numbered_markers(m: folium.Map | folium.FeatureGroup, gdf: gpd.GeoDataFrame,
                         numbers: np.ndarray, tooltips: np.ndarray, colour: str,
                         name: str = "top", square: bool = False) -> None:
    """A numbered marker at the middle of each feature (e.g. the top 10 of the ranking).

    Parameters
    ----------
    gdf : GeoDataFrame
        Lines or points in a projected CRS (metres); a line's marker is at half its length.
    numbers : array of int
        The number shown in each marker.
    tooltips : array of str
        Plain text per marker (escaped here).
    colour : str
        ``#rrggbb`` background of the markers.
    """
    if gdf.empty:
        return
    geoms = gdf.geometry.values
    mid = np.where(shapely.get_type_id(geoms) == 0, geoms,
                   shapely.line_interpolate_point(geoms, 0.5, normalized=True))
    web = gpd.GeoSeries(mid, crs=gdf.crs).to_crs("EPSG:4326")
    xy = shapely.get_coordinates(web.values)
    points = [[round(float(y), 6), round(float(x), 6), int(n), html.escape(str(tip)[:120]),
               html.escape(str(tip))]
              for (x, y), n, tip in zip(xy, numbers, tooltips, strict=True)]
    el = _NumberedMarkers(points, colour, square)
    el._name = name
    el.add_to(m)


def add_highlight(m: folium.Map | folium.FeatureGroup, geoms: gpd.GeoSeries, colour: str,
                  name: str) -> None:
    """The selected feature drawn thick over everything, with a dark casing."""
    web = to_web(gpd.GeoDataFrame(geometry=geoms.values, crs=geoms.crs))
    gj = web.to_json(drop_id=True)
    for weight, c in ((12, "#111111"), (7, colour)):
        SafeGeoJson(gj, name=name, interactive=False, control=False,
                    marker=folium.CircleMarker(radius=weight, weight=3, fill=True),
                    style_function=lambda f, w=weight, c=c: {
                        "color": c, "weight": w, "opacity": 0.95, "fillColor": c,
                        "fillOpacity": 0.6}).add_to(m)


class _Legend(_NoSecondPass):
    """A Leaflet control holding ready-made (escaped) HTML, placed inside the map."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "trygga-legend");
            div.setAttribute("role", "region");
            div.setAttribute("aria-label", {{ this.title|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            // On a narrow map (a phone) a legend on the right starts folded, so it does
            // not cover the one on the left; a tap on its title opens it.
            if (map.getSize().x < 560 && {{ this.position|tojson }}.indexOf("right") >= 0) {
                var box = div.querySelector("details");
                if (box) box.open = false;
            }
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, title: str, html_text: str, position: str = "bottomleft"):
        super().__init__()
        self._name = "Legend"
        self.title = title
        self.html = html_text
        self.position = position


def add_legend(m: folium.Map, title: str, items: list[tuple[str, str]],
               position: str = "bottomleft") -> None:
    """An HTML legend as a Leaflet control (no branca colormap: it would load d3 from a CDN).

    *position* is a Leaflet control corner (``"bottomleft"``, ``"bottomright"``, …).
    """
    _Legend(title, legend_html(title, items), position).add_to(m)


def legend_html(title: str, items: list[tuple[str, str]]) -> str:
    """The legend box: an escaped title and one colour swatch + escaped label per item.

    The box is a ``<details>`` element, open at first (folded at first in a right corner of
    a map narrower than 560 px): a tap on the title folds it away where it covers the map.
    """
    rows = "".join(
        f'<div><span style="display:inline-block;width:13px;height:13px;margin-right:6px;'
        f'vertical-align:middle;background:{html.escape(c)};border:1px solid #333"></span>'
        f"{html.escape(label)}</div>" for label, c in items)
    return ('<details open style="background:white;padding:6px 9px;border:1px solid #999;'
            'border-radius:4px;font:12px/1.45 sans-serif;color:#111;max-width:15rem">'
            f'<summary style="cursor:pointer;font-weight:bold">{html.escape(title)}</summary>'
            f"{rows}</details>")


def add_context_lines(m: folium.Map, lines: gpd.GeoDataFrame, name: str,
                      colour: str = "#9a9a9a") -> None:
    """Thin grey lines (e.g. the path network) as context, without tooltips."""
    if lines.empty:
        return
    web = to_web(lines[["geometry"]], simplify_m=2.0)
    SafeGeoJson(web.to_json(drop_id=True), name=name, interactive=False,
                   style_function=lambda f: {"color": colour, "weight": 1.5,
                                             "opacity": 0.8}).add_to(m)


#: Lux classes of the illuminance overlay: (lower bound in lx, RGBA). Below 0.5 lx reads
#: as dark; the breaks follow the EN 13201-2 P-class averages (P6 2 lx … P1 15 lx).
LUX_CLASSES: tuple[tuple[float, tuple[int, int, int, int]], ...] = (
    (0.0, (20, 24, 82, 170)), (0.5, (62, 38, 120, 160)), (2.0, (140, 45, 120, 150)),
    (3.0, (210, 80, 80, 150)), (5.0, (245, 140, 50, 150)), (7.5, (252, 200, 60, 160)),
    (15.0, (255, 250, 160, 170)))


def lux_overlay_png(lux: np.ndarray, transform: Any, crs: Any,
                    ) -> tuple[bytes, tuple[float, float, float, float]]:
    """A lux grid as a PNG for a Leaflet image overlay, and its lon/lat bounds.

    The grid is warped to Web Mercator (EPSG:3857, nearest neighbour), because Leaflet
    stretches an image overlay linearly in Mercator between its corner coordinates.
    Cells are coloured by :data:`LUX_CLASSES`; nodata (< 0) is transparent.

    Parameters
    ----------
    lux : ndarray, shape (height, width)
        Illuminance in lux, negative for nodata (:data:`gis.raster_out.NODATA`).
    transform : affine.Affine
        Pixel to CRS transform of *lux* (metres).
    crs : pyproj.CRS
        Projected CRS of *lux*.

    Returns
    -------
    (bytes, (west, south, east, north))
        PNG bytes and the image bounds in degrees (EPSG:4326).
    """
    import io

    import rasterio.crs
    from PIL import Image
    from pyproj import Transformer
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    height, width = lux.shape
    west, north = transform @ (0, 0)
    east, south = transform @ (width, height)
    src_crs = rasterio.crs.CRS.from_wkt(crs.to_wkt())
    dst_transform, dst_w, dst_h = calculate_default_transform(
        src_crs, "EPSG:3857", width, height, west, south, east, north)
    dst = np.full((dst_h, dst_w), -1.0, dtype=np.float32)
    reproject(lux.astype(np.float32), dst, src_transform=transform, src_crs=src_crs,
              src_nodata=-1.0, dst_transform=dst_transform, dst_crs="EPSG:3857",
              dst_nodata=-1.0, resampling=Resampling.nearest)
    bounds = np.array([c for c, _ in LUX_CLASSES])
    colours = np.array([c for _, c in LUX_CLASSES], dtype=np.uint8)
    rgba = colours[np.clip(np.searchsorted(bounds, dst, side="right") - 1, 0, len(bounds) - 1)]
    rgba[dst < 0] = 0
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=False)
    mx0, my1 = dst_transform @ (0, 0)
    mx1, my0 = dst_transform @ (dst_w, dst_h)
    to_deg = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    lon0, lat0 = to_deg.transform(mx0, my0)
    lon1, lat1 = to_deg.transform(mx1, my1)
    return buf.getvalue(), (lon0, lat0, lon1, lat1)


def add_image_overlay(m: folium.Map, png: bytes, bounds_4326: tuple[float, float, float, float],
                      name: str, opacity: float = 0.85) -> None:
    """A PNG (from :func:`lux_overlay_png`) as an overlay, embedded as a data URL."""
    import base64

    from folium.raster_layers import ImageOverlay

    w, s, e, n = bounds_4326
    url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    ImageOverlay(url, bounds=[[s, w], [n, e]], opacity=opacity, name=name,
                 interactive=False, zindex=1).add_to(m)


def lux_legend_items() -> list[tuple[str, str]]:
    """Legend rows (label, CSS colour) for :data:`LUX_CLASSES`."""
    items = []
    for i, (lo, (r, g, b, _)) in enumerate(LUX_CLASSES):
        hi = LUX_CLASSES[i + 1][0] if i + 1 < len(LUX_CLASSES) else None
        label = f"{lo:g}–{hi:g} lx" if hi is not None else f"≥ {lo:g} lx"
        items.append((label.replace(".", ","), f"#{r:02x}{g:02x}{b:02x}"))
    return items


def warm_up() -> None:
    """Build and render a tiny map with every element type the app uses.

    The first folium render in a process pays one-off costs (Jinja's lexer and compiler,
    pyproj and geopandas code paths) of about 0.2 s; :mod:`ui.serve` calls this before the
    server starts so the first visitor does not.
    """
    crs = "EPSG:3007"
    poly = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=crs)
    pts = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(5, 5)], crs=crs)
    lines = gpd.GeoDataFrame({"path_id": ["w"], "seq": [0], "lighting_status": ["unlit"],
                              "rank": [1], "score": [1.0], "length_m": [10.0],
                              "reason": ["r"]},
                             geometry=[shapely.LineString([(0, 0), (10, 0)])], index=["w:0"],
                             crs=crs)
    m = base_map(web_bounds(poly))
    add_polygons(m, poly, "#000", "name", "a")
    add_segments(m, lines)
    add_points(m, pts, "#fff", {"name": "n"}, "p")
    add_context_lines(m, lines, "c")
    add_legend(m, "l", [("a", "#000")])
    folium.LayerControl().add_to(m)
    root_figure(m).render()


def web_bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """Bounds of *gdf* (projected CRS) in degrees (west, south, east, north), without
    reprojecting every geometry: the bounding box is transformed, densified along its
    edges (PROJ ``transform_bounds``), so it contains the reprojected data."""
    from pyproj import Transformer

    if gdf.empty:
        raise ValueError("no geometry to take bounds of")
    to_deg = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True)
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    w, s, e, n = to_deg.transform_bounds(x0, y0, x1, y1, densify_pts=21)
    return float(w), float(s), float(e), float(n)
