"""Who is responsible for a finding: a suggestion from the road next to it.

Staff confirm the suggestion; it is never written to the store by this module. The
evidence is the nearest road line (:mod:`layers.roads`, from OSM or the profile's
road-owner layer) within ``max_distance_m`` of the finding:

* an owner/operator text (:func:`party_from_owner`): ``Trafikverket``/``statlig`` ->
  Trafikverket; ``kommun``/``kommunal`` -> kommun gata/park; ``enskild``/``privat``/
  ``samfällighet`` -> privat fastighetsägare; a housing company (``bostad``) ->
  bostadsbolag;
* else a road number of a state road (:func:`is_state_road_ref`): European roads
  (``E6``, ``E 6``), national and county roads (``176``, ``1042``) -> Trafikverket.

Findings with no road within the distance, or roads without such evidence, get no
suggestion (empty), never a guess.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Default search distance in metres from a finding to a road line.
MAX_DISTANCE_M = 30.0
_STATE_REF = re.compile(r"^(E\s?\d{1,3}|\d{1,4})$", re.IGNORECASE)
_OWNER_WORDS: tuple[tuple[str, str], ...] = (
    ("trafikverket", "Trafikverket"), ("statlig", "Trafikverket"), ("stat", "Trafikverket"),
    ("bostad", "bostadsbolag"), ("kommun", "kommun gata/park"),
    ("enskild", "privat fastighetsägare"), ("privat", "privat fastighetsägare"),
    ("samfällighet", "privat fastighetsägare"), ("vägförening", "privat fastighetsägare"),
)


def is_state_road_ref(ref: str) -> bool:
    """True for road numbers of state roads: ``E6``, ``E 20``, ``176``, ``1042``.

    Several refs (``"E6;176"``) count when one of them is a state road.

    >>> [is_state_road_ref(r) for r in ("E6", "176", "E6;176", "S-1369", "")]
    [True, True, True, False, False]
    """
    return any(_STATE_REF.match(part.strip()) for part in str(ref).split(";") if part.strip())


def party_from_owner(owner: str) -> str | None:
    """The responsible party for an owner/operator text, or None.

    >>> party_from_owner("Strömstads kommun"), party_from_owner("Statlig")
    ('kommun gata/park', 'Trafikverket')
    """
    text = str(owner).casefold()
    words = re.findall(r"\w+", text)
    for word, party in _OWNER_WORDS:
        if word == "stat":
            if "stat" in words or "staten" in words:
                return party
        elif word in text:
            return party
    return None


def responsible_from_road(ref: pd.Series, operator: pd.Series) -> pd.DataFrame:
    """Suggested party and reason for each road (aligned to the inputs' index).

    Returns
    -------
    DataFrame
        ``suggested_responsible`` (party or ``""``) and ``suggestion_reason`` (e.g.
        ``"operator=Trafikverket"``, ``"ref=E6 (statlig väg)"``).
    """
    parties, reasons = [], []
    for r, o in zip(ref.astype(str), operator.astype(str), strict=True):
        party = party_from_owner(o) if o else None
        if party:
            parties.append(party)
            reasons.append(f"väghållare/operator={o}")
        elif r and is_state_road_ref(r):
            parties.append("Trafikverket")
            reasons.append(f"ref={r} (statlig väg)")
        else:
            parties.append("")
            reasons.append("")
    return pd.DataFrame({"suggested_responsible": parties, "suggestion_reason": reasons},
                        index=ref.index)


def suggest_responsible(findings: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, *,
                        max_distance_m: float = MAX_DISTANCE_M) -> pd.DataFrame:
    """The responsible party suggested by the nearest road with evidence.

    Parameters
    ----------
    findings : GeoDataFrame
        Finding points (any index) in a projected CRS (metres).
    roads : GeoDataFrame
        :mod:`layers.roads` lines (``ref``, ``operator``) in the same CRS. Only roads
        with evidence (an owner text or a state-road ref) are searched, so a finding
        beside both a state road and an untagged street gets the state road when it is
        within the distance.
    max_distance_m : float
        Search distance in metres.

    Returns
    -------
    DataFrame
        Aligned to ``findings.index``: ``suggested_responsible`` (``""`` when none),
        ``suggestion_reason``, ``road_id`` (``""`` when none) and ``road_distance_m``
        (NaN when none). Ties in distance go to the road that comes first in *roads*.

    Raises
    ------
    ValueError
        A geographic CRS, or the two frames in different CRSs.
    """
    if findings.crs is None or not findings.crs.is_projected:
        raise ValueError("findings must be in a projected CRS (metres). Fix: pass the "
                         "store's findings reprojected to the profile's CRS")
    if roads.crs != findings.crs:
        raise ValueError(f"roads are in {roads.crs}, findings in {findings.crs}. Fix: load "
                         "both in the profile's CRS")
    out = pd.DataFrame({"suggested_responsible": "", "suggestion_reason": "",
                        "road_id": "", "road_distance_m": np.nan}, index=findings.index)
    if findings.empty or roads.empty:
        return out
    evidence = responsible_from_road(roads["ref"], roads["operator"])
    has = evidence["suggested_responsible"].ne("").to_numpy()
    if not has.any():
        return out
    cand = roads.loc[has]
    tree = shapely.STRtree(np.asarray(cand.geometry.values))
    pts = np.asarray(findings.geometry.values)
    (left, right), dist = tree.query_nearest(pts, max_distance=max_distance_m,
                                             return_distance=True, all_matches=True)
    if len(left) == 0:
        return out
    # first match per finding = nearest, ties by road order (query_nearest sorts by tree
    # index within equal distances after a stable sort on distance)
    order = np.lexsort((right, dist, left))
    left, right, dist = left[order], right[order], dist[order]
    first = np.unique(left, return_index=True)[1]
    rows, roads_at, d = left[first], right[first], dist[first]
    ev = evidence.loc[cand.index[roads_at]]
    idx = findings.index[rows]
    out.loc[idx, "suggested_responsible"] = ev["suggested_responsible"].to_numpy()
    out.loc[idx, "suggestion_reason"] = ev["suggestion_reason"].to_numpy()
    out.loc[idx, "road_id"] = cand.index[roads_at].astype(str).to_numpy()
    out.loc[idx, "road_distance_m"] = d
    return out


__all__ = ["MAX_DISTANCE_M", "is_state_road_ref", "party_from_owner",
           "responsible_from_road", "suggest_responsible"]
