"""The offline basemap: roads, buildings, water, land use and names from the profile's OSM
file, drawn by the browser on one canvas under the thematic layers (no tiles, no network).

No Streamlit here. :func:`basemap_payload` turns a :class:`layers.basemap.Basemap` into a
compact columnar payload once (the app caches it on disk); :class:`OfflineBasemap` is a
folium layer whose short script decodes it and draws it on a Leaflet canvas renderer in
its own pane below every overlay, at any zoom, redrawing on pan and zoom. Street names are
drawn along their streets and place names at their points, with a simple collision test
so labels never overlap.

Coordinates are sent as integers in units of 2**-28 of the Web Mercator world (about
0.15 m at Strömstad's latitude), each the difference to the previous number of the same
axis, which keeps the payload small.

Online tile basemaps (:data:`ONLINE_BASEMAPS`) carry their attribution; when their tiles
fail (no network) a notice is shown on the map and the offline basemap is put under them.
"""

from __future__ import annotations

import json
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from jinja2 import Template

from layers.basemap import LANDUSE_ORDER, ROAD_ORDER, Basemap
from ui.maps import CompactLines, _NoSecondPass

#: Quantisation of the Web Mercator world: 2**QUANT_BITS units per world width.
QUANT_BITS = 28
_HALF_WORLD_M = 20037508.342789244

#: Muted colours of the offline basemap (under strong thematic colours).
COLOURS = {
    "land": "#f3f1ec", "water": "#c6dbe9", "water_line": "#9cc0dc", "building": "#ddd6cc",
    "building_line": "#c9bfb2", "residential": "#ebe7e2", "commercial": "#efe6e3",
    "industrial": "#e8e3ea", "forest": "#dbe6d3", "grass": "#e2ecd9", "farmland": "#eeefdf",
    "rock": "#e6e3dd", "casing": "#cbc4ba", "major": "#f7e9c9", "secondary": "#fbf1dc",
    "tertiary": "#ffffff", "minor": "#ffffff", "service": "#ffffff", "track": "#bcae98",
    "path": "#b0a698", "label": "#333333", "place": "#1f1f1f",
}

#: Online basemaps: key -> (tile URL, attribution, max native zoom).
ONLINE_BASEMAPS: dict[str, tuple[str, str, int]] = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
            "-bidragsgivare", 19),
    "lantmateriet": (
        "https://minkarta.lantmateriet.se/map/topowebbcache/?layer=topowebb_nedtonad"
        "&style=default&tilematrixset=3857&Service=WMTS&Request=GetTile&Version=1.0.0"
        "&Format=image%2Fpng&TileMatrix={z}&TileCol={x}&TileRow={y}",
        '&copy; <a href="https://www.lantmateriet.se/">Lantmäteriet</a>, '
        "Topografisk webbkarta (CC0)", 17),
}


