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
priority area, 3 = other HPS, 4 = other non-LED light sources. Within a tier: the served
segment's score, then kWh saved, then id.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis._crs import require_projected
from layers.profile import Costs

BALLAST_FACTOR = {"LED": 1.0, "HPS": 1.12, "Hg": 1.1, "MH": 1.1, "LPS": 1.15,
                  "fluorescent": 1.1, "other": 1.1, "unknown": 1.1}
LED_EQUIVALENCE = {"HPS": 0.45, "Hg": 0.27, "MH": 0.5, "LPS": 0.5, "fluorescent": 0.55,
                   "other": 0.5, "unknown": 0.5}
#: Wattage assumed when the inventory has none, per light source (W).
DEFAULT_W = {"HPS": 70.0, "Hg": 125.0, "MH": 70.0, "LPS": 55.0, "fluorescent": 36.0,
             "other": 70.0, "unknown": 70.0}
MIN_LED_W = 10.0
#: Distance (m) within which a luminaire serves a segment.
SERVE_RADIUS_M = 30.0


def led_replacements(luminaires: gpd.GeoDataFrame, ranked: gpd.GeoDataFrame, costs: Costs,
                     school_distance_m: float = 300.0) -> gpd.GeoDataFrame:
    """Plan LED replacement of every non-LED luminaire, in priority order.

    Parameters
    ----------
    luminaires : GeoDataFrame
        Luminaire layer (``layers.schemas.LUMINAIRES``) in a projected CRS (metres).
    ranked : GeoDataFrame
        Ranked segments in the same CRS with ``score``, ``rank``, ``school_distance_m``,
        ``crossing_distance_m`` and ``priority_area``.
    costs : Costs
        The profile's cost and energy parameters.
    school_distance_m : float
        Distance (m) to school grounds that counts as "near a school" for tier 2.

    Returns
    -------
    GeoDataFrame
        Non-LED luminaires (index ``luminaire_id``) with light_source, current_w,
        led_w, kwh_saved_per_year, sek_saved_per_year, co2_kg_saved_per_year,
        payback_years, served_segment, segment_score, segment_rank, school_distance_m,
        crossing_distance_m, priority_area, tier, priority (1..n) and reason.
    """
    crs = require_projected(("luminaires", luminaires), ("ranked", ranked))
    old = luminaires[luminaires["light_source"].ne("LED")]
    src = old["light_source"].astype(str)
    watt = old["wattage_w"].astype(float).fillna(src.map(DEFAULT_W).astype(float))
    current = watt * src.map(BALLAST_FACTOR).astype(float).fillna(1.1)
    led = np.maximum(current * src.map(LED_EQUIVALENCE).astype(float).fillna(0.5), MIN_LED_W)
    kwh = (current - led).clip(lower=0) * costs.burning_hours_per_year / 1000
    sek = kwh * costs.electricity_sek_per_kwh
    out = pd.DataFrame({
        "light_source": src,
        "current_w": current.round(1),
        "led_w": led.round(1),
        "kwh_saved_per_year": kwh.round(1),
        "sek_saved_per_year": sek.round(0),
        "co2_kg_saved_per_year": (kwh * costs.co2_kg_per_kwh).round(1),
        "payback_years": (costs.led_retrofit_sek / sek.where(sek > 0)).round(1),
    }, index=old.index)
    # Served segment: the nearest segment within the serve radius (bulk STRtree query).
    tree = shapely.STRtree(ranked.geometry.values)
    pairs = tree.query_nearest(old.geometry.values, max_distance=SERVE_RADIUS_M,
                               return_distance=False, all_matches=False)
    seg_pos = np.full(len(old), -1)
    seg_pos[pairs[0]] = pairs[1]
    has = seg_pos >= 0
    take = np.where(has, seg_pos, 0)

    def served(col: str, fill: float | str) -> np.ndarray:
        values = (ranked[col].to_numpy(dtype=object)[take] if col in ranked and len(ranked)
                  else np.full(len(old), fill, dtype=object))
        return np.where(has, values, np.asarray(fill, dtype=object))

    out["served_segment"] = np.where(has, ranked.index.to_numpy(dtype=object)[take]
                                     if len(ranked) else "", "")
    out["segment_score"] = served("score", 0.0).astype(float)
    out["segment_rank"] = pd.Series(served("rank", 0), index=out.index).astype("Int64").where(
        has)
    out["school_distance_m"] = served("school_distance_m", np.nan).astype(float)
    out["crossing_distance_m"] = served("crossing_distance_m", np.nan).astype(float)
    out["priority_area"] = served("priority_area", "").astype(str)
    near = ((out["school_distance_m"] <= school_distance_m)
            | (out["crossing_distance_m"] <= 50) | out["priority_area"].ne(""))
    out["tier"] = np.select([src.eq("Hg"), src.eq("HPS") & near, src.eq("HPS")], [1, 2, 3], 4)
    keys = out.index.to_numpy().astype(str)
    order = np.lexsort((keys, -out["kwh_saved_per_year"].to_numpy(float),
                        -out["segment_score"].to_numpy(float), out["tier"].to_numpy()))
    prio = np.empty(len(out), dtype=int)
    prio[order] = np.arange(1, len(out) + 1)
    out["priority"] = prio
    out["reason"] = _reasons(out)
    gdf = gpd.GeoDataFrame(out, geometry=old.geometry.values, crs=crs)
    gdf.index.name = "luminaire_id"
    return gdf.sort_values("priority")


def _reasons(out: pd.DataFrame) -> pd.Series:
    names = {"Hg": "Kvicksilverlampa (förbjuden i EU sedan 2015)", "HPS": "Högtrycksnatrium",
             "MH": "Metallhalogen", "LPS": "Lågtrycksnatrium", "fluorescent": "Lysrör",
             "other": "Annan ljuskälla", "unknown": "Okänd ljuskälla"}
    text = out["light_source"].map(names).fillna("Ljuskälla")
    text = text + ", sparar " + out["kwh_saved_per_year"].round(0).astype(int).astype(str) + \
        " kWh/år"
    near_school = out["school_distance_m"].le(300)
    text = text.where(~near_school, text + ", nära skola")
    near_cross = out["crossing_distance_m"].le(50)
    text = text.where(~near_cross, text + ", vid övergångsställe")
    area = out["priority_area"].ne("")
    return text.where(~area, text + ", i " + out["priority_area"]).rename("reason")
