"""Charts and maps of the follow-up report, drawn offline with matplotlib as PNG bytes.

No tiles and no network: the maps draw the ranked path segments themselves, coloured by
lighting status (:data:`gis.outputs.STATUS_COLOURS`), with school grounds and priority
areas as outlines. Every function returns PNG bytes (or None when there is nothing to
draw) and leaves no global matplotlib state behind (a :class:`~matplotlib.figure.Figure`
with its own Agg canvas, never ``pyplot``).

Coordinates of the maps are in the profile's metric CRS (metres).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.outputs import STATUS_COLOURS, STATUS_LABELS_SV

#: Swedish month abbreviations, January first.
MONTHS_SV: tuple[str, ...] = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep",
                              "okt", "nov", "dec")
#: Display names of normalised light sources.
SOURCE_LABELS_SV: dict[str, str] = {
    "LED": "LED", "HPS": "Högtrycksnatrium", "Hg": "Kvicksilver", "MH": "Metallhalogen",
    "LPS": "Lågtrycksnatrium", "fluorescent": "Lysrör", "other": "Annan", "unknown": "Okänd",
}
_BAR = "#1d3557"
_BAR2 = "#2a9d8f"
_HIGHLIGHT = "#0057b8"


def _figure(width_in: float = 7.0, height_in: float = 3.2) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=110)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def _style(ax: Any, ylabel: str) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def monthly_bars(counts: pd.Series, title: str, ylabel: str = "Antal",
                 colour: str = _BAR) -> bytes:
    """Bar chart of a count per month.

    Parameters
    ----------
    counts : Series
        Index months 1–12 (missing months count as 0), values counts.
    title : str
        Chart title (Swedish).
    ylabel : str
        Y-axis label.
    """
    values = counts.reindex(range(1, 13), fill_value=0).astype(float).to_numpy()
    fig, ax = _figure()
    bars = ax.bar(range(12), values, color=colour)
    ax.set_xticks(range(12), MONTHS_SV)
    ax.set_title(title, fontsize=11, loc="left")
    _style(ax, ylabel)
    ax.set_ylim(0, max(1.0, float(values.max()) * 1.2))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.bar_label(bars, labels=[f"{v:.0f}" if v else "" for v in values], fontsize=8)
    return _png(fig)


def light_source_bars(before: Mapping[str, int], after: Mapping[str, int],
                      labels: tuple[str, str]) -> bytes:
    """Grouped bars: luminaires per light source in two inventories.

    Parameters
    ----------
    before, after : mapping
        Light source (normalised, e.g. ``"Hg"``) -> number of luminaires.
    labels : (str, str)
        Legend labels of the two inventories.
    """
    order = [s for s in SOURCE_LABELS_SV if s in before or s in after]
    x = np.arange(len(order))
    b = [before.get(s, 0) for s in order]
    a = [after.get(s, 0) for s in order]
    fig, ax = _figure()
    bars_b = ax.bar(x - 0.2, b, width=0.4, color="#8d99ae", label=labels[0])
    bars_a = ax.bar(x + 0.2, a, width=0.4, color=_BAR2, label=labels[1])
    ax.set_xticks(x, [SOURCE_LABELS_SV[s] for s in order], rotation=20, ha="right")
    ax.set_title("Armaturer per ljuskälla", fontsize=11, loc="left")
    _style(ax, "Antal armaturer")
    ax.bar_label(bars_b, fontsize=7)
    ax.bar_label(bars_a, fontsize=7)
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def darkness_chart(darkness: pd.DataFrame) -> bytes:
    """Share of the school commute in darkness per month (morning and afternoon).

    *darkness* is :func:`gis.darkness.commute_darkness_by_month` (index month 1–12,
    shares 0–1).
    """
    d = darkness.reindex(range(1, 13))
    x = np.arange(12)
    fig, ax = _figure()
    ax.bar(x - 0.2, 100 * d["share_dark_morning"].fillna(0).to_numpy(), width=0.4,
           color=_BAR, label="Morgon")
    ax.bar(x + 0.2, 100 * d["share_dark_afternoon"].fillna(0).to_numpy(), width=0.4,
           color="#e9c46a", label="Eftermiddag")
    ax.set_xticks(x, MONTHS_SV)
    ax.set_ylim(0, 100)
    ax.set_title("Andel av skolvägstiden i mörker", fontsize=11, loc="left")
    _style(ax, "Procent")
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def _lines(geoms: Sequence[Any]) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        parts = getattr(g, "geoms", [g])
        out.extend(shapely.get_coordinates(p) for p in parts)
    return out


def map_extent(segments: gpd.GeoDataFrame, focus_ids: Sequence[str] = (),
               window_m: float = 1400.0) -> tuple[float, float, float, float]:
    """Map extent (minx, miny, maxx, maxy) in metres, 4:3.

    With *focus_ids*: a window *window_m* high around the focus segment whose
    surroundings (within half the window) hold the most focus length, so that the map
    shows where most of the improvement is. Without: the whole network.
    """
    focus = segments.loc[segments.index.intersection(list(focus_ids))]
    if len(focus):
        mids = shapely.line_interpolate_point(np.asarray(focus.geometry.values, dtype=object),
                                              0.5, normalized=True)
        tree = shapely.STRtree(mids)
        left, right = tree.query(mids, predicate="dwithin", distance=window_m / 2)
        weight = np.bincount(left, weights=focus["length_m"].to_numpy(float)[right],
                             minlength=len(mids))
        centre = mids[int(np.argmax(weight))]
        half_w, half_h = window_m * 2 / 3, window_m / 2
        return (centre.x - half_w, centre.y - half_h, centre.x + half_w, centre.y + half_h)
    pad_m = 100.0
    minx, miny, maxx, maxy = (float(v) for v in segments.total_bounds)
    minx, miny, maxx, maxy = minx - pad_m, miny - pad_m, maxx + pad_m, maxy + pad_m
    w, h = maxx - minx, maxy - miny
    if w / h < 4 / 3:
        grow = (h * 4 / 3 - w) / 2
        minx, maxx = minx - grow, maxx + grow
    else:
        grow = (w * 3 / 4 - h) / 2
        miny, maxy = miny - grow, maxy + grow
    return minx, miny, maxx, maxy


def status_map(segments: gpd.GeoDataFrame, extent: tuple[float, float, float, float],
               title: str, *, highlight_ids: Sequence[str] = (),
               schools: gpd.GeoDataFrame | None = None,
               areas: gpd.GeoDataFrame | None = None) -> bytes | None:
    """Map of segments coloured by lighting status, offline (no tiles).

    Parameters
    ----------
    segments : GeoDataFrame
        Ranked segments with ``lighting_status``, in a metric CRS.
    extent : (minx, miny, maxx, maxy)
        Map extent in the same CRS (see :func:`map_extent`).
    title : str
        Title drawn above the map.
    highlight_ids : sequence of str
        Segments to emphasise (improved segments), drawn with a blue halo.
    schools, areas : GeoDataFrame, optional
        School grounds and priority areas (polygons, same CRS), drawn as outlines.

    Returns
    -------
    bytes or None
        PNG, or None when no segment lies in the extent.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    minx, miny, maxx, maxy = extent
    sel = segments.cx[minx:maxx, miny:maxy]
    if sel.empty:
        return None
    fig, ax = _figure(7.0, 5.6)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_color("#999999")
    handles: list[Any] = []
    for frame, kwargs, label in ((schools, {"fc": "#e9ecef", "ec": "#6c757d"}, "Skola"),
                                 (areas, {"fc": "none", "ec": "#6a4c93"}, "Prioriterat område")):
        if frame is None or frame.empty:
            continue
        part = frame.cx[minx:maxx, miny:maxy]
        for g in part.geometry:
            for poly in getattr(g, "geoms", [g]):
                if poly.geom_type != "Polygon":
                    continue
                xy = shapely.get_coordinates(poly.exterior)
                ax.fill(xy[:, 0], xy[:, 1], linewidth=1.0, zorder=1,
                        linestyle="--" if label != "Skola" else "-", **kwargs)
        if len(part):
            handles.append(Patch(facecolor=kwargs["fc"], edgecolor=kwargs["ec"], label=label))
    hi = sel.loc[sel.index.intersection(list(highlight_ids))]
    if len(hi):
        ax.add_collection(LineCollection(_lines(hi.geometry), colors=_HIGHLIGHT,
                                         linewidths=6.0, alpha=0.45, zorder=2))
        handles.append(Line2D([], [], color=_HIGHLIGHT, linewidth=6, alpha=0.45,
                              label="Förbättrad under året"))
    status = sel["lighting_status"].astype(str)
    for key, colour in STATUS_COLOURS.items():
        part = sel.loc[status.eq(key).to_numpy()]
        if part.empty:
            continue
        ax.add_collection(LineCollection(_lines(part.geometry), colors=colour,
                                         linewidths=1.6, zorder=3))
        handles.append(Line2D([], [], color=colour, linewidth=2.5,
                              label=STATUS_LABELS_SV[key]))
    ax.set_title(title, fontsize=11, loc="left")
    ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.92)
    span = maxx - minx
    bar = next((v for v in (50, 100, 200, 250, 500, 1000, 2000) if v >= span / 6), 2000)
    x0, y0 = maxx - 0.05 * span - bar, miny + 0.04 * (maxy - miny)
    ax.plot([x0, x0 + bar], [y0, y0], color="#111111", linewidth=3, zorder=6,
            solid_capstyle="butt")
    ax.text(x0 + bar / 2, y0 + 0.015 * (maxy - miny), f"{bar} m", ha="center",
            va="bottom", fontsize=8, zorder=6)
    return _png(fig)
