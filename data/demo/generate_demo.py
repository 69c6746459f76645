#!/usr/bin/env python
"""Generate the SYNTHETIC demo data set in ``data/demo/``.

Nothing written by this script is real Strömstad or Tanum data. The street network, the
street names, the lighting inventory, the school grounds, the priority areas and the
safety-walk findings are invented by a seeded random generator so that the whole tool can
be tried, tested and demonstrated without any real data. The town is laid out around
Strömstad's centre coordinates (and Tanumshede's for the small Tanum extract) only so that
the profiles, boundaries and sun positions fit; the layout has nothing to do with the real
towns (parts of it lie where the real coast has sea).

Run from the repository root::

    .venv/bin/python data/demo/generate_demo.py [--out DIR]

The output is byte-identical from run to run (fixed seed, sorted ids, fixed float
formatting, no time stamps), and ``tests/test_demo_data.py`` checks that the committed
files equal a fresh run. Files written (see ``data/README.md``):

``stromstad_demo.osm``
    OSM XML (API 0.6 schema): roads, sidewalks, cycleways, footways, paths, steps,
    tracks, crossings, schools and street lamps of a ~5 x 5 km synthetic town.
``belysning_demo.csv``
    Lighting inventory as a Swedish Excel export: cp1252, ``;``, decimal comma, CRLF,
    coordinates in SWEREF 99 12 00 (EPSG:3007).
``prioriterade_omraden_demo.geojson``
    Priority areas (Strömsdalen, Centrum) in EPSG:4326.
``fynd_demo.geojson``
    Safety-walk findings in EPSG:4326.
``tanum_demo.osm``
    A much smaller synthetic Tanumshede extract.
``belysning_demo_2023.csv``
    The lighting inventory at the turn of 2023/2024 (before the lighting work of 2024),
    same dialect as ``belysning_demo.csv``; for the yearly follow-up report.
``aktiviteter_demo.csv``
    A year (2024) of activity log entries for the promises (UTF-8, ``;``).
``milstolpar_demo.csv``
    Milestones (2023–2024) of the promises without a number (UTF-8, ``;``).

All lengths are in metres. Geometry is built in a local frame: ``x``/``y`` are metres east
and north of the town centre in EPSG:3007, so that ``E = e0 + x`` and ``N = n0 + y``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry, BaseMultipartGeometry
from shapely.geometry.polygon import orient
from shapely.ops import substring

logger = logging.getLogger("generate_demo")

#: Seed of every random choice (Strömstad's kommun code).
SEED = 1486
#: Seed of the homes: their own random stream, so that adding them changed no other value.
SEED_HOMES = SEED + 7
#: Seed of the milestones and of the activities of promises without a number.
SEED_MILESTONES = SEED + 9
#: Seed of the demo fix dates: their own random stream, so that adding them changed no
#: other value.
SEED_FIXES = SEED + 11
#: Seed of the basemap features (sea, lakes, land use, place names): their own random
#: stream, written after everything else, so that adding them changed no other value.
SEED_BASEMAP = SEED + 13
#: A fixed demo finding was fixed this many days after the walk, at the least and at most.
FIX_DAYS = (21, 56)
#: Metric CRS of the local frame and of the lighting inventory.
METRIC_CRS = "EPSG:3007"
#: Default output folder: the folder of this script.
DEFAULT_OUT = Path(__file__).resolve().parent

GENERATOR = "trygga-strak demo generator (synthetic)"
NOTE_STROMSTAD = "synthetic demo data, not real Strömstad data"
NOTE_TANUM = "synthetic demo data, not real Tanum data"
NOTE_SCHOOL = "synthetic demo data"

#: ``highway`` values counted as walking and cycling infrastructure.
WALK_HIGHWAYS = ("cycleway", "footway", "path", "pedestrian", "steps", "living_street",
                 "track", "bridleway")
#: Road classes that get crossings where a sidewalk, cycleway or corridor crosses them.
CROSSABLE = ("primary", "secondary", "tertiary", "residential", "unclassified")
#: Half carriageway width per road class (metres), used for kerbs and lamp offsets.
HALF_WIDTH_M = {"primary": 5.0, "secondary": 4.5, "tertiary": 4.0, "residential": 3.0,
                "unclassified": 3.0, "service": 2.5, "living_street": 3.0, "pedestrian": 4.0}
#: Sidewalk offset from the road centre line per road class (metres, 6-8 m).
SIDEWALK_OFFSET_M = {"primary": 8.0, "secondary": 8.0, "tertiary": 7.0, "residential": 6.0}
#: Road class rank (higher = bigger road).
RANK = {"service": 0, "living_street": 0, "pedestrian": 0, "unclassified": 1,
        "residential": 1, "tertiary": 2, "secondary": 3, "primary": 4}

NAME_STEMS = (
    "Ek", "Björk", "Lind", "Rönn", "Asp", "Ask", "Hassel", "Lönn", "Alm", "Gran", "Tall",
    "Lärk", "Sälg", "Hägg", "Ljung", "Ros", "Syren", "Vallmo", "Klöver", "Blåbärs",
    "Lingon", "Hjortron", "Mås", "Tärn", "Ejder", "Trut", "Skarv", "Tång", "Sill",
    "Makrill", "Hummer", "Räk", "Mussel", "Snäck", "Ankar", "Segel", "Åra", "Fyr", "Kvarn",
    "Smedje", "Bagar", "Skeppar", "Lots", "Tull", "Klipp", "Häll", "Berg", "Dal", "Ängs",
    "Kärr", "Bäck", "Käll", "Sten", "Sand", "Strand", "Vik", "Udd", "Skär", "Holm",
    "Sund", "Kobb", "Sol", "Mån", "Stjärn", "Norr", "Söder", "Öster", "Väster",
    "Prästgårds", "Skol", "Kyrk", "Torg", "Hamn", "Brygg", "Varvs", "Magasins", "Post",
    "Rådhus", "Tegel", "Kalk", "Granit", "Fiskar", "Not", "Hav", "Våg", "Bölj",
    "Dyn", "Hed", "Mo", "Åker", "Hag", "Vret", "Tjärn", "Myr", "Gärdes",
)
ROAD_SUFFIXES = ("vägen", "gatan", "backen", "liden")
CULDESAC_SUFFIXES = ("slingan", "gärdet", "lyckan", "höjden", "gården")
CORRIDOR_SUFFIXES = ("stråket", "leden", "promenaden", "stigen")


# --------------------------------------------------------------------------- geometry


class Frame:
    """Local metric frame around a town centre, in EPSG:3007 shifted to the centre.

    Parameters
    ----------
    lat, lon : float
        Town centre in degrees (EPSG:4326).

    Attributes
    ----------
    e0, n0 : float
        Centre in EPSG:3007, rounded to whole metres, so that local ``x``/``y`` metres map
        to EPSG:3007 by adding ``e0``/``n0``.
    """

    def __init__(self, lat: float, lon: float):
        fwd = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
        self._inv = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
        e, n = fwd.transform(lon, lat)
        self.e0 = float(round(e))
        self.n0 = float(round(n))

    def lonlat(self, xy: np.ndarray) -> np.ndarray:
        """Local metres (n, 2) -> lon/lat degrees (n, 2), rounded to 7 decimals."""
        lon, lat = self._inv.transform(xy[:, 0] + self.e0, xy[:, 1] + self.n0)
        return np.round(np.column_stack([lon, lat]), 7)


def densify(coords: np.ndarray, max_step_m: float) -> np.ndarray:
    """Insert vertices so that no segment of *coords* (n, 2) is longer than *max_step_m*."""
    seg = np.diff(coords, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    n = np.maximum(1, np.ceil(seg_len / max_step_m).astype(int))
    parts = [coords[k] + seg[k] * (np.arange(n[k])[:, None] / n[k]) for k in range(len(seg))]
    parts.append(coords[-1:])
    return np.vstack(parts)


def catmull_rom(points: np.ndarray, step_m: float) -> np.ndarray:
    """Smooth curve through *points* (n, 2), sampled about every *step_m* metres."""
    p = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    out = []
    for k in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[k - 1], p[k], p[k + 1], p[k + 2]
        n = max(2, math.ceil(float(np.hypot(*(p2 - p1))) / step_m))
        t = (np.arange(n) / n)[:, None]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3))
    out.append(points[-1:])
    return np.vstack(out)


def bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, step_m: float) -> np.ndarray:
    """Quadratic Bézier curve from *p0* to *p2* with control point *p1*."""
    n = max(2, math.ceil(float(np.hypot(*(p2 - p0))) / step_m)) + 1
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def offset(coords: np.ndarray, dist_m: float) -> np.ndarray:
    """Parallel line at *dist_m* metres (positive = left of the direction of travel)."""
    g = shapely.offset_curve(LineString(coords), dist_m, quad_segs=4, join_style="mitre",
                             mitre_limit=3.0)
    if g.geom_type == "MultiLineString":
        g = max(g.geoms, key=lambda part: part.length)
    return np.asarray(g.coords)


def extend(coords: np.ndarray, start_m: float, end_m: float) -> np.ndarray:
    """Prolong the first and last segment of *coords* by *start_m* / *end_m* metres."""
    out = [coords]
    if start_m > 0:
        d = coords[0] - coords[1]
        out.insert(0, (coords[0] + d / np.hypot(*d) * start_m)[None])
    if end_m > 0:
        d = coords[-1] - coords[-2]
        out.append((coords[-1] + d / np.hypot(*d) * end_m)[None])
    return np.vstack(out)


def points_of(geom: BaseGeometry) -> list[tuple[float, float]]:
    """Point coordinates of an intersection result (end points for line overlaps)."""
    if geom.is_empty:
        return []
    if isinstance(geom, Point):
        return [(geom.x, geom.y)]
    if isinstance(geom, LineString):
        (x0, y0), (x1, y1) = geom.coords[0], geom.coords[-1]
        return [(x0, y0), (x1, y1)]
    if isinstance(geom, BaseMultipartGeometry):
        return [p for part in geom.geoms for p in points_of(part)]
    return []


def length_m(coords: np.ndarray) -> float:
    """Length of a polyline (n, 2) in metres."""
    d = np.diff(coords, axis=0)
    return float(np.hypot(d[:, 0], d[:, 1]).sum())


def weighted(rng: np.random.Generator, options: dict[str, float]) -> str:
    """One key of *options*, drawn with the given (unnormalised) weights."""
    keys = list(options)
    w = np.array([options[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


class Namer:
    """Unique invented Swedish street names (stem + suffix)."""

    def __init__(self, rng: np.random.Generator, reserved: Iterable[str] = ()):
        self.rng = rng
        self.used: set[str] = set(reserved)

    def __call__(self, suffixes: Sequence[str]) -> str:
        for _ in range(1000):
            stem = NAME_STEMS[int(self.rng.integers(len(NAME_STEMS)))]
            suffix = suffixes[int(self.rng.integers(len(suffixes)))]
            name = stem + suffix
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("ran out of street names")


# --------------------------------------------------------------------------- network lines


@dataclass
class Line:
    """One linear feature before noding.

    Attributes
    ----------
    coords : ndarray
        (n, 2) local metres.
    tags : dict
        OSM tags of the ways made from this line.
    is_road : bool
        True for roads (motor traffic, pedestrian and living streets).
    prunable : bool
        Sidewalk-like pieces: short dangling pieces of them are removed after noding.
    run : int
        Grid run the line belongs to (roads and their sidewalks), -1 otherwise.
    crossings : list
        ``(x, y, node_tags)`` of crossing nodes on roads that this line crosses.
    lamps : dict or None
        Luminaire placement parameters (see :func:`place_luminaires`), None = no lamps.
    split : bool
        Whether the line may be split into several ways (False for crossings and steps).
    """

    coords: np.ndarray
    tags: dict[str, str]
    is_road: bool = False
    prunable: bool = False
    run: int = -1
    crossings: list[tuple[float, float, dict[str, str]]] = field(default_factory=list)
    lamps: dict | None = None
    split: bool = True


class RoadIndex:
    """Spatial index of the crossable roads, for cutting paths into crossing pieces."""

    def __init__(self, roads: Sequence[Line]):
        sel = [r for r in roads if r.tags["highway"] in CROSSABLE]
        self.geoms = np.array([LineString(r.coords) for r in sel], dtype=object)
        self.tree = shapely.STRtree(self.geoms)
        self.run = np.array([r.run for r in sel])
        self.kerb = np.array([HALF_WIDTH_M[r.tags["highway"]] + 1.0 for r in sel])
        self.highway = [r.tags["highway"] for r in sel]
        self.lit = [r.tags.get("lit", "") for r in sel]

    def inside(self, pts: np.ndarray, own_run: int) -> np.ndarray:
        """Whether each point (n, 2) lies on another run's carriageway (within the kerb)."""
        geoms = np.asarray(shapely.points(pts), dtype=object)
        pi, ri = self.tree.query(geoms, predicate="dwithin", distance=float(self.kerb.max()))
        keep = self.run[ri] != own_run
        pi, ri = pi[keep], ri[keep]
        d = shapely.distance(geoms[pi], self.geoms[ri])
        out = np.zeros(len(pts), dtype=bool)
        out[pi[d < self.kerb[ri]]] = True
        return out


def trim_to_kerbs(coords: np.ndarray, own_run: int, roads: RoadIndex) -> np.ndarray | None:
    """Cut the ends of *coords* that lie on another road's carriageway (None if all do)."""
    line = LineString(coords)
    total = line.length
    steps = np.arange(0.0, min(20.0, total) + 1e-9, 0.5)
    head = shapely.get_coordinates(shapely.line_interpolate_point(line, steps))
    tail = shapely.get_coordinates(shapely.line_interpolate_point(line, total - steps))
    ih, it = roads.inside(head, own_run), roads.inside(tail, own_run)
    t0 = float(steps[np.argmin(ih)]) if ih.any() else 0.0
    t1 = total - (float(steps[np.argmin(it)]) if it.any() else 0.0)
    if (ih.all() and len(steps) and steps[-1] >= total) or t1 - t0 < 2.0:
        return None
    if t0 == 0.0 and t1 == total:
        return coords
    return np.asarray(substring(line, t0, t1).coords)


