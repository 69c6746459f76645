"""Duplicate suggestions: open findings of the same category close to a new one.

When a new finding is about to be added (on a walk, from an import or from the public),
:func:`duplicate_candidates` lists the **open** findings of the **same category** within
``radius_m`` (default 50 m) of it, nearest first, so the user can link to an existing
finding rather than add a second one.

"Open" is decided by the state's *type* (STYLE rule 7): each row's state label is turned
into a :class:`walks.model.State` with :func:`walks.model.finding_state` and asked
:meth:`~walks.model.State.is_open`; labels are never compared as text here.

All distances are in metres; the findings must be in a projected (metric) CRS, normally
the store CRS (the profile's CRS, e.g. EPSG:3007), and the new point in the same CRS.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from gis._crs import require_projected
from walks.model import finding_state

logger = logging.getLogger(__name__)

#: Default search radius for duplicates, in metres.
DUPLICATE_RADIUS_M = 50.0

#: Columns of the :func:`duplicate_candidates` result (index: the finding id).
DUPLICATE_COLUMNS: tuple[str, ...] = (
    "distance_m", "category", "state_label", "description", "created", "geometry",
)


def _state_labels(findings: pd.DataFrame) -> pd.Series:
    """The state label per row (``state_label`` as the store writes it, else ``state``)."""
    for col in ("state_label", "state"):
        if col in findings.columns:
            return findings[col]
    raise ValueError("findings have no 'state_label' (or 'state') column. Fix: pass the "
                     "frame from store.findings()")


def open_findings_mask(findings: pd.DataFrame) -> pd.Series:
    """True for findings whose state is open (ny, bedömd, planerad).

    Parameters
    ----------
    findings : DataFrame
        Findings with a ``state_label`` column (as from
        :meth:`walks.store.FindingStore.findings`) or a ``state`` column (demo files).

    Returns
    -------
    Series of bool
        Aligned to ``findings.index``, named ``is_open``. The decision is made by
        :meth:`walks.model.State.is_open` on :func:`walks.model.finding_state`, never by
        comparing labels.

    Raises
    ------
    ValueError
        No state column.
    walks.model.ValidationError
        A row has an unknown state label (the message lists the states).
    """
    labels = _state_labels(findings)
    states = {lab: finding_state(lab).is_open() for lab in pd.unique(labels.astype(str))}
    return pd.Series([states[str(v)] for v in labels], index=findings.index, name="is_open",
                     dtype=bool)


def duplicate_candidates(new_point: Point, category: str, findings: gpd.GeoDataFrame,
                         radius_m: float = DUPLICATE_RADIUS_M, *,
                         exclude_id: str | None = None) -> gpd.GeoDataFrame:
    """Open findings of the same category within *radius_m* of a new finding.

    Parameters
    ----------
    new_point : Point
        Position of the new finding, in the CRS of *findings* (metres).
    category : str
        Category label of the new finding (after :func:`walks.categories.map_category`).
    findings : GeoDataFrame
        Existing findings, e.g. :meth:`walks.store.FindingStore.findings`, in a projected
        CRS; index = finding id. Needs ``category`` and ``state_label`` (or ``state``).
    radius_m : float, default 50
        Search radius in metres (inclusive).
    exclude_id : str, optional
        A finding id to leave out (the new finding itself, when it is already stored).

    Returns
    -------
    GeoDataFrame
        :data:`DUPLICATE_COLUMNS` (those present in *findings*, plus ``distance_m`` in
        metres), index = the finding ids, sorted nearest first (ties by id), same CRS as
        *findings*. Empty when there is no candidate. *findings* is not changed.

    Raises
    ------
    gis._crs.CRSError
        *findings* is in degrees or has no CRS.
    ValueError
        *radius_m* is negative or not finite, or *new_point* is not a non-empty Point.

    Examples
    --------
    >>> dup = duplicate_candidates(Point(102150, 6536400), "belysning",
    ...                            store.findings())  # doctest: +SKIP
    >>> dup[["distance_m", "description"]].head(1)  # doctest: +SKIP
    """
    require_projected(("findings", findings))
    if not (np.isfinite(radius_m) and radius_m >= 0):
        raise ValueError(f"radius_m must be a distance of 0 m or more, got {radius_m!r}")
    if not isinstance(new_point, Point) or new_point.is_empty:
        raise ValueError("new_point must be a non-empty shapely Point in the findings' CRS")
    if "category" not in findings.columns:
        raise ValueError("findings have no 'category' column. Fix: pass the frame from "
                         "store.findings()")
    keep_cols = [c for c in DUPLICATE_COLUMNS if c in findings.columns or c == "distance_m"]
    empty = gpd.GeoDataFrame({c: [] for c in keep_cols if c != "geometry"},
                             geometry=gpd.GeoSeries([], crs=findings.crs), crs=findings.crs)
    empty.index.name = findings.index.name
    if len(findings) == 0:
        return empty
    same = findings["category"].astype(str).eq(category)
    if exclude_id is not None:
        same &= findings.index.astype(str) != str(exclude_id)
    cand = findings.loc[same]
    if len(cand) == 0:
        return empty
    dist = pd.Series(shapely.distance(np.asarray(cand.geometry.values, dtype=object),
                                      new_point), index=cand.index, name="distance_m")
    near = dist.le(radius_m) & dist.notna()
    cand = cand.loc[near]
    if len(cand) == 0:
        return empty
    cand = cand.loc[open_findings_mask(cand)]
    if len(cand) == 0:
        return empty
    out = cand.assign(distance_m=dist.loc[cand.index].round(2))
    order = np.lexsort((out.index.astype(str).to_numpy(), out["distance_m"].to_numpy()))
    out = out.iloc[order]
    cols = [c for c in keep_cols if c != "geometry"]
    result = gpd.GeoDataFrame(out[cols], geometry=out.geometry, crs=findings.crs)
    logger.debug("%d duplicate candidate(s) within %.0f m", len(result), radius_m)
    return result


def nearest_duplicates(points: np.ndarray, categories: np.ndarray, findings: gpd.GeoDataFrame,
                       radius_m: float = DUPLICATE_RADIUS_M) -> pd.DataFrame:
    """For many new findings at once: the nearest open finding of the same category.

    Vectorised (one STRtree query for all points); the rule is the one of
    :func:`duplicate_candidates`.

    Parameters
    ----------
    points : array of Point
        Positions of the new findings, in the CRS of *findings* (metres).
    categories : array of str
        Their category labels, aligned with *points*.
    findings : GeoDataFrame
        Existing findings (index = finding id), projected CRS; needs ``category`` and
        ``state_label`` (or ``state``).
    radius_m : float, default 50
        Search radius in metres (inclusive).

    Returns
    -------
    DataFrame
        One row per new finding that has a candidate: ``position`` (into *points*),
        ``finding_id`` and ``distance_m`` (metres), the nearest candidate (ties by id),
        sorted by position.
    """
    require_projected(("findings", findings))
    out = pd.DataFrame({"position": pd.Series([], dtype="int64"),
                        "finding_id": pd.Series([], dtype=object),
                        "distance_m": pd.Series([], dtype="float64")})
    if len(points) == 0 or len(findings) == 0:
        return out
    cand = findings.loc[open_findings_mask(findings).to_numpy()]
    if len(cand) == 0:
        return out
    geoms = np.asarray(cand.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    pts = np.asarray(points, dtype=object)
    left, right = tree.query(pts, predicate="dwithin", distance=radius_m)
    if len(left) == 0:
        return out
    cats = np.asarray(cand["category"].astype(str).to_numpy(), dtype=object)
    same = cats[right] == np.asarray(categories, dtype=object)[left]
    left, right = left[same], right[same]
    if len(left) == 0:
        return out
    dist = shapely.distance(pts[left], geoms[right])
    ids = np.asarray(cand.index.astype(str), dtype=object)[right]
    pairs = pd.DataFrame({"position": left.astype("int64"), "finding_id": ids,
                          "distance_m": dist})
    pairs = pairs.sort_values(["position", "distance_m", "finding_id"], kind="stable")
    return pairs.drop_duplicates("position").reset_index(drop=True)
