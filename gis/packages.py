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
    order = segments.sort_values(["path_id", "seq"], kind="stable")
    path = order["path_id"].to_numpy()
    seq = order["seq"].to_numpy()
    status = order["lighting_status"].to_numpy()
    new = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        new[1:] = (path[1:] != path[:-1]) | (seq[1:] != seq[:-1] + 1) | (status[1:] != status[:-1])
    labels = np.cumsum(new) - 1
    return pd.Series(labels, index=order.index, name="stretch").reindex(segments.index)


def _strictest(classes: pd.Series) -> str:
    return str(min(classes))  # "P3" < "P4": lower number = stricter class


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
    todo = ranked[ranked["lighting_status"].isin(PACKAGE_STATUSES)]
    if todo.empty:
        empty = gpd.GeoDataFrame(
            {c: [] for c in ["path_id", "lighting_status", "length_m", "n_segments", "score",
                             "new_light_points", "cost_sek", "energy_kwh_per_year",
                             "expected_class", "score_per_msek", "rank", "rank_per_sek",
                             "top_segment", "reason"]}, geometry=[], crs=crs)
        empty.index.name = "package_id"
        return empty
    todo = todo.assign(stretch=stretch_ids(todo)).sort_values(["stretch", "seq"])
    g = todo.groupby("stretch", sort=True)
    best = (todo.rename_axis("segment_id").reset_index()
            .sort_values(["stretch", "score", "segment_id"], ascending=[True, False, True])
            .groupby("stretch").head(1).set_index("stretch"))
    first = g.head(1).set_index("stretch")
    out = pd.DataFrame({
        "path_id": first["path_id"],
        "lighting_status": first["lighting_status"],
        "length_m": g["length_m"].sum(),
        "n_segments": g.size(),
        "score": g["score"].sum(),
        "existing_luminaires": g["n_luminaires_30m"].max(),
        "expected_class": g["target_class"].agg(_strictest),
        "top_segment": best["segment_id"],
        "reason": best["reason"],
    })
    points = np.ceil(out["length_m"] / lighting.light_point_spacing_m).astype(int)
    underlit = out["lighting_status"].eq("underlit")
    points = points.where(~underlit, np.maximum(points - out["existing_luminaires"], 1))
    out["new_light_points"] = points.astype(int)
    out["cost_sek"] = out["new_light_points"] * costs.new_light_point_sek
    out["energy_kwh_per_year"] = (out["new_light_points"] * costs.led_power_w
                                  * costs.burning_hours_per_year / 1000)
    out["score_per_msek"] = out["score"] / out["cost_sek"] * 1e6
    out.index = (first["path_id"].astype(str) + ":" + first["seq"].astype(int).map("{:04d}".format))
    out.index.name = "package_id"
    # One merge per package over its few segments: the package count is small.
    geoms = [shapely.line_merge(shapely.union_all(v)) for v in
             g.geometry.apply(lambda s: s.to_numpy())]
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