def cut_at_roads(coords: np.ndarray, tags: dict[str, str], crossing_tags: dict[str, str],
                 roads: RoadIndex, rng: np.random.Generator, *, own_run: int = -1,
                 trim: bool = False, prunable: bool = False, lamps: dict | None = None,
                 signals: np.ndarray | None = None, min_rank: int = 0) -> list[Line]:
    """Split a path where it crosses roads into plain pieces and crossing pieces.

    Parameters
    ----------
    coords : ndarray
        (n, 2) local metres.
    tags, crossing_tags : dict
        Tags of the plain pieces and extra tags of the crossing pieces (which get
        ``crossing=*`` and ``lit`` from the crossed road as well).
    roads : RoadIndex
        The crossable roads.
    rng : numpy.random.Generator
        Source of the crossing types.
    own_run : int
        Grid run of the road the path runs along (never crossed), -1 for none.
    trim : bool
        Cut ends that lie on another road's carriageway back to the kerb.
    prunable, lamps :
        Passed to the plain pieces (crossing pieces are always prunable, without lamps).
    signals : ndarray, optional
        (k, 2) traffic-signal junctions; crossings within 45 m of one are signalled.
    min_rank : int
        Cross only roads of at least this :data:`RANK`; smaller roads are just met at a
        shared node, without a crossing way.

    Returns
    -------
    list of Line
    """
    if trim:
        trimmed = trim_to_kerbs(coords, own_run, roads)
        if trimmed is None:
            return []
        coords = trimmed
    line = LineString(coords)
    total = line.length
    hits = []
    for k in sorted(roads.tree.query(line, predicate="intersects").tolist()):
        if roads.run[k] == own_run or RANK[roads.highway[k]] < min_rank:
            continue
        w = float(roads.kerb[k])
        for x, y in points_of(line.intersection(roads.geoms[k])):
            t = line.project(Point(x, y))
            if w < t < total - w:
                hits.append((t, w, x, y, k))
    hits.sort()
    intervals: list[list] = []
    for t, w, x, y, k in hits:
        if intervals and t - w <= intervals[-1][1] + 2.0:
            intervals[-1][1] = t + w
            intervals[-1][2].append((x, y, k))
        else:
            intervals.append([t - w, t + w, [(x, y, k)]])
    out: list[Line] = []
    pos = 0.0
    for t0, t1, pts in intervals:
        t0 = 0.0 if t0 - pos < 1.0 else t0
        t1 = total if total - t1 < 1.0 else t1
        if t0 > pos:
            out.append(Line(np.asarray(substring(line, pos, t0).coords), dict(tags),
                            prunable=prunable, lamps=lamps))
        x0, y0, k0 = pts[0]
        kind = crossing_kind(roads.highway[k0], (x0, y0), signals, rng)
        ctags = dict(crossing_tags)
        ctags["crossing"] = kind
        lit = roads.lit[k0] or tags.get("lit", "")
        if lit:
            ctags["lit"] = lit
        nodes = [(x, y, crossing_node_tags(kind, rng)) for x, y, _ in pts]
        out.append(Line(np.asarray(substring(line, t0, t1).coords), ctags, prunable=True,
                        crossings=nodes, split=False))
        pos = t1
    if total - pos >= 1.0:
        out.append(Line(np.asarray(substring(line, pos, total).coords), dict(tags),
                        prunable=prunable, lamps=lamps))
    return out


def crossing_kind(highway: str, xy: tuple[float, float], signals: np.ndarray | None,
                  rng: np.random.Generator) -> str:
    """``crossing=*`` value for a crossing of a road of class *highway* at *xy*."""
    if (signals is not None and len(signals) and RANK[highway] >= RANK["tertiary"]
            and np.hypot(*(signals - np.asarray(xy)).T).min() < 45.0):
        return "traffic_signals"
    if highway in ("primary", "secondary"):
        mix = {"marked": 0.3, "zebra": 0.25, "uncontrolled": 0.25, "unmarked": 0.1,
               "traffic_signals": 0.1}
    elif highway == "tertiary":
        mix = {"marked": 0.3, "zebra": 0.2, "uncontrolled": 0.25, "unmarked": 0.25}
    else:
        mix = {"unmarked": 0.62, "uncontrolled": 0.14, "marked": 0.14, "zebra": 0.1}
    return weighted(rng, mix)


def crossing_node_tags(kind: str, rng: np.random.Generator) -> dict[str, str]:
    """Tags of a ``highway=crossing`` node of type *kind* (some with crossing:markings)."""
    tags = {"highway": "crossing", "crossing": kind}
    u = rng.random()
    if kind in ("zebra", "uncontrolled", "marked") and u < 0.5:
        tags["crossing:markings"] = "zebra" if kind != "marked" or u < 0.3 else "yes"
    elif kind == "unmarked" and u < 0.3:
        tags["crossing:markings"] = "no"
    elif kind == "traffic_signals" and u < 0.6:
        tags["crossing:markings"] = "zebra"
    if kind != "unmarked" and rng.random() < 0.4:
        tags["tactile_paving"] = "yes"
    return tags


# --------------------------------------------------------------------------- noding


class NodeRegistry:
    """Nodes in local metres; points closer than *tol_m* become one node."""

    def __init__(self, tol_m: float = 0.3):
        self.tol2 = tol_m * tol_m
        self.xy: list[tuple[float, float]] = []
        self.cells: dict[tuple[int, int], list[int]] = {}

    def find(self, x: float, y: float) -> int | None:
        """Index of the node within the tolerance of (x, y), or None."""
        cx, cy = math.floor(x), math.floor(y)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for k in self.cells.get((cx + dx, cy + dy), ()):
                    px, py = self.xy[k]
                    if (px - x) ** 2 + (py - y) ** 2 <= self.tol2:
                        return k
        return None

    def get(self, x: float, y: float) -> int:
        """Index of the node at (x, y), created if there is none within the tolerance."""
        k = self.find(x, y)
        if k is None:
            k = len(self.xy)
            self.xy.append((x, y))
            self.cells.setdefault((math.floor(x), math.floor(y)), []).append(k)
        return k


def node_lines(lines: Sequence[Line], reg: NodeRegistry) -> list[list[int]]:
    """Node sequences of *lines*, with shared nodes wherever lines cross or touch."""
    geoms = np.array([LineString(ln.coords) for ln in lines], dtype=object)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    inserts: list[list[tuple[float, float]]] = [[] for _ in lines]
    for ia, ib, g in zip(a.tolist(), b.tolist(), shapely.intersection(geoms[a], geoms[b]),
                         strict=True):
        for p in points_of(g):
            inserts[ia].append(p)
            inserts[ib].append(p)
    ends = np.array([[ln.coords[0], ln.coords[-1]] for ln in lines]).reshape(-1, 2)
    pi, li = tree.query(shapely.points(ends), predicate="dwithin", distance=0.5)
    for p, k in zip(pi.tolist(), li.tolist(), strict=True):
        if k != p // 2:
            inserts[k].append((float(ends[p, 0]), float(ends[p, 1])))
    seqs = []
    for k, ln in enumerate(lines):
        xy = ln.coords
        if inserts[k]:
            extra = np.array(inserts[k])
            d = np.hypot(*np.diff(xy, axis=0).T)
            t_own = np.concatenate([[0.0], np.cumsum(d)])
            t_new = shapely.line_locate_point(geoms[k], shapely.points(extra))
            order = np.argsort(np.concatenate([t_own, t_new]), kind="stable")
            xy = np.vstack([xy, extra])[order]
        seq: list[int] = []
        for x, y in xy.tolist():
            n = reg.get(x, y)
            if not seq or seq[-1] != n:
                seq.append(n)
        seqs.append(seq)
    return seqs


@dataclass
class Network:
    """A noded, pruned network: ways as node sequences over a registry.

    Attributes
    ----------
    reg : NodeRegistry
        All nodes, local metres.
    ways : list of (node ids, tags, line index)
        Final ways, split into pieces of typically 50-400 m.
    runs : list of (line index, node ids)
        Longest surviving stretches of each line (for placing luminaires).
    node_tags : dict
        Registry index -> tags of tagged way nodes (crossings, traffic signals).
    """

    reg: NodeRegistry
    ways: list[tuple[list[int], dict[str, str], int]]
    runs: list[tuple[int, list[int]]]
    node_tags: dict[int, dict[str, str]]


def build_network(lines: Sequence[Line], rng: np.random.Generator,
                  signal_points: np.ndarray) -> Network:
    """Node *lines*, remove dangling sidewalk stubs and split the rest into ways.

    Short (< 15 m) prunable pieces with a free end (no other foot or cycle way there) are
    removed repeatedly: the stubs left where sidewalks meet or end at a kerb, and crossing
    pieces that lead nowhere.
    """
    reg = NodeRegistry()
    seqs = node_lines(lines, reg)
    xy = np.array(reg.xy)
    usage = np.bincount(np.concatenate([np.asarray(s) for s in seqs]), minlength=len(xy))
    pieces = []  # (line, a, b)
    for li, seq in enumerate(seqs):
        cuts = [0] + [p for p in range(1, len(seq) - 1) if usage[seq[p]] >= 2] + [len(seq) - 1]
        pieces += [(li, a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
    starts = np.array([seqs[li][a] for li, a, _ in pieces])
    stops = np.array([seqs[li][b] for li, _, b in pieces])
    foot = np.array([not lines[li].is_road for li, _, _ in pieces])
    plen = np.array([length_m(xy[seqs[li][a:b + 1]]) for li, a, b in pieces])
    prunable = np.array([lines[li].prunable for li, _, _ in pieces]) & (plen < 15.0)
    alive = np.ones(len(pieces), dtype=bool)
    while True:
        sel = alive & foot
        deg = (np.bincount(starts[sel], minlength=len(xy))
               + np.bincount(stops[sel], minlength=len(xy)))
        kill = alive & prunable & ((deg[starts] <= 1) | (deg[stops] <= 1))
        if not kill.any():
            break
        alive &= ~kill
    runs_out: list[tuple[int, list[int]]] = []
    run_end: list[int] = []  # position in its line's node sequence where each run ends
    for (li, a, b), ok in zip(pieces, alive, strict=True):
        if not ok:
            continue
        seq = seqs[li]
        if runs_out and runs_out[-1][0] == li and run_end[-1] == a:
            runs_out[-1][1].extend(seq[a + 1:b + 1])
            run_end[-1] = b
        else:
            runs_out.append((li, list(seq[a:b + 1])))
            run_end.append(b)
    runs_out += link_dead_ends(lines, runs_out, reg)
    xy = np.array(reg.xy)
    used = np.bincount(np.concatenate([np.asarray(s) for _, s in runs_out]), minlength=len(xy))
    ways: list[tuple[list[int], dict[str, str], int]] = []
    for li, seq in runs_out:
        line = lines[li]
        if not line.split or len(seq) < 3:
            ways.append((seq, line.tags, li))
            continue
        d = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy[seq], axis=0).T))])
        target = rng.uniform(60.0, 320.0)
        last = 0
        for p in range(1, len(seq) - 1):
            here = d[p] - d[last]
            long_next = d[p + 1] - d[last] > 400.0 and here >= 50.0
            junction = used[seq[p]] >= 2 and here >= target and d[-1] - d[p] >= 30.0
            if junction or long_next:
                ways.append((seq[last:p + 1], line.tags, li))
                last = p
                target = rng.uniform(60.0, 320.0)
        ways.append((seq[last:], line.tags, li))
    on_road = np.zeros(len(xy), dtype=bool)
    for li, seq in runs_out:
        if lines[li].is_road:
            on_road[seq] = True
    node_tags: dict[int, dict[str, str]] = {}
    for li, seq in runs_out:
        for x, y, tags in lines[li].crossings:
            k = reg.find(x, y)
            if k is not None and on_road[k] and k in seq:
                node_tags[k] = tags
    for x, y in signal_points.tolist():
        k = reg.find(x, y)
        if k is not None and on_road[k]:
            node_tags[k] = {"highway": "traffic_signals"}
    return Network(reg, ways, runs_out, node_tags)


def link_dead_ends(lines: Sequence[Line], runs: list[tuple[int, list[int]]],
                   reg: NodeRegistry, max_dist_m: float = 15.0) -> list[tuple[int, list[int]]]:
    """Short links from dead-end sidewalks to the nearest road, as mappers add for routing.

    A sidewalk or roadside cycleway that ends without meeting another foot or cycle way
    gets a two-node link (with the sidewalk's tags) to a new node on the nearest road
    within *max_dist_m*. The road runs in *runs* are changed in place.

    Returns
    -------
    list of (line index, node ids)
        The new links.
    """
    xy = np.array(reg.xy)
    foot_use = np.zeros(len(xy), dtype=int)
    for li, seq in runs:
        if not lines[li].is_road:
            np.add.at(foot_use, seq, 1)
            foot_use[seq[1:-1]] += 1
    road_runs = [seq for li, seq in runs if lines[li].is_road]
    on_road = np.zeros(len(xy), dtype=bool)
    for seq in road_runs:
        on_road[seq] = True
    geoms = np.array([LineString(xy[seq]) for seq in road_runs], dtype=object)
    tree = shapely.STRtree(geoms)
    links: list[tuple[int, list[int]]] = []
    for li, seq in runs:
        if not lines[li].prunable or "crossing" in lines[li].tags:
            continue
        for end in (seq[0], seq[-1]):
            if foot_use[end] != 1 or on_road[end]:
                continue
            pt = Point(*reg.xy[end])
            near = tree.query_nearest(pt, max_distance=max_dist_m)
            if len(near) == 0:
                continue
            k = int(near.min())
            road, line = road_runs[k], geoms[k]
            t = line.project(pt)
            foot = line.interpolate(t)
            node = reg.get(foot.x, foot.y)
            if node not in road:
                pts = np.array([reg.xy[q] for q in road])
                cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
                road.insert(int(np.searchsorted(cum, t)), node)
            if node != end:
                links.append((li, [end, node]))
                foot_use[end] += 1
    return links


# --------------------------------------------------------------------------- town layout


