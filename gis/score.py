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
    codes, uniques = pd.factorize(status.astype(object), use_na_sentinel=False)
    by_status = np.array([STATUS_NEED.get(str(u), np.nan) for u in uniques] + [np.nan])
    is_underlit = np.array([str(u) == "underlit" for u in uniques] + [False])
    need = np.where(is_underlit[codes], 0.4 + 0.6 * deficit, by_status[codes])
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
    def values(name: str, default: float) -> np.ndarray:
        if name not in features:
            return np.full(len(features), default)
        v = features[name].to_numpy(dtype="float64", na_value=np.nan)
        return np.where(np.isnan(v), default, v)

    d_school = values("school_distance_m", np.inf)
    d_cross = values("crossing_distance_m", np.inf)
    n_cross = values("crossings_within_50m", 0.0)
    routes = values("school_route_count", 0.0)
    top = float(routes.max()) if len(routes) else 0.0
    near = (d_school <= school_distance_m) | (routes > 0)
    return pd.DataFrame({
        "c_school": np.clip(1 - d_school / SCHOOL_SCALE_M, 0, 1),
        "c_crossing": np.clip(np.clip(1 - d_cross / CROSSING_SCALE_M, 0, 1)
                              + 0.25 * np.maximum(n_cross - 1, 0), 0, 1),
        "c_priority": values("in_priority_area", 0.0),
        "c_findings": np.clip(values("findings_severity_sum", 0.0) / FINDINGS_FULL, 0, 1),
        "c_route": np.log1p(routes) / np.log1p(top) if top > 0 else np.zeros(len(routes)),
        "c_darkness": np.where(near, float(darkness_share), 0.0),
    }, index=features.index)


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


def int_text(values: np.ndarray) -> np.ndarray:
    """``str(v)`` of an integer array, as an object array (each distinct value formatted
    once)."""
    uniques, inverse = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
    return np.array([str(v) for v in uniques.tolist()] + [""], dtype=object)[inverse]


def _one_decimal_sv(values: np.ndarray) -> np.ndarray:
    """``f"{v:.1f}"`` with a decimal comma, for a float array (object array of str).

    Vectorised through integer tenths; values whose tenths sit within rounding error of a
    half (where ``rint(v * 10)`` and Python's correctly rounded format could differ) and
    non-finite values go through Python's format, so the text is exactly the same.
    """
    v = np.asarray(values, dtype=float)
    out = np.empty(len(v), dtype=object)
    with np.errstate(invalid="ignore"):
        scaled = v * 10
        frac = np.abs(scaled - np.floor(scaled) - 0.5)
        fast = np.isfinite(scaled) & (frac > 1e-6) & (np.abs(scaled) < 1e15)
    tenths = np.rint(scaled[fast]).astype(np.int64)
    sign = np.where(scaled[fast] < 0, "-", "").astype(object)
    a = np.abs(tenths)
    out[fast] = sign + int_text(a // 10) + "," + int_text(a % 10)
    slow = np.flatnonzero(~fast)
    out[slow] = [f"{x:.1f}".replace(".", ",") for x in v[slow].tolist()]
    return out


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
    # Clause by clause over whole columns: numpy object arrays concatenate strings
    # element-wise in C; numbers and words are formatted once per distinct value. No
    # per-row Python branching.
    n_rows = len(features)

    def col(name: str, default: Any, dtype: Any = object) -> np.ndarray:
        if name not in features:
            return np.full(n_rows, default, dtype=dtype)
        values = features[name]
        if dtype is object:
            return values.to_numpy(dtype=object, na_value=default)
        return pd.to_numeric(values, errors="coerce").fillna(default).to_numpy(dtype=dtype)

    def codes_of(name: str) -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(features[name].astype(object), use_na_sentinel=False)
        return codes, np.asarray(uniques, dtype=object)

    def empty() -> np.ndarray:
        return np.full(n_rows, "", dtype=object)

    def counted(name: str, one: str, before: str, after: str) -> np.ndarray:
        """``one`` where the count is 1, ``before + count + after`` where > 1 (NaN is 0)."""
        n = col(name, 0, dtype=float).astype(np.int64)
        out = empty()
        out[n == 1] = one
        several = n > 1
        out[several] = before + int_text(n[several]) + after
        return out

    status = col("lighting_status", "")
    # "<status> <path type>", built once per distinct (status, path type) pair
    s_codes, s_uniques = codes_of("lighting_status")
    p_codes, p_uniques = codes_of("path_type")
    pair = s_codes.astype(np.int64) * len(p_uniques) + p_codes
    pair_codes, pairs = pd.factorize(pair)
    heads = []
    for k in np.asarray(pairs).tolist():
        status_sv = STATUS_SV.get(str(s_uniques[k // len(p_uniques)]), "")
        path_sv = PATH_TYPE_SV.get(str(p_uniques[k % len(p_uniques)]), "väg")
        heads.append(f"{status_sv} {path_sv}" if status_sv else path_sv)
    text = np.array(heads + [""], dtype=object)[pair_codes]
    if "mean_lux" in features and "target_class" in features:
        under = np.flatnonzero(status == "underlit")
        clause = empty()
        clause[under] = (" (" + _one_decimal_sv(col("mean_lux", np.nan, dtype=float)[under])
                         + " lx, mål " + col("target_class", "")[under] + ")")
        text = text + clause
    if "school_distance_m" in features and "nearest_school" in features:
        dist = col("school_distance_m", np.nan, dtype=float)
        school = col("nearest_school", "")
        near = (dist <= school_scale_m) & (school != "")
        metres = near & (dist < 1000)
        km = np.flatnonzero(near & ~metres)
        clause = empty()
        # rint and "%.0f" both round the exact binary value half to even: same text
        clause[metres] = " " + int_text(np.rint(dist[metres]).astype(np.int64))
        clause[km] = " " + _one_decimal_sv(dist[km] / 1000) + " km"
        clause[metres] = clause[metres] + " m"
        clause[near] = clause[near] + " från " + school[near]
        text = text + clause
    text = (text
            + counted("crossings_within_50m", ", 1 övergångsställe inom 50 m",
                      ", ", " övergångsställen inom 50 m")
            + counted("school_route_count", ", skolväg för 1 rutt", ", skolväg för ", " rutter")
            + counted("findings_count", ", 1 synpunkt från trygghetsvandring",
                      ", ", " synpunkter från trygghetsvandring"))
    area = col("priority_area", "")
    in_area = area != ""
    clause = empty()
    clause[in_area] = ", i " + area[in_area]
    out = (text + clause).tolist()
    return pd.Series(out, index=features.index, name="reason", dtype="str")
