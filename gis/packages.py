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
    return np.asarray(shapely.linestrings(coords[keep], indices=run), dtype=object)


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
    todo = todo.assign(stretch=stretch_ids(todo)).sort_values(["stretch", "seq"])
    stretch = todo["stretch"].to_numpy()
    starts = np.flatnonzero(np.r_[True, stretch[1:] != stretch[:-1]])
    g = todo.groupby("stretch", sort=True)
    # Best segment per stretch: highest score, ties by segment id (rows are id-sorted by seq).
    ids = todo.index.to_numpy().astype(str)
    order = np.lexsort((ids, -todo["score"].to_numpy(float), stretch))
    best_pos = order[np.flatnonzero(np.r_[True, stretch[order][1:] != stretch[order][:-1]])]
    first = todo.iloc[starts]
    class_no = todo["target_class"].astype(str).str.slice(1).astype(int)
    out = pd.DataFrame({
        "path_id": first["path_id"].to_numpy(),
        "lighting_status": first["lighting_status"].astype(str).to_numpy(),
        "length_m": g["length_m"].sum().to_numpy(),
        "n_segments": g.size().to_numpy(),
        "score": g["score"].sum().to_numpy(),
        "existing_luminaires": g["n_luminaires_30m"].max().to_numpy(),
        "expected_class": "P" + class_no.groupby(stretch).min().astype(str).to_numpy(),
        "top_segment": ids[best_pos],
        "reason": todo["reason"].to_numpy()[best_pos],
    })
    points = np.ceil(out["length_m"] / lighting.light_point_spacing_m).astype(int)
    underlit = out["lighting_status"].eq("underlit")
    points = points.where(~underlit, np.maximum(points - out["existing_luminaires"], 1))
    out["new_light_points"] = points.astype(int)
    out["cost_sek"] = out["new_light_points"] * costs.new_light_point_sek
    out["energy_kwh_per_year"] = (out["new_light_points"] * costs.led_power_w
                                  * costs.burning_hours_per_year / 1000)
    out["score_per_msek"] = out["score"] / out["cost_sek"] * 1e6
    out.index = pd.Index(first["path_id"].astype(str).to_numpy() + ":"
                         + first["seq"].astype(int).map("{:04d}".format).to_numpy(),
                         name="package_id")
    geoms = _merge_lines(todo.geometry.values, starts)
    gdf = gpd.GeoDataFrame(out.drop(columns="existing_luminaires"), geometry=geoms, crs=crs)
    keys = gdf.index.to_numpy().astype(str)
    order = np.lexsort((keys, -gdf["score"].to_numpy(float)))
    rank = np.empty(len(gdf), dtype=int)
    rank[order] = np.arange(1, len(gdf) + 1)
    gdf["rank"] = rank
    order = np.lexsort((keys, -gdf["score_per_msek"].to_numpy(float)))
    rank_sek = np.empty(len(gdf), dtype=int)
    rank_sek[order] = np.arange(1, len(gdf) + 1)
    gdf["rank_per_sek"] = rank_sek
    return gdf.sort_values("rank")
