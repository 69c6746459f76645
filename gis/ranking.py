"""The ranking pipeline: segments → lighting model → context → score → packages → LED plan.

Everything happens in the profile's metric CRS. The pipeline is a sequence of pure,
vectorised steps from :mod:`gis`; each step works on a chunk of segments plus the
luminaires and context around it, except the school-route counts, which need the whole
network and are therefore computed once per network and may be passed in from a cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis._crs import require_projected
from gis.context import segment_context
from gis.darkness import commute_darkness_by_month
from gis.fastquery import SegmentArrays
from gis.led import UNKNOWN_TIER, led_replacements
from gis.lighting_model import (
    UNLIT_LUX,
    inventory_present,
    lighting_status,
    segment_illuminance,
    target_class,
)
from gis.packages import work_packages
from gis.school_routes import ROUTE_GRID_SPACING_M, school_route_counts
from gis.score import need_component, rank_by_score, reasons, score_components, score_segments
from gis.segments import segment_paths
from layers.profile import P_CLASSES, Profile

logger = logging.getLogger(__name__)

#: Columns of the ranked segments table, in order (geometry last).
SEGMENT_COLUMNS = [
    "rank", "score", "lighting_status", "lux_basis", "mean_lux", "min_lux", "target_class",
    "school_distance_m", "nearest_school", "crossing_distance_m", "crossings_within_50m",
    "priority_area", "school_route_count", "findings_count", "reason",
    "path_id", "osm_id", "seq", "path_type", "lit", "length_m", "n_luminaires_30m",
    "nearest_luminaire_m", "share_old_tech", "dominant_source", "n_out_of_service_30m",
    "need",
    "c_school", "c_crossing", "c_priority", "c_findings", "c_route", "c_darkness",
]

#: Values of ``lux_basis``: what a segment's light level rests on.
LUX_BASES = ("inventory", "defaults", "osm_lit_only")

#: Statuses that count as "needs light" in summaries.
DARK_STATUSES = ("unlit", "underlit")


@dataclass
class RankingResult:
    """Everything the streets department gets from one ranking run.

    Attributes
    ----------
    segments : GeoDataFrame
        Ranked segments (index ``segment_id``, columns :data:`SEGMENT_COLUMNS`), sorted by
        rank, in the profile CRS.
    packages : GeoDataFrame
        Work packages (see :func:`gis.packages.work_packages`), sorted by rank.
    led : GeoDataFrame
        LED replacements (see :func:`gis.led.led_replacements`), sorted by priority.
    darkness : DataFrame
        Commute darkness by month (see :func:`gis.darkness.commute_darkness_by_month`).
    timings : dict
        Seconds per step.
    route_origins : dict
        Where the school routes start: ``{"kind": "homes", "count": n}`` or
        ``{"kind": "grid", "spacing_m": 250.0}``.
    out_of_service : list of str
        Ids of the luminaires out of service (faults; they give no light in the model).
    """

    segments: gpd.GeoDataFrame
    packages: gpd.GeoDataFrame
    led: gpd.GeoDataFrame
    darkness: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    route_origins: dict[str, Any] = field(default_factory=dict)
    out_of_service: list[str] = field(default_factory=list)

    def summary(self, profile: Profile, top: int = 10) -> dict[str, Any]:
        """Key figures: km per status, km unlit near schools, top packages, LED savings."""
        s = self.segments
        km = (s.groupby("lighting_status", observed=True)["length_m"].sum() / 1000).round(2)
        near = s["school_distance_m"].le(profile.lighting.school_distance_m)
        dark_near = s["lighting_status"].isin(DARK_STATUSES) & near
        unlit_near = s["lighting_status"].eq("unlit") & near
        top_pk = self.packages.head(top)
        led = self.led
        known = led[led["tier"].ne(UNKNOWN_TIER)] if "tier" in led else led
        basis_km = (s.groupby("lux_basis")["length_m"].sum() / 1000).round(2) if (
            "lux_basis" in s) else pd.Series(dtype=float)
        out = {
            "municipality": profile.name,
            "currency": profile.costs.currency,
            "demo_data": profile.demo,
            "segments": len(s),
            "km_total": round(float(s["length_m"].sum()) / 1000, 2),
            "km_by_status": {str(k): float(v) for k, v in km.items()},
            "km_unlit_near_school": round(float(s.loc[unlit_near, "length_m"].sum()) / 1000, 2),
            "km_dark_near_school": round(float(s.loc[dark_near, "length_m"].sum()) / 1000, 2),
            "school_distance_m": profile.lighting.school_distance_m,
            "packages": len(self.packages),
            "top_packages": [
                {"package_id": str(i), "rank": int(r["rank"]), "status": str(r["lighting_status"]),
                 "length_m": round(float(r["length_m"]), 1),
                 "new_light_points": int(r["new_light_points"]),
                 "cost_sek": float(r["cost_sek"]),
                 "energy_kwh_per_year": float(r["energy_kwh_per_year"]),
                 "reason": str(r["reason"])}
                for i, r in top_pk.iterrows()],
            "top_packages_cost_sek": float(top_pk["cost_sek"].sum()),
            "top_packages_kwh_per_year": float(top_pk["energy_kwh_per_year"].sum()),
            "km_by_lux_basis": {k: float(basis_km[k]) for k in LUX_BASES if k in basis_km},
            "luminaires_out_of_service": len(self.out_of_service),
            "led": {
                "luminaires": len(known),
                "unknown_light_source": len(led) - len(known),
                "wattage_assumed": int(known["wattage_basis"].eq("default").sum())
                if "wattage_basis" in known else 0,
                "hg": int(led["light_source"].eq("Hg").sum()),
                "kwh_saved_per_year": round(float(led["kwh_saved_per_year"].sum()), 0),
                "sek_saved_per_year": round(float(led["sek_saved_per_year"].sum()), 0),
                "co2_kg_saved_per_year": round(float(led["co2_kg_saved_per_year"].sum()), 0),
                "retrofit_cost_sek": float(len(known) * profile.costs.led_retrofit_sek),
            },
            "commute_darkness_by_month": {
                str(m): round(float(v), 3) for m, v in self.darkness["share_dark"].items()},
            "school_route_origins": dict(self.route_origins),
        }
        if "lux_model" in s.columns:  # issue 17: the photometric model was on
            from gis.photometry import photometric_summary
            out["photometry"] = photometric_summary(s)
        return out


def _timed(timings: dict[str, float], name: str, fn: Callable[[], Any],
           progress: Callable[[str], None] | None) -> Any:
    if progress is not None:
        progress(name)
    t0 = time.perf_counter()
    out = fn()
    timings[name] = time.perf_counter() - t0
    logger.info("%s: %.3f s", name, timings[name])
    return out


def _segments_and_arrays(paths: gpd.GeoDataFrame, max_length_m: float,
                         ) -> tuple[gpd.GeoDataFrame, SegmentArrays | None]:
    """Segments, and their vertex arrays shared by the later steps (None when the
    segments are not short plain LineStrings; the steps then use GEOS)."""
    segs = segment_paths(paths, max_length_m)
    return segs, SegmentArrays.of(segs.geometry.values)


def rank(paths: gpd.GeoDataFrame, luminaires: gpd.GeoDataFrame, schools: gpd.GeoDataFrame,
         crossings: gpd.GeoDataFrame, priority_areas: gpd.GeoDataFrame, profile: Profile,
         findings: gpd.GeoDataFrame | None = None, route_counts: pd.Series | None = None,
         darkness: pd.DataFrame | None = None,
         progress: Callable[[str], None] | None = None,
         origins: gpd.GeoDataFrame | None = None,
         walkable: gpd.GeoDataFrame | None = None) -> RankingResult:
    """Rank path segments for new lighting and plan LED replacement.

    Parameters
    ----------
    paths, luminaires, schools, crossings, priority_areas : GeoDataFrame
        Layers from :mod:`layers` (schemas in :mod:`layers.schemas`), all in the profile's
        metric CRS.
    profile : Profile
        Segment length, target classes, costs and weights.
    findings : GeoDataFrame, optional
        Open safety-walk findings (points with ``category`` and ``severity``), same CRS.
    route_counts : Series, optional
        Precomputed :func:`gis.school_routes.school_route_counts` for the same segments
        (cache them per network with :func:`gis.school_routes.network_key`).
    darkness : DataFrame, optional
        Precomputed commute darkness by month.
    progress : callable, optional
        Called with the name of each step as it starts.
    origins : GeoDataFrame, optional
        Where school routes start, e.g. homes (``Layers.route_origins()``), same CRS;
        default a regular grid (see :func:`gis.school_routes.school_route_counts`). Pass the
        same origins that gave ``route_counts``: they are also reported in the summary.
    walkable : GeoDataFrame, optional
        Roads a pedestrian may use (``Layers.walkable``), routed over but not scored; pass
        the same roads that gave ``route_counts``.

    Returns
    -------
    RankingResult
    """
    frames = [("paths", paths), ("luminaires", luminaires), ("schools", schools),
              ("crossings", crossings), ("priority_areas", priority_areas)]
    if findings is not None:
        frames.append(("findings", findings))
    if origins is not None and len(origins) == 0:
        origins = None  # no homes: the grid
    if origins is not None:
        frames.append(("origins", origins))
    require_projected(*frames)
    if len(paths) == 0:
        raise ValueError("paths is empty: nothing to rank. Fix: load an OSM extract (or a "
                         "paths file) that overlaps the municipality's boundary")
    t: dict[str, float] = {}
    lighting = profile.lighting
    segs, arrays = _timed(t, "segments", lambda: _segments_and_arrays(
        paths, lighting.segment_length_m), progress)
    ctx = _timed(t, "context", lambda: segment_context(
        segs, schools, crossings, priority_areas, findings, arrays=arrays), progress)
    if route_counts is None:
        route_counts = _timed(t, "school_routes", lambda: school_route_counts(
            segs, schools, origins=origins, walkable=walkable), progress)
    illum = _timed(t, "lighting_model", lambda: segment_illuminance(
        segs, luminaires, default_height_m=lighting.default_mounting_height_m, arrays=arrays),
        progress)
    return finish_ranking(segs, [arrays, ctx, illum], luminaires, profile, route_counts,
                          darkness, origins, walkable,
                          lambda name, fn: _timed(t, name, fn, progress), t)


def finish_ranking(segs: gpd.GeoDataFrame, columns: list[Any], luminaires: gpd.GeoDataFrame,
                   profile: Profile, route_counts: pd.Series, darkness: pd.DataFrame | None,
                   origins: gpd.GeoDataFrame | None, walkable: gpd.GeoDataFrame | None,
                   timed: Callable[[str, Callable[[], Any]], Any],
                   timings: dict[str, float]) -> RankingResult:
    """The steps of :func:`rank` after the per-segment context and lighting model: the
    photometric model, status, score, rank, packages and LED plan, shared by :func:`rank`
    and the tiled run (:func:`gis.tiled.rank_tiled`), so both give the same result.

    ``columns`` is ``[arrays, context, illuminance]`` (aligned to *segs*, metric CRS); it
    is emptied here so the caller holds no reference and they are freed once the ranked
    table exists. *timed* runs and times one step; *timings* is the dict it fills.
    """
    arrays, ctx, illum = columns
    columns.clear()
    lighting = profile.lighting
    routes = route_counts.reindex(segs.index).fillna(0).astype(int)
    # -- issue 17: photometric EN 13201-3 model, only with sources.photometry ----------
    photometric = None
    if profile.sources.photometry is not None:
        from gis.photometry import apply_photometric, photometric_for_profile
        photometric = timed("photometry", lambda: photometric_for_profile(
            segs, luminaires, profile))
        illum = apply_photometric(illum, photometric)
    # ------------------------------------------------------------------------------------
    near_school = ctx["school_distance_m"].le(lighting.school_distance_m)
    targets = target_class(segs, lighting, near_school=near_school,
                           in_priority_area=ctx["in_priority_area"])
    has_inventory = inventory_present(luminaires)
    status = lighting_status(segs, illum, targets, ctx["lighting_findings"],
                             has_inventory=has_inventory).astype(str)
    if photometric is not None:  # issue 17: E_sc/E_v requirements and the dimmed period
        from gis.photometry import photometric_status
        status = photometric_status(status, photometric, targets)
    basis = lux_basis(segs, illum, has_inventory=has_inventory)
    if darkness is None:
        darkness = timed("darkness", lambda: commute_darkness_by_month(
            profile.latitude, profile.longitude, profile.timezone))
    share_dark = float(darkness["share_dark"].mean())

    def score_step() -> gpd.GeoDataFrame:
        t_codes, t_uniques = pd.factorize(targets.to_numpy(dtype=object))
        target_avg = np.array([P_CLASSES[c][0] for c in t_uniques] + [np.nan])[t_codes]
        target_min = np.array([P_CLASSES[c][1] for c in t_uniques] + [np.nan])[t_codes]
        # One frame of all per-segment columns (no alignment needed: every input is aligned
        # to segs.index by construction).
        cols: dict[str, Any] = {c: segs[c].array for c in segs.columns if c != "geometry"}
        cols.update({c: ctx[c].array for c in ctx.columns})
        cols.update({c: illum[c].array for c in illum.columns})
        cols.update(lighting_status=status.array, lux_basis=basis.array,
                    target_class=targets.array,
                    school_route_count=routes.to_numpy(), mean_lux=illum["avg_lux"].array)
        feats = pd.DataFrame(cols, index=segs.index, copy=False)
        need = need_component(status, illum["avg_lux"], illum["min_lux"],
                              pd.Series(target_avg, index=segs.index),
                              pd.Series(target_min, index=segs.index))
        comps = score_components(feats, lighting.school_distance_m, share_dark)
        score = score_segments(need, comps, profile.weights).round(6)
        feats["need"] = need.round(4)
        for c in comps.columns:
            feats[c] = comps[c].round(4)
        feats["score"] = score
        feats["rank"] = rank_by_score(score)
        feats["reason"] = reasons(feats)
        out = gpd.GeoDataFrame({c: feats[c].array for c in SEGMENT_COLUMNS},
                               geometry=segs.geometry.values, crs=segs.crs, index=segs.index)
        out.index.name = "segment_id"
        return out

    scored = timed("score", score_step)
    if photometric is not None:  # issue 17: the EN 13201-3 values and model per segment
        from gis.photometry import add_photometric_columns
        scored = add_photometric_columns(scored, photometric)
    by_rank = np.argsort(scored["rank"].to_numpy(), kind="stable")
    ranked = scored.take(by_rank)
    ranked_arrays = arrays.take(by_rank) if arrays is not None else None
    # The unsorted frames are not needed any more: let them go before the packages and the
    # LED plan (at a region's size they are a few hundred MB). Rebound rather than deleted:
    # the step closures above name them.
    scored = segs = ranked
    arrays = ranked_arrays
    ctx = illum = pd.DataFrame()
    packages = timed("packages", lambda: work_packages(ranked, lighting, profile.costs))
    led = timed("led", lambda: led_replacements(
        luminaires, ranked, profile.costs, lighting.school_distance_m, arrays=ranked_arrays,
        energy_factor=photometric.energy_factor if photometric is not None else None))
    route_origins: dict[str, Any] = (
        {"kind": "homes", "count": len(origins)} if origins is not None
        else {"kind": "grid", "spacing_m": ROUTE_GRID_SPACING_M})
    route_origins["network"] = ("paths_and_roads" if walkable is not None and len(walkable)
                                else "paths")
    route_origins["reached_per_school"] = dict(route_counts.attrs.get("homes_reached", {}))
    faulty = (luminaires.index[luminaires["operating"].astype("str").eq("out_of_service")
                               .to_numpy(dtype=bool, na_value=False)].astype(str).tolist()
              if "operating" in luminaires.columns else [])
    return RankingResult(ranked, packages, led, darkness, timings, route_origins,
                         faulty)


def lux_basis(segments: pd.DataFrame, illum: pd.DataFrame, *, has_inventory: bool,
              ) -> pd.Series:
    """What each segment's light level rests on (:data:`LUX_BASES`).

    - ``"inventory"``: a municipal inventory was loaded and every luminaire lighting the
      segment has its flux (lumen or wattage) and mounting height in it (or none lights it);
    - ``"defaults"``: some of the segment's light comes from luminaires whose flux or
      height are defaults, or from OSM street lamps (assumed wattage);
    - ``"osm_lit_only"``: no inventory and no mapped lamp lights the segment; its status
      comes from the OSM ``lit`` tag alone (or is unknown).

    Parameters
    ----------
    segments : DataFrame
        Segments (with ``lit``), index aligned to *illum*.
    illum : DataFrame
        :func:`gis.lighting_model.segment_illuminance` of the segments.
    has_inventory : bool
        Whether the luminaires come from a municipal inventory.

    Returns
    -------
    Series
        ``lux_basis`` (str), aligned to ``segments.index``.
    """
    il = illum.reindex(segments.index)
    share = il["share_default_light"].to_numpy(dtype="float64", na_value=0.0)
    lit = il["avg_lux"].to_numpy(dtype="float64", na_value=0.0) >= UNLIT_LUX
    if has_inventory:
        values = np.where(share > 0, "defaults", "inventory")
    else:
        tag = segments["lit"].astype("str").to_numpy(dtype=object)
        by_tag = np.isin(tag, ["yes", "automatic", "limited"])
        values = np.where(lit & ~by_tag, "defaults", "osm_lit_only")
    return pd.Series(values, index=segments.index, name="lux_basis", dtype="str")


def improved_km(before: pd.DataFrame, after: pd.DataFrame) -> float:
    """Kilometres that went from ``unlit``/``underlit`` to ``ok`` between two rankings.

    Both tables are ranked segments (index ``segment_id``, ``lighting_status``,
    ``length_m``) of the same path network; segments present in only one are ignored.
    """
    common = before.index.intersection(after.index)
    was = before.loc[common, "lighting_status"].isin(DARK_STATUSES).to_numpy()
    now = after.loc[common, "lighting_status"].eq("ok").to_numpy()
    return float(np.sum(after.loc[common, "length_m"].to_numpy()[was & now])) / 1000
