"""LED replacement planner: which old luminaires to convert first, with savings.

Power model (documented, conservative):

- System power = lamp wattage × ballast factor (:data:`BALLAST_FACTOR`): conventional
  magnetic ballasts for Hg/HPS/MH add 10–15 %.
- The LED replacement's power = system power × :data:`LED_EQUIVALENCE` (at least
  :data:`MIN_LED_W`). Typical retrofit practice: a 125 W Hg (≈ 137 W system) is replaced by
  a ≈ 35 W LED, a 70 W HPS (≈ 80 W system) by ≈ 35 W, a 100 W HPS by ≈ 45 W.
- Savings: kWh/year = (system W − LED W) × burning hours / 1000; SEK/year = kWh × price;
  CO₂ = kWh × emission factor; payback = retrofit cost / SEK per year.

Priority (``tier``): 1 = Hg (banned from the EU market since 2015 under the Ecodesign
regulation 245/2009), 2 = HPS serving a segment near a school, a marked crossing or in a
priority area, 3 = other HPS, 4 = other non-LED light sources, 5 = light source unknown
(:data:`UNKNOWN_GROUP`, "okänd ljuskälla: inventera"). Within a tier: the served
segment's score, then kWh saved, then id.

Honest numbers: a lamp of unknown type is never counted as a 70 W lamp to replace. Tier 5
rows have no power, savings or payback (NaN); summaries count them apart. A known type
without a wattage uses :data:`DEFAULT_W` and says so in ``wattage_basis``
(``"inventory"`` / ``"default"``). Luminaires that are removed or only planned
(``operating``) are not in the plan; those out of service are (a retrofit repairs them).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gis._crs import require_projected
from gis.fastquery import SegmentArrays, pairs_within, point_line_distance
from layers.profile import Costs

BALLAST_FACTOR = {"LED": 1.0, "HPS": 1.12, "Hg": 1.1, "MH": 1.1, "LPS": 1.15,
                  "fluorescent": 1.1, "other": 1.1, "unknown": 1.1}
LED_EQUIVALENCE = {"HPS": 0.45, "Hg": 0.27, "MH": 0.5, "LPS": 0.5, "fluorescent": 0.55,
                   "other": 0.5, "unknown": 0.5}
#: Wattage assumed when the inventory has none, per light source (W).
DEFAULT_W = {"HPS": 70.0, "Hg": 125.0, "MH": 70.0, "LPS": 55.0, "fluorescent": 36.0,
             "other": 70.0, "unknown": 70.0}
MIN_LED_W = 10.0
#: Tier and Swedish label of the luminaires whose light source is unknown.
UNKNOWN_TIER = 5
UNKNOWN_GROUP = "okänd ljuskälla: inventera"
#: Distance (m) within which a luminaire serves a segment.
SERVE_RADIUS_M = 30.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def led_replacements(luminaires: gpd.GeoDataFrame, ranked: gpd.GeoDataFrame, costs: Costs,
                     school_distance_m: float = 300.0,
                     arrays: SegmentArrays | None = None,
                     energy_factor: pd.Series | None = None) -> gpd.GeoDataFrame:
    """Plan LED replacement of every non-LED luminaire, in priority order.

    Parameters
    ----------
    luminaires : GeoDataFrame
        Luminaire layer (``layers.schemas.LUMINAIRES``) in a projected CRS (metres).
    ranked : GeoDataFrame
        Ranked segments in the same CRS with ``score``, ``rank``, ``school_distance_m``,
        ``crossing_distance_m`` and ``priority_area``, best first (sorted by rank).
    costs : Costs
        The profile's cost and energy parameters.
    school_distance_m : float
        Distance (m) to school grounds that counts as "near a school" for tier 2.
    arrays : SegmentArrays, optional
        :meth:`gis.fastquery.SegmentArrays.of` ``ranked``'s geometries, row for row, if the
        caller has them; computed here otherwise.
    energy_factor : Series, optional
        Night dimming (issue 17): mean light output over the burning hours per luminaire,
        0 … 1, aligned to *luminaires* by index (missing = 1), from
        :func:`gis.photometry.energy_factors`. The group's night profile runs both the
        current lamp and its LED replacement, so the kWh saved are
        ``(system W − LED W) × factor × burning hours``; the plan then has a
        ``night_energy_factor`` column. Without it nothing is dimmed (and no column).

    Returns
    -------
    GeoDataFrame
        Non-LED luminaires that exist (index ``luminaire_id``; ``operating`` not removed
        or planned) with light_source, wattage_basis, current_w, led_w,
        kwh_saved_per_year, sek_saved_per_year, co2_kg_saved_per_year, payback_years
        (all NaN for an unknown light source), served_segment, segment_score,
        segment_rank, school_distance_m, crossing_distance_m, priority_area, tier,
        priority (1..n) and reason.
        A luminaire serves the nearest segment within :data:`SERVE_RADIUS_M`; of equally
        near segments (a lamp at a junction), the one first in ``ranked``.
    """
    crs = require_projected(("luminaires", luminaires), ("ranked", ranked))
    keep = luminaires["light_source"].ne("LED").to_numpy(dtype=bool, na_value=False)
    if "operating" in luminaires.columns:
        keep = keep & ~luminaires["operating"].astype("str").isin(["removed", "planned"]).to_numpy(
            dtype=bool, na_value=False)
    old = luminaires[keep]
    n = len(old)
    src = old["light_source"].astype(str).to_numpy(dtype=object)
    codes, uniques = pd.factorize(src)

    def per_source(table: dict[str, float], default: float) -> FloatArray:
        values = np.array([table.get(str(u), default) for u in uniques] + [default])
        return values[codes]  # codes are never -1 here: src has no missing values

    unknown = src == "unknown"
    watt = old["wattage_w"].to_numpy(dtype="float64", na_value=np.nan)
    basis = np.where(np.isnan(watt), "default", "inventory").astype(object)
    watt = np.where(np.isnan(watt), per_source(DEFAULT_W, np.nan), watt)
    watt = np.where(unknown, np.nan, watt)  # never a guessed lamp to replace
    basis[unknown] = ""
    current = watt * per_source(BALLAST_FACTOR, 1.1)
    led = np.maximum(current * per_source(LED_EQUIVALENCE, 0.5), MIN_LED_W)
    kwh = np.clip(current - led, 0, None) * costs.burning_hours_per_year / 1000
    factor = None
    if energy_factor is not None:  # issue 17: the group's night profile
        factor = energy_factor.reindex(old.index).fillna(1.0).to_numpy(dtype="float64")
        kwh = kwh * factor
    sek = kwh * costs.electricity_sek_per_kwh
    with np.errstate(divide="ignore", invalid="ignore"):
        payback = np.where(sek > 0, costs.led_retrofit_sek / sek, np.nan)
    kwh_1 = np.round(kwh, 1)

    seg_pos = _served_segments(old, ranked, arrays)
    has = seg_pos >= 0
    take = np.where(has, seg_pos, 0)

    def served(col: str, fill: Any, dtype: Any) -> np.ndarray:
        if col not in ranked or len(ranked) == 0:
            return np.full(n, fill, dtype=dtype)
        values = ranked[col].to_numpy(dtype=dtype, na_value=fill)
        return np.where(has, values[take], fill)

    served_id = (np.where(has, ranked.index.to_numpy(dtype=object)[take], "") if len(ranked)
                 else np.full(n, "", dtype=object))
    seg_score = served("score", 0.0, "float64")
    seg_rank = pd.array(served("rank", 0, "int64"), dtype="Int64")
    seg_rank[~has] = pd.NA
    school = served("school_distance_m", np.nan, "float64")
    crossing = served("crossing_distance_m", np.nan, "float64")
    area = served("priority_area", "", object).astype(str).astype(object)
    near = (school <= school_distance_m) | (crossing <= 50) | (area != "")
    tier = np.select([src == "Hg", (src == "HPS") & near, src == "HPS", unknown],
                     [1, 2, 3, UNKNOWN_TIER], 4)
    keys = old.index.to_numpy().astype(str)
    order = np.lexsort((keys, -np.nan_to_num(kwh_1, nan=0.0), -seg_score, tier))
    prio = np.empty(n, dtype=int)
    prio[order] = np.arange(1, n + 1)
    out = pd.DataFrame({
        "light_source": pd.Series(src, index=old.index, dtype=str),
        "wattage_basis": pd.Series(basis, index=old.index, dtype=str),
        "current_w": np.round(current, 1),
        "led_w": np.round(led, 1),
        "kwh_saved_per_year": kwh_1,
        "sek_saved_per_year": np.round(sek, 0),
        "co2_kg_saved_per_year": np.round(kwh * costs.co2_kg_per_kwh, 1),
        "payback_years": np.round(payback, 1),
        "served_segment": served_id,
        "segment_score": seg_score,
        "segment_rank": seg_rank,
        "school_distance_m": school,
        "crossing_distance_m": crossing,
        "priority_area": pd.Series(area, index=old.index, dtype=str),
        "tier": tier,
        "priority": prio,
        "reason": _reasons(uniques, codes, kwh_1, school <= school_distance_m, crossing, area),
    }, index=old.index)
    if factor is not None:
        out["night_energy_factor"] = np.round(factor, 4)
    gdf = gpd.GeoDataFrame(out, geometry=old.geometry.values, crs=crs)
    gdf.index.name = "luminaire_id"
    return gdf.take(order)


def _served_segments(old: gpd.GeoDataFrame, ranked: gpd.GeoDataFrame,
                     arrays: SegmentArrays | None) -> IntArray:
    """Position in ``ranked`` of the segment each luminaire serves, -1 for none: the
    nearest within :data:`SERVE_RADIUS_M`, ties to the lowest position."""
    n = len(old)
    seg_pos = np.full(n, -1, dtype=np.intp)
    if n == 0 or len(ranked) == 0:
        return seg_pos
    if arrays is None:
        arrays = SegmentArrays.of(ranked.geometry.values)
    elif len(arrays) != len(ranked):
        raise ValueError(f"arrays has {len(arrays)} segments, ranked {len(ranked)}. Fix: "
                         "pass SegmentArrays.of(ranked.geometry)")
    pts = np.asarray(old.geometry.values, dtype=object)
    plain = bool((shapely.get_type_id(pts) == shapely.GeometryType.POINT).all()
                 and not shapely.is_empty(pts).any())
    if arrays is not None and plain:
        xy = shapely.get_coordinates(pts)
        lj, si, _ = pairs_within(cKDTree(arrays.mid), xy,
                                 SERVE_RADIUS_M + float(arrays.ext.max()))
        dist = point_line_distance(arrays.verts, si, xy[lj, 0], xy[lj, 1])
    else:
        seg_geoms = np.asarray(ranked.geometry.values)
        lj, si = shapely.STRtree(seg_geoms).query(pts, predicate="dwithin",
                                                  distance=SERVE_RADIUS_M)
        dist = shapely.distance(seg_geoms[si], pts[lj])
    ok = dist <= SERVE_RADIUS_M
    lj, si, dist = lj[ok], si[ok], dist[ok]
    order = np.lexsort((si, dist, lj))  # per luminaire: nearest, then lowest position
    lj, si = lj[order], si[order]
    first = np.r_[True, lj[1:] != lj[:-1]] if len(lj) else np.zeros(0, dtype=bool)
    seg_pos[lj[first]] = si[first]
    return seg_pos


#: Swedish name of each light source, for the reason text.
SOURCE_SV = {"Hg": "Kvicksilverlampa (förbjuden i EU sedan 2015)", "HPS": "Högtrycksnatrium",
             "MH": "Metallhalogen", "LPS": "Lågtrycksnatrium", "fluorescent": "Lysrör",
             "other": "Annan ljuskälla", "unknown": "Okänd ljuskälla"}


def _reasons(uniques: np.ndarray, codes: np.ndarray, kwh: FloatArray,
             near_school: npt.NDArray[np.bool_], crossing_m: FloatArray,
             area: np.ndarray) -> np.ndarray:
    """One Swedish line per luminaire, e.g. "Högtrycksnatrium, sparar 180 kWh/år, nära skola"
    (built column-wise on object arrays)."""
    n = len(codes)
    if n == 0:
        return np.empty(0, dtype=object)
    names = np.array([SOURCE_SV.get(str(u), "Ljuskälla") for u in uniques], dtype=object)
    known = np.isfinite(kwh)
    saved = np.round(np.nan_to_num(kwh, nan=0.0), 0).astype(np.int64).astype(str).astype(object)
    text = np.where(known, names[codes] + ", sparar " + saved + " kWh/år",
                    "Okänd ljuskälla: inventera").astype(object)

    def clause(mask: np.ndarray, words: object) -> np.ndarray:
        out = np.full(n, "", dtype=object)
        out[mask] = words if np.isscalar(words) else np.asarray(words, dtype=object)[mask]
        return out

    text = text + clause(near_school, ", nära skola") + clause(
        crossing_m <= 50, ", vid övergångsställe")
    return text + clause(area != "", ", i " + area)