class GridTown:
    """A warped, perturbed street grid: curved streets, uneven blocks, no regular grid.

    Grid node ``(i, j)`` (``i`` towards east, ``j`` towards north, ``c`` = centre index)
    sits at ``warp(u[i], u[j])`` where the spacing ``u`` grows away from the centre.
    ``H[i, j]`` is the edge ``(i, j) -> (i + 1, j)``, ``V[i, j]`` is ``(i, j) -> (i, j + 1)``.
    """

    def __init__(self, rng: np.random.Generator, half_n: int, a_m: float, b_m: float,
                 rotation_deg: float, warp_m: float, jitter_m: float, bulge_m: float):
        self.n = n = 2 * half_n + 1
        self.c = half_n
        idx = np.arange(n) - half_n
        self.u = np.sign(idx) * (a_m * np.abs(idx) + b_m * idx**2)
        self.phase = rng.uniform(0, 2 * np.pi, 4)
        self.warp_m = warp_m
        self.rot = math.radians(rotation_deg)
        self.jit = rng.normal(0.0, jitter_m, (n, n, 2))
        self.jit[self.c, self.c] = 0.0
        self.origin = np.zeros(2)
        self.origin = self._warp(np.zeros(1), np.zeros(1), np.zeros((1, 2)))[0]
        self.bulge = {"H": rng.normal(0.0, bulge_m, (n - 1, n)),
                      "V": rng.normal(0.0, bulge_m, (n, n - 1))}
        self.keep = {"H": np.zeros((n - 1, n), dtype=bool), "V": np.zeros((n, n - 1), dtype=bool)}
        self.cls = {"H": np.full((n - 1, n), "", dtype=object),
                    "V": np.full((n, n - 1), "", dtype=object)}
        self._coords: dict[tuple[str, int, int], np.ndarray] = {}

    def _warp(self, uu: np.ndarray, vv: np.ndarray, jit: np.ndarray) -> np.ndarray:
        w, ph = self.warp_m, self.phase
        x = uu + w * np.sin(vv / 650 + ph[0]) + 0.5 * w * np.sin(uu / 420 + ph[1])
        y = vv + w * np.sin(uu / 700 + ph[2]) + 0.5 * w * np.sin(vv / 380 + ph[3])
        cr, sr = math.cos(self.rot), math.sin(self.rot)
        return np.column_stack([x * cr - y * sr, x * sr + y * cr]) + jit - self.origin

    def node(self, i: int, j: int) -> np.ndarray:
        """Position of grid node (i, j), local metres."""
        return self._warp(self.u[[i]], self.u[[j]], self.jit[i, j][None])[0]

    @staticmethod
    def ends(kind: str, i: int, j: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """Grid nodes at the two ends of edge (kind, i, j)."""
        return ((i, j), (i + 1, j)) if kind == "H" else ((i, j), (i, j + 1))

    def edge(self, kind: str, i: int, j: int, bulge: bool = True) -> np.ndarray:
        """Polyline of an edge (curved by the warp and, if *bulge*, bowed sideways)."""
        key = (kind, i, j) if bulge else (kind + "-", i, j)
        if key not in self._coords:
            (i0, j0), (i1, j1) = self.ends(kind, i, j)
            u0, v0, u1, v1 = self.u[i0], self.u[j0], self.u[i1], self.u[j1]
            m = max(2, math.ceil(math.hypot(u1 - u0, v1 - v0) / 25.0)) + 1
            t = np.linspace(0.0, 1.0, m)
            uu, vv = u0 + (u1 - u0) * t, v0 + (v1 - v0) * t
            if bulge:
                b = self.bulge[kind][i, j] * np.sin(np.pi * t)
                if kind == "H":
                    vv = vv + b
                else:
                    uu = uu - b
            jit = self.jit[i0, j0] * (1 - t)[:, None] + self.jit[i1, j1] * t[:, None]
            self._coords[key] = self._warp(uu, vv, jit)
        return self._coords[key]

    def edge_mid(self, kind: str, i: int, j: int) -> np.ndarray:
        """Midpoint of an edge polyline."""
        g = LineString(self.edge(kind, i, j))
        p = g.interpolate(0.5, normalized=True)
        return np.array([p.x, p.y])

    def edge_r(self, kind: str, i: int, j: int) -> float:
        """Distance of the edge's midpoint from the centre, metres."""
        (i0, j0), (i1, j1) = self.ends(kind, i, j)
        return float(np.hypot(*((self.node(i0, j0) + self.node(i1, j1)) / 2)))

    def degree(self, i: int, j: int) -> int:
        """Number of kept edges at grid node (i, j)."""
        n, h, v = self.n, self.keep["H"], self.keep["V"]
        return int((i > 0 and h[i - 1, j]) + (i < n - 1 and h[i, j])
                   + (j > 0 and v[i, j - 1]) + (j < n - 1 and v[i, j]))

    def cell_edges(self, i: int, j: int) -> dict[str, tuple[str, int, int]]:
        """The four edges around cell (i, j): bottom, top, left, right."""
        return {"bottom": ("H", i, j), "top": ("H", i, j + 1),
                "left": ("V", i, j), "right": ("V", i + 1, j)}

    def cell_corners(self, i: int, j: int) -> np.ndarray:
        """Corners of cell (i, j), counter-clockwise from south-west."""
        return np.array([self.node(i, j), self.node(i + 1, j), self.node(i + 1, j + 1),
                         self.node(i, j + 1)])

    def connect_largest(self) -> None:
        """Drop kept edges that are not in the largest connected component."""
        n = self.n
        parent = list(range(n * n))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for kind in ("H", "V"):
            for i, j in zip(*np.nonzero(self.keep[kind]), strict=True):
                (i0, j0), (i1, j1) = self.ends(kind, int(i), int(j))
                ra, rb = find(i0 * n + j0), find(i1 * n + j1)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        roots = np.array([find(k) for k in range(n * n)])
        sizes = np.bincount(roots, minlength=n * n)
        best = int(np.argmax(sizes))
        for kind in ("H", "V"):
            for i, j in zip(*np.nonzero(self.keep[kind]), strict=True):
                if roots[int(i) * n + int(j)] != best:
                    self.keep[kind][i, j] = False


@dataclass
class Town:
    """Everything generated for one town, before writing.

    Attributes
    ----------
    frame : Frame
        Local metric frame of the town.
    note : str
        The ``note=*`` text of the town's ways and lamps.
    network : Network
        Noded roads and paths.
    lines : list of Line
        The lines the network was built from (``Network.ways`` refer to them by index).
    schools : list of dict
        ``kind`` ('node', 'way' or 'relation'), ``tags`` and ``point`` or ``rings``
        (``(role, corners)`` in local metres).
    signals : ndarray
        (k, 2) traffic-signal junctions, local metres.
    homes : list of (ndarray, dict)
        Buildings as (4, 2) corners in local metres and their tags.
    basemap : list of (str, ndarray, dict)
        Background features for the basemap (:func:`basemap_features`): ``("area",
        corners, tags)`` closed ways, ``("line", coords, tags)`` open ways and
        ``("node", xy, tags)`` place nodes, in local metres.
    """

    frame: Frame
    note: str
    network: Network
    lines: list[Line]
    schools: list[dict]
    signals: np.ndarray
    homes: list[tuple[np.ndarray, dict[str, str]]] = field(default_factory=list)
    basemap: list[tuple[str, np.ndarray, dict[str, str]]] = field(default_factory=list)


def run_edges(g: GridTown) -> list[tuple[str, list[tuple[int, int]]]]:
    """Maximal runs of consecutive kept edges along grid rows (H) and columns (V)."""
    out = []
    for kind in ("H", "V"):
        keep = g.keep[kind]
        lanes = range(g.n)
        for lane in lanes:
            mask = keep[:, lane] if kind == "H" else keep[lane, :]
            k = 0
            while k < len(mask):
                if mask[k]:
                    start = k
                    while k < len(mask) and mask[k]:
                        k += 1
                    edges = [(p, lane) if kind == "H" else (lane, p) for p in range(start, k)]
                    out.append((kind, edges))
                else:
                    k += 1
    return out


def concat(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Join polylines that share end points."""
    return np.vstack([parts[0]] + [p[1:] for p in parts[1:]])


def road_lit(rng: np.random.Generator, highway: str, r: float) -> str:
    """``lit`` of a road segment at distance *r* from the centre ('' = tag missing)."""
    if highway in ("pedestrian", "living_street"):
        return "yes"
    if r < 1500 or (highway == "primary" and r < 2000):
        return weighted(rng, {"yes": 0.97, "": 0.03})
    if r < 2000:
        return weighted(rng, {"yes": 0.7, "no": 0.15, "": 0.15})
    return weighted(rng, {"yes": 0.25, "no": 0.4, "": 0.35})


def maxspeed(highway: str, r: float) -> str | None:
    """Speed limit (km/h) for a road class at distance *r* from the centre."""
    if highway in ("pedestrian", "living_street", "service"):
        return None
    if highway == "primary":
        return "50" if r < 1500 else "70"
    if highway in ("secondary", "tertiary"):
        return "40" if r < 800 else "50" if r < 1800 else "60"
    if highway == "residential":
        return "30" if r < 1200 else "40"
    return "50" if r < 2000 else "70"


def lamp_params(group: str, lit: str, rng: np.random.Generator, *, side: int = 0,
                owner: str = "Strömstads kommun", base_offset_m: float = 0.0,
                dark_gap: bool = True) -> dict | None:
    """Luminaire placement for a run with ``lit`` = *lit* (None = no luminaires).

    Roads get poles 1-3 m outside the carriageway (``base_offset_m`` = half width), paths
    1-3 m beside the path. Spacing 25-40 m; ``lit=limited`` and some untagged lines get
    sparse poles, ``lit=no`` none.
    """
    if lit in ("yes", "24/7", "automatic", "interval", "disused"):
        lo, hi = {"main": (34, 40), "residential": (28, 36), "service": (25, 32),
                  "pedestrian": (25, 30), "path": (26, 34)}[group]
        spacing = float(rng.uniform(lo, hi))
    elif lit == "limited":
        spacing = float(rng.uniform(60, 90))
    elif lit == "" and dark_gap and rng.random() < 0.3:
        spacing = float(rng.uniform(45, 75))
    else:
        return None
    return {"group": group, "spacing": spacing, "side": side or int(rng.choice([-1, 1])),
            "offset": base_offset_m, "owner": owner, "lit": lit}


# --------------------------------------------------------------------------- Strömstad


def stromstad_grid(rng: np.random.Generator) -> GridTown:
    """The street grid of the synthetic Strömstad: classes and which edges exist."""
    g = GridTown(rng, half_n=11, a_m=150.0, b_m=6.5, rotation_deg=-14.0, warp_m=55.0,
                 jitter_m=9.0, bulge_m=14.0)
    c, n = g.c, g.n
    for kind in ("H", "V"):
        shape = g.keep[kind].shape
        for i in range(shape[0]):
            for j in range(shape[1]):
                mid = np.abs(np.mean(g.edge(kind, i, j, bulge=False), axis=0))
                r = g.edge_r(kind, i, j)
                p = 0.96 if r < 900 else 0.86 if r < 1600 else 0.62 if r < 2100 else 0.4
                inside = mid.max() < 2550
                g.keep[kind][i, j] = inside and rng.random() < p
                g.cls[kind][i, j] = "residential" if r < 1700 else "unclassified"

    def force(kind: str, lane: int, lo: int, hi: int, cls: str) -> None:
        for p in range(lo, hi):
            ij = (p, lane) if kind == "H" else (lane, p)
            mid = np.abs(np.mean(g.edge(kind, *ij, bulge=False), axis=0))
            if mid.max() < 2550:
                g.keep[kind][ij] = True
                g.cls[kind][ij] = cls

    force("V", c + 1, 0, n - 1, "primary")
    force("H", c - 1, 0, n - 1, "secondary")
    force("V", c - 4, c - 7, c + 7, "secondary")
    force("H", c + 4, c - 6, c + 7, "tertiary")
    force("H", c - 6, c - 7, c + 6, "tertiary")
    force("V", c + 6, c - 7, c + 5, "tertiary")
    force("V", c - 8, c - 5, c + 4, "tertiary")
    g.connect_largest()
    for kind, ij in (("H", (c - 2, c)), ("H", (c - 1, c)), ("V", (c - 1, c))):
        g.keep[kind][ij] = True
        g.cls[kind][ij] = "pedestrian"
    for kind, ij in (("V", (c - 1, c + 1)), ("V", (c - 1, c + 2)), ("H", (c + 2, c + 2)),
                     ("H", (c + 3, c + 2)), ("V", (c - 2, c - 3))):
        if g.keep[kind][ij]:
            g.cls[kind][ij] = "living_street"
    for kind in ("H", "V"):
        main = np.isin(g.cls[kind], ["primary", "secondary", "tertiary", "pedestrian",
                                     "living_street"])
        g.bulge[kind][main] *= 0.25
    return g


def sidewalk_sides(cls: str, r: float, run_side: int) -> tuple[bool, bool, bool]:
    """(left sidewalk, right sidewalk, right cycleway) for an edge of class *cls*."""
    if cls == "primary":
        return r < 1800, False, r < 2300
    if cls == "secondary":
        return r < 1700, r < 1200, False
    if cls == "tertiary":
        return r < 1800, r < 1200, False
    if cls == "residential":
        if r < 650:
            return True, True, False
        if r < 1350 and run_side != 0:
            return run_side > 0, run_side < 0, False
    return False, False, False


def grid_roads(g: GridTown, rng: np.random.Generator, namer: Namer, note: str,
               fixed_names: dict[str, list[str]], with_lamps: bool,
               sidewalk_rule: Callable[[str, float, int], tuple[bool, bool, bool]]
               = sidewalk_sides) -> tuple[list[Line], list[dict]]:
    """Road lines (named segments) of the grid and the sidewalk plan of every run.

    Parameters
    ----------
    note : str
        ``note=*`` tag of every road.
    fixed_names : dict
        Road class -> names to use (in order) before inventing names.
    with_lamps : bool
        Whether lit roads get luminaire placement parameters.
    sidewalk_rule : callable
        ``(class, radius_m, run_side) -> (left, right, right cycleway)`` per edge.

    Returns
    -------
    roads : list of Line
    plans : list of dict
        One per run: ``kind``, ``edges``, ``coords`` per edge, classes, radii, wanted
        sidewalk/cycleway flags per edge, lamp side and ``run`` id.
    """
    roads: list[Line] = []
    plans: list[dict] = []
    for run_id, (kind, edges) in enumerate(run_edges(g)):
        cls = [g.cls[kind][e] for e in edges]
        rr = [g.edge_r(kind, *e) for e in edges]
        coords = [g.edge(kind, *e) for e in edges]
        run_side = int(rng.choice([-1, 1])) if rng.random() < 0.85 else 0
        flags = [sidewalk_rule(c_, r_, run_side) for c_, r_ in zip(cls, rr, strict=True)]
        left = [f[0] for f in flags]
        right = [f[1] for f in flags]
        cyc = [f[2] for f in flags]
        lamp_side = 1 if any(left) and not any(right) else -1 if any(right) or any(cyc) else 0
        plans.append({"kind": kind, "edges": edges, "coords": coords, "cls": cls, "r": rr,
                      "left": left, "right": right, "cycleway": cyc, "run": run_id})
        # named segments: break at class changes and every 2-6 edges on minor roads
        groups: list[list[int]] = []
        for k, c_ in enumerate(cls):
            new = not groups or cls[groups[-1][-1]] != c_
            if not new and RANK[c_] <= 1 and len(groups[-1]) >= int(rng.integers(2, 7)):
                new = True
            if not new and c_ == "primary" and kind == "V" and edges[k][1] == g.c:
                new = True
            if new:
                groups.append([k])
            else:
                groups[-1].append(k)
        for grp in groups:
            c_ = cls[grp[0]]
            r = float(np.mean([rr[k] for k in grp]))
            if c_ in fixed_names and fixed_names[c_]:
                name = fixed_names[c_].pop(0)
            elif c_ == "living_street":
                name = namer(("gränd",))
            elif c_ == "pedestrian":
                name = namer(("gatan",))
            elif c_ in ("primary", "secondary"):
                name = namer(("vägen", "leden"))
            else:
                name = namer(ROAD_SUFFIXES)
            tags = {"highway": c_, "name": name}
            speed = maxspeed(c_, r)
            if speed:
                tags["maxspeed"] = speed
            tags["surface"] = ("gravel" if c_ == "unclassified" and rng.random() < 0.3
                               else "paving_stones" if c_ == "pedestrian" else "asphalt")
            lit = road_lit(rng, c_, r)
            if lit:
                tags["lit"] = lit
            has_sw = any(left[k] or right[k] or cyc[k] for k in grp)
            if has_sw:
                tags["sidewalk"] = "separate"
            elif c_ in ("residential", "tertiary") and r < 1500:
                tags["sidewalk"] = "no"
            if c_ == "residential" and rng.random() < 0.07:
                tags["bicycle"] = "designated"
            elif c_ in ("residential", "unclassified") and rng.random() < 0.05:
                tags["foot"] = "designated"
            if c_ == "primary":
                tags["lanes"] = "2"
            tags["note"] = note
            group = ("main" if RANK[c_] >= 2 else "pedestrian" if c_ == "pedestrian"
                     else "residential")
            lamp_owner = "Trafikverket" if c_ == "primary" else "Strömstads kommun"
            # central roads whose lit tag is missing are lit all the same (a data gap)
            truly_lit = lit or ("yes" if r < 1500 else "")
            lamps = (lamp_params(group, truly_lit, rng, side=lamp_side, owner=lamp_owner,
                                 base_offset_m=HALF_WIDTH_M[c_], dark_gap=False)
                     if with_lamps else None)
            roads.append(Line(concat([coords[k] for k in grp]), tags, is_road=True,
                              run=run_id, lamps=lamps))
    return roads, plans


def sidewalks(g: GridTown, plans: list[dict], roads: RoadIndex, rng: np.random.Generator,
              signals: np.ndarray) -> list[Line]:
    """Sidewalks (footway=sidewalk) and roadside cycleways along the planned runs."""
    out: list[Line] = []
    for plan in plans:
        kind, edges = plan["kind"], plan["edges"]
        first = g.ends(kind, *edges[0])[0]
        last = g.ends(kind, *edges[-1])[1]
        corner_start = g.degree(*first) == 2
        corner_end = g.degree(*last) == 2
        for flag, sign, what in (("left", 1, "sidewalk"), ("right", -1, "sidewalk"),
                                 ("cycleway", -1, "cycleway")):
            wanted = plan[flag]
            k = 0
            while k < len(edges):
                if not wanted[k]:
                    k += 1
                    continue
                k0 = k
                while k < len(edges) and wanted[k]:
                    k += 1
                cls = [plan["cls"][q] for q in range(k0, k)]
                top = max(cls, key=lambda c_: RANK[c_])
                dist = SIDEWALK_OFFSET_M.get(top, 6.0) + (3.0 if what == "cycleway" else 0.0)
                base = concat(plan["coords"][k0:k])
                line = offset(base, sign * dist)
                line = extend(line, 10.0 if (k0 == 0 and corner_start) else 0.0,
                              10.0 if (k == len(edges) and corner_end) else 0.0)
                r = float(np.mean(plan["r"][k0:k]))
                road_lit_yes = r < 1500 or (top == "primary" and r < 2000)
                if road_lit_yes:
                    lit = weighted(rng, {"yes": 0.92, "": 0.06, "limited": 0.02})
                else:
                    lit = weighted(rng, {"yes": 0.5, "": 0.3, "no": 0.2})
                if what == "sidewalk":
                    tags = {"highway": "footway", "footway": "sidewalk",
                            "surface": "paving_stones" if r < 500 and rng.random() < 0.5
                            else "asphalt"}
                    ctags = {"highway": "footway", "footway": "crossing"}
                else:
                    tags = {"highway": "cycleway", "foot": "designated",
                            "segregated": "yes" if rng.random() < 0.5 else "no",
                            "surface": "asphalt"}
                    ctags = {"highway": "cycleway", "cycleway": "crossing",
                             "foot": "designated"}
                if lit:
                    tags["lit"] = lit
                out += cut_at_roads(line, tags, ctags, roads, rng, own_run=plan["run"],
                                    trim=True, prunable=True, signals=signals)
    return out


def path_lit(rng: np.random.Generator, highway: str, r: float) -> str:
    """``lit`` of a free-standing path of type *highway* at distance *r* ('' = missing)."""
    if highway == "track":
        return weighted(rng, {"": 0.85, "no": 0.15})
    if highway == "path":
        return weighted(rng, {"": 0.6, "no": 0.3, "yes": 0.1})
    if highway == "cycleway":
        if r < 1200:
            return weighted(rng, {"yes": 0.9, "": 0.1})
        return weighted(rng, {"yes": 0.6, "no": 0.15, "": 0.25})
    if r < 1000:
        return weighted(rng, {"yes": 0.78, "": 0.12, "no": 0.1})
    if r < 1700:
        return weighted(rng, {"yes": 0.5, "": 0.28, "no": 0.22})
    return weighted(rng, {"yes": 0.2, "": 0.45, "no": 0.35})


def path_tags(rng: np.random.Generator, highway: str, r: float) -> dict[str, str]:
    """Tags of a free-standing footway, path, track or cycleway."""
    tags = {"highway": highway}
    if highway == "footway":
        tags["surface"] = weighted(rng, {"asphalt": 0.6, "gravel": 0.3, "paving_stones": 0.1})
    elif highway == "path":
        tags["surface"] = weighted(rng, {"gravel": 0.4, "ground": 0.35, "dirt": 0.25})
    elif highway == "track":
        tags["surface"] = weighted(rng, {"gravel": 0.6, "ground": 0.2, "dirt": 0.2})
        tags["tracktype"] = weighted(rng, {"grade2": 0.5, "grade3": 0.3, "grade4": 0.2})
    elif highway == "cycleway":
        tags["foot"] = "designated"
        tags["segregated"] = "no" if rng.random() < 0.75 else "yes"
        tags["surface"] = "asphalt"
    lit = path_lit(rng, highway, r)
    if lit:
        tags["lit"] = lit
    return tags


def free_path(coords: np.ndarray, tags: dict[str, str], roads: RoadIndex,
              rng: np.random.Generator, signals: np.ndarray, min_rank: int = 0) -> list[Line]:
    """A free-standing path: crossing pieces where it crosses a road, lamps if lit."""
    r = float(np.hypot(*coords[len(coords) // 2]))
    if tags["highway"] == "track":  # tracks just meet roads, no crossing ways
        return [Line(coords, tags)]
    lamps = lamp_params("path", tags.get("lit", ""), rng, dark_gap=r < 1800
                        and tags["highway"] != "track")
    if tags["highway"] == "cycleway":
        ctags = {"highway": "cycleway", "cycleway": "crossing", "foot": "designated"}
    else:
        ctags = {"highway": "footway", "footway": "crossing"}
    return cut_at_roads(coords, tags, ctags, roads, rng, lamps=lamps, signals=signals,
                        min_rank=min_rank)


def corridors(control: Sequence[Sequence[tuple[float, float]]], roads: RoadIndex,
              rng: np.random.Generator, namer: Namer, signals: np.ndarray,
              half_extent_m: float, note: str, min_rank: int = 0) -> list[Line]:
    """Long gång- och cykelvägar through the town, in sections with their own ``lit``.

    The curves pass through *control* points (local metres, inner ones jittered) and are
    clipped to the square of half side *half_extent_m*; named ones get ``note`` = *note*.
    """
    out: list[Line] = []
    for pts in control:
        p = np.array(pts, dtype=float)
        p[1:-1] += rng.normal(0.0, 90.0, (len(p) - 2, 2))
        curve = catmull_rom(p, 20.0)
        curve = curve[np.abs(curve).max(axis=1) < half_extent_m]
        name = namer(CORRIDOR_SUFFIXES) if rng.random() < 0.7 else None
        geom = LineString(curve)
        pos = 0.0
        while pos < geom.length - 1.0:
            step = float(rng.uniform(500, 1100))
            end = geom.length if geom.length - (pos + step) < 250 else pos + step
            sec = np.asarray(substring(geom, pos, end).coords)
            tags = path_tags(rng, "cycleway", float(np.hypot(*sec[len(sec) // 2])))
            if name:
                tags["name"] = name
                tags["note"] = note
            out += free_path(sec, tags, roads, rng, signals, min_rank)
            pos = end
    return out


def school_cell(g: GridTown, target: tuple[float, float], taken: set[tuple[int, int]],
                blockers: Sequence[LineString]) -> tuple[int, int]:
    """The grid cell nearest *target* that is free, bounded by roads and not crossed."""
    best, best_d = None, math.inf
    for i in range(g.n - 1):
        for j in range(g.n - 1):
            if (i, j) in taken:
                continue
            edges = g.cell_edges(i, j)
            if sum(bool(g.keep[k][a, b]) for k, a, b in edges.values()) < 3:
                continue
            poly = Polygon(g.cell_corners(i, j))
            if any(poly.intersects(b) for b in blockers):
                continue
            d = float(np.hypot(*(np.asarray(poly.centroid.coords[0]) - target)))
            if d < best_d:
                best, best_d = (i, j), d
    assert best is not None, f"no free cell for a school near {target}"
    return best


def shrink(corners: np.ndarray, factor: float) -> np.ndarray:
    """Corners scaled by *factor* about their mean."""
    m = corners.mean(axis=0)
    return m + (corners - m) * factor


def place_homes(g: GridTown, lines: Sequence[Line], school_cells: set[tuple[int, int]],
                rng: np.random.Generator, note: str) -> list[tuple[np.ndarray, dict[str, str]]]:
    """Buildings along the inside of the town's blocks, for the school-route origins.

    Apartment blocks and terraces near the centre, detached houses further out, none
    beyond 2.1 km; gaps at random, and nothing within 4 m of a road or path. A few holiday
    cabins and garages (``building=cabin`` / ``yes``) are not homes: they show that the
    school routes skip them.
    """
    blockers = shapely.STRtree([LineString(ln.coords) for ln in lines])
    out: list[tuple[np.ndarray, dict[str, str]]] = []
    for i in range(g.n - 1):
        for j in range(g.n - 1):
            if (i, j) in school_cells:
                continue
            cell = g.cell_corners(i, j)
            r = float(np.hypot(*cell.mean(axis=0)))
            if r > 2100:
                continue
            inner = shrink(cell, 0.72)
            ring = LineString(np.vstack([inner, inner[:1]]))
            spacing = 24.0 if r < 700 else 30.0 if r < 1400 else 42.0
            kinds = ({"apartments": 0.45, "terrace": 0.2, "house": 0.3, "yes": 0.05}
                     if r < 700 else
                     {"house": 0.55, "detached": 0.3, "semidetached_house": 0.08,
                      "yes": 0.07} if r < 1400 else
                     {"house": 0.6, "detached": 0.25, "cabin": 0.08, "yes": 0.07})
            for k in range(int(ring.length // spacing)):
                if rng.random() < 0.25:
                    continue
                d = (k + rng.uniform(0.3, 0.7)) * spacing
                centre = np.array(ring.interpolate(d).coords[0])
                kind = weighted(rng, kinds)
                w, h = {"apartments": (24.0, 12.0), "terrace": (20.0, 8.0),
                        "yes": (6.0, 5.0)}.get(kind, (10.0, 8.0))
                a, b = np.array(ring.interpolate(d - 1).coords[0]), np.array(
                    ring.interpolate(d + 1).coords[0])
                u = (b - a) / max(float(np.hypot(*(b - a))), 1e-9)
                v = np.array([-u[1], u[0]])
                corners = np.array([centre - u * w / 2 - v * h / 2,
                                    centre + u * w / 2 - v * h / 2,
                                    centre + u * w / 2 + v * h / 2,
                                    centre - u * w / 2 + v * h / 2])
                if len(blockers.query(Polygon(corners), predicate="dwithin", distance=4.0)):
                    continue
                out.append((corners, {"building": kind, "note": note}))
    return out


def block_fill(g: GridTown, rng: np.random.Generator, roads: RoadIndex, namer: Namer,
               school_cells: set[tuple[int, int]],
               signals: np.ndarray, n_culdesac: int, n_service: int, steps_p: float,
               note: str, path_p: float = 1.0) -> tuple[list[Line], list[Line]]:
    """Cul-de-sacs with footways from the turning place, service roads and block paths.

    Returns
    -------
    roads_extra, paths : list of Line
    """
    cells = [(i, j) for i in range(g.n - 1) for j in range(g.n - 1)]
    radius = {ij: float(np.hypot(*g.cell_corners(*ij).mean(axis=0))) for ij in cells}
    kept = {ij: {side: e for side, e in g.cell_edges(*ij).items() if g.keep[e[0]][e[1:]]}
            for ij in cells}
    opposite = {"bottom": "top", "top": "bottom", "left": "right", "right": "left"}
    cand = [ij for ij in cells if ij not in school_cells
            and 600 < radius[ij] < 2100 and len(kept[ij]) >= 3]
    order = rng.permutation(len(cand))
    culdesac = {cand[k] for k in order[:n_culdesac]}
    service = {cand[k] for k in order[n_culdesac:n_culdesac + n_service]}
    roads_extra: list[Line] = []
    paths: list[Line] = []
    for ij in cells:
        r = radius[ij]
        sides = kept[ij]
        centre = g.cell_corners(*ij).mean(axis=0)
        if ij in culdesac:
            side = sorted(sides)[int(rng.integers(len(sides)))]
            start = g.edge_mid(*sides[side])
            far = (g.edge_mid(*sides[opposite[side]]) if opposite[side] in sides
                   else centre + (centre - start))
            end = start + (far - start) * rng.uniform(0.5, 0.62)
            perp = np.array([-(end - start)[1], (end - start)[0]]) / np.hypot(*(end - start))
            ctrl = (start + end) / 2 + perp * rng.normal(0, 30)
            coords = bezier(start, ctrl, end, 20.0)
            lit = road_lit(rng, "residential", r)
            tags = {"highway": "residential", "name": namer(CULDESAC_SUFFIXES),
                    "maxspeed": "30", "surface": "asphalt"}
            if lit:
                tags["lit"] = lit
            tags["note"] = note
            roads_extra.append(Line(coords, tags, is_road=True, run=-2, lamps=(
                lamp_params("residential", lit, rng, base_offset_m=3.0, dark_gap=False)
                if note == NOTE_STROMSTAD else None)))
            if opposite[side] in sides and rng.random() < 0.7:
                fp = path_tags(rng, "footway", r)
                pc = bezier(end, (end + far) / 2 + perp * rng.normal(0, 10), far, 20.0)
                paths += free_path(pc, fp, roads, rng, signals)
            continue
        if ij in service:
            side = sorted(sides)[int(rng.integers(len(sides)))]
            e = LineString(g.edge(*sides[side]))
            p0 = np.array(e.interpolate(rng.uniform(0.25, 0.75), normalized=True).coords[0])
            direction = (centre - p0) / np.hypot(*(centre - p0))
            p1 = p0 + direction * rng.uniform(30, 70)
            lit = weighted(rng, {"yes": 0.4, "": 0.6})
            tags = {"highway": "service",
                    "service": weighted(rng, {"driveway": 0.4, "parking_aisle": 0.3,
                                              "alley": 0.1, "": 0.2})}
            if not tags["service"]:
                del tags["service"]
            if lit:
                tags["lit"] = lit
            roads_extra.append(Line(densify(np.array([p0, p1]), 30.0), tags, is_road=True,
                                    run=-3, lamps=(lamp_params(
                                        "service", lit, rng, base_offset_m=2.5,
                                        owner="Privat", dark_gap=False)
                                        if note == NOTE_STROMSTAD else None)))
        p_path = 1.0 if ij in school_cells else 0.6 if r < 900 else 0.45 if r < 1600 else 0.3
        if rng.random() >= p_path * path_p:
            continue
        axes = [("left", "right"), ("bottom", "top")]
        if rng.random() < 0.5:
            axes.reverse()
        pair = next(((a, b) for a, b in axes if a in sides and b in sides), None)
        if pair is None:
            continue
        a, b = g.edge_mid(*sides[pair[0]]), g.edge_mid(*sides[pair[1]])
        perp = np.array([-(b - a)[1], (b - a)[0]]) / np.hypot(*(b - a))
        coords = bezier(a, (a + b) / 2 + perp * rng.normal(0, 25), b, 20.0)
        hw = ("footway" if r < 1500 or ij in school_cells
              else weighted(rng, {"path": 0.7, "footway": 0.3}))
        tags = path_tags(rng, hw, r)
        if ij in school_cells:
            tags["lit"] = "yes" if rng.random() < 0.6 else ""
            if not tags["lit"]:
                del tags["lit"]
        geom = LineString(coords)
        if hw == "footway" and rng.random() < steps_p and geom.length > 80:
            t0 = geom.length * rng.uniform(0.3, 0.5)
            t1 = t0 + rng.uniform(12, 30)
            stags = {"highway": "steps", "step_count": str(round((t1 - t0) / 0.33)),
                     "handrail": "yes" if rng.random() < 0.6 else "no", "incline": "up"}
            if "lit" in tags:
                stags["lit"] = tags["lit"]
            for s0, s1, tg in ((0.0, t0, tags), (t1, geom.length, tags)):
                paths += free_path(np.asarray(substring(geom, s0, s1).coords), dict(tg),
                                   roads, rng, signals)
            paths.append(Line(np.asarray(substring(geom, t0, t1).coords), stags, split=False))
        else:
            paths += free_path(coords, tags, roads, rng, signals)
    return roads_extra, paths


def removed_edge_paths(g: GridTown, rng: np.random.Generator, roads: RoadIndex,
                       signals: np.ndarray, half_extent_m: float) -> list[Line]:
    """Footways, paths and tracks along grid edges that have no road."""
    out: list[Line] = []
    for kind in ("H", "V"):
        shape = g.keep[kind].shape
        for i in range(shape[0]):
            for j in range(shape[1]):
                if g.keep[kind][i, j]:
                    continue
                (i0, j0), (i1, j1) = g.ends(kind, i, j)
                if g.degree(i0, j0) == 0 and g.degree(i1, j1) == 0:
                    continue
                coords = g.edge(kind, i, j)
                if np.abs(coords).max() > half_extent_m:
                    continue
                r = g.edge_r(kind, i, j)
                u = rng.random()
                if r < 900:
                    hw = "footway" if u < 0.7 else None
                elif r < 1600:
                    hw = "footway" if u < 0.25 else "path" if u < 0.6 else None
                else:
                    hw = "path" if u < 0.2 else "track" if u < 0.5 else None
                if hw is None:
                    continue
                t = np.linspace(0, 1, len(coords))
                d = np.diff(coords[[0, -1]], axis=0)[0]
                perp = np.array([-d[1], d[0]]) / np.hypot(*d)
                wob = (rng.normal(0, 18) * np.sin(np.pi * t)
                       + rng.normal(0, 6) * np.sin(2 * np.pi * t))
                out += free_path(coords + perp * wob[:, None], path_tags(rng, hw, r), roads,
                                 rng, signals)
    return out


def forest_tracks(g: GridTown, rng: np.random.Generator, roads: RoadIndex,
                  signals: np.ndarray, count: int, min_r: float, length_m: tuple[float, float],
                  half_extent_m: float) -> list[Line]:
    """Tracks and paths leading out of the town from outer grid nodes."""
    starts = [(i, j) for i in range(g.n) for j in range(g.n)
              if g.degree(i, j) > 0 and np.hypot(*g.node(i, j)) > min_r]
    out: list[Line] = []
    for k in rng.permutation(len(starts))[:count]:
        p0 = g.node(*starts[int(k)])
        heading = math.atan2(p0[1], p0[0]) + rng.normal(0, 0.6)
        total = rng.uniform(*length_m)
        pts = [p0]
        for _ in range(4):
            heading += rng.normal(0, 0.45)
            pts.append(pts[-1] + total / 4 * np.array([math.cos(heading), math.sin(heading)]))
        curve = catmull_rom(np.array(pts), 20.0)
        inside = np.abs(curve).max(axis=1) < half_extent_m
        n_in = int(np.argmin(inside)) if not inside.all() else len(curve)
        if n_in < 3:
            continue
        hw = "track" if rng.random() < 0.7 else "path"
        out += free_path(curve[:n_in], path_tags(rng, hw, 2500.0), roads, rng, signals)
    return out


def force_rare_lit(lines: Sequence[Line], rng: np.random.Generator,
                   wanted: dict[str, int]) -> None:
    """Give a few free-standing footways/paths the rarer ``lit`` values (in place)."""
    cand = [k for k, ln in enumerate(lines)
            if ln.tags.get("highway") in ("footway", "path", "cycleway")
            and "footway" not in ln.tags and "cycleway" not in ln.tags and ln.split]
    picks = rng.permutation(len(cand))
    pos = 0
    for value, count in wanted.items():
        for _ in range(count):
            ln = lines[cand[int(picks[pos])]]
            pos += 1
            ln.tags["lit"] = value
            if value == "limited":
                spacing = float(rng.uniform(60, 90))
            else:
                spacing = float(rng.uniform(26, 34))
            ln.lamps = {"group": "path", "spacing": spacing, "side": 1, "offset": 0.0,
                        "owner": "Strömstads kommun", "lit": value}


def build_stromstad(rng: np.random.Generator) -> Town:
    """The synthetic Strömstad: network, schools and signals (luminaires come later)."""
    frame = Frame(58.937, 11.172)
    g = stromstad_grid(rng)
    namer = Namer(rng, reserved=("Kajgatan",))
    fixed = {"primary": ["Västkustvägen", "Fjordvägen"], "pedestrian": ["Kajgatan"]}
    roads, plans = grid_roads(g, rng, namer, NOTE_STROMSTAD, fixed, True)
    c = g.c
    signals = np.array([g.node(c + 1, j) for j in (c - 1, c + 4, c - 6)]
                       + [g.node(c - 4, c - 1)])
    index = RoadIndex(roads)
    corridor_ctrl = [
        [(-2450, 1500), (-1200, 1100), (0, 1300), (1100, 800), (2450, 1000)],
        [(-2300, -2300), (-1300, -1000), (-400, -300), (600, 400), (1600, 1600),
         (2350, 2400)],
        [(-1700, -2450), (-1900, -1000), (-1500, 200), (-1800, 1500), (-1400, 2450)],
        [(-600, -1900), (200, -1500), (1300, -1700), (2450, -1200)],
        [(300, 2450), (700, 1700), (1300, 1300), (2000, 200), (2450, -400)],
        [(-2450, -600), (-1300, -350), (-700, 300), (-100, 750)],
    ]
    paths = corridors(corridor_ctrl, index, rng, namer, signals, 2560.0, NOTE_STROMSTAD)
    blockers = [LineString(ln.coords) for ln in paths]
    school_specs = [
        ("Strömstiernaskolan", (-350, 450), "0-6", "1"),
        ("Bojarskolan", (950, 1150), "0-6", "1"),
        ("Valemyrsskolan", (-1000, -900), "0-9", "1;2"),
        ("Odelsbergsskolan", (1350, -600), "0-6", "1"),
        ("Strömstad gymnasium", (250, -550), "10-12", "3"),
        ("Skee skola", (2050, 400), "0-6", "1"),
    ]
    taken: set[tuple[int, int]] = set()
    schools: list[dict] = []
    for name, target, grades, isced in school_specs:
        ij = school_cell(g, target, taken, blockers)
        taken.add(ij)
        tags = {"amenity": "school", "name": name, "grades": grades, "isced:level": isced,
                "operator": "Strömstads kommun", "note": NOTE_SCHOOL}
        if name == "Strömstad gymnasium":
            nb = (ij[0] + 1, ij[1])
            if nb in taken or not all(g.keep[k][a, b] for k, a, b
                                      in g.cell_edges(*nb).values()):
                nb = (ij[0] - 1, ij[1])
            taken.add(nb)
            outer_a = shrink(g.cell_corners(*ij), 0.7)
            inner_a = shrink(g.cell_corners(*ij), 0.18)
            outer_b = shrink(g.cell_corners(*nb), 0.5)
            schools.append({"kind": "relation", "tags": tags,
                            "rings": [("outer", outer_a), ("inner", inner_a),
                                      ("outer", outer_b)], "cells": [ij, nb]})
        else:
            schools.append({"kind": "way", "tags": tags,
                            "rings": [("outer", shrink(g.cell_corners(*ij), 0.55))],
                            "cells": [ij]})
    school_cells = {ij for s in schools for ij in s["cells"]}
    paths = sidewalks(g, plans, index, rng, signals) + paths
    roads_extra, block_paths = block_fill(g, rng, index, namer, school_cells, signals,
                                          n_culdesac=30, n_service=45, steps_p=0.07,
                                          note=NOTE_STROMSTAD)
    paths += block_paths
    paths += removed_edge_paths(g, rng, index, signals, 2560.0)
    paths += forest_tracks(g, rng, index, signals, 22, 1700.0, (400.0, 900.0), 2560.0)
    force_rare_lit(paths, rng, {"24/7": 2, "disused": 4, "interval": 3, "automatic": 6,
                                "limited": 10})
    # Koster skola: a school mapped as a node, beside a path near the western edge
    koster = np.array(g.node(1, c)) + np.array([25.0, 20.0])
    schools.append({"kind": "node", "tags": {
        "amenity": "school", "name": "Koster skola", "grades": "0-6", "isced:level": "1",
        "operator": "Strömstads kommun", "note": NOTE_SCHOOL}, "point": koster})
    lines = roads + roads_extra + paths
    net = build_network(lines, rng, signals)
    homes = place_homes(g, lines, school_cells, np.random.default_rng(SEED_HOMES),
                        NOTE_STROMSTAD)
    return Town(frame, NOTE_STROMSTAD, net, lines, schools, signals, homes)


# --------------------------------------------------------------------------- Tanum


def tanum_sidewalks(cls: str, r: float, run_side: int) -> tuple[bool, bool, bool]:
    """Tanumshede: a sidewalk along the main road only (west side) and a cycleway (east)."""
    del run_side
    if cls == "primary":
        return r < 450, False, r < 300
    return False, False, False


def build_tanum(rng: np.random.Generator) -> Town:
    """The synthetic Tanumshede extract: a few roads, ~15 km of paths, 2 schools."""
    frame = Frame(58.723, 11.325)
    g = GridTown(rng, half_n=4, a_m=150.0, b_m=5.0, rotation_deg=8.0, warp_m=35.0,
                 jitter_m=8.0, bulge_m=12.0)
    c = g.c
    for kind in ("H", "V"):
        shape = g.keep[kind].shape
        for i in range(shape[0]):
            for j in range(shape[1]):
                r = g.edge_r(kind, i, j)
                g.keep[kind][i, j] = rng.random() < (0.9 if r < 500 else 0.6)
                g.cls[kind][i, j] = "residential" if r < 600 else "unclassified"
    for j in range(g.n - 1):
        g.keep["V"][c, j] = True
        g.cls["V"][c, j] = "primary"
    for i in range(1, g.n - 2):
        g.keep["H"][i, c - 1] = True
        g.cls["H"][i, c - 1] = "tertiary"
    g.connect_largest()
    g.bulge["V"][c, :] *= 0.2
    namer = Namer(rng, reserved=("Gamla Landsvägen",))
    roads, plans = grid_roads(g, rng, namer, NOTE_TANUM,
                              {"primary": ["Gamla Landsvägen", "Gamla Landsvägen"]}, False,
                              sidewalk_rule=tanum_sidewalks)
    signals = np.zeros((0, 2))
    index = RoadIndex(roads)
    paths = sidewalks(g, plans, index, rng, signals)
    paths += corridors([[(-900, -650), (-300, -200), (200, 150), (850, 500)]], index, rng,
                       namer, signals, 1000.0, NOTE_TANUM, min_rank=RANK["tertiary"])
    blockers = [LineString(ln.coords) for ln in paths if ln.tags.get("name")]
    taken: set[tuple[int, int]] = set()
    schools = []
    for name, target, grades, isced in (("Tanumskolan", (250, 250), "7-9", "2"),
                                        ("Hällristningsskolan", (-300, -350), "0-6", "1")):
        ij = school_cell(g, target, taken, blockers)
        taken.add(ij)
        schools.append({"kind": "way", "tags": {
            "amenity": "school", "name": name, "grades": grades, "isced:level": isced,
            "operator": "Tanums kommun", "note": NOTE_SCHOOL},
            "rings": [("outer", shrink(g.cell_corners(*ij), 0.55))], "cells": [ij]})
    roads_extra, block_paths = block_fill(g, rng, index, namer, taken, signals,
                                          n_culdesac=3, n_service=6, steps_p=0.05,
                                          note=NOTE_TANUM, path_p=0.6)
    paths += block_paths
    paths += removed_edge_paths(g, rng, index, signals, 1000.0)
    paths += forest_tracks(g, rng, index, signals, 10, 450.0, (500.0, 900.0), 1000.0)
    lines = roads + roads_extra + paths
    net = build_network(lines, rng, signals)
    return Town(frame, NOTE_TANUM, net, lines, schools, signals)


# --------------------------------------------------------------------------- luminaires


LIGHT_SOURCES = {"LED": "LED", "HPS": "Högtrycksnatrium", "Hg": "Kvicksilver",
                 "MH": "Metallhalogen", "FL": "Lysrör"}
OSM_LIGHT_METHOD = {"LED": "LED", "HPS": "high_pressure_sodium", "Hg": "mercury",
                    "MH": "metal-halide", "FL": "fluorescent"}


def place_luminaires(town: Town, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Luminaires along the lit runs of *town*, with type, power, height, year, owner.

    Returns
    -------
    dict of ndarray
        Columns ``x``, ``y`` (local metres), ``source`` (LED/HPS/Hg/MH/FL), ``watt``,
        ``height_m``, ``year``, ``owner``, ``status``, ``run``.
    """
    xy = np.array(town.network.reg.xy)
    rows: list[dict] = []
    for run_no, (li, seq) in enumerate(town.network.runs):
        params = town.lines[li].lamps
        if params is None or len(seq) < 2:
            continue
        pts = xy[seq]
        d = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
        if d[-1] < 10.0:
            continue
        spacing = params["spacing"]
        t = np.arange(rng.uniform(0.2, 0.8) * spacing, d[-1], spacing)
        if len(t) == 0:
            continue
        seg = np.clip(np.searchsorted(d, t, side="right") - 1, 0, len(pts) - 2)
        direction = pts[seg + 1] - pts[seg]
        direction /= np.hypot(*direction.T)[:, None]
        normal = np.column_stack([-direction[:, 1], direction[:, 0]])
        base = np.column_stack([np.interp(t, d, pts[:, 0]), np.interp(t, d, pts[:, 1])])
        lateral = params["offset"] + rng.uniform(1.0, 3.0, len(t))
        pos = base + normal * (params["side"] * lateral)[:, None]
        rows.append({"xy": pos, "run": run_no, "group": params["group"],
                     "owner": params["owner"], "lit": params["lit"],
                     "highway": town.lines[li].tags["highway"]})
    # extra lighting at some marked crossings, on a pole at the kerb
    seen: set[int] = set()
    for li, seq in town.network.runs:
        crossings = town.lines[li].crossings
        if not crossings or li in seen:
            continue
        seen.add(li)
        x, y, tags = crossings[0]
        if (tags["crossing"] in ("marked", "zebra", "traffic_signals")
                and math.hypot(x, y) < 1800 and rng.random() < 0.4):
            kerb = xy[seq[0]] + rng.normal(0.0, 1.0, 2)
            rows.append({"xy": kerb[None], "run": -1, "group": "crossing",
                         "owner": "Strömstads kommun", "lit": "yes", "highway": "crossing"})
    # age of each run: an old district in the south-west, renewed centre and main road
    mids = np.array([r["xy"].mean(axis=0) for r in rows])
    old1 = np.exp(-np.sum((mids - [-1000.0, -700.0]) ** 2, axis=1) / (2 * 650.0**2))
    old2 = 0.7 * np.exp(-np.sum((mids - [900.0, -1500.0]) ** 2, axis=1) / (2 * 500.0**2))
    new = 0.8 * np.exp(-np.sum(mids**2, axis=1) / (2 * 450.0**2))
    score = old1 + old2 - new + rng.normal(0.0, 0.35, len(rows))
    for k, r in enumerate(rows):
        if r["owner"] == "Trafikverket":
            score[k] -= 0.6
        if r["group"] == "crossing":
            score[k] = -5.0
    counts = np.array([len(r["xy"]) for r in rows])
    order = np.argsort(-score, kind="stable")
    cum = np.cumsum(counts[order]) / counts.sum()
    source = np.empty(len(rows), dtype=object)
    source[order] = np.where(cum <= 0.07, "Hg", np.where(cum <= 0.45, "HPS", "LED"))
    # metal halide on the pedestrian street and central paths, fluorescent on old paths
    for k, r in enumerate(rows):
        if r["highway"] == "pedestrian":
            source[k] = "MH"
    central_paths = [k for k in order[::-1] if rows[k]["group"] == "path"
                     and np.hypot(*mids[k]) < 900]
    old_paths = [k for k in order if rows[k]["group"] == "path" and source[k] != "LED"]

    def share(key: str) -> float:
        return counts[source == key].sum() / counts.sum()

    for k in central_paths:
        if share("MH") >= 0.025:
            break
        source[k] = "MH"
    for k in old_paths:
        if share("FL") >= 0.015:
            break
        source[k] = "FL"
    cols: dict[str, list] = {k: [] for k in ("x", "y", "source", "watt", "height_m", "year",
                                             "owner", "status", "run", "group")}
    for k, r in enumerate(rows):
        n = len(r["xy"])
        src = np.full(n, source[k], dtype=object)
        if source[k] != "LED":
            src[rng.random(n) < 0.07] = "LED"  # spot replacements after failures
        grp = r["group"]
        base_year = {"LED": rng.integers(2012, 2024), "HPS": rng.integers(1982, 2011),
                     "Hg": rng.integers(1975, 1988), "MH": rng.integers(1996, 2014),
                     "FL": rng.integers(1975, 1994)}
        for q in range(n):
            s = src[q]
            watt = {
                "LED": {"main": [40, 45, 50, 60], "residential": [24, 28, 30, 36, 40],
                        "pedestrian": [20, 24, 30], "service": [20, 24],
                        "path": [15, 18, 20, 24, 30], "crossing": [36, 45]},
                "HPS": {"main": [100, 150], "residential": [70, 100], "pedestrian": [50, 70],
                        "service": [50, 70], "path": [50, 70], "crossing": [100]},
                "Hg": {"main": [125], "residential": [80, 125], "pedestrian": [80],
                       "service": [80], "path": [80], "crossing": [125]},
                "MH": {"main": [100], "residential": [70], "pedestrian": [35, 70],
                       "service": [35], "path": [35, 70], "crossing": [70]},
                "FL": {"main": [58], "residential": [36, 58], "pedestrian": [36],
                       "service": [18, 36], "path": [18, 36], "crossing": [36]},
            }[s][grp]
            height = {"main": [8.0, 9.0, 10.0], "residential": [6.0, 7.0, 8.0],
                      "pedestrian": [4.0, 4.5, 5.0], "service": [5.0, 6.0],
                      "path": [4.0, 4.5, 5.0, 6.0], "crossing": [6.0, 8.0]}[grp]
            cols["x"].append(float(r["xy"][q, 0]))
            cols["y"].append(float(r["xy"][q, 1]))
            cols["source"].append(s)
            cols["watt"].append(int(watt[int(rng.integers(len(watt)))]))
            cols["height_m"].append(float(height[int(rng.integers(len(height)))]))
            year = (int(rng.integers(2012, 2026)) if s == "LED" and src[q] != source[k]
                    else int(np.clip(base_year[s] + rng.integers(-1, 2), 1975, 2025)))
            cols["year"].append(year)
            owner = r["owner"]
            if owner == "Strömstads kommun" and rng.random() < 0.01:
                owner = "Privat"
            cols["owner"].append(owner)
            ur = r["lit"] == "disused" or rng.random() < 0.03
            cols["status"].append("Ur drift" if ur else "I drift")
            cols["run"].append(r["run"])
            cols["group"].append(grp)
    return {k: np.array(v) for k, v in cols.items()}


def fmt_comma(value: float, decimals: int) -> str:
    """Number with a decimal comma (Swedish Excel)."""
    return f"{value:.{decimals}f}".replace(".", ",")


def write_inventory(path: Path, lum: dict[str, np.ndarray], frame: Frame,
                    rng: np.random.Generator) -> list[str]:
    """Write the lighting inventory CSV (cp1252, ``;``, decimal comma, CRLF).

    Returns
    -------
    list of str
        Pole numbers (Stolpnummer) per luminaire, in the order of *lum*.
    """
    n = len(lum["x"])
    ids = np.sort(rng.choice(np.arange(10000, 100000), size=n, replace=False))
    poles = 1000 + np.cumsum(rng.integers(1, 3, n))
    header = "Armatur-ID;Stolpnummer;Ljuskälla;Effekt (W);Ljuspunktshöjd (m);" \
             "Installationsår;Ägare;Status;Nord;Öst"
    blank_pole = rng.random(n) < 0.01
    blank_watt = rng.random(n) < 0.01
    blank_year = rng.random(n) < 0.02
    lines = [header]
    pole_ids = []
    for k in range(n):
        pole = "" if blank_pole[k] else f"S-{poles[k]}"
        pole_ids.append(pole)
        east = frame.e0 + lum["x"][k]
        north = frame.n0 + lum["y"][k]
        lines.append(";".join([
            f"A-{ids[k]:06d}", pole, LIGHT_SOURCES[lum["source"][k]],
            "" if blank_watt[k] else str(int(lum["watt"][k])),
            fmt_comma(float(lum["height_m"][k]), 1),
            "" if blank_year[k] else str(int(lum["year"][k])),
            str(lum["owner"][k]), str(lum["status"][k]),
            fmt_comma(north, 2), fmt_comma(east, 2)]))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return pole_ids


# --------------------------------------------------------------------------- OSM XML


def attr(value: str) -> str:
    """XML attribute value in double quotes."""
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def tag_lines(tags: dict[str, str], indent: str = "  ") -> list[str]:
    """``<tag k v/>`` lines, keys in a fixed order (as given)."""
    return [f"{indent}<tag k={attr(k)} v={attr(v)}/>" for k, v in tags.items() if v != ""]


def write_osm(path: Path, town: Town, lamps: Sequence[tuple[np.ndarray, dict[str, str]]],
              comment: str) -> dict[str, float]:
    """Write *town* as OSM XML (API 0.6 schema) and return walking km per ``highway``.

    Node, way and relation ids are positive and sequential (nodes from 1, ways from
    1 000 001, relations from 2 000 001), written in id order: nodes, ways, relations.
    """
    net = town.network
    reg_xy = np.array(net.reg.xy)
    node_ids: dict[int, int] = {}
    for seq, _, _ in net.ways:
        for k in seq:
            if k not in node_ids:
                node_ids[k] = len(node_ids) + 1
    node_xy = [reg_xy[k] for k in node_ids]
    node_tags = [net.node_tags.get(k, {}) for k in node_ids]
    ways: list[tuple[list[int], dict[str, str]]] = [
        ([node_ids[k] for k in seq], tags) for seq, tags, _ in net.ways]
    relations = []

    def add_node(xy: np.ndarray, tags: dict[str, str]) -> int:
        node_xy.append(np.asarray(xy, dtype=float))
        node_tags.append(tags)
        return len(node_xy)

    def add_ring(corners: np.ndarray, tags: dict[str, str]) -> int:
        ring = [add_node(p, {}) for p in corners]
        ways.append((ring + [ring[0]], tags))
        return 1_000_000 + len(ways)

    for school in town.schools:
        if school["kind"] == "node":
            add_node(school["point"], school["tags"])
        elif school["kind"] == "way":
            add_ring(school["rings"][0][1], school["tags"])
        else:
            members = [(role, add_ring(ring, {})) for role, ring in school["rings"]]
            relations.append((members, {"type": "multipolygon", **school["tags"]}))
    for xy, tags in lamps:
        add_node(xy, tags)
    for corners, tags in town.homes:  # last: the ids of everything else stay as they were
        add_ring(corners, tags)
    n_town = len(node_xy)
    for kind, xy, tags in town.basemap:  # after the homes, for the same reason
        if kind == "node":
            add_node(xy, tags)
        elif kind == "area":
            add_ring(xy, tags)
        else:
            ways.append(([add_node(p, {}) for p in xy], tags))
    lonlat = town.frame.lonlat(np.array(node_xy))
    lat_s = [f"{v:.7f}" for v in lonlat[:, 1]]
    lon_s = [f"{v:.7f}" for v in lonlat[:, 0]]
    # The bounds are those of the town: the basemap features lie inside them.
    lat_lo, lat_hi = min(lat_s[:n_town], key=float), max(lat_s[:n_town], key=float)
    lon_lo, lon_hi = min(lon_s[:n_town], key=float), max(lon_s[:n_town], key=float)
    assert all(float(lat_lo) <= float(v) <= float(lat_hi) for v in lat_s[n_town:]) and all(
        float(lon_lo) <= float(v) <= float(lon_hi) for v in lon_s[n_town:]), \
        "a basemap feature lies outside the town's bounds"
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<!-- {comment} -->",
           f'<osm version="0.6" generator={attr(GENERATOR)}>',
           f'  <bounds minlat="{lat_lo}" minlon="{lon_lo}" '
           f'maxlat="{lat_hi}" maxlon="{lon_hi}"/>']
    for k in range(len(node_xy)):
        head = f'  <node id="{k + 1}" lat="{lat_s[k]}" lon="{lon_s[k]}" version="1"'
        if node_tags[k]:
            out.append(head + ">")
            out += tag_lines(node_tags[k], "    ")
            out.append("  </node>")
        else:
            out.append(head + "/>")
    for w, (refs, tags) in enumerate(ways):
        out.append(f'  <way id="{1_000_001 + w}" version="1">')
        out += [f'    <nd ref="{r}"/>' for r in refs]
        out += tag_lines(tags, "    ")
        out.append("  </way>")
    for r, (members, tags) in enumerate(relations):
        out.append(f'  <relation id="{2_000_001 + r}" version="1">')
        out += [f'    <member type="way" ref="{ref}" role="{role}"/>' for role, ref in members]
        out += tag_lines(tags, "    ")
        out.append("  </relation>")
    out.append("</osm>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8", newline="\n")
    # walking / cycling length, measured like the tests: written lat/lon -> EPSG:3007
    fwd = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    lon = np.array(lon_s, dtype=float)
    lat = np.array(lat_s, dtype=float)
    e, nn = fwd.transform(lon, lat)
    km: dict[str, float] = {}
    for refs, tags in ways:
        hw = tags.get("highway", "")
        if not hw:
            continue
        idx = np.asarray(refs) - 1
        km[hw] = km.get(hw, 0.0) + float(np.hypot(np.diff(e[idx]), np.diff(nn[idx])).sum()) / 1000
    return km


def osm_lamps(lum: dict[str, np.ndarray], poles: Sequence[str], rng: np.random.Generator,
              count: int, note: str) -> list[tuple[np.ndarray, dict[str, str]]]:
    """``highway=street_lamp`` nodes for *count* luminaires of the inventory (same pole ref)
    plus a few private lamps that are not in the inventory."""
    ok = [k for k in range(len(lum["x"])) if poles[k] and lum["status"][k] == "I drift"
          and math.hypot(lum["x"][k], lum["y"][k]) < 1600]
    pick = sorted(rng.choice(ok, size=count, replace=False).tolist())
    out = []
    for k in pick:
        tags = {"highway": "street_lamp", "ref": poles[k], "operator": str(lum["owner"][k]),
                "lamp_type": "electric", "light:method": OSM_LIGHT_METHOD[lum["source"][k]],
                "lamp_mount": "straight_mast", "height": f"{lum['height_m'][k]:g}",
                "note": note}
        out.append((np.array([lum["x"][k], lum["y"][k]]), tags))
    for k in range(max(2, count // 8)):
        k0 = pick[k * 3 % len(pick)]
        xy = np.array([lum["x"][k0], lum["y"][k0]]) + rng.normal(0, 15, 2)
        out.append((xy, {"highway": "street_lamp", "operator": "Privat",
                         "lamp_type": "electric", "light:method": "LED", "note": note}))
    return out


def tanum_lamps(town: Town, rng: np.random.Generator, count: int) -> list:
    """A few ``highway=street_lamp`` nodes along lit roads of the Tanum extract."""
    xy = np.array(town.network.reg.xy)
    out = []
    for li, seq in town.network.runs:
        tags = town.lines[li].tags
        if tags.get("highway") in ("primary", "tertiary") and tags.get("lit") == "yes":
            pts = xy[seq]
            for p in pts[1:-1:3]:
                out.append((p + rng.normal(0, 2.0, 2) + [5.0, 0.0], {
                    "highway": "street_lamp", "lamp_type": "electric",
                    "light:method": weighted(rng, {"LED": 0.6, "high_pressure_sodium": 0.4}),
                    "operator": "Tanums kommun", "note": NOTE_TANUM}))
    pick = sorted(rng.choice(len(out), size=min(count, len(out)), replace=False).tolist())
    return [out[k] for k in pick]


# --------------------------------------------------------------------------- GeoJSON


def ring_lonlat(frame: Frame, pts: np.ndarray) -> list[list[float]]:
    """Closed counter-clockwise ring in lon/lat (RFC 7946 right-hand rule)."""
    poly = orient(Polygon(pts), 1.0)
    ll = frame.lonlat(np.asarray(poly.exterior.coords))
    return [[float(x), float(y)] for x, y in ll.tolist()]


def blob(rng: np.random.Generator, centre: tuple[float, float], radius_m: float,
         n: int) -> np.ndarray:
    """An irregular polygon (n corners) around *centre*."""
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = radius_m * rng.uniform(0.75, 1.2, n)
    return np.column_stack([centre[0] + rad * np.cos(ang), centre[1] + rad * np.sin(ang)])


def write_geojson(path: Path, name: str, features: list[dict], description: str) -> None:
    """A GeoJSON FeatureCollection (EPSG:4326, RFC 7946) with a description member."""
    doc = {"type": "FeatureCollection", "name": name, "description": description,
           "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8",
                    newline="\n")


def priority_areas(frame: Frame, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Strömsdalen (north-east of the centre) and Centrum, as GeoJSON features."""
    shapes = {"Strömsdalen": blob(rng, (1000.0, 1100.0), 560.0, 11),
              "Centrum": blob(rng, (-100.0, 0.0), 430.0, 9)}
    desc = {"Strömsdalen": "Syntetisk avgränsning av bostadsområdet Strömsdalen för "
                           "demodata, inte en verklig stadsdelsgräns.",
            "Centrum": "Syntetisk avgränsning av centrum för demodata, inte en verklig "
                       "stadsdelsgräns."}
    features = [{"type": "Feature",
                 "properties": {"name": k, "description": desc[k],
                                "note": NOTE_STROMSTAD},
                 "geometry": {"type": "Polygon", "coordinates": [ring_lonlat(frame, v)]}}
                for k, v in shapes.items()]
    return features, {k: Polygon(v) for k, v in shapes.items()}


FINDING_TEXT = {
    "belysning": ["Flera lampor är släckta längs gångvägen, mörkt sista biten mot skolan.",
                  "Gångvägen saknar belysning mellan vägen och skolgården.",
                  "Lampan vid cykelstället blinkar och slocknar på kvällen."],
    "vegetation/buskage": ["Höga buskar växer in över gångvägen och skymmer lamporna.",
                           "Häcken vid övergångsstället är för hög, barn syns inte."],
    "skymd sikt/gömställen": ["Skymd passage bakom förrådet, svårt att se vem som kommer.",
                              "Trång gångtunnel med dålig överblick."],
    "gångväg/tillgänglighet": ["Stora hål i asfalten, svårt med rullstol och barnvagn.",
                               "Trappan saknar ledstång och är hal."],
    "trafiksäkerhet/övergångsställe": [
        "Bilar kör fort förbi övergångsstället där barn korsar på väg till skolan.",
        "Övergångsstället är dåligt upplyst, förare ser inte fotgängare."],
    "skadegörelse/klotter/nedskräpning": ["Klotter och krossat glas vid busskuren.",
                                          "Nedskräpat och trasig papperskorg vid bänken."],
    "orientering/överblick": ["Svårt att hitta rätt väg på kvällen, skyltar saknas.",
                              "Stigen delar sig utan vägvisning, lätt att gå fel i mörker."],
    "trygg/positiv plats": ["Välupplyst och öppen plats som känns trygg även sent.",
                            "Ny belysning längs cykelvägen, upplevs som mycket bättre."],
    "övrigt": ["Förslag: bänk och papperskorg vid gångvägen.",
               "Önskemål om fler cykelställ vid skolan."],
}
INTERNAL_NOTES = [
    "Enligt rektor har föräldrar hört av sig om platsen flera gånger.",
    "Vaktmästaren uppger att lampan byttes i våras men har slocknat igen.",
    "Enligt bostadsbolagets förvaltare planeras röjning under hösten.",
    "Kommunpolisen har noterat att ungdomar samlas här sena kvällar.",
    "Enligt elevrådet undviker många elever gångvägen efter mörkrets inbrott.",
    "Kontakta gatuenheten om felanmälan, ärendet är inte registrerat ännu.",
    "",
]
RESPONSIBLE = {"belysning": "kommun gata/park", "vegetation/buskage": "kommun gata/park",
               "skymd sikt/gömställen": "bostadsbolag", "gångväg/tillgänglighet":
               "kommun gata/park", "trafiksäkerhet/övergångsställe": "Trafikverket",
               "skadegörelse/klotter/nedskräpning": "bostadsbolag",
               "orientering/överblick": "kommun gata/park",
               "trygg/positiv plats": "kommun gata/park", "övrigt": "skolan/fastighet"}


def findings(town: Town, rng: np.random.Generator) -> list[dict]:
    """20 synthetic safety-walk findings near the schools and on dark paths."""
    xy = np.array(town.network.reg.xy)
    dark: list[np.ndarray] = []
    for seq, tags, _ in town.network.ways:
        if tags.get("highway") in ("footway", "path", "cycleway", "steps") \
                and tags.get("lit", "") in ("", "no", "limited"):
            dark.append(xy[seq].mean(axis=0))
    dark_pts = np.array(dark)
    centres = []
    for s in town.schools:
        centres.append(s["point"] if s["kind"] == "node" else s["rings"][0][1].mean(axis=0))
    cats = list(FINDING_TEXT)
    chosen: list[tuple[np.ndarray, str]] = []
    for k, c in enumerate(centres):
        d = np.hypot(*(dark_pts - c).T)
        near = np.argsort(d)[:6]
        for q in rng.choice(near, size=2, replace=False):
            chosen.append((dark_pts[int(q)] + rng.normal(0, 6, 2), f"school-{k}"))
    while len(chosen) < 19:
        q = int(rng.integers(len(dark_pts)))
        chosen.append((dark_pts[q] + rng.normal(0, 6, 2), "path"))
    chosen.append((centres[0] + np.array([40.0, -30.0]), "script"))
    out: list[dict[str, Any]] = []
    ll = town.frame.lonlat(np.array([p for p, _ in chosen]))
    states = {"ny": 0.3, "bedömd": 0.25, "planerad": 0.2, "åtgärdad": 0.15,
              "avslutad utan åtgärd": 0.1}
    for k, ((_, why), (lon, lat)) in enumerate(zip(chosen, ll.tolist(), strict=True)):
        walk = "demo-2024-1" if k % 2 == 0 else "demo-2024-2"
        if why == "script":
            cat = "övrigt"
            text = "Testfynd för visning av specialtecken: <script>alert(1)</script> & \"citat\"."
        else:
            cat = cats[int(rng.integers(len(cats)))] if rng.random() > 0.45 else "belysning"
            options = FINDING_TEXT[cat]
            text = options[int(rng.integers(len(options)))]
        minute = int(rng.integers(0, 120))
        if walk == "demo-2024-1":
            created = f"2024-10-15T{18 + minute // 60:02d}:{minute % 60:02d}:00+02:00"
        else:
            created = f"2024-11-12T{17 + minute // 60:02d}:{minute % 60:02d}:00+01:00"
        out.append({"type": "Feature", "properties": {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"trygga-strak/demo/finding/{k}")),
            "walk_id": walk, "created": created, "category": cat,
            "severity": 1 if cat == "trygg/positiv plats" else int(rng.integers(1, 4)),
            "description": text,
            "internal_note": INTERNAL_NOTES[int(rng.integers(len(INTERNAL_NOTES)))],
            "state": weighted(rng, states), "responsible": RESPONSIBLE[cat]},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    out.sort(key=lambda f: (f["properties"]["created"], f["properties"]["id"]))
    # When each fixed finding was fixed: 3–8 weeks after the walk, from a stream of its own
    # (in the sorted order), so the report of every clone shows the same times to fix.
    rng_fix = np.random.default_rng(SEED_FIXES)
    for f in out:
        p = f["properties"]
        if p["state"] == "åtgärdad":
            days = int(rng_fix.integers(FIX_DAYS[0], FIX_DAYS[1] + 1))
            day = datetime.fromisoformat(p["created"]).date() + timedelta(days=days)
            p["fixed"] = day.isoformat()
    return out


# --------------------------------------------------------------------------- follow-up


#: Schools designated for the yearly safety walks (as in data/stromstad/profile.toml).
DESIGNATED_SCHOOLS = ("Strömstiernaskolan", "Bojarskolan")
#: Standard mercury-vapour lamp sizes (W) for the luminaires converted to LED in 2024.
HG_WATTS = (50, 80, 125, 250)
#: Lumen per watt of LED and Hg in the lighting model (gis.lighting_model.SOURCE_DEFAULTS,
#: efficacy × maintenance factor): a converted luminaire gave no more light before.
LED_LM_PER_W, HG_LM_PER_W = 110.0 * 0.85, 45.0 * 0.70


def school_centres(town: Town) -> dict[str, np.ndarray]:
    """Centre of each school (local metres): its node, or its first ring's centroid."""
    return {s["tags"]["name"]: (s["point"] if s["kind"] == "node"
                                else s["rings"][0][1].mean(axis=0)) for s in town.schools}


def inventory_2023(out_dir: Path, town: Town, lum: dict[str, np.ndarray],
                   areas: dict[str, Polygon]) -> dict[str, int]:
    """Write ``belysning_demo_2023.csv``: the inventory at the turn of 2023/2024.

    Derived from ``belysning_demo.csv`` (the inventory at the turn of 2024/2025, read back
    from *out_dir*; its rows are in the order of *lum*) by undoing the lighting work of
    2024, so that the yearly report has something to follow up:

    * **new lighting** – the luminaires at marked crossings, and those of every all-LED
      path run whose luminaires lie, on average, within 300 m of a designated school or
      inside Strömsdalen, did not exist yet;
    * **LED conversions** – every LED luminaire installed in 2024 was a mercury-vapour
      (Hg) luminaire, of the largest standard size giving no more light than the LED, and
      installed 1975–1988.

    The install years of the other luminaires in ``belysning_demo.csv`` are left as they
    are, so they do not always agree with this history (synthetic data).

    Returns
    -------
    dict
        ``removed`` and ``converted`` luminaire counts.
    """
    rng = np.random.default_rng(SEED + 2)
    text = (out_dir / "belysning_demo.csv").read_bytes().decode("cp1252")
    header, *rows = [r for r in text.split("\r\n") if r]
    assert len(rows) == len(lum["x"]), "inventory rows do not match the luminaires"
    centres = school_centres(town)
    runs = lum["run"]
    new_runs: set[int] = set()
    for run in sorted(set(runs.tolist()) - {-1}):
        k = np.flatnonzero(runs == run)
        if lum["group"][k[0]] != "path" or not np.all(lum["source"][k] == "LED"):
            continue
        mid = np.array([lum["x"][k].mean(), lum["y"][k].mean()])
        near = any(float(np.hypot(*(mid - centres[n]))) <= 300.0 for n in DESIGNATED_SCHOOLS)
        if near or areas["Strömsdalen"].contains(Point(mid)):
            new_runs.add(run)
    lines = [header]
    removed = converted = 0
    for k, row in enumerate(rows):
        cells = row.split(";")
        if lum["group"][k] == "crossing" or int(runs[k]) in new_runs:
            removed += 1
            continue
        if cells[2] == "LED" and cells[5] == "2024":
            led_w = int(cells[3]) if cells[3] else 30
            fits = [w for w in HG_WATTS if w * HG_LM_PER_W <= led_w * LED_LM_PER_W]
            cells[2] = LIGHT_SOURCES["Hg"]
            cells[3] = str(max(fits, default=HG_WATTS[0])) if cells[3] else ""
            cells[5] = str(int(rng.integers(1975, 1989)))
            converted += 1
        lines.append(";".join(cells))
    (out_dir / "belysning_demo_2023.csv").write_bytes(
        ("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return {"removed": removed, "converted": converted}


#: Demo activity log: promise id -> (total in 2024, most per entry, places, notes).
ACTIVITY_PLAN: dict[str, tuple[int, int, tuple[str, ...], tuple[str, ...]]] = {
    "trafikkontroller": (92, 4, ("Västkustvägen", "Fjordvägen", "Centrum", "Skee"),
                         ("Hastighetskontroll.", "Nykterhetskontroll.",
                          "Kontroll av cykelbelysning.", "")),
    "patruller": (31, 2, ("Centrum", "Strömsdalen", "Hamnen", "Kajgatan"),
                  ("Fotpatrull kvällstid.", "Cykelpatrull längs gång- och cykelvägar.", "")),
    "skolbesok": (34, 2, ("Strömstiernaskolan", "Bojarskolan", "Valemyrsskolan",
                          "Strömstad gymnasium", "Fritidsgården"),
                  ("Lektion om trafiksäkerhet.", "Besök på fritidsgården.", "")),
    "grannsamverkan": (1, 1, ("Stadshuset",), ("Informationsträff om båtsamverkan.",)),
    "dialogmoten": (2, 1, ("Föreningslokalen i Strömsdalen", "Stadshuset"),
                    ("Dialogmöte om tryggheten i området.",)),
}
#: Activities logged for promises without a number (their status comes from milestones);
#: drawn from their own random stream (:data:`SEED_MILESTONES`), after the entries above.
MILESTONE_ACTIVITY_PLAN: dict[str, tuple[int, int, tuple[str, ...], tuple[str, ...]]] = {
    "foraldramoten": (3, 1, ("Strömstiernaskolan", "Strömstad gymnasium"),
                      ("Föräldramöte om narkotikaläget.",)),
    "bedrageri-aldre": (4, 1, ("Träffpunkten", "Biblioteket"),
                        ("Information om telefonbedrägerier.",)),
    "hundsok": (2, 1, ("Strömstad gymnasium",), ("Träning med narkotikasökhund.",)),
}
#: Demo milestones: promise id -> ((step, first day, last day, public note), ...). The
#: date of each step is drawn between its first and last day. Promises left out have no
#: milestone (they show as "ej påbörjat").
MILESTONE_PLAN: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "narkotika-unga": (("påbörjat", "2023-03-27", "2023-05-31",
                        "Gemensam plan mot nyrekrytering till narkotikabrott."),),
    "narkotika-krog": (("påbörjat", "2023-04-01", "2023-06-30",
                        "Samverkansgrupp för krogmiljön startad."),
                       ("genomfört", "2024-05-01", "2024-06-30",
                        "Gemensamma krogbesök under sommarsäsongen genomförda.")),
    "krogar-mot-knark": (("påbörjat", "2023-09-01", "2023-10-31",
                          "Första utbildningen i krogar mot knark för krögare."),),
    "hundsok": (("påbörjat", "2024-01-15", "2024-02-28",
                 "Överenskommelse med skolorna om träningslokaler."),
                ("genomfört", "2024-09-01", "2024-10-31",
                 "Träning i högstadiets och gymnasiets lokaler genomförd.")),
    "foraldramoten": (("påbörjat", "2024-01-08", "2024-02-15",
                       "Planering av informationsmöten för föräldrar påbörjad."),),
    "postnord": (("påbörjat", "2023-05-01", "2023-06-30",
                  "Kontaktvägar med PostNord upprättade."),
                 ("genomfört", "2023-10-01", "2023-11-30",
                  "Rutin för informationsutbyte vid misstänkta försändelser klar.")),
    "bedrageri-aldre": (("påbörjat", "2023-10-01", "2023-11-15",
                         "Informationsinsatser för äldre startade."),),
    "vagledning-vald": (("påbörjat", "2024-02-01", "2024-03-31",
                         "Arbetet med vägledningen påbörjat."),
                        ("genomfört", "2024-10-15", "2024-11-29",
                         "Vägledningen antagen och införd för chefer.")),
    "samverkan-tanum": (("påbörjat", "2023-08-15", "2023-09-29",
                         "Gemensam arbetsgrupp Strömstad–Tanum startad."),
                        ("genomfört", "2024-04-02", "2024-05-31",
                         "Gemensam trygghetsvandring och lägesbild med Tanum.")),
}

#: Note that appears in the demo log and must never reach a public output.
INTERNAL_ACTIVITY_NOTE = ("Intern anteckning: samordnat med kommunpolisen, "
                          "uppgifter om enskilda finns i ärendet.")


def activities_demo(out_dir: Path, frame: Frame) -> dict[str, int]:
    """Write ``aktiviteter_demo.csv``: a year (2024) of activity log entries.

    UTF-8 with BOM, ``;``, decimal comma, CRLF; columns ``datum;löfte;antal;plats;lat;
    lon;anteckning`` (the format of :mod:`promises.activities`). Totals per promise are
    :data:`ACTIVITY_PLAN`: some yearly targets of the register are met, some not
    (``vnr-konferens`` has no entries at all). The dialogue meetings
    carry a point (lat/lon); one traffic control carries :data:`INTERNAL_ACTIVITY_NOTE`.

    Returns
    -------
    dict
        Total count per promise id.
    """
    rng = np.random.default_rng(SEED + 3)
    entries: list[tuple[str, str, int, str, str, str, str]] = []
    days = np.arange(np.datetime64("2024-01-08"), np.datetime64("2024-12-20"))
    for pid, (total, most, places, notes) in ACTIVITY_PLAN.items():
        left = total
        counts: list[int] = []
        while left > 0:
            counts.append(min(left, int(rng.integers(1, most + 1))))
            left -= counts[-1]
        dates = np.sort(rng.choice(days, size=len(counts), replace=False))
        for i, (d, c) in enumerate(zip(dates, counts, strict=True)):
            place = places[i % len(places)] if pid in ("grannsamverkan", "dialogmoten") \
                else places[int(rng.integers(len(places)))]
            lat = lon = ""
            if pid == "dialogmoten":
                lon_lat = frame.lonlat(np.array([[1000.0 - 150.0 * i, 1100.0 - 40.0 * i]]))[0]
                lat, lon = fmt_comma(float(lon_lat[1]), 5), fmt_comma(float(lon_lat[0]), 5)
            entries.append((str(d), pid, c, place, lat, lon,
                            notes[int(rng.integers(len(notes)))]))
    rng_m = np.random.default_rng(SEED_MILESTONES)
    for pid, (total, _most, places, notes) in MILESTONE_ACTIVITY_PLAN.items():
        dates = np.sort(rng_m.choice(days, size=total, replace=False))
        for i, d in enumerate(dates):
            entries.append((str(d), pid, 1, places[i % len(places)], "", "",
                            notes[i % len(notes)]))
    first_control = next(i for i, e in enumerate(entries) if e[1] == "trafikkontroller")
    entries[first_control] = (*entries[first_control][:6], INTERNAL_ACTIVITY_NOTE)
    entries.sort(key=lambda e: (e[0], e[1], e[3]))
    lines = ["datum;löfte;antal;plats;lat;lon;anteckning"]
    lines += [";".join([d, pid, str(c), place, lat, lon, note])
              for d, pid, c, place, lat, lon, note in entries]
    (out_dir / "aktiviteter_demo.csv").write_bytes(
        ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return {pid: plan[0] for pid, plan in {**ACTIVITY_PLAN, **MILESTONE_ACTIVITY_PLAN}.items()}


def milestones_demo(out_dir: Path) -> int:
    """Write ``milstolpar_demo.csv``: the demo milestones of :data:`MILESTONE_PLAN`.

    UTF-8 with BOM, ``;``, CRLF; columns ``datum;löfte;steg;notering`` (the format of
    :mod:`promises.milestones`). Dates come from their own random stream.

    Returns
    -------
    int
        Milestones written.
    """
    rng = np.random.default_rng(SEED_MILESTONES + 1)
    rows: list[tuple[str, str, str, str]] = []
    for pid, steps in MILESTONE_PLAN.items():
        for step, first, last, note in steps:
            span = np.arange(np.datetime64(first), np.datetime64(last) + 1)
            rows.append((str(rng.choice(span)), pid, step, note))
    rows.sort()
    lines = ["datum;löfte;steg;notering", *(";".join(r) for r in rows)]
    (out_dir / "milstolpar_demo.csv").write_bytes(
        ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return len(rows)


# --------------------------------------------------------------------------- basemap

#: Invented names of the basemap features (plausible for the coast of Bohuslän).
SEA_NAME = "Strömsfjorden"
LAKE_NAMES = ("Lillsjön", "Kärrtjärnet", "Långevattnet")
PARK_NAMES = ("Stadsparken", "Ekparken", "Skolparken", "Tallparken")
#: (place, name, local x/y in metres): the town, its districts, a village and hamlets.
PLACES: tuple[tuple[str, str, tuple[float, float]], ...] = (
    ("town", "Strömstad", (-850.0, 700.0)),  # beside the centre, clear of the top-10 marks
    ("suburb", "Strömsdalen", (1000.0, 1250.0)),
    ("suburb", "Valemyr", (-1050.0, -1050.0)),
    ("suburb", "Odelsberg", (1450.0, -800.0)),
    ("village", "Skee", (2150.0, 650.0)),
    ("hamlet", "Mellegården", (-1500.0, 1900.0)),
    ("hamlet", "Vik", (700.0, -2150.0)),
    ("hamlet", "Blomsholm", (2000.0, 2050.0)),
)


def _ring(geom: BaseGeometry) -> list[np.ndarray]:
    """Exterior rings (open, counter-clockwise, 2 m simplified) of a (multi)polygon's parts
    of at least 2 000 m²."""
    parts = getattr(geom, "geoms", [geom])
    out = []
    for part in parts:
        if part.geom_type != "Polygon" or part.area < 2000.0:
            continue
        ring = orient(Polygon(part.exterior), 1.0).simplify(2.0).exterior.coords
        out.append(np.asarray(ring, dtype=float)[:-1])
    return out


def basemap_features(town: Town, lamps: Sequence[tuple[np.ndarray, dict[str, str]]],
                     rng: np.random.Generator) -> list[tuple[str, np.ndarray, dict[str, str]]]:
    """Background features of the synthetic town for the basemap: a sea along the west
    (``natural=bay`` and its ``natural=coastline``), lakes, land use (residential, forest,
    farmland, parks) and place nodes, all invented.

    Everything keeps clear of the town's roads, paths, buildings and schools and lies
    inside the bounds of the town's own nodes (so the file's ``<bounds>`` stay as they
    were). *rng* is the basemap's own stream (:data:`SEED_BASEMAP`).
    """
    note = town.note
    reg_xy = np.array(town.network.reg.xy)
    used = sorted({k for seq, _, _ in town.network.ways for k in seq})
    pts = [reg_xy[used]] + [c for c, _ in town.homes]
    pts += [np.atleast_2d(xy) for xy, _ in lamps]
    for school in town.schools:
        pts += ([np.atleast_2d(school["point"])] if school["kind"] == "node"
                else [ring for _, ring in school["rings"]])
    occupied = np.vstack(pts)
    # The town's bounds are in degrees: their outline in local metres, 3 m inside.
    ll = town.frame.lonlat(occupied)
    (lo_x, lo_y), (hi_x, hi_y) = ll.min(axis=0), ll.max(axis=0)
    t = np.linspace(0.0, 1.0, 101)
    edge = np.vstack([np.column_stack([lo_x + (hi_x - lo_x) * t, np.full_like(t, lo_y)]),
                      np.column_stack([np.full_like(t, hi_x), lo_y + (hi_y - lo_y) * t]),
                      np.column_stack([hi_x - (hi_x - lo_x) * t, np.full_like(t, hi_y)]),
                      np.column_stack([np.full_like(t, lo_x), hi_y - (hi_y - lo_y) * t])])
    fwd = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    ex, ey = fwd.transform(edge[:, 0], edge[:, 1])
    box = Polygon(np.column_stack([np.asarray(ex) - town.frame.e0,
                                   np.asarray(ey) - town.frame.n0])).buffer(-3.0)
    xmin, ymin, xmax, ymax = box.bounds
    built = shapely.union_all([LineString(ln.coords).buffer(25.0) for ln in town.lines]
                              + [Polygon(c).buffer(20.0) for c, _ in town.homes])
    out: list[tuple[str, np.ndarray, dict[str, str]]] = []

    # Sea: west of the westernmost feature in each 60 m band, 90 m off it.
    ys = np.arange(ymin, ymax + 60.0, 60.0)
    ys[-1] = ymax
    west = np.array([occupied[np.abs(occupied[:, 1] - y) < 90.0, 0].min(initial=xmax)
                     for y in ys])
    coast = np.convolve(np.pad(west - 90.0, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    coast = np.minimum(coast, west - 60.0) + rng.normal(0.0, 8.0, len(ys))
    coast = np.clip(coast, xmin, xmax)
    sea = Polygon(np.vstack([[xmin, ymax], np.column_stack([coast, ys])[::-1],
                             [xmin, ymin]])).buffer(0).difference(built).intersection(box)
    edge_zone = box.exterior.buffer(1.0)
    for k, ring in enumerate(sorted(_ring(sea), key=lambda r: -Polygon(r).area)):
        out.append(("area", ring, {"natural": "bay", **({"name": SEA_NAME} if k == 0 else {}),
                                   "note": note}))
        # Its shore is coastline: clockwise, so the land is on the left (OSM's rule); the
        # parts on the edge of the map are not shore.
        shore = LineString(ring[::-1].tolist() + [ring[-1].tolist()]).difference(edge_zone)
        for part in getattr(shore, "geoms", [shore]):
            if part.geom_type == "LineString" and part.length >= 30.0:
                out.append(("line", np.asarray(part.coords, dtype=float),
                            {"natural": "coastline", "note": note}))
    sea_area = shapely.union_all([Polygon(r) for _, r, t in out if t.get("natural") == "bay"]
                                 or [Polygon()])

    # Lakes and parks: in the largest gaps between the town's features.
    free = box.difference(built.buffer(40.0)).difference(sea_area.buffer(60.0))
    grid = np.array([(x, y) for x in np.arange(xmin + 200.0, xmax - 200.0, 100.0)
                     for y in np.arange(ymin + 200.0, ymax - 200.0, 100.0)])
    depth = shapely.distance(shapely.points(grid), free.boundary)
    inside = shapely.contains_xy(free, grid[:, 0], grid[:, 1])
    order = np.argsort(-np.where(inside, depth, -1.0), kind="stable")
    lakes: list[BaseGeometry] = []
    for i in order:
        if len(lakes) == len(LAKE_NAMES) or not inside[i] or depth[i] < 90.0:
            break
        centre = grid[i]
        if any(lake.distance(Point(centre)) < 400.0 for lake in lakes):
            continue
        shape = Polygon(blob(rng, (float(centre[0]), float(centre[1])),
                             min(260.0, 0.75 * float(depth[i])), 13)).buffer(0)
        lake = shape.intersection(free)
        if lake.area > 8000.0:
            lakes.append(lake)
    for lake, name in zip(lakes, LAKE_NAMES, strict=False):
        for ring in _ring(lake)[:1]:
            out.append(("area", ring, {"natural": "water", "water": "lake", "name": name,
                                       "note": note}))
    water = shapely.union_all([sea_area, *lakes])

    # Land use: residential around the homes; parks in gaps inside the town; forest and
    # farmland outside it.
    homes = shapely.union_all([Polygon(c).buffer(45.0) for c, _ in town.homes])
    residential = homes.buffer(30.0).buffer(-40.0).difference(water).intersection(box)
    for ring in sorted(_ring(residential), key=lambda r: -Polygon(r).area):
        if Polygon(ring).area >= 40_000.0:
            out.append(("area", ring, {"landuse": "residential", "note": note}))
    # Parks: in blocks without homes, within 1.6 km of the centre.
    tight = shapely.union_all([LineString(ln.coords).buffer(7.0) for ln in town.lines]
                              + [Polygon(c).buffer(8.0) for c, _ in town.homes])
    inner = box.difference(tight).difference(water.buffer(30.0)) \
        .intersection(Point(0.0, 0.0).buffer(1600.0))
    fine = np.array([(x, y) for x in np.arange(-1600.0, 1601.0, 40.0)
                     for y in np.arange(-1600.0, 1601.0, 40.0)])
    ok = shapely.contains_xy(inner, fine[:, 0], fine[:, 1])
    fine = fine[ok]
    room = shapely.distance(shapely.points(fine), inner.boundary)
    taken: list[Point] = []
    for i in np.argsort(-room, kind="stable"):
        if len(taken) == len(PARK_NAMES) or room[i] < 25.0:
            break
        centre = Point(fine[i])
        if any(p.distance(centre) < 500.0 for p in taken):
            continue
        shape = Polygon(blob(rng, (centre.x, centre.y), min(120.0, 1.3 * float(room[i])), 9))
        rings = sorted(_ring(shape.buffer(0).intersection(inner)),
                       key=lambda r: -Polygon(r).area)
        if rings and Polygon(rings[0]).area > 4000.0:
            out.append(("area", rings[0], {"leisure": "park", "name": PARK_NAMES[len(taken)],
                                           "note": note}))
            taken.append(centre)
    outside = box.difference(homes.buffer(120.0)).difference(water.buffer(20.0)) \
        .difference(built.buffer(5.0))
    centre_dist = np.hypot(grid[:, 0], grid[:, 1])
    for kind, lo, hi, n in (("forest", 900.0, 4000.0, 14), ("farmland", 1500.0, 4000.0, 6)):
        cand = np.flatnonzero((centre_dist > lo) & (centre_dist < hi)
                              & shapely.contains_xy(outside, grid[:, 0], grid[:, 1]))
        if not len(cand):
            continue
        for i in rng.choice(cand, size=min(n, len(cand)), replace=False):
            radius = float(rng.uniform(180.0, 380.0))
            shape = Polygon(blob(rng, (float(grid[i, 0]), float(grid[i, 1])), radius, 12))
            piece = shape.buffer(0).intersection(outside)
            for ring in _ring(piece)[:2]:
                if Polygon(ring).area >= 15_000.0:
                    out.append(("area", ring, {"landuse": kind, "note": note}))
            outside = outside.difference(shape.buffer(10.0))

    # Place names (in the town's bounds, never in the water).
    for place, name, (x, y) in PLACES:
        xy = np.array([x, y]) + rng.normal(0.0, 15.0, 2)
        if not box.contains(Point(xy)) or water.contains(Point(xy)):
            continue
        out.append(("node", xy, {"place": place, "name": name, "note": note}))
    return out


# --------------------------------------------------------------------------- main


def summary(km: dict[str, float]) -> str:
    """One line per highway value with its length in km."""
    return ", ".join(f"{k}={v:.1f}" for k, v in sorted(km.items()) if v > 0)


def generate(out_dir: Path) -> dict:
    """Write all demo files into *out_dir* and return key numbers.

    Raises
    ------
    AssertionError
        When the generated data misses one of the targets (150 km of paths, 3 000-5 000
        luminaires, 150 crossings, ...).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    town = build_stromstad(rng)
    lum = place_luminaires(town, rng)
    n_lum = len(lum["x"])
    assert 3000 <= n_lum <= 5000, f"{n_lum} luminaires, expected 3 000-5 000"
    poles = write_inventory(out_dir / "belysning_demo.csv", lum, town.frame, rng)
    lamps = osm_lamps(lum, poles, rng, 36, NOTE_STROMSTAD)
    comment = ("SYNTHETIC DEMO DATA generated by data/demo/generate_demo.py. Not real "
               "Strömstad data and not OpenStreetMap data: streets, names, paths, lighting "
               "and schools are invented. Licence: EUPL-1.2 / CC0, see data/README.md.")
    town.basemap = basemap_features(town, lamps, np.random.default_rng(SEED_BASEMAP))
    km = write_osm(out_dir / "stromstad_demo.osm", town, lamps, comment)
    walk_km = sum(v for k, v in km.items() if k in WALK_HIGHWAYS)
    assert walk_km >= 150.0, f"only {walk_km:.1f} km of walking/cycling ways"
    n_cross = sum(1 for t in town.network.node_tags.values() if t.get("highway") == "crossing")
    assert n_cross >= 150, f"only {n_cross} crossings"
    features, areas = priority_areas(town.frame, rng)
    write_geojson(out_dir / "prioriterade_omraden_demo.geojson", "prioriterade_omraden_demo",
                  features, "SYNTHETIC demo data (data/demo/generate_demo.py), not real "
                  "Strömstad data.")
    write_geojson(out_dir / "fynd_demo.geojson", "fynd_demo", findings(town, rng),
                  "SYNTHETIC demo safety-walk findings (data/demo/generate_demo.py); all "
                  "texts are invented.")
    rng_t = np.random.default_rng(SEED + 1)
    tanum = build_tanum(rng_t)
    t_comment = comment.replace("Strömstad data", "Tanum data")
    t_km = write_osm(out_dir / "tanum_demo.osm", tanum, tanum_lamps(tanum, rng_t, 12),
                     t_comment)
    t_walk = sum(v for k, v in t_km.items() if k in WALK_HIGHWAYS)
    assert 10.0 <= t_walk <= 20.0, f"Tanum: {t_walk:.1f} km of walking/cycling ways"
    t_cross = sum(1 for t in tanum.network.node_tags.values() if t.get("highway") == "crossing")
    followup = inventory_2023(out_dir, town, lum, areas)
    followup["activities"] = sum(activities_demo(out_dir, town.frame).values())
    followup["milestones"] = milestones_demo(out_dir)
    sources, counts = np.unique(lum["source"], return_counts=True)
    return {"followup": followup, "km": km, "walk_km": walk_km, "crossings": n_cross, "luminaires": n_lum,
            "sources": dict(zip(sources.tolist(), counts.tolist(), strict=True)),
            "tanum_km": t_km, "tanum_walk_km": t_walk, "tanum_crossings": t_cross}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``generate_demo.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: the script's own folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stats = generate(args.out)
    logger.info("Strömstad: %.1f km walking/cycling (%s)", stats["walk_km"],
                summary(stats["km"]))
    logger.info("Strömstad: %d crossings, %d luminaires %s", stats["crossings"],
                stats["luminaires"], stats["sources"])
    logger.info("Tanum: %.1f km walking/cycling (%s), %d crossings", stats["tanum_walk_km"],
                summary(stats["tanum_km"]), stats["tanum_crossings"])
    logger.info("Follow-up: 2023 inventory without %d new and with %d unconverted luminaires, "
                "%d activities", stats["followup"]["removed"], stats["followup"]["converted"],
                stats["followup"]["activities"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
