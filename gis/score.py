"""Transparent, explainable ranking of path segments for new lighting.

The score of a segment is

    score = need × (w_status + w_school·c_school + w_crossing·c_crossing
                    + w_priority·c_priority + w_findings·c_findings
                    + w_route·c_route + w_darkness·c_darkness)

where every component ``c_*`` is scaled to 0..1 and the weights ``w_*`` come from the
profile (``[weights]``). ``need`` (0..1) says how far the segment is from its target
EN 13201-2 class: context only counts insofar as the segment needs light, so a well-lit path
next to a school never outranks a dark one.

Components (documented scales):

- need: ``unlit`` 1; ``underlit`` 0.4 + 0.6 × the larger relative deficit of average and
  minimum lux; ``unknown`` 0.5 (nobody knows: worth a look); ``lit_old_technology`` 0.2
  (meets its class, but on Hg/HPS: an LED question, see :mod:`gis.led`); ``ok`` 0.
- c_school: 1 at the school grounds, falling linearly to 0 at ``SCHOOL_SCALE_M``.
- c_crossing: 1 at a marked crossing, falling linearly to 0 at ``CROSSING_SCALE_M``, plus
  0.25 per further marked crossing within 50 m (capped at 1).
- c_priority: 1 inside a named priority area (e.g. Strömsdalen), else 0.
- c_findings: severity sum of safety-walk findings within 30 m / ``FINDINGS_FULL``, capped at 1.
- c_route: log(1 + routes) / log(1 + max routes) over the input: busy school routes rank higher.
- c_darkness: the yearly share of the school commute in darkness, for segments within the
  school distance or on a school route; else 0.

Ties are broken by ``segment_id``, so the ranking is deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from layers.profile import Weights

#: Distance (m) at which closeness to a school stops counting.
SCHOOL_SCALE_M = 1_000.0
#: Distance (m) at which closeness to a marked crossing stops counting.
CROSSING_SCALE_M = 100.0
#: Severity sum of nearby findings that counts fully.
FINDINGS_FULL = 6.0

STATUS_NEED = {"unlit": 1.0, "unknown": 0.5, "lit_old_technology": 0.2, "ok": 0.0}

#: Swedish words for path types in reasons.
PATH_TYPE_SV = {
    "cycleway": "GC-väg", "footway": "gångväg", "sidewalk": "trottoar",
    "crossing": "övergångsställe", "path": "stig", "pedestrian": "gågata", "steps": "trappa",
    "living_street": "gångfartsgata", "track": "grusväg", "road": "väg",
}
#: Swedish words for lighting statuses in reasons.
STATUS_SV = {
    "unlit": "Obelyst", "underlit": "Underbelyst",
    "lit_old_technology": "Belyst med gammal teknik (Hg/HPS)", "ok": "Tillräckligt belyst",
    "unknown": "Okänd belysning,",
}

COMPONENTS = ("c_school", "c_crossing", "c_priority", "c_findings", "c_route", "c_darkness")


def _col(df: pd.DataFrame, name: str, default: float | str | bool) -> pd.Series:
    if name in df:
        return df[name]
    return pd.Series(default, index=df.index, name=name)


def need_component(status: pd.Series, mean_lux: pd.Series, min_lux: pd.Series,
                   target_avg_lux: pd.Series, target_min_lux: pd.Series) -> pd.Series:
    """How much a segment needs light, 0..1 (see the module docstring).

    Parameters
    ----------
    status : Series
        ``lighting_status`` per segment.
    mean_lux, min_lux : Series
        Modelled maintained horizontal illuminance, lux.
    target_avg_lux, target_min_lux : Series
        The segment's EN 13201-2 target, lux.
    """
    deficit = np.maximum(
        1 - mean_lux.to_numpy(float) / target_avg_lux.to_numpy(float),
        1 - min_lux.to_numpy(float) / target_min_lux.to_numpy(float))
    deficit = np.clip(np.nan_to_num(deficit, nan=1.0), 0.0, 1.0)
    need = status.map(STATUS_NEED).astype(float).to_numpy()
    need = np.where(status.to_numpy() == "underlit", 0.4 + 0.6 * deficit, need)
    return pd.Series(np.nan_to_num(need, nan=0.5), index=status.index, name="need")


def score_components(features: pd.DataFrame, school_distance_m: float = 300.0,
                     darkness_share: float = 0.0) -> pd.DataFrame:
    """The 0..1 context components of every segment.

    Parameters
    ----------
    features : DataFrame
        Per segment (any index): ``school_distance_m``, ``crossing_distance_m``,
        ``crossings_within_50m``, ``in_priority_area``, ``findings_severity_sum`` and
        ``school_route_count``. Missing columns count as "nothing there".
    school_distance_m : float
        The profile's school distance (m) within which commute darkness counts.
    darkness_share : float
        Yearly share (0..1) of the school commute that is dark.

    Returns
    -------
    DataFrame
        Columns :data:`COMPONENTS`, aligned to *features*.
    """
    d_school = _col(features, "school_distance_m", np.inf).astype(float).fillna(np.inf)
    d_cross = _col(features, "crossing_distance_m", np.inf).astype(float).fillna(np.inf)
    n_cross = _col(features, "crossings_within_50m", 0).astype(float).fillna(0)
    routes = _col(features, "school_route_count", 0).astype(float).fillna(0)
    out = pd.DataFrame(index=features.index)
    out["c_school"] = np.clip(1 - d_school / SCHOOL_SCALE_M, 0, 1)
    out["c_crossing"] = np.clip(np.clip(1 - d_cross / CROSSING_SCALE_M, 0, 1)
                                + 0.25 * np.maximum(n_cross - 1, 0), 0, 1)
    out["c_priority"] = _col(features, "in_priority_area", False).fillna(False).astype(float)
    out["c_findings"] = np.clip(
        _col(features, "findings_severity_sum", 0).astype(float).fillna(0) / FINDINGS_FULL, 0, 1)
    top = routes.max() if len(routes) else 0.0
    out["c_route"] = np.log1p(routes) / np.log1p(top) if top > 0 else 0.0
    near = (d_school <= school_distance_m) | (routes > 0)
    out["c_darkness"] = np.where(near, float(darkness_share), 0.0)
    return out


def score_segments(need: pd.Series, components: pd.DataFrame, weights: Weights) -> pd.Series:
    """The weighted score per segment (see the module docstring for the formula).

    Parameters
    ----------
    need : Series
        From :func:`need_component`, 0..1.
    components : DataFrame
        From :func:`score_components`, aligned to *need*.
    weights : Weights
        The profile's ranking weights.
    """
    w = {"c_school": weights.school, "c_crossing": weights.crossing,
         "c_priority": weights.priority_area, "c_findings": weights.findings,
         "c_route": weights.school_route, "c_darkness": weights.commute_darkness}
    context = sum(components[c] * w[c] for c in COMPONENTS)
    return (need * (weights.lighting_status + context)).rename("score")


def rank_by_score(score: pd.Series) -> pd.Series:
    """Rank 1..n by descending score; ties broken by index (ascending), so deterministic."""
    order = np.lexsort((score.index.to_numpy().astype(str), -score.to_numpy(float)))
    rank = np.empty(len(score), dtype="int64")
    rank[order] = np.arange(1, len(score) + 1)
    return pd.Series(rank, index=score.index, name="rank")


def _fmt_m(d: pd.Series) -> pd.Series:
    """Distances as Swedish text: "40 m", "1,2 km"; empty for NaN/inf (vectorised)."""
    d = d.astype(float)
    finite = np.isfinite(d)
    metres = d.where(finite, 0).round(0).astype(int).astype(str) + " m"
    km = (d.where(finite, 0) / 1000).round(1).astype(str).str.replace(".", ",",
                                                                       regex=False) + " km"
    return metres.where(d < 1000, km).where(finite, "")


def reasons(features: pd.DataFrame, school_scale_m: float = SCHOOL_SCALE_M) -> pd.Series:
    """One-line Swedish reason per segment.

    Example: ``"Obelyst GC-väg 40 m från Strömstiernaskolan, 2 övergångsställen inom 50 m,
    i Strömsdalen"``.

    Parameters
    ----------
    features : DataFrame
        Per segment: ``lighting_status``, ``path_type`` and optionally ``school_distance_m``,
        ``nearest_school``, ``crossings_within_50m``, ``crossing_distance_m``,
        ``priority_area``, ``findings_count``, ``school_route_count``, ``mean_lux``,
        ``target_class``.
    """
    # One pass over plain Python values: the clauses are short strings, and this is several
    # times faster than chaining pandas string operations (no geometry is touched).
    n_rows = len(features)

    def col(name: str, default: Any) -> list[Any]:
        return features[name].tolist() if name in features else [default] * n_rows

    status = features["lighting_status"].astype(str).tolist()
    status_sv = [STATUS_SV.get(v, "") for v in status]
    ptype = [PATH_TYPE_SV.get(v, "väg") for v in features["path_type"].astype(str).tolist()]
    has_lux = "mean_lux" in features and "target_class" in features
    lux = col("mean_lux", np.nan)
    target = col("target_class", "")
    has_school = "school_distance_m" in features and "nearest_school" in features
    dist = features["school_distance_m"].astype(float).tolist() if has_school else \
        [np.inf] * n_rows
    school = col("nearest_school", "")
    crossings = col("crossings_within_50m", 0)
    routes = col("school_route_count", 0)
    n_findings = col("findings_count", 0)
    area = col("priority_area", "")

    def metres(d: float) -> str:
        return f"{d:.0f} m" if d < 1000 else f"{d / 1000:.1f} km".replace(".", ",")

    def count(v: Any) -> int:
        return 0 if v is None or v != v else int(v)  # NaN/None count as 0

    out = []
    for i in range(n_rows):
        parts = [status_sv[i], " ", ptype[i]]
        if has_lux and status[i] == "underlit":
            parts.append(f" ({lux[i]:.1f} lx, mål {target[i]})".replace(".", ",", 1))
        d = dist[i]
        sc = school[i]
        if has_school and d == d and d <= school_scale_m and isinstance(sc, str) and sc:
            parts.append(f" {metres(d)} från {sc}")
        n = count(crossings[i])
        if n == 1:
            parts.append(", 1 övergångsställe inom 50 m")
        elif n > 1:
            parts.append(f", {n} övergångsställen inom 50 m")
        r = count(routes[i])
        if r == 1:
            parts.append(", skolväg för 1 rutt")
        elif r > 1:
            parts.append(f", skolväg för {r} rutter")
        f = count(n_findings[i])
        if f == 1:
            parts.append(", 1 synpunkt från trygghetsvandring")
        elif f > 1:
            parts.append(f", {f} synpunkter från trygghetsvandring")
        a = area[i]
        if isinstance(a, str) and a:
            parts.append(f", i {a}")
        out.append("".join(parts).strip())
    return pd.Series(out, index=features.index, name="reason", dtype="str")
