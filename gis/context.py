"""Per-segment context: distances to schools and crossings, priority areas, findings.

Every function here is pure and vectorised (shapely 2 ``STRtree`` bulk queries and numpy):
it takes frames, returns new objects aligned to the input index, and never mutates an
argument. All inputs must share one projected (metric) CRS, e.g. EPSG:3007 (SWEREF 99 12
00); distances are in metres. The functions are partition-friendly: run them over a chunk
of segments with the full context layers and concatenate the results.
"""

from __future__ import annotations

import logging
from typing import TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gis._crs import require_projected
from gis.fastquery import (
    SegmentArrays,
    line_vertices,
    midpoints_and_extent,
    nearest_geometries,
    nearest_point_to_lines,
    pairs_within,
    point_line_distance,
)

logger = logging.getLogger(__name__)

#: Finding category that marks a lighting problem (Swedish "belysning").
LIGHTING_CATEGORY = "belysning"

#: Radius in metres for ``crossings_within_50m``.
CROSSING_COUNT_RADIUS_M = 50.0

#: A GeoDataFrame or a GeoSeries.
Frame: TypeAlias = gpd.GeoDataFrame | gpd.GeoSeries


def geometry_array(frame: Frame) -> np.ndarray:
    """The geometries of a GeoDataFrame or GeoSeries as a numpy object array of shapely objects."""
    return np.asarray(frame.geometry.array, dtype=object)


