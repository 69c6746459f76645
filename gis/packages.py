"""Work packages: contiguous ranked segments with the same status, merged into stretches.

A package is a run of segments of one path (same ``path_id``, consecutive ``seq``) with the
same ``lighting_status`` of ``unlit`` or ``underlit``. Per package we estimate:

- ``new_light_points``: for ``unlit`` stretches ``ceil(length / spacing)``; for ``underlit``
  stretches the same minus the luminaires already within 30 m of the stretch (at least 1),
  because part of the light is already there;
- ``cost_sek`` = new_light_points × ``costs.new_light_point_sek``;
- ``energy_kwh_per_year`` = new_light_points × ``costs.led_power_w`` ×
  ``costs.burning_hours_per_year`` / 1000;
- ``expected_class``: the strictest target class on the stretch, which the new light points
  are dimensioned for at the profile's spacing.

Packages are ranked by score (sum of segment scores, which weights by length since segments
have at most the segmentation length) and by score per SEK.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis._crs import require_projected
from gis.fastquery import linestrings_sorted
from gis.score import int_text
from gis.segments import seq_labels
from layers.profile import Costs, Lighting

PACKAGE_STATUSES = ("unlit", "underlit")


def stretch_ids(segments: pd.DataFrame) -> pd.Series:
    """Label runs of contiguous segments (same path, consecutive ``seq``, same status).

    Parameters
    ----------
    segments : DataFrame
        With ``path_id``, ``seq`` and ``lighting_status``.

    Returns
    -------
    Series
        Integer stretch number per segment, aligned to *segments*.
    """
    order = segments[["path_id", "seq", "lighting_status"]].sort_values(["path_id", "seq"],
                                                                         kind="stable")
    path = order["path_id"].to_numpy()
    seq = order["seq"].to_numpy()
    status = order["lighting_status"].to_numpy()
    new = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        new[1:] = (path[1:] != path[:-1]) | (seq[1:] != seq[:-1] + 1) | (status[1:] != status[:-1])
    labels = np.cumsum(new) - 1
    return pd.Series(labels, index=order.index, name="stretch").reindex(segments.index)


def _merge_lines(lines: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Merge runs of consecutive pieces of one way into one LineString per run, vectorised.

    *lines* are sorted by run and position; *starts* are the positions where runs begin.
    A run's line is its pieces' vertices in order without each later piece's repeated start.
    """
    coords, piece = shapely.get_coordinates(lines, return_index=True)
    piece_start = np.r_[True, piece[1:] != piece[:-1]]
    first_piece = np.zeros(len(lines), dtype=bool)
    first_piece[starts] = True
    keep = ~piece_start | first_piece[piece]
    run = np.searchsorted(starts, piece[keep], side="right") - 1
    return linestrings_sorted(coords[keep], run)


