"""Walk planning: propose a loop route for a safety walk around a designated school.

:func:`plan_walk` proposes a loop of about ``length_m`` metres on the path network that
starts and ends at the school, passes the worst-ranked path segments and the open
findings nearby, and stops at each of them. :func:`write_plan` writes the plan as a
GeoPackage (layers ``route`` and ``stops``) or as GeoJSON (EPSG:4326, RFC 7946).

How the route is found
----------------------
1. **Network.** The paths layer is split at every vertex it shares with another path (OSM
   ways meet at shared nodes, not only at their ends; ways that merely cross, such as a
   bridge over a road, stay unconnected), then into pieces of at most 25 m
   (:func:`gis.segments.segment_paths`), and turned into a graph with
   :func:`gis.school_routes.build_network` (edge weight = length in metres). See
   :func:`walk_network`.
2. **Start.** The network node nearest to the school (its grounds polygon, ties broken by
   the distance to its centre) whose connected part of the network is long enough for a
   loop (at least half of ``length_m``), at most 300 m away.
3. **Targets.** Candidates within ``length_m / 4`` (straight line) of the school grounds
   and reachable on the network:

   * segments that need light: with a ranking (:func:`gis.ranking.rank`), segments with
     ``lighting_status`` ``unlit`` or ``underlit``, worst first by score; without one,
     segments of paths tagged ``lit=no`` in OSM, nearest to the school first;
   * open findings (state type ``open``) that may be shown to residents (not
     ``non_public``, not in a staff-only category), worst first by severity.

   Each candidate gets a priority in 0..1: segments 1.0 for the worst near the school
   falling to 0.5 (ranking), or by closeness to the school (fallback); findings
   0.5 + 0.5 × severity / 3. ``dark=True`` (an evening walk, light condition
   ``mörker``) halves the priority of findings that are not about lighting and takes
   two segments per finding; a daylight walk weighs segments at 0.6, since lighting
   cannot be judged by day, and alternates finding, segment. The candidates are thinned
   to at most ``4 × max_targets`` at least ``length_m / 24`` apart, and the first
   ``max_targets`` at least ``length_m / 12`` (≥ 50 m) apart are picked, so the stops
   spread out.
4. **Loop.** The targets are ordered by their angle around the school and chained with
   shortest paths: school → t1 → t2 … → school. A segment target is walked along (in the
   direction that makes the loop shortest); a finding target is passed on the network
   edge nearest to it. While the loop is longer than ``length_m`` + 25 %, the target that
   saves the most metres per unit of priority is dropped; while it is shorter than
   ``length_m`` − 25 %, the next candidates (by priority) are added, and when those run
   out, "filler" waypoints on a ring around the school are added (no stop) — each time
   the one that keeps the loop within +25 % and brings it closest to ``length_m``. If no
   combination reaches the ±25 % band, the closest loop is returned with a warning.
5. **Stops.** The start, every target, and every other open public finding within 25 m of
   the route, ordered by the distance along the route.

Everything is deterministic: the same inputs give the same plan. All coordinates are in
the profile's metric CRS (e.g. EPSG:3007) and all lengths in metres; only
:func:`write_plan` to GeoJSON reprojects to EPSG:4326.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point

from gis._crs import require_projected
from gis.ranking import DARK_STATUSES, RankingResult
from gis.school_routes import build_network
from gis.score import PATH_TYPE_SV
from gis.segments import segment_paths
from layers.loader import Layers
from walks.categories import CATEGORIES, Category, normalize_text, staff_only_labels
from walks.duplicates import open_findings_mask
from walks.model import WALK_PLANERAD, Stop, Walk

logger = logging.getLogger(__name__)

#: Allowed deviation of the loop length from the requested length (±25 %).
LENGTH_TOLERANCE = 0.25
#: Length of the network pieces, in metres.
NETWORK_PIECE_M = 25.0
#: Snap grid for joining path ends and shared vertices, in metres.
SNAP_M = 0.1
#: Farthest the start node may be from the school grounds, in metres.
MAX_START_DISTANCE_M = 300.0
#: Farthest a finding may be from the network to become a target, in metres.
MAX_FINDING_OFFSET_M = 60.0
#: Open findings within this distance of the route get a stop, in metres.
PASSING_FINDING_M = 25.0
#: Stop kinds.
STOP_KINDS: tuple[str, ...] = ("start", "segment", "finding")
#: Columns of :attr:`WalkPlan.stops` (plus ``geometry``).
STOP_COLUMNS: tuple[str, ...] = (
    "stop_no", "kind", "reason", "segment_id", "finding_id", "distance_along_m",
)
#: Output extension -> OGR driver of :func:`write_plan` (STYLE rule 9).
PLAN_DRIVERS: dict[str, str] = {".gpkg": "GPKG", ".geojson": "GeoJSON"}


def free_walk_id(taken: set[str], wanted: str) -> str:
    """*wanted*, or ``wanted-2``, ``wanted-3`` …: the first id not in *taken* (a second plan
    for the same school and day gets a new id instead of a conflict).

    >>> free_walk_id({"bojarskolan-2025-11-20"}, "bojarskolan-2025-11-20")
    'bojarskolan-2025-11-20-2'
    """
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


class UnknownSchoolError(ValueError):
    """The school name is not in the schools layer; the message lists the schools."""


@dataclass(frozen=True, eq=False)
class WalkPlan:
    """A proposed safety-walk route.

    Attributes
    ----------
    route : LineString
        The loop in the profile CRS (metres); first and last coordinate are the start
        node next to the school.
    length_m : float
        Length of the route in metres.
    stops : GeoDataFrame
        Ordered stops, columns :data:`STOP_COLUMNS` + ``geometry`` (points in the profile
        CRS). ``kind`` is ``start``, ``segment`` or ``finding``; ``reason`` is Swedish
        text; ``segment_id`` is the ranked segment id (``"w123:0004"``) of segment
        stops, ``finding_id`` the UUID of finding stops; ``distance_along_m`` is the
        distance from the start along the route. ``stop_no`` runs 1, 2, … in walking
        order.
    school : str
        The school's name as in the schools layer.
    light : str
        Light condition of the planned walk: ``mörker`` (``dark=True``) or ``dagsljus``.
    target_length_m : float
        The requested length in metres.
    source : str
        Where the segment targets came from: ``ranking`` or ``osm_lit``.
    passed_segment_ids : tuple of str
        Segments needing light (ranking: ``unlit``/``underlit``; fallback: ``lit=no``)
        that the route walks along, worst first.
    crs : str
        The CRS of ``route`` and ``stops``.
    """

    route: LineString
    length_m: float
    stops: gpd.GeoDataFrame
    school: str
    light: str
    target_length_m: float
    source: str
    passed_segment_ids: tuple[str, ...] = ()
    crs: str = ""

    @property
    def dark(self) -> bool:
        """True for an evening walk (light condition ``mörker``)."""
        return self.light == "mörker"

    def to_walk(self, title: str, when: datetime, *, walk_id: str | None = None,
                organiser: str = "", area: str | None = None,
                participants: Mapping[str, int] | None = None) -> Walk:
        """The plan as a :class:`walks.model.Walk` in state ``planerad``.

        Parameters
        ----------
        title : str
            Title of the walk, shown in the protocol.
        when : datetime
            Start date and time, timezone-aware.
        walk_id : str, optional
            Walk id; default ``"<school>-<YYYY-MM-DD>"`` in lower case ASCII, e.g.
            ``"stromstiernaskolan-2025-10-15"``.
        organiser : str
            Organising unit (never a person's name).
        area : str, optional
            Area walked; defaults to the school name.
        participants : mapping, optional
            Expected participants as counts per group (no names).

        Returns
        -------
        Walk
            Route and stops (with their Swedish reasons as labels) in the profile CRS.
        """
        if walk_id is None:
            day = when.date().isoformat() if isinstance(when, datetime) else "datum"
            walk_id = f"{normalize_text(self.school).replace(' ', '-')}-{day}"
        stops = tuple(Stop(Point(g.x, g.y), str(r))
                      for g, r in zip(self.stops.geometry, self.stops["reason"], strict=True))
        return Walk(id=walk_id, title=title, start=when, light=self.light,
                    area=area if area is not None else self.school, school=self.school,
                    route=self.route, stops=stops, organiser=organiser,
                    participants=dict(participants or {}), state=WALK_PLANERAD)


# --------------------------------------------------------------------------------------
# The walking network
# --------------------------------------------------------------------------------------

def walk_network(paths: gpd.GeoDataFrame, piece_m: float = NETWORK_PIECE_M,
                 snap_m: float = SNAP_M) -> tuple[gpd.GeoDataFrame, nx.Graph]:
    """Split paths at shared vertices and into short pieces, and build their graph.

    Parameters
    ----------
    paths : GeoDataFrame
        The paths layer (:data:`layers.schemas.PATHS`), LineStrings in a projected CRS
        (metres), index ``path_id``; needs ``osm_id``, ``path_type`` and ``lit``.
    piece_m : float, default 25
        Longest piece in metres.
    snap_m : float, default 0.1
        Vertices of different paths closer than this (in metres) are one junction.

    Returns
    -------
    (GeoDataFrame, networkx.Graph)
        The pieces (index ``"<path_id>~<k>:<seq>"``, columns of
        :func:`gis.segments.segment_paths` plus ``source_path_id``) and the graph of
        :func:`gis.school_routes.build_network` over them (edges carry ``segment_id`` and
        ``length_m``).
    """
    require_projected(("paths", paths))
    geoms = np.asarray(paths.geometry.values, dtype=object)
    usable = (shapely.get_type_id(geoms) == 1) & ~shapely.is_empty(geoms)
    sub = paths.loc[usable]
    coords, idx = shapely.get_coordinates(np.asarray(sub.geometry.values, dtype=object),
                                          return_index=True)
    pieces: list[Any] = []
    piece_ids: list[str] = []
    src_pos: list[int] = []
    if len(coords):
        keys = np.rint(coords / snap_m).astype(np.int64)
        _, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        pairs = np.unique(np.column_stack([inverse, idx]), axis=0)
        n_paths = np.bincount(pairs[:, 0], minlength=inverse.max() + 1)
        n_seen = np.bincount(inverse, minlength=inverse.max() + 1)
        junction = (n_paths >= 2) | (n_seen >= 2)
        starts = np.r_[0, np.flatnonzero(np.diff(idx)) + 1]
        ends = np.r_[starts[1:], len(idx)]
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            inner = [j for j in range(s + 1, e - 1) if junction[inverse[j]]]
            cuts = [s, *inner, e - 1]
            pid = str(sub.index[idx[s]])
            for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
                pieces.append(shapely.linestrings(coords[a:b + 1]))
                piece_ids.append(f"{pid}~{k:03d}")
                src_pos.append(int(idx[s]))
    src = sub.iloc[src_pos]
    frame = gpd.GeoDataFrame(
        {"osm_id": src["osm_id"].to_numpy(), "path_type": src["path_type"].to_numpy(),
         "lit": src["lit"].to_numpy(), "source_path_id": src.index.astype(str).to_numpy()},
        geometry=gpd.array.from_shapely(np.asarray(pieces, dtype=object), crs=paths.crs),
        index=pd.Index(piece_ids, name="path_id", dtype=object), crs=paths.crs)
    with warnings.catch_warnings():
        # Zero-length pieces (repeated vertices) are dropped; that is expected here.
        warnings.simplefilter("ignore")
        segs = segment_paths(frame, piece_m)
    segs["source_path_id"] = frame["source_path_id"].reindex(segs["path_id"]).to_numpy()
    graph = build_network(segs, snap_m=snap_m)
    return segs, graph


# --------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------

@dataclass
class _Target:
    key: str
    kind: str  # "segment" | "finding" | "filler"
    point: Point
    priority: float
    reason: str = ""
    segment_id: str | None = None
    finding_id: str | None = None
    u: int = -1
    v: int = -1
    edge_m: float = 0.0
    angle: float = 0.0


@dataclass
class _Distances:
    """Memoised single-source Dijkstra distances on the network (metres)."""

    graph: nx.Graph
    cutoff: float
    cache: dict[int, dict[int, float]] = field(default_factory=dict)

    def __call__(self, a: int, b: int) -> float:
        if a == b:
            return 0.0
        for s, t in ((a, b), (b, a)):
            if s in self.cache:
                return self.cache[s].get(t, math.inf)
        self.cache[a] = nx.single_source_dijkstra_path_length(
            self.graph, a, cutoff=self.cutoff, weight="length_m")
        return self.cache[a].get(b, math.inf)


def _find_school(layers: Layers, school_name: str) -> pd.Series:
    schools = layers.schools
    names = schools["name"].astype(str)
    hit = names.str.casefold() == str(school_name).strip().casefold()
    if not hit.any():
        designated = schools["designated"].fillna(False).astype(bool) \
            if "designated" in schools.columns else pd.Series(False, index=schools.index)
        first = sorted(names[designated].tolist())
        rest = sorted(names[~designated].tolist())
        listing = ", ".join(first) if first else "-"
        others = f"; other schools: {', '.join(rest)}" if rest else ""
        raise UnknownSchoolError(
            f"unknown school {school_name!r}. Designated schools: {listing}{others}. "
            "Fix: give one of these names (--school NAME)")
    return schools.loc[hit].iloc[0]


def _start_node(graph: nx.Graph, school_geom: Any, length_m: float) -> int:
    node_xy = graph.graph["node_xy"]
    if len(node_xy) == 0:
        raise ValueError("the paths layer is empty: there is no network to plan a walk on")
    pts = shapely.points(node_xy)
    d_grounds = shapely.distance(school_geom, pts)
    d_centre = shapely.distance(school_geom.centroid, pts)
    comp_of = np.full(len(node_xy), -1)
    n_comp = 0
    for i, comp in enumerate(nx.connected_components(graph)):
        comp_of[np.fromiter(comp, dtype=np.int64)] = i
        n_comp = i + 1
    edges = [(a, w) for a, _, w in graph.edges(data="length_m")]
    comp_len = np.bincount(comp_of[np.array([a for a, _ in edges], dtype=np.int64)],
                           weights=np.array([w for _, w in edges], dtype=float),
                           minlength=n_comp)
    for n in np.lexsort((np.arange(len(node_xy)), d_centre, d_grounds)).tolist():
        if d_grounds[n] > MAX_START_DISTANCE_M:
            break
        if comp_len[comp_of[n]] >= 0.5 * length_m:
            return int(n)
    raise ValueError(f"no connected path network of at least {0.5 * length_m:.0f} m within "
                     f"{MAX_START_DISTANCE_M:.0f} m of the school. Fix: check the paths "
                     "layer around the school, or plan a shorter walk (--length-m)")


def _segment_candidates(layers: Layers, ranked: RankingResult | gpd.GeoDataFrame | None,
                        school_geom: Any, radius_m: float
                        ) -> tuple[gpd.GeoDataFrame, str]:
    """Segments that need light near the school: (frame with priority/reason, source)."""
    if ranked is not None:
        segs = ranked.segments if isinstance(ranked, RankingResult) else ranked
        require_projected(("ranked segments", segs), ("paths", layers.paths))
        dark = segs.loc[segs["lighting_status"].astype(str).isin(DARK_STATUSES)]
        mid = shapely.line_interpolate_point(np.asarray(dark.geometry.values, dtype=object),
                                             0.5, normalized=True)
        near = shapely.distance(school_geom, mid) <= radius_m
        out = dark.loc[near].copy()
        out["point"] = mid[near]
        out = out.sort_values(["rank"], kind="stable")
        # Worst rank near the school = 1.0, falling linearly to 0.5 for the last one.
        out["priority"] = 1.0 - 0.5 * np.arange(len(out)) / max(len(out), 1)
        out["reason_sv"] = [f"Rankad sträcka nr {int(r)}: {t}"
                            for r, t in zip(out["rank"], out["reason"], strict=True)]
        return out, "ranking"
    paths = layers.paths
    unlit = paths.loc[paths["lit"].astype(str).eq("no")]
    if len(unlit) == 0:
        empty = gpd.GeoDataFrame({"priority": [], "reason_sv": [], "point": []},
                                 geometry=gpd.GeoSeries([], crs=paths.crs), crs=paths.crs)
        return empty, "osm_lit"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        segs = segment_paths(unlit, NETWORK_PIECE_M)
    mid = shapely.line_interpolate_point(np.asarray(segs.geometry.values, dtype=object),
                                         0.5, normalized=True)
    dist = shapely.distance(school_geom, mid)
    near = dist <= radius_m
    out = segs.loc[near].copy()
    out["point"] = mid[near]
    out["priority"] = 1.0 - 0.5 * dist[near] / max(radius_m, 1.0)
    names = paths["name"].reindex(out["path_id"]).fillna("").astype(str).to_numpy()
    out["reason_sv"] = [
        "Obelyst enligt OSM (lit=no): " + PATH_TYPE_SV.get(str(t), "väg")
        + (f", {n}" if n and n != "nan" else "")
        for t, n in zip(out["path_type"], names, strict=True)]
    out = out.iloc[np.lexsort((out.index.astype(str).to_numpy(), -out["priority"].to_numpy()))]
    return out, "osm_lit"


def _public_open_findings(findings: gpd.GeoDataFrame | None,
                          categories: Sequence[Category]) -> gpd.GeoDataFrame | None:
    if findings is None or len(findings) == 0:
        return None
    keep = open_findings_mask(findings)
    if "non_public" in findings.columns:
        keep &= ~findings["non_public"].fillna(True).astype(bool)
    keep &= ~findings["category"].astype(str).isin(staff_only_labels(categories))
    return findings.loc[keep]


def _finding_reason(row: pd.Series) -> str:
    state = row.get("state_label", row.get("state", ""))
    desc = " ".join(str(row.get("description", "") or "").split())
    if len(desc) > 100:
        desc = desc[:99] + "…"
    head = f"Öppet fynd: {row['category']} (allvarlighetsgrad {int(row.get('severity', 2))}, " \
           f"{state})"
    return f"{head} – {desc}" if desc else head


# --------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------

def _loop_length(order: Sequence[_Target], start: int, dist: _Distances
                 ) -> tuple[float, list[tuple[int, int]]]:
    """Shortest loop through *order* (each target in its best direction) and the
    chosen (entry, exit) node per target."""
    if not order:
        return 0.0, []
    # Viterbi over the two walking directions of each target edge.
    costs: list[float] = [0.0]
    exits: list[int] = [start]
    back: list[list[int]] = []
    options_all: list[list[tuple[int, int]]] = []
    for t in order:
        options = [(t.u, t.v)] if t.u == t.v else [(t.u, t.v), (t.v, t.u)]
        new_costs, new_back = [], []
        for entry, _exit in options:
            best, arg = math.inf, 0
            for j, (c, x) in enumerate(zip(costs, exits, strict=True)):
                total = c + dist(x, entry) + t.edge_m
                if total < best:
                    best, arg = total, j
            new_costs.append(best)
            new_back.append(arg)
        options_all.append(options)
        back.append(new_back)
        costs = new_costs
        exits = [o[1] for o in options]
    finals = [c + dist(x, start) for c, x in zip(costs, exits, strict=True)]
    k = int(np.argmin(finals))
    total = finals[k]
    chosen: list[tuple[int, int]] = []
    for i in range(len(order) - 1, -1, -1):
        chosen.append(options_all[i][k])
        k = back[i][k]
    chosen.reverse()
    return total, chosen


def _interleave(pool: Sequence[_Target], dark: bool) -> list[_Target]:
    """Candidates in picking order: each kind by priority, taken in turns.

    An evening walk takes two segments per finding (segments first); a daylight walk
    alternates finding, segment (findings first). So both kinds are visited when both
    exist, and the worst of each kind comes first.
    """
    def ranked(kind: str) -> list[_Target]:
        return sorted((t for t in pool if t.kind == kind),
                      key=lambda t: (-round(t.priority, 9), t.key))
    queues = {"segment": ranked("segment"), "finding": ranked("finding")}
    pattern = ("segment", "segment", "finding") if dark else ("finding", "segment")
    out: list[_Target] = []
    i = 0
    while any(queues.values()):
        q = queues[pattern[i % len(pattern)]]
        if q:
            out.append(q.pop(0))
        i += 1
    return out


def _thin(pool: Sequence[_Target], min_gap_m: float, limit: int) -> list[_Target]:
    """The first *limit* candidates (in picking order) at least *min_gap_m* apart."""
    out: list[_Target] = []
    for t in pool:
        if len(out) >= limit:
            break
        if _spaced(t, out, min_gap_m):
            out.append(t)
    return out


def _spaced(t: _Target, chosen: Sequence[_Target], spacing_m: float) -> bool:
    return all(t.point.distance(c.point) >= spacing_m for c in chosen)


def _choose_targets(pool: list[_Target], fillers: list[_Target], start: int,
                    dist: _Distances, length_m: float, max_targets: int, spacing_m: float
                    ) -> tuple[list[_Target], float]:
    lo, hi = length_m * (1 - LENGTH_TOLERANCE), length_m * (1 + LENGTH_TOLERANCE)

    def by_angle(ts: Sequence[_Target]) -> list[_Target]:
        return sorted(ts, key=lambda t: (t.angle, t.key))

    chosen: list[_Target] = []
    for t in pool:
        if len(chosen) >= max_targets:
            break
        if _spaced(t, chosen, spacing_m):
            chosen.append(t)
    order = by_angle(chosen)
    total, _ = _loop_length(order, start, dist)
    # Too long: drop the target that saves the most metres per unit of priority, but keep
    # the best segment and the best finding as long as anything else can go, so the walk
    # still passes both the worst stretch and a reported problem.
    while total > hi and order:
        protected = {max((t for t in order if t.kind == k),
                         key=lambda t: (t.priority, t.key)).key
                     for k in ("segment", "finding") if any(t.kind == k for t in order)}
        best: tuple[bool, float, str] | None = None
        best_order: list[_Target] = []
        best_total = math.inf
        for t in order:
            rest = [o for o in order if o is not t]
            rest_total, _ = _loop_length(rest, start, dist)
            saved = (total - rest_total) if math.isfinite(total) else math.inf
            if not math.isfinite(rest_total):
                continue
            key = (t.key in protected, -(saved / max(t.priority, 1e-6)), t.key)
            if best is None or key < best:
                best, best_order, best_total = key, rest, rest_total
        if best is None:  # every subset unreachable; start over with no target
            best_order, best_total = [], 0.0
        order, total = best_order, best_total
    # Too short: add candidates by priority, then ring fillers.
    used = {t.key for t in order}
    while total < lo:
        added = False
        for t in pool:
            if t.key in used or not _spaced(t, order, spacing_m):
                continue
            trial = by_angle([*order, t])
            trial_total, _ = _loop_length(trial, start, dist)
            if total < trial_total <= hi:
                order, total, added = trial, trial_total, True
                used.add(t.key)
                break
        if added:
            continue
        best_fill: tuple[float, str] | None = None
        best_trial: list[_Target] = order
        best_trial_total = total
        for f in fillers:
            if f.key in used:
                continue
            trial = by_angle([*order, f])
            trial_total, _ = _loop_length(trial, start, dist)
            if total < trial_total <= hi:
                fill_key = (abs(trial_total - length_m), f.key)
                if best_fill is None or fill_key < best_fill:
                    best_fill, best_trial, best_trial_total = fill_key, trial, trial_total
        if best_fill is None:
            break
        order, total = best_trial, best_trial_total
        used.add(best_fill[1])
    return order, total


def _fillers(graph: nx.Graph, reachable: Mapping[int, float], centre: Point,
             length_m: float) -> list[_Target]:
    """Waypoints on rings around the school (no stop), nearest network node each."""
    nodes = np.fromiter(sorted(reachable), dtype=np.int64)
    node_xy = graph.graph["node_xy"][nodes]
    out: list[_Target] = []
    seen: set[int] = set()
    for ring, radius in enumerate((length_m / (2 * math.pi), length_m / 5, length_m / 4)):
        for j in range(12):
            a = -math.pi + (j + 0.5 * (ring % 2)) * math.pi / 6
            ideal = np.array([centre.x + radius * math.cos(a), centre.y + radius * math.sin(a)])
            n = int(nodes[int(np.argmin(np.hypot(*(node_xy - ideal).T)))])
            if n in seen or reachable[n] > length_m / 2:
                continue
            seen.add(n)
            x, y = graph.graph["node_xy"][n]
            out.append(_Target(f"~filler:{n:09d}", "filler", Point(x, y), 0.0, u=n, v=n,
                               angle=math.atan2(y - centre.y, x - centre.x)))
    return out


def _edge_line(graph: nx.Graph, segs: gpd.GeoDataFrame, a: int, b: int) -> np.ndarray:
    seg_id = graph.edges[a, b]["segment_id"]
    xy = shapely.get_coordinates(segs.geometry.loc[seg_id])
    pa = graph.graph["node_xy"][a]
    if np.hypot(*(xy[0] - pa)) > np.hypot(*(xy[-1] - pa)):
        xy = xy[::-1]
    return xy


# --------------------------------------------------------------------------------------
# The planner
# --------------------------------------------------------------------------------------

def plan_walk(layers: Layers, school_name: str, length_m: float = 2000.0, dark: bool = False,
              ranked: RankingResult | gpd.GeoDataFrame | None = None,
              findings: gpd.GeoDataFrame | None = None, *, max_targets: int = 6,
              categories: Sequence[Category] = CATEGORIES) -> WalkPlan:
    """Propose a loop route of about *length_m* metres around a school.

    See the module docstring for the method.

    Parameters
    ----------
    layers : Layers
        From :func:`layers.loader.load_layers`; ``paths`` and ``schools`` are used, in the
        profile's metric CRS.
    school_name : str
        Name of the school (case-insensitive), e.g. ``"Strömstiernaskolan"``.
    length_m : float, default 2000
        Wanted loop length in metres; the result is within ±25 % when the network allows.
    dark : bool, default False
        Plan an evening walk (light condition ``mörker``): lighting targets are preferred.
    ranked : RankingResult or GeoDataFrame, optional
        Output of :func:`gis.ranking.rank` (or its ``segments``), same CRS. Without it the
        planner falls back to paths tagged ``lit=no`` in OSM.
    findings : GeoDataFrame, optional
        Findings (e.g. :meth:`walks.store.FindingStore.findings`), same CRS; open ones that
        may be shown publicly become stops.
    max_targets : int, default 6
        Most target stops picked at first (more may be added to reach the length).
    categories : sequence of Category
        Category table (staff-only categories are never stops).

    Returns
    -------
    WalkPlan

    Raises
    ------
    UnknownSchoolError
        *school_name* is not in the schools layer (the message lists the schools).
    gis._crs.CRSError
        An input is in degrees or in another CRS than the paths.
    ValueError
        No usable network near the school, or a non-positive length.

    Examples
    --------
    >>> plan = plan_walk(layers, "Strömstiernaskolan", 2000, dark=True,
    ...                  ranked=result)  # doctest: +SKIP
    >>> round(plan.length_m / 100) * 100, plan.stops["kind"].tolist()[:2]  # doctest: +SKIP
    (2000, ['start', 'segment'])
    """
    if not (np.isfinite(length_m) and length_m > 0):
        raise ValueError(f"length_m must be a positive length in metres, got {length_m!r}")
    crs = require_projected(("paths", layers.paths), ("schools", layers.schools))
    if findings is not None:
        require_projected(("paths", layers.paths), ("findings", findings))
    school = _find_school(layers, school_name)
    school_geom = school.geometry
    centre = school_geom.centroid
    radius_m = length_m / 4

    segs, graph = walk_network(layers.paths)
    start = _start_node(graph, school_geom, length_m)
    cutoff = 0.65 * length_m * (1 + LENGTH_TOLERANCE)
    reachable = nx.single_source_dijkstra_path_length(graph, start, cutoff=length_m / 2,
                                                      weight="length_m")
    dist = _Distances(graph, cutoff)
    dist.cache[start] = nx.single_source_dijkstra_path_length(graph, start, cutoff=cutoff,
                                                              weight="length_m")

    # Network edges reachable from the start, for snapping targets.
    edges = [(a, b, d["segment_id"], d["length_m"]) for a, b, d in graph.edges(data=True)
             if a in reachable and b in reachable]
    edge_geoms = np.asarray(segs.geometry.loc[[e[2] for e in edges]].values, dtype=object)
    tree = shapely.STRtree(edge_geoms)

    seg_cand, source = _segment_candidates(layers, ranked, school_geom, radius_m)
    open_public = _public_open_findings(findings, categories)
    seg_weight = 1.0 if dark else 0.6

    pool: list[_Target] = []

    def snap(point: Point, max_m: float) -> tuple[int, int, float] | None:
        hit = tree.query_nearest(point, max_distance=max_m, return_distance=False)
        if len(hit) == 0:
            return None
        a, b, _sid, w = edges[int(np.min(hit))]
        return a, b, float(w)

    for seg_id, row in seg_cand.iterrows():
        snapped = snap(row["point"], 1.0)
        if snapped is None:
            continue
        a, b, w = snapped
        pool.append(_Target(f"s:{seg_id}", "segment", row["point"],
                            seg_weight * float(row["priority"]), row["reason_sv"],
                            segment_id=str(seg_id), u=a, v=b, edge_m=w))
    if open_public is not None and len(open_public):
        d_school = shapely.distance(school_geom,
                                    np.asarray(open_public.geometry.values, dtype=object))
        for (fid, row), d in zip(open_public.iterrows(), d_school, strict=True):
            if d > radius_m:
                continue
            snapped = snap(row.geometry, MAX_FINDING_OFFSET_M)
            if snapped is None:
                continue
            a, b, w = snapped
            lighting = str(row["category"]) == "belysning"
            sev = float(row["severity"]) if "severity" in row and pd.notna(row["severity"]) \
                else 2.0
            weight = 1.0 if (lighting or not dark) else 0.5
            priority = weight * (0.5 + 0.5 * min(max(sev, 1.0), 3.0) / 3)
            pool.append(_Target(f"f:{fid}", "finding", row.geometry, priority,
                                _finding_reason(row), finding_id=str(fid), u=a, v=b,
                                edge_m=w))
    for t in pool:
        t.angle = math.atan2(t.point.y - centre.y, t.point.x - centre.x)
    spacing_m = max(length_m / 12, 50.0)
    pool = _thin(_interleave(pool, dark), spacing_m / 2, 4 * max(max_targets, 1))
    fillers = _fillers(graph, reachable, centre, length_m)
    order, total = _choose_targets(pool, fillers, start, dist, length_m, max_targets,
                                   spacing_m)
    logger.debug("pool %s -> order %s (%.0f m)", [(t.key, round(t.priority, 2)) for t in pool],
                 [t.key for t in order], total)
    _, directions = _loop_length(order, start, dist)

    # Build the route: legs between targets plus the target edges walked along.
    node_seq: list[int] = [start]
    stop_at: list[tuple[_Target, int]] = []  # target, index in node_seq of its entry
    for t, (entry, exit_) in zip(order, directions, strict=True):
        leg = nx.shortest_path(graph, node_seq[-1], entry, weight="length_m")
        node_seq.extend(leg[1:])
        stop_at.append((t, len(node_seq) - 1))
        if exit_ != entry:
            node_seq.append(exit_)
    node_seq.extend(nx.shortest_path(graph, node_seq[-1], start, weight="length_m")[1:])

    parts: list[np.ndarray] = []
    cum = [0.0]
    for a, b in zip(node_seq[:-1], node_seq[1:], strict=True):
        parts.append(_edge_line(graph, segs, a, b))
        cum.append(cum[-1] + float(graph.edges[a, b]["length_m"]))
    if parts:
        xy = np.vstack([parts[0]] + [p[1:] for p in parts[1:]])
    else:  # no loop at all: a degenerate route at the start node
        xy = np.repeat(graph.graph["node_xy"][[start]], 2, axis=0)
    route = LineString(xy)
    if not (length_m * (1 - LENGTH_TOLERANCE) <= route.length
            <= length_m * (1 + LENGTH_TOLERANCE)):
        warnings.warn(f"walk plan for {school['name']}: the network gives a loop of "
                      f"{route.length:.0f} m, outside {length_m:.0f} m ± "
                      f"{LENGTH_TOLERANCE:.0%}; returning the closest loop found",
                      UserWarning, stacklevel=2)

    rows: list[dict[str, Any]] = [{
        "kind": "start", "reason": f"Start och mål: {school['name']}", "segment_id": None,
        "finding_id": None, "distance_along_m": 0.0, "geometry": Point(route.coords[0])}]
    for t, i in stop_at:
        if t.kind == "filler":
            continue
        along = cum[i] + (t.edge_m / 2 if t.u != t.v else 0.0)
        rows.append({"kind": t.kind, "reason": t.reason, "segment_id": t.segment_id,
                     "finding_id": t.finding_id, "distance_along_m": along,
                     "geometry": t.point})
    if open_public is not None and len(open_public):
        have = {r["finding_id"] for r in rows}
        near = shapely.distance(route, np.asarray(open_public.geometry.values, dtype=object))
        for (fid, row), d in zip(open_public.iterrows(), near, strict=True):
            if d <= PASSING_FINDING_M and str(fid) not in have:
                rows.append({"kind": "finding", "reason": _finding_reason(row),
                             "segment_id": None, "finding_id": str(fid),
                             "distance_along_m": float(route.project(row.geometry)),
                             "geometry": row.geometry})
    stops = pd.DataFrame(rows)
    stops = stops.iloc[np.lexsort((np.arange(len(stops)),
                                   stops["distance_along_m"].to_numpy()))]
    stops = stops.reset_index(drop=True)
    stops.insert(0, "stop_no", np.arange(1, len(stops) + 1, dtype=np.int64))
    stops["distance_along_m"] = stops["distance_along_m"].astype(float).round(1)
    for c in ("kind", "reason", "segment_id", "finding_id"):
        stops[c] = stops[c].astype(object).where(stops[c].notna(), None)
    stops_gdf = gpd.GeoDataFrame(stops[list(STOP_COLUMNS)],
                                 geometry=gpd.GeoSeries(stops["geometry"].tolist(), crs=crs),
                                 crs=crs)

    # Segments needing light that the route walks along (midpoint within 1 m).
    passed: list[str] = []
    if len(seg_cand):
        mids = np.asarray(seg_cand["point"].to_numpy(), dtype=object)
        on_route = shapely.distance(route, mids) <= 1.0
        passed = [str(i) for i in seg_cand.index[on_route]]
    logger.info("walk plan for %s: %.0f m, %d stop(s), %d target(s) from %s",
                school["name"], route.length, len(stops_gdf), len(order), source)
    return WalkPlan(route=route, length_m=float(route.length), stops=stops_gdf,
                    school=str(school["name"]), light="mörker" if dark else "dagsljus",
                    target_length_m=float(length_m), source=source,
                    passed_segment_ids=tuple(passed), crs=crs.to_string())


# --------------------------------------------------------------------------------------
# Re-routing after the stops were edited
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reroute:
    """A loop through given stops in a given order (:func:`route_through`).

    Attributes
    ----------
    route : LineString
        The loop on the walking network, from the first stop back to it (profile CRS).
    length_m : float
        Its length in metres.
    along_m : tuple of float
        Distance from the start along *route* (metres) at which each stop is reached, in
        the stops' order; never decreasing.
    """

    route: LineString
    length_m: float
    along_m: tuple[float, ...]


def route_through(paths: gpd.GeoDataFrame, points: Sequence[Point], *,
                  max_snap_m: float = MAX_FINDING_OFFSET_M) -> Reroute:
    """The shortest walking loop that visits *points* in their order and returns to the
    first: what a walk route becomes when staff reorder or remove stops.

    Each point is snapped to the nearest node of the walking network
    (:func:`walk_network`; nodes are at most 25 m apart along a path), and consecutive
    points are joined by shortest paths.

    Parameters
    ----------
    paths : GeoDataFrame
        The paths layer, LineStrings in the profile's metric CRS (metres).
    points : sequence of Point
        The stops in walking order, same CRS; at least one.
    max_snap_m : float, default 60
        A stop farther than this (metres) from the network is an error.

    Returns
    -------
    Reroute

    Raises
    ------
    ValueError
        No stops, a stop too far from the network, or two stops with no path between
        them (the message gives the stop's number, 1-based).
    """
    if not points:
        raise ValueError("route_through needs at least one stop")
    segs, graph = walk_network(paths)
    nodes = np.array(sorted(n for n in graph.nodes if graph.degree(n) > 0), dtype=np.int64)
    if not len(nodes):
        raise ValueError("the paths layer has no walking network")
    from scipy.spatial import cKDTree

    node_xy = graph.graph["node_xy"]
    tree = cKDTree(node_xy[nodes])
    pts = shapely.get_coordinates(np.asarray(points, dtype=object))
    d, k = tree.query(pts)
    for i, dist in enumerate(np.asarray(d).tolist()):
        if dist > max_snap_m:
            raise ValueError(f"stop {i + 1} is {dist:.0f} m from the nearest path (more than "
                             f"{max_snap_m:.0f} m): move it onto a path or remove it")
    seq = [int(n) for n in nodes[np.asarray(k)]]
    node_seq = [seq[0]]
    stop_idx = [0]
    for i, target in enumerate([*seq[1:], seq[0]], start=2):
        try:
            leg = nx.shortest_path(graph, node_seq[-1], target, weight="length_m")
        except nx.NetworkXNoPath:
            which = i if i <= len(seq) else 1
            raise ValueError(f"stop {which} cannot be reached on the path network from the "
                             "stop before it: choose stops on connected paths") from None
        node_seq.extend(leg[1:])
        if i <= len(seq):
            stop_idx.append(len(node_seq) - 1)
    cum = [0.0]
    parts: list[np.ndarray] = []
    for a, b in zip(node_seq[:-1], node_seq[1:], strict=True):
        parts.append(_edge_line(graph, segs, a, b))
        cum.append(cum[-1] + float(graph.edges[a, b]["length_m"]))
    if parts:
        xy = np.vstack([parts[0]] + [p[1:] for p in parts[1:]])
    else:  # one stop, or all stops at one node
        xy = np.repeat(node_xy[[seq[0]]], 2, axis=0)
    route = LineString(xy)
    return Reroute(route=route, length_m=float(route.length),
                   along_m=tuple(float(cum[i]) for i in stop_idx))


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------

def _route_frame(plan: WalkPlan) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"school": [plan.school], "light": [plan.light], "length_m": [round(plan.length_m, 1)],
         "target_length_m": [plan.target_length_m], "source": [plan.source],
         "n_stops": [len(plan.stops)]},
        geometry=gpd.GeoSeries([plan.route], crs=plan.stops.crs), crs=plan.stops.crs)


def _stops_frame(plan: WalkPlan) -> gpd.GeoDataFrame:
    out = plan.stops.copy()
    for c in ("segment_id", "finding_id"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def write_plan(plan: WalkPlan, path: str | Path) -> Path:
    """Write a walk plan as a GeoPackage or GeoJSON file, chosen by the extension.

    Parameters
    ----------
    plan : WalkPlan
        From :func:`plan_walk`.
    path : path
        ``.gpkg``: layers ``route`` (one LineString) and ``stops`` (points) in the
        profile CRS. ``.geojson``: one FeatureCollection in EPSG:4326 (RFC 7946,
        longitude/latitude) with the route feature first and then the stops; the
        ``layer`` property says ``route`` or ``stops``. The file is replaced atomically.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        Unsupported extension (the message lists :data:`PLAN_DRIVERS`).
    """
    path = Path(path)
    driver = PLAN_DRIVERS.get(path.suffix.lower())
    if driver is None:
        what = repr(path.suffix) if path.suffix else "a file without an extension"
        raise ValueError(f"cannot write a walk plan as {what}. Fix: use one of "
                         f"{', '.join(PLAN_DRIVERS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    route, stops = _route_frame(plan), _stops_frame(plan)
    tmp = path.parent / f".tmp-plan-{uuid.uuid4().hex}{path.suffix}"
    try:
        if driver == "GPKG":
            route.to_file(tmp, layer="route", driver="GPKG", index=False)
            stops.to_file(tmp, layer="stops", driver="GPKG", index=False, mode="a")
        else:
            both = pd.concat([route.assign(layer="route"), stops.assign(layer="stops")],
                             ignore_index=True)
            cols = ["layer"] + [c for c in both.columns if c not in ("layer", "geometry")]
            gdf = gpd.GeoDataFrame(both[cols], geometry=both.geometry,
                                   crs=plan.stops.crs).to_crs("EPSG:4326")
            gdf.to_file(tmp, driver="GeoJSON", index=False, RFC7946="YES")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("wrote walk plan (%s) to %s", driver, path)
    return path