def _mercator_units(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs("EPSG:3857")


def _quantise(xy: np.ndarray) -> np.ndarray:
    """(n, 2) Web Mercator metres -> (n, 2) int64 world units, y pointing down."""
    scale = 2 ** QUANT_BITS / (2 * _HALF_WORLD_M)
    q = np.empty_like(xy, dtype=np.int64)
    q[:, 0] = np.rint((xy[:, 0] + _HALF_WORLD_M) * scale)
    q[:, 1] = np.rint((_HALF_WORLD_M - xy[:, 1]) * scale)
    return q


def _deltas(q: np.ndarray) -> list[int]:
    return np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel().tolist()


def _lines(gdf: gpd.GeoDataFrame, simplify_m: float) -> tuple[dict[str, Any], np.ndarray]:
    """Parts of (multi)lines as ``{"n": vertex counts, "d": deltas}``, and each part's row."""
    geoms = shapely.simplify(gdf.geometry.values, simplify_m)
    merc = gpd.GeoSeries(geoms, crs=gdf.crs).to_crs("EPSG:3857").values
    parts, row = shapely.get_parts(merc, return_index=True)
    keep = shapely.get_num_coordinates(parts) >= 2
    parts, row = parts[keep], row[keep]
    q = _quantise(shapely.get_coordinates(parts))
    return {"n": shapely.get_num_coordinates(parts).tolist(), "d": _deltas(q)}, row


def _polygons(gdf: gpd.GeoDataFrame, simplify_m: float) -> tuple[dict[str, Any], np.ndarray]:
    """Polygons as rings: ``{"n": ring vertex counts, "f": rings per polygon part,
    "d": deltas}``, exteriors counter-clockwise and holes clockwise (one "nonzero" fill
    per class draws the holes), and each part's row."""
    geoms = shapely.simplify(gdf.geometry.values, simplify_m, preserve_topology=True)
    merc = gpd.GeoSeries(geoms, crs=gdf.crs).to_crs("EPSG:3857").values
    parts, row = shapely.get_parts(merc, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    parts, row = shapely.orient_polygons(parts[poly]), row[poly]
    keep = ~shapely.is_empty(parts)
    parts, row = parts[keep], row[keep]
    rings, owner = shapely.get_rings(parts, return_index=True)
    q = _quantise(shapely.get_coordinates(rings))
    return {"n": shapely.get_num_coordinates(rings).tolist(),
            "f": np.bincount(owner, minlength=len(parts)).tolist(), "d": _deltas(q)}, row


def _classes(values: pd.Series, order: tuple[str, ...], rows: np.ndarray) -> list[int]:
    codes = pd.Categorical(values.astype(str), categories=list(order)).codes
    return np.asarray(codes)[rows].tolist()


def _label_lines(roads: gpd.GeoDataFrame, max_per_name: int = 4,
                 min_length_m: float = 50.0) -> gpd.GeoDataFrame:
    """The longest merged stretches of each named road, to carry its name label.

    The road pieces of one name are merged (``line_merge``) and the *max_per_name* longest
    stretches of at least *min_length_m* kept, most important road class first.
    """
    named = roads[roads["name"].astype(str).str.len() > 0]
    if named.empty:
        return gpd.GeoDataFrame({"name": [], "rank": []}, geometry=[], crs=roads.crs)
    codes, names = pd.factorize(named["name"].astype(str))
    multi = shapely.multilinestrings(named.geometry.values, indices=codes)
    merged = shapely.line_merge(multi)
    parts, owner = shapely.get_parts(merged, return_index=True)
    best = pd.Categorical(named["kind"], categories=list(ROAD_ORDER)).codes
    cls = pd.Series(best).groupby(codes).max().to_numpy()
    df = pd.DataFrame({"name": np.asarray(names)[owner], "cls": cls[owner],
                       "len": shapely.length(parts)})
    df = df[df["len"] >= min_length_m].sort_values(["cls", "len"], ascending=[False, False])
    df = df.groupby("name", sort=False).head(max_per_name)
    return gpd.GeoDataFrame({"name": df["name"].to_numpy(), "rank": df["cls"].to_numpy()},
                            geometry=parts[df.index.to_numpy()], crs=roads.crs)


def basemap_payload(bm: Basemap) -> dict[str, Any]:
    """The compact payload :class:`OfflineBasemap` draws, from a basemap in a metric CRS.

    Parameters
    ----------
    bm : Basemap
        From :func:`layers.basemap.read_basemap` (projected CRS, metres).

    Returns
    -------
    dict
        JSON-ready: ``"q"`` quantisation bits; ``"water"``, ``"landuse"``,
        ``"buildings"`` polygon parts (``"c"`` class per part); ``"waterways"`` and
        ``"roads"`` line parts (``"c"`` class per road part, an index into
        ``"road_classes"``); ``"labels"`` street-name lines (``"t"`` text per line);
        ``"places"`` (``"x"``, ``"y"``, ``"t"``, ``"r"`` rank); ``"counts"`` of features.
    """
    out: dict[str, Any] = {"q": QUANT_BITS, "road_classes": list(ROAD_ORDER),
                           "landuse_classes": list(LANDUSE_ORDER)}
    water_area = bm.water[bm.water["kind"].eq("area")]
    water_line = bm.water[bm.water["kind"].eq("line")]
    out["water"], _ = _polygons(water_area, 2.0)
    out["waterways"], _ = _lines(water_line, 2.0)
    landuse, rows = _polygons(bm.landuse, 2.0)
    out["landuse"] = {**landuse, "c": _classes(bm.landuse["kind"], LANDUSE_ORDER, rows)}
    out["buildings"], _ = _polygons(bm.buildings, 0.5)
    roads, rows = _lines(bm.roads, 1.0)
    out["roads"] = {**roads, "c": _classes(bm.roads["kind"], ROAD_ORDER, rows)}
    labels = _label_lines(bm.roads)
    lab, rows = _lines(labels, 3.0)
    out["labels"] = {**lab, "t": labels["name"].astype(str).to_numpy()[rows].tolist()}
    places = bm.places.sort_values("rank", kind="stable")
    pq = _quantise(shapely.get_coordinates(places.to_crs("EPSG:3857").geometry.values)) \
        if len(places) else np.zeros((0, 2), dtype=np.int64)
    out["places"] = {"x": pq[:, 0].tolist(), "y": pq[:, 1].tolist(),
                     "t": places["name"].astype(str).tolist(),
                     "r": places["rank"].astype(int).tolist()}
    out["counts"] = {"roads": len(bm.roads), "buildings": len(bm.buildings),
                     "water": len(bm.water), "landuse": len(bm.landuse),
                     "places": len(bm.places), "named_roads": int(labels["name"].nunique())}
    return out


def payload_js(payload: dict[str, Any]) -> str:
    """The payload as a JavaScript literal that is safe inside ``<script>``."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return data.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace(
        "\u2029", "\\u2029")


_DRAW_JS = r"""
(function () {
  var D = __DATA__, C = __COLOURS__, Q = Math.pow(2, D.q);
  function dec(o) {
    var d = o.d, xy = new Float64Array(d.length), x = 0, y = 0, i, j;
    for (i = 0; i < d.length; i += 2) { x += d[i]; y += d[i + 1]; xy[i] = x; xy[i + 1] = y; }
    var n = o.n, off = new Int32Array(n.length + 1);
    for (i = 0; i < n.length; i++) off[i + 1] = off[i] + n[i];
    var bb = new Float64Array(4 * n.length);
    for (i = 0; i < n.length; i++) {
      var a = Infinity, b = Infinity, c = -Infinity, e = -Infinity;
      for (j = off[i]; j < off[i + 1]; j++) {
        var X = xy[2 * j], Y = xy[2 * j + 1];
        if (X < a) a = X; if (X > c) c = X; if (Y < b) b = Y; if (Y > e) e = Y;
      }
      bb[4 * i] = a; bb[4 * i + 1] = b; bb[4 * i + 2] = c; bb[4 * i + 3] = e;
    }
    var f = null;  // polygons: first ring of each part
    if (o.f) { f = new Int32Array(o.f.length + 1); for (i = 0; i < o.f.length; i++) f[i + 1] = f[i] + o.f[i]; }
    return {xy: xy, off: off, bb: bb, f: f, c: o.c || null, t: o.t || null, n: n.length};
  }
  var P = {water: dec(D.water), landuse: dec(D.landuse), buildings: dec(D.buildings),
           waterways: dec(D.waterways), roads: dec(D.roads), labels: dec(D.labels)};
  var RC = D.road_classes, LC = D.landuse_classes;
  // Road widths in pixels at zoom 16 and the least width, per class.
  var RW = {major: [10, 2.2], secondary: [9, 2], tertiary: [8, 1.8], minor: [6, 1.2],
            service: [3.5, 0.8], track: [2, 0.8], path: [1.6, 0.8]};
  var MINZ = {major: 0, secondary: 0, tertiary: 10, minor: 12, service: 14, track: 13,
              path: 13};
  function visible(p, i, v) {
    return !(p.bb[4 * i] > v[2] || p.bb[4 * i + 2] < v[0] || p.bb[4 * i + 1] > v[3] ||
             p.bb[4 * i + 3] < v[1]);
  }
  function trace(ctx, p, i, s, ox, oy) {
    var xy = p.xy, j = p.off[i], k = p.off[i + 1];
    ctx.moveTo(xy[2 * j] * s - ox, xy[2 * j + 1] * s - oy);
    for (j++; j < k; j++) ctx.lineTo(xy[2 * j] * s - ox, xy[2 * j + 1] * s - oy);
  }
  function fillPolys(ctx, p, cls, colour, s, ox, oy, v, stroke) {
    ctx.beginPath();
    var any = false;
    for (var i = 0; i + 1 < p.f.length; i++) {
      if (cls !== null && p.c[i] !== cls) continue;
      var r0 = p.f[i];
      if (!visible(p, r0, v)) continue;
      for (var r = r0; r < p.f[i + 1]; r++) { trace(ctx, p, r, s, ox, oy); ctx.closePath(); }
      any = true;
    }
    if (!any) return 0;
    ctx.fillStyle = colour; ctx.fill('nonzero');
    if (stroke) { ctx.strokeStyle = stroke; ctx.lineWidth = 0.6; ctx.stroke(); }
    return 1;
  }
  function strokeLines(ctx, p, cls, colour, width, s, ox, oy, v, dash) {
    ctx.beginPath();
    var n = 0;
    for (var i = 0; i < p.n; i++) {
      if (cls !== null && p.c[i] !== cls) continue;
      if (!visible(p, i, v)) continue;
      trace(ctx, p, i, s, ox, oy); n++;
    }
    if (!n) return 0;
    ctx.setLineDash(dash || []);
    ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.stroke();
    ctx.setLineDash([]);
    return n;
  }
  function boxFree(boxes, b) {
    for (var i = 0; i < boxes.length; i++) {
      var o = boxes[i];
      if (b[0] < o[2] && b[2] > o[0] && b[1] < o[3] && b[3] > o[1]) return false;
    }
    return true;
  }
  function halo(ctx, text, x, y) {
    ctx.lineWidth = 3.5; ctx.strokeStyle = 'rgba(255,255,255,0.95)';
    ctx.strokeText(text, x, y); ctx.fillText(text, x, y);
  }
  function pane(map, name, z) {
    if (!map.getPane(name)) {
      var p = map.createPane(name);
      p.style.zIndex = z; p.style.pointerEvents = 'none';
    }
    return map.getPane(name);
  }
  // The ground (land use, water, buildings, roads) is drawn below every overlay; the
  // names on a second canvas above the thematic lines (below markers and tooltips).
  var R = L.Canvas.extend({
    onAdd: function (map) {
      pane(map, 'tryggaBase', 150);
      L.Canvas.prototype.onAdd.call(this, map);
      if (!this._lab) {
        this._lab = document.createElement('canvas');
        this._lab.className = 'trygga-basemap-labels leaflet-zoom-animated';
        this._lab.setAttribute('aria-hidden', 'true');
        this._lctx = this._lab.getContext('2d');
      }
      pane(map, 'tryggaLabels', 450).appendChild(this._lab);
      this._container.setAttribute('aria-hidden', 'true');
      this._container.classList.add('trygga-basemap');
      map.getContainer().style.background = C.land;
      this._redraw();
    },
    onRemove: function () {
      L.Canvas.prototype.onRemove.call(this);
      if (this._lab) L.DomUtil.remove(this._lab);
    },
    _updateTransform: function (center, zoom) {
      L.Canvas.prototype._updateTransform.call(this, center, zoom);
      if (this._lab) this._lab.style[L.DomUtil.TRANSFORM] = this._container.style[L.DomUtil.TRANSFORM];
    },
    // No vector layer uses this renderer: every redraw Leaflet asks for (after a move,
    // a view reset, a resize) redraws the whole basemap.
    _redraw: function () {
      this._redrawRequest = null;
      this._redrawBounds = null;
      if (!this._map || !this._bounds) return;
      this._clear();
      var b = this._bounds, size = b.getSize(), m = L.Browser.retina ? 2 : 1;
      if (this._lab) {
        this._lab.width = m * size.x; this._lab.height = m * size.y;
        this._lab.style.width = size.x + 'px'; this._lab.style.height = size.y + 'px';
        this._lab.style[L.DomUtil.TRANSFORM] = this._container.style[L.DomUtil.TRANSFORM];
        if (m === 2) this._lctx.scale(2, 2);
        this._lctx.translate(-b.min.x, -b.min.y);
      }
      this._drawBase();
    },
    _drawBase: function () {
      var map = this._map, ctx = this._ctx, z = map.getZoom();
      var s = map.options.crs.scale(z) / Q, o = map.getPixelOrigin(), b = this._bounds;
      var ox = o.x, oy = o.y;
      var v = [(b.min.x + ox) / s, (b.min.y + oy) / s, (b.max.x + ox) / s, (b.max.y + oy) / s];
      var drawn = {roads: 0, buildings: 0, labels: [], water: 0, landuse: 0};
      ctx.save();
      ctx.lineJoin = 'round'; ctx.lineCap = 'round';
      for (var c = 0; c < LC.length; c++) drawn.landuse += fillPolys(ctx, P.landuse, c, C[LC[c]] || C.residential, s, ox, oy, v);
      drawn.water = fillPolys(ctx, P.water, null, C.water, s, ox, oy, v);
      strokeLines(ctx, P.waterways, null, C.water_line, Math.max(1, 2 * Math.pow(2, (z - 16) / 2)), s, ox, oy, v);
      if (z >= 14) drawn.buildings = fillPolys(ctx, P.buildings, null, C.building, s, ox, oy, v, z >= 16 ? C.building_line : null);
      // Widths grow with the zoom up to 17.5, then stay (a street never floods the map).
      var k = Math.pow(2, Math.min(z, 17.5) - 16), widths = [], cls;
      for (cls = 0; cls < RC.length; cls++) {
        var w = RW[RC[cls]] || [2, 0.8];
        widths.push(Math.max(w[1], w[0] * k));
      }
      for (cls = 0; cls < RC.length; cls++) {  // casings of the streets
        var name = RC[cls];
        if (z < MINZ[name] || name === 'path' || name === 'track') continue;
        strokeLines(ctx, P.roads, cls, C.casing, widths[cls] + (z >= 15 ? 2 : 1), s, ox, oy, v);
      }
      for (cls = 0; cls < RC.length; cls++) {
        var nm = RC[cls];
        if (z < MINZ[nm]) continue;
        var dash = nm === 'track' ? [4, 3] : (nm === 'path' && z >= 16 ? [5, 2] : null);
        drawn.roads += strokeLines(ctx, P.roads, cls, C[nm] || '#fff', widths[cls], s, ox, oy, v, dash);
      }
      ctx.restore();
      if (this._lctx) this._drawLabels(this._lctx, z, s, ox, oy, v, drawn);
      var el = map.getContainer();
      el.setAttribute('data-trygga-basemap', 'roads:' + drawn.roads + ';buildings:' +
                      drawn.buildings + ';labels:' + drawn.labels.length + ';water:' +
                      drawn.water + ';landuse:' + drawn.landuse);
      el.setAttribute('data-trygga-labels', drawn.labels.slice(0, 60).join('|'));
    },
    _drawLabels: function (ctx, z, s, ox, oy, v, drawn) {
      var boxes = [], i, pl = D.places;
      ctx.save();
      ctx.textAlign = 'center'; ctx.textBaseline = 'middle'; ctx.lineJoin = 'round';
      var sizes = {1: 18, 2: 15, 3: 14, 4: 13, 5: 12}, minz = {1: 9, 2: 11, 3: 12, 4: 12, 5: 16};
      // The visible part of the map in the same (layer point) pixels: a name whose point
      // lies near the edge (a bay along the map's border) is moved inside, not cut off.
      var map = this._map, sz = map.getSize();
      var c0 = map.containerPointToLayerPoint([0, 0]), c1 = map.containerPointToLayerPoint([sz.x, sz.y]);
      for (i = 0; i < pl.t.length; i++) {
        var r = pl.r[i];
        if (z < minz[r]) continue;
        if (pl.x[i] < v[0] || pl.x[i] > v[2] || pl.y[i] < v[1] || pl.y[i] > v[3]) continue;
        var x = pl.x[i] * s - ox, y = pl.y[i] * s - oy;
        ctx.font = (r <= 3 ? 'bold ' : 'italic ') + sizes[r] + 'px sans-serif';
        var w = ctx.measureText(pl.t[i]).width, h = sizes[r];
        if (x < c0.x || x > c1.x || y < c0.y || y > c1.y) continue;  // not on screen
        x = Math.min(Math.max(x, c0.x + w / 2 + 6), c1.x - w / 2 - 6);
        var bx = [x - w / 2 - 3, y - h / 2 - 2, x + w / 2 + 3, y + h / 2 + 2];
        if (!boxFree(boxes, bx)) continue;
        boxes.push(bx);
        ctx.fillStyle = C.place; halo(ctx, pl.t[i], x, y);
        drawn.labels.push(pl.t[i]);
      }
      if (z >= 14.5) {
        var p = P.labels, fs = z >= 17 ? 14 : 12;
        var vb = [v[0] * s - ox, v[1] * s - oy, v[2] * s - ox, v[3] * s - oy];
        ctx.font = fs + 'px sans-serif'; ctx.fillStyle = C.label;
        for (i = 0; i < p.n; i++) {
          if (!visible(p, i, v)) continue;
          var text = p.t[i], tw = ctx.measureText(text).width;
          var a = p.off[i], e = p.off[i + 1], xy = p.xy, len = 0, j;
          var px = new Float64Array(2 * (e - a));
          for (j = a; j < e; j++) { px[2 * (j - a)] = xy[2 * j] * s - ox; px[2 * (j - a) + 1] = xy[2 * j + 1] * s - oy; }
          for (j = 1; j < e - a; j++) len += Math.hypot(px[2 * j] - px[2 * j - 2], px[2 * j + 1] - px[2 * j - 1]);
          if (len < tw + 24) continue;
          // One label per (text + 280 px) of street on screen, spread evenly; only the
          // ones inside the view and clear of other labels are drawn.
          var m = Math.max(1, Math.floor(len / (tw + 280))), placed = false;
          for (var q = 0; q < m; q++) {
            var want = len * (q + 0.5) / m, acc = 0;
            for (j = 1; j < e - a; j++) {
              var dx = px[2 * j] - px[2 * j - 2], dy = px[2 * j + 1] - px[2 * j - 1];
              var sl = Math.hypot(dx, dy);
              if (acc + sl >= want) break;
              acc += sl;
            }
            if (j >= e - a) j = e - a - 1;
            var sx = px[2 * j] - px[2 * j - 2], sy = px[2 * j + 1] - px[2 * j - 1];
            var sg = Math.hypot(sx, sy) || 1;
            var tt = (want - acc) / sg, cx = px[2 * j - 2] + sx * tt, cy = px[2 * j - 1] + sy * tt;
            if (cx < vb[0] || cx > vb[2] || cy < vb[1] || cy > vb[3]) continue;
            var ang = Math.atan2(sy, sx);
            if (ang > Math.PI / 2) ang -= Math.PI; else if (ang < -Math.PI / 2) ang += Math.PI;
            var hw = Math.abs(Math.cos(ang)) * tw / 2 + Math.abs(Math.sin(ang)) * fs / 2 + 2;
            var hh = Math.abs(Math.sin(ang)) * tw / 2 + Math.abs(Math.cos(ang)) * fs / 2 + 2;
            var box = [cx - hw, cy - hh, cx + hw, cy + hh];
            if (!boxFree(boxes, box)) continue;
            boxes.push(box);
            ctx.save(); ctx.translate(cx, cy); ctx.rotate(ang);
            halo(ctx, text, 0, 0); ctx.restore();
            placed = true;
          }
          if (placed) drawn.labels.push(text);
        }
      }
      ctx.restore();
    }
  });
  return new R({pane: 'tryggaBase', padding: 0.3});
})()
"""


class OfflineBasemap(Layer):
    """The offline basemap as a folium layer (not listed in the layer control: it is the
    ground under everything). *payload_text* is :func:`payload_js` of
    :func:`basemap_payload`, made once and cached by the caller; it is inserted as it is
    (never compiled as a template)."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.js() }}{% endmacro %}")

    def __init__(self, payload_text: str, name: str, show: bool = True):
        super().__init__(name=name, overlay=False, control=False, show=show)
        self._name = "OfflineBasemap"
        self.payload_text = payload_text

    def js(self) -> str:
        """``var <name> = <the canvas renderer>;``"""
        code = _DRAW_JS.replace("__COLOURS__", json.dumps(COLOURS)).replace(
            "__DATA__", self.payload_text)
        return f"var {self.get_name()} = {code};\n"

    #: Same as :class:`ui.maps.CompactLines`: the script goes in as it is.
    render = CompactLines.render


class _TileNotice(_NoSecondPass):
    """Shows *message* on the map once when a tile of the parent tile layer fails (the
    offline basemap, drawn under the tiles, then stays visible instead of grey)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var layer = {{ this._parent.get_name() }}, shown = false;
          layer.on('tileerror', function () {
            if (shown || !layer._map) return;
            shown = true;
            var map = layer._map, c = L.control({position: 'topright'});
            c.onAdd = function () {
              var d = L.DomUtil.create('div', 'trygga-tile-notice');
              d.setAttribute('role', 'status');
              d.style.cssText = 'background:#fff8e1;border:1px solid #b58100;color:#3d2c00;' +
                'padding:6px 9px;border-radius:4px;font:13px/1.4 sans-serif;max-width:16rem';
              d.textContent = {{ this.message|tojson }};
              return d;
            };
            c.addTo(map);
          });
        })();
        {% endmacro %}
    """)

    def __init__(self, message: str):
        super().__init__()
        self._name = "TileNotice"
        self.message = message