def runs(ranked: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """All ranked segments merged into runs of one way with the same status (for maps).

    Parameters
    ----------
    ranked : GeoDataFrame
        Ranked segments with ``path_id``, ``seq``, ``lighting_status``, ``rank``, ``score``
        and ``reason``, in a projected CRS.

    Returns
    -------
    GeoDataFrame
        One row per run: path_id, lighting_status, best_rank, max_score, length_m,
        n_segments, reason (of the best-ranked segment), top_segment, merged geometry.
    """
    crs = require_projected(("ranked", ranked))
    used = ["path_id", "seq", "lighting_status", "rank", "score", "length_m", "reason",
            "geometry"]
    srt = ranked[used].assign(stretch=stretch_ids(ranked)).sort_values(["stretch", "seq"])
    stretch = srt["stretch"].to_numpy()
    starts = np.flatnonzero(np.r_[True, stretch[1:] != stretch[:-1]]) if len(srt) else \
        np.zeros(0, dtype=int)
    ids = srt.index.to_numpy().astype(str)
    order = np.lexsort((srt["rank"].to_numpy(), stretch))
    best = order[np.flatnonzero(np.r_[True, stretch[order][1:] != stretch[order][:-1]])] \
        if len(srt) else np.zeros(0, dtype=int)
    g = srt.groupby("stretch", sort=True)
    out = pd.DataFrame({
        "path_id": srt["path_id"].to_numpy()[starts],
        "lighting_status": srt["lighting_status"].astype(str).to_numpy()[starts],
        "best_rank": srt["rank"].to_numpy()[best],
        "max_score": g["score"].max().to_numpy(),
        "length_m": g["length_m"].sum().to_numpy(),
        "n_segments": g.size().to_numpy(),
        "reason": srt["reason"].to_numpy()[best],
        "top_segment": ids[best],
    })
    return gpd.GeoDataFrame(out, geometry=_merge_lines(srt.geometry.values, starts), crs=crs)


def work_packages(ranked: gpd.GeoDataFrame, lighting: Lighting, costs: Costs) -> gpd.GeoDataFrame:
    """Merge ranked ``unlit``/``underlit`` segments into costed work packages.

    Parameters
    ----------
    ranked : GeoDataFrame
        Ranked segments in a projected CRS (metres) with ``path_id``, ``seq``,
        ``lighting_status``, ``score``, ``target_class``, ``length_m``, ``reason``,
        ``n_luminaires_30m`` and optionally ``priority_area``, ``nearest_school``.
    lighting, costs : Lighting, Costs
        The profile's sections (spacing in metres; costs in SEK; power in W).

    Returns
    -------
    GeoDataFrame
        One row per package, index ``package_id`` (``"<path_id>:<first seq>"``, stable),
        with length_m, n_segments, lighting_status, score, new_light_points, cost_sek,
        energy_kwh_per_year, expected_class, score_per_msek, rank, rank_per_sek, reason
        (of its best segment) and the merged line geometry.
    """
    crs = require_projected(("ranked", ranked))
    # Only the columns used below: sorting and grouping then move 9 columns, not ~30.
    used = ["path_id", "seq", "lighting_status", "score", "target_class", "length_m",
            "reason", "n_luminaires_30m", "geometry"]
    todo = ranked.loc[ranked["lighting_status"].isin(PACKAGE_STATUSES).to_numpy(), used]
    if todo.empty:
        empty = gpd.GeoDataFrame(
            {c: [] for c in ["path_id", "lighting_status", "length_m", "n_segments", "score",
                             "new_light_points", "cost_sek", "energy_kwh_per_year",
                             "expected_class", "score_per_msek", "rank", "rank_per_sek",
                             "top_segment", "reason"]}, geometry=[], crs=crs)
        empty.index.name = "package_id"
        return empty
    # Stretches on numpy: rows in (path_id, seq) order, a new stretch wherever the path
    # changes, seq jumps or the status changes; per-stretch sums with reduceat.
    path_codes, _ = pd.factorize(todo["path_id"].astype(str).to_numpy(dtype=object), sort=True)
    seq_all = todo["seq"].to_numpy(dtype=np.int64)
    order = np.lexsort((seq_all, path_codes))
    path = path_codes[order]
    seq = seq_all[order]
    status = todo["lighting_status"].astype(str).to_numpy(dtype=object)[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (path[1:] != path[:-1]) | (seq[1:] != seq[:-1] + 1) | (status[1:] != status[:-1])
    starts = np.flatnonzero(new)
    stretch = np.cumsum(new) - 1
    ids = todo.index.to_numpy().astype(str)[order]
    score = todo["score"].to_numpy(dtype="float64")[order]
    length = todo["length_m"].to_numpy(dtype="float64")[order]
    # Best segment per stretch: highest score, ties by segment id.
    best = np.lexsort((ids, -score, stretch))
    best_pos = best[np.flatnonzero(np.r_[True, stretch[best][1:] != stretch[best][:-1]])]
    class_codes, class_values = pd.factorize(todo["target_class"].astype(str).to_numpy(
        dtype=object))
    class_no = np.array([int(str(c)[1:]) for c in class_values], dtype=np.int64)[class_codes]
    existing = np.maximum.reduceat(
        todo["n_luminaires_30m"].to_numpy(dtype=np.int64)[order], starts)
    first_path = todo["path_id"].astype(str).to_numpy(dtype=object)[order][starts]
    length_sum = np.add.reduceat(length, starts)
    points = np.ceil(length_sum / lighting.light_point_spacing_m).astype(int)
    underlit = status[starts] == "underlit"
    points = np.where(underlit, np.maximum(points - existing, 1), points).astype(int)
    cost = points * costs.new_light_point_sek
    out = pd.DataFrame({
        "path_id": first_path,
        "lighting_status": status[starts],
        "length_m": length_sum,
        "n_segments": np.diff(np.r_[starts, len(order)]),
        "score": np.add.reduceat(score, starts),
        "expected_class": "P" + int_text(np.minimum.reduceat(class_no[order], starts)),
        "top_segment": ids[best_pos],
        "reason": todo["reason"].to_numpy(dtype=object)[order][best_pos],
        "new_light_points": points,
        "cost_sek": cost,
        "energy_kwh_per_year": (points * costs.led_power_w * costs.burning_hours_per_year
                                / 1000),
    })
    out["score_per_msek"] = out["score"].to_numpy() / cost * 1e6
    keys = first_path + ":" + seq_labels(seq[starts])
    out.index = pd.Index(keys, name="package_id", dtype="str")
    geoms = _merge_lines(np.asarray(todo.geometry.values)[order], starts)
    gdf = gpd.GeoDataFrame(out, geometry=geoms, crs=crs)
    keys_str = keys.astype(str)
    by_score = np.lexsort((keys_str, -out["score"].to_numpy(float)))
    rank = np.empty(len(out), dtype=int)
    rank[by_score] = np.arange(1, len(out) + 1)
    gdf["rank"] = rank
    by_sek = np.lexsort((keys_str, -out["score_per_msek"].to_numpy(float)))
    rank_sek = np.empty(len(out), dtype=int)
    rank_sek[by_sek] = np.arange(1, len(out) + 1)
    gdf["rank_per_sek"] = rank_sek
    return gdf.take(by_score)