def _check_distance(name: str, value: float | None, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if value is None or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of metres, got {value!r}")


def _require_columns(frames: dict[str, tuple[pd.DataFrame | None, tuple[str, ...]]]) -> None:
    """Raise one ValueError naming every missing column of every frame."""
    problems = []
    for name, (frame, columns) in frames.items():
        if frame is None:
            continue
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            problems.append(f"{name} lacks column(s) {', '.join(map(repr, missing))}")
    if problems:
        raise ValueError("; ".join(problems) + ". Fix: load the layers through layers/ so "
                         "they follow layers.schemas")


def _nearest_positions(geoms: np.ndarray, others: np.ndarray,
                       max_distance_m: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Position in ``others`` of the nearest geometry (-1 if none) and its distance (NaN).

    Ties are broken towards the lowest position in ``others``, so results are deterministic.
    Exact k-NN over bounding discs + GEOS distances on the candidates
    (:func:`gis.fastquery.nearest_geometries`); same results as ``STRtree.query_nearest``.
    """
    return nearest_geometries(geoms, others, max_distance_m)


def _pairs_within(geoms: np.ndarray, others: np.ndarray, radius_m: float) -> np.ndarray:
    """(2, k) array of (position in geoms, position in others) pairs within ``radius_m``."""
    if len(geoms) == 0 or len(others) == 0:
        return np.empty((2, 0), dtype=np.intp)
    return shapely.STRtree(others).query(geoms, predicate="dwithin", distance=radius_m)


def _point_pairs(arrays: SegmentArrays, xy: np.ndarray, radius_m: float) -> np.ndarray:
    """As :func:`_pairs_within` for points ``xy`` (k, 2) on segment ``arrays``: a KD-tree
    radius search around the midpoints widened by the half extents, then exact
    point-to-line distances; (2, k) pairs sorted by segment, then point."""
    if len(arrays) == 0 or len(xy) == 0:
        return np.empty((2, 0), dtype=np.intp)
    si, pj, _ = pairs_within(cKDTree(xy), arrays.mid, radius_m + float(arrays.ext.max()))
    keep = point_line_distance(arrays.verts, si, xy[pj, 0], xy[pj, 1]) <= radius_m
    si, pj = si[keep], pj[keep]
    order = np.argsort(si.astype(np.int64) * len(xy) + pj, kind="stable")
    return np.vstack([si[order], pj[order]])


def _nearest_point_distance(arrays: SegmentArrays, xy: np.ndarray, cap_m: float) -> np.ndarray:
    """Distance (m) from each segment to the nearest of the points ``xy``; NaN beyond
    ``cap_m`` or without points."""
    if len(xy) == 0:
        return np.full(len(arrays), np.nan)
    return nearest_point_to_lines(arrays.verts, arrays.mid, arrays.ext, cKDTree(xy), xy, cap_m)


def _point_xy(geoms: np.ndarray) -> np.ndarray | None:
    """(k, 2) coordinates of plain, non-empty Points; None for anything else."""
    if len(geoms) == 0:
        return np.empty((0, 2))
    if not (shapely.get_type_id(geoms) == shapely.GeometryType.POINT).all():
        return None
    if shapely.is_empty(geoms).any():
        return None
    return shapely.get_coordinates(geoms)


def _midpoints(geoms: np.ndarray) -> np.ndarray:
    """Point at half the length of each line (as ``line_interpolate_point(g, 0.5,
    normalized=True)``), computed on padded vertex arrays for short plain LineStrings
    (segments); GEOS for anything else."""
    if len(geoms) == 0:
        return geoms
    if (shapely.get_type_id(geoms) == shapely.GeometryType.LINESTRING).all() and \
            not shapely.is_empty(geoms).any() and \
            int(shapely.get_num_coordinates(geoms).max()) <= 64:
        mid, _ = midpoints_and_extent(line_vertices(geoms))
        return np.asarray(shapely.points(mid), dtype=object)
    return np.asarray(shapely.line_interpolate_point(geoms, 0.5, normalized=True), dtype=object)


def nearest(segments: Frame, others: Frame, max_distance_m: float | None = None) -> pd.DataFrame:
    """Distance from each segment to the nearest geometry of ``others``, and which one.

    Parameters
    ----------
    segments : GeoDataFrame or GeoSeries
        Segments (any geometry type), in a projected CRS (metres).
    others : GeoDataFrame or GeoSeries
        Candidate geometries, in the same CRS as ``segments``.
    max_distance_m : float, optional
        Search radius in metres. Capping the search is much faster (see BENCH.md) and gives
        identical values inside the cap; segments with nothing within it get NaN.

    Returns
    -------
    DataFrame
        Aligned to ``segments.index``, columns ``distance_m`` (float, metres; NaN when
        nothing within ``max_distance_m`` or ``others`` is empty) and ``other_id`` (the
        index label of the nearest geometry in ``others``; NaN when none). Ties go to the
        first of the tied geometries in ``others``' order.

    Raises
    ------
    gis._crs.CRSError
        When an input is in degrees, has no CRS, or the CRSs differ.
    """
    require_projected(("segments", segments), ("others", others))
    _check_distance("max_distance_m", max_distance_m)
    pos, dist = _nearest_positions(geometry_array(segments), geometry_array(others),
                                   max_distance_m)
    other_id = others.index.take(pos, allow_fill=True, fill_value=np.nan)
    return pd.DataFrame({"distance_m": dist, "other_id": np.asarray(other_id, dtype=object)},
                        index=segments.index)


def nearest_distance_m(segments: Frame, others: Frame,
                       max_distance_m: float | None = None,
                       name: str = "distance_m") -> pd.Series:
    """Distance in metres from each segment to the nearest geometry of ``others``.

    Parameters
    ----------
    segments, others : GeoDataFrame or GeoSeries
        In one projected CRS (metres).
    max_distance_m : float, optional
        Search radius in metres; NaN where nothing lies within it. Cap it at the distance
        the score uses: it is much faster and exact inside the cap.
    name : str, default "distance_m"
        Name of the returned Series.

    Returns
    -------
    Series
        Float distances in metres aligned to ``segments.index``.

    Raises
    ------
    gis._crs.CRSError
        When an input is in degrees, has no CRS, or the CRSs differ.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> seg = gpd.GeoSeries([shapely.LineString([(0, 0), (10, 0)])], crs=3007)
    >>> pts = gpd.GeoSeries([shapely.Point(5, 3)], crs=3007)
    >>> float(nearest_distance_m(seg, pts).iloc[0])
    3.0
    """
    out = nearest(segments, others, max_distance_m)["distance_m"]
    return out.rename(name)


def segment_context(segments: gpd.GeoDataFrame, schools: gpd.GeoDataFrame,
                    crossings: gpd.GeoDataFrame, priority_areas: gpd.GeoDataFrame,
                    findings: gpd.GeoDataFrame | None = None, school_cap_m: float = 2000.0,
                    crossing_cap_m: float = 500.0,
                    findings_radius_m: float = 30.0,
                    arrays: SegmentArrays | None = None) -> pd.DataFrame:
    """Context of each segment for the ranking: schools, crossings, areas, findings.

    Parameters
    ----------
    segments : GeoDataFrame
        Path segments (LineStrings), in a projected CRS (metres).
    schools : GeoDataFrame
        School grounds (``layers.schemas.SCHOOLS``; needs ``name``).
    crossings : GeoDataFrame
        Crossing points (``layers.schemas.CROSSINGS``; needs ``marked``). Only marked
        crossings (``marked`` True) count; missing values count as unmarked.
    priority_areas : GeoDataFrame
        Named priority-area polygons (``layers.schemas.AREAS``; needs ``name``).
    findings : GeoDataFrame, optional
        Safety-walk findings (points) with ``severity`` (integer 1–3; missing counts 0)
        and ``category``. Pass only the findings that should count (e.g. open ones).
    school_cap_m, crossing_cap_m : float
        Search radii in metres for the nearest school and nearest marked crossing.
    findings_radius_m : float
        Radius in metres around the segment within which findings count.
    arrays : SegmentArrays, optional
        :meth:`gis.fastquery.SegmentArrays.of` the segment geometries, if the caller has
        them already; computed here otherwise. With them, the point searches (crossings,
        findings) run on KD-trees and numpy instead of GEOS, with the same results.

    All frames must share the CRS of ``segments``.

    Returns
    -------
    DataFrame
        Aligned to ``segments.index``, columns:

        - ``school_distance_m`` (float, m): to the nearest school grounds; NaN beyond
          ``school_cap_m``.
        - ``nearest_school`` (str): its name, ``''`` when none within the cap.
        - ``crossing_distance_m`` (float, m): to the nearest marked crossing; NaN beyond
          ``crossing_cap_m``.
        - ``crossings_within_50m`` (int): marked crossings within 50 m.
        - ``priority_area`` (str): name of the area containing the segment's midpoint
          (on the boundary counts as inside; the first area in order when they overlap),
          ``''`` when none.
        - ``in_priority_area`` (bool).
        - ``findings_count`` (int), ``findings_severity_sum`` (int): findings within
          ``findings_radius_m``; zero when ``findings`` is None.
        - ``lighting_findings`` (bool): any finding of category ``'belysning'`` within
          ``findings_radius_m``.

    Raises
    ------
    gis._crs.CRSError
        When an input is in degrees, has no CRS, or the CRSs differ.
    ValueError
        When required columns are missing (all listed at once) or a radius is not positive.
    """
    frames: list[tuple[str, Frame]] = [
        ("segments", segments), ("schools", schools), ("crossings", crossings),
        ("priority_areas", priority_areas)]
    if findings is not None:
        frames.append(("findings", findings))
    require_projected(*frames)
    _require_columns({
        "schools": (schools, ("name",)), "crossings": (crossings, ("marked",)),
        "priority_areas": (priority_areas, ("name",)),
        "findings": (findings, ("severity", "category"))})
    for label, value in (("school_cap_m", school_cap_m), ("crossing_cap_m", crossing_cap_m),
                         ("findings_radius_m", findings_radius_m)):
        _check_distance(label, value, allow_none=False)

    geoms = geometry_array(segments)
    n = len(geoms)
    if arrays is None:
        arrays = SegmentArrays.of(geoms)
    elif len(arrays) != n:
        raise ValueError(f"arrays has {len(arrays)} segments, segments {n}. Fix: pass "
                         "SegmentArrays.of(segments.geometry)")
    discs = None if arrays is None else (arrays.mid, arrays.ext)

    # Schools.
    school_pos, school_dist = nearest_geometries(geoms, geometry_array(schools), school_cap_m,
                                                 discs=discs)
    school_names = np.append(
        schools["name"].fillna("").astype(str).to_numpy(dtype=object), "")
    nearest_school = school_names[school_pos]  # -1 picks the trailing ''

    # Marked crossings.
    marked = crossings["marked"].to_numpy(dtype=bool, na_value=False)
    marked_geoms = geometry_array(crossings)[marked]
    marked_xy = _point_xy(marked_geoms) if arrays is not None else None
    if arrays is not None and marked_xy is not None:
        crossing_dist = _nearest_point_distance(arrays, marked_xy, crossing_cap_m)
        pairs = _point_pairs(arrays, marked_xy, CROSSING_COUNT_RADIUS_M)
    else:
        _, crossing_dist = _nearest_positions(geoms, marked_geoms, crossing_cap_m)
        pairs = _pairs_within(geoms, marked_geoms, CROSSING_COUNT_RADIUS_M)
    crossings_within = np.bincount(pairs[0], minlength=n)

    # Priority areas by midpoint.
    area_pos = np.full(n, -1, dtype=np.intp)
    area_geoms = geometry_array(priority_areas)
    if n and len(area_geoms):
        mid_xy = arrays.mid if arrays is not None else shapely.get_coordinates(_midpoints(geoms))
        # A handful of named areas: one vectorised point-in-polygon test per area (the
        # boundary counts as inside), first area in order wins where they overlap.
        for pos in range(len(area_geoms)):
            area = area_geoms[pos]
            if area is None or shapely.is_empty(area):
                continue
            hit = (area_pos < 0) & shapely.intersects_xy(area, mid_xy[:, 0], mid_xy[:, 1])
            area_pos[hit] = pos
    area_names = np.append(
        priority_areas["name"].fillna("").astype(str).to_numpy(dtype=object), "")
    priority_area = area_names[area_pos]

    # Findings.
    findings_count = np.zeros(n, dtype=np.int64)
    severity_sum = np.zeros(n, dtype=np.int64)
    lighting = np.zeros(n, dtype=bool)
    if findings is not None and len(findings):
        finding_geoms = geometry_array(findings)
        finding_xy = _point_xy(finding_geoms) if arrays is not None else None
        if arrays is not None and finding_xy is not None:
            pairs = _point_pairs(arrays, finding_xy, findings_radius_m)
        else:
            pairs = _pairs_within(geoms, finding_geoms, findings_radius_m)
        severity = pd.to_numeric(findings["severity"], errors="coerce").fillna(0)
        severity_arr = severity.to_numpy(dtype=float)
        is_light = (findings["category"].astype("string").str.strip().str.lower()
                    .eq(LIGHTING_CATEGORY).fillna(False).to_numpy(dtype=bool))
        findings_count = np.bincount(pairs[0], minlength=n).astype(np.int64)
        severity_sum = np.rint(np.bincount(pairs[0], weights=severity_arr[pairs[1]],
                                           minlength=n)).astype(np.int64)
        lighting = np.bincount(pairs[0], weights=is_light[pairs[1]].astype(float),
                               minlength=n) > 0

    return pd.DataFrame({
        "school_distance_m": school_dist,
        "nearest_school": pd.array(nearest_school, dtype="str"),
        "crossing_distance_m": crossing_dist,
        "crossings_within_50m": crossings_within.astype(np.int64),
        "priority_area": pd.array(priority_area, dtype="str"),
        "in_priority_area": area_pos >= 0,
        "findings_count": findings_count,
        "findings_severity_sum": severity_sum,
        "lighting_findings": lighting,
    }, index=segments.index)


def nearest_name(features: Frame, named: gpd.GeoDataFrame, own: pd.Series | None = None,
                 max_distance_m: float = 60.0) -> pd.DataFrame:
    """The street or place name that says where each feature is.

    A feature's own name (*own*, e.g. a named path) wins; otherwise the name of the
    nearest geometry of *named* (e.g. the named streets) within *max_distance_m*.

    Parameters
    ----------
    features : GeoDataFrame or GeoSeries
        Segments, packages or points in a projected CRS (metres).
    named : GeoDataFrame
        Geometries with a non-empty ``name`` column, in the same CRS.
    own : Series of str, optional
        The features' own names, aligned to ``features.index``; blank or missing where
        they have none.
    max_distance_m : float
        Search radius in metres for the nearest named geometry.

    Returns
    -------
    DataFrame
        Aligned to ``features.index``: ``name`` (str, "" when none) and ``distance_m``
        (0 for an own name, the distance to the named geometry, NaN when none).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> seg = gpd.GeoSeries([shapely.LineString([(0, 0), (10, 0)])], crs=3007)
    >>> st = gpd.GeoDataFrame({"name": ["Storgatan"]},
    ...                       geometry=[shapely.LineString([(0, 20), (10, 20)])], crs=3007)
    >>> row = nearest_name(seg, st).iloc[0]
    >>> row["name"], float(row["distance_m"])
    ('Storgatan', 20.0)
    """
    require_projected(("features", features), ("named", named))
    _check_distance("max_distance_m", max_distance_m, allow_none=False)
    names = named["name"].astype(str).str.strip()
    named = named[names.ne("") & named["name"].notna()]
    near = nearest(features, named.geometry, max_distance_m)
    labels = pd.Series(named["name"].astype(str).to_numpy(), index=named.index)
    found = near["other_id"].notna()
    name = pd.Series("", index=features.index, dtype=object)
    name[found] = labels.reindex(near.loc[found, "other_id"]).to_numpy()
    dist = near["distance_m"].where(found)
    if own is not None:
        mine = own.reindex(features.index).astype(object).where(own.notna(), "")
        mine = mine.astype(str).str.strip()
        has = mine.ne("")
        name[has] = mine[has]
        dist[has] = 0.0
    return pd.DataFrame({"name": name.astype(str), "distance_m": dist.astype(float)},
                        index=features.index)