def add_basemaps(m: folium.Map, chosen: str, offline_js: str | None, names: dict[str, str],
                 failed_message: str) -> None:
    """The chosen basemap of *m*: the offline one, or online tiles drawn over it.

    Parameters
    ----------
    m : folium.Map
        Made by :func:`ui.maps.base_map` with ``basemap="none"``.
    chosen : str
        ``"offline"``, ``"osm"``, ``"lantmateriet"`` or ``"none"``. The offline basemap is
        drawn for every choice but ``"none"``: under online tiles it is what shows where
        tiles fail. An online basemap that is not chosen is never requested.
    offline_js : str or None
        :func:`payload_js` of the profile's basemap; None when there is no OSM file.
    names : dict
        Layer name per key (``"offline"``, ``"osm"``, ``"lantmateriet"``).
    failed_message : str
        Shown on the map when online tiles cannot be loaded.
    """
    if chosen == "none":
        return
    if offline_js is not None:
        OfflineBasemap(offline_js, names["offline"]).add_to(m)
    if chosen in ONLINE_BASEMAPS:
        url, attribution, native = ONLINE_BASEMAPS[chosen]
        tiles = folium.TileLayer(url, attr=attribution, name=names[chosen], max_zoom=20,
                                 max_native_zoom=native, overlay=False, control=False)
        tiles.add_child(_TileNotice(failed_message))
        tiles.add_to(m)
