"""Ranking snapshots: the lighting situation at two dates, for the lighting measures.

A :class:`RankingSnapshot` is a ranking run (:func:`gis.ranking.rank`) of one lighting
inventory: the ranked segments with their lighting status, and the luminaires. Comparing
the snapshot at the start of a year with the one at its end gives the kilometres that
were improved and the luminaires converted to LED (:mod:`promises.progress`).

A snapshot comes from either

* a ``ranking.gpkg`` written by ``trygga rank`` (layers ``segments`` and ``luminaires``),
  or a folder holding one; or
* a lighting inventory file (any format :func:`layers.lighting.read_inventory` reads),
  ranked here on the profile's other layers (paths, schools, crossings, areas).

Both snapshots of a comparison are ranked without safety-walk findings, so that only the
inventory differs. Everything is in the profile's metric CRS (metres).
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gis.darkness import commute_darkness_by_month
from gis.ranking import rank
from gis.school_routes import layer_route_counts
from gis.segments import segment_paths
from layers._common import LayerWarning, Problem, ValidationError, source_label
from layers.lighting import read_inventory
from layers.loader import Layers, load_layers
from layers.profile import Profile
from promises.register import InventorySnapshot, Register

logger = logging.getLogger(__name__)

#: Columns of the segments a snapshot needs.
SEGMENT_NEEDS: tuple[str, ...] = ("lighting_status", "length_m", "school_distance_m",
                                  "crossing_distance_m", "priority_area")
#: Columns of the luminaires a snapshot needs.
LUMINAIRE_NEEDS: tuple[str, ...] = ("light_source", "wattage_w")


@dataclass(frozen=True)
class RankingSnapshot:
    """The lighting situation on one date.

    Attributes
    ----------
    label : str
        Display label, e.g. ``"Belysningsregister vid årsskiftet 2023/2024"``.
    date : datetime.date or None
        Date the inventory describes, when known.
    segments : GeoDataFrame
        Ranked segments (index ``segment_id``) with at least :data:`SEGMENT_NEEDS`, in
        the profile CRS.
    luminaires : GeoDataFrame
        Luminaires (index ``luminaire_id``) with at least :data:`LUMINAIRE_NEEDS`.
    """

    label: str
    date: dt.date | None
    segments: gpd.GeoDataFrame
    luminaires: gpd.GeoDataFrame


def _check_columns(frame: pd.DataFrame, needs: tuple[str, ...], src: str,
                   layer: str) -> None:
    missing = [c for c in needs if c not in frame.columns]
    if missing:
        raise ValidationError([Problem(src, "", c, f"layer {layer!r} lacks the column",
                                       "give a ranking.gpkg written by `trygga rank`")
                               for c in missing])


def is_ranking_file(path: str | Path) -> bool:
    """True for a folder with a ``ranking.gpkg``, or a GeoPackage with a ``segments`` layer."""
    p = Path(path)
    if p.is_dir():
        return (p / "ranking.gpkg").exists()
    if p.suffix.lower() != ".gpkg" or not p.exists():
        return False
    try:
        names = {str(n) for n in pyogrio.list_layers(p)[:, 0]}
    except Exception:  # not a readable GeoPackage: let the inventory reader explain
        return False
    return "segments" in names


def snapshot_from_ranking(path: str | Path, crs: str, label: str | None = None,
                          date: dt.date | None = None) -> RankingSnapshot:
    """Read a snapshot from a ``ranking.gpkg`` of ``trygga rank`` (or its folder).

    Parameters
    ----------
    path : path
        The GeoPackage, or the ``--out`` folder of ``trygga rank``.
    crs : str
        The profile's metric CRS; the layers are reprojected to it if needed.
    label : str, optional
        Display label (default: the file name).
    date : datetime.date, optional
        Date the ranking's inventory describes.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "ranking.gpkg"
    src = source_label(p)
    segs = gpd.read_file(p, layer="segments", engine="pyogrio")
    lums = gpd.read_file(p, layer="luminaires", engine="pyogrio")
    _check_columns(segs, ("segment_id", *SEGMENT_NEEDS), src, "segments")
    _check_columns(lums, ("luminaire_id", *LUMINAIRE_NEEDS), src, "luminaires")
    segs = segs.set_index("segment_id").to_crs(crs)
    lums = lums.set_index("luminaire_id").to_crs(crs)
    segs["priority_area"] = segs["priority_area"].fillna("").astype(str)
    return RankingSnapshot(label or p.name, date, segs, lums)


@dataclass
class _Shared:
    """Work shared by the rankings of one network (computed once)."""

    route_counts: pd.Series
    darkness: pd.DataFrame


def _shared(layers: Layers) -> _Shared:
    prof = layers.profile
    segs = segment_paths(layers.paths, prof.lighting.segment_length_m)
    return _Shared(layer_route_counts(layers, segs),
                   commute_darkness_by_month(prof.latitude, prof.longitude, prof.timezone))


def snapshot_from_inventory(layers: Layers, inventory: str | Path, label: str | None = None,
                            date: dt.date | None = None, *,
                            _shared_work: _Shared | None = None) -> RankingSnapshot:
    """Rank *inventory* on the profile's other layers.

    Parameters
    ----------
    layers : Layers
        The profile's layers (:func:`layers.loader.load_layers`); their luminaires are
        replaced by the inventory.
    inventory : path
        Lighting inventory file (CSV, XLSX, GeoPackage, Shapefile, GeoJSON).
    label, date
        Display label and date of the inventory.
    """
    prof = layers.profile
    s = prof.sources
    current = s.lighting_inventory
    if current is not None and Path(inventory).resolve() == Path(current).resolve():
        lums = layers.luminaires  # the profile's own inventory: already loaded
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LayerWarning)
            lums = read_inventory(Path(inventory), prof.crs, boundary=layers.boundary,
                                  column_map=s.lighting_columns or None,
                                  source_crs=s.lighting_crs,
                                  aliases=prof.inventory.columns or None,
                                  codes=prof.inventory.codes or None,
                                  strict=prof.inventory.strict)
    shared = _shared_work or _shared(layers)
    result = rank(layers.paths, lums, layers.schools, layers.crossings, layers.priority_areas,
                  prof, route_counts=shared.route_counts, darkness=shared.darkness,
                  origins=layers.route_origins(), walkable=layers.walkable)
    segs = result.segments.copy()
    segs["priority_area"] = segs["priority_area"].astype(str)
    logger.info("ranked %s: %d segments, %d luminaires", inventory, len(segs), len(lums))
    return RankingSnapshot(label or Path(inventory).name, date, segs, lums)


def load_snapshot(path: str | Path, layers: Layers, label: str | None = None,
                  date: dt.date | None = None) -> RankingSnapshot:
    """A snapshot from a ranking (``ranking.gpkg`` or its folder) or an inventory file."""
    if is_ranking_file(path):
        return snapshot_from_ranking(path, layers.profile.crs, label, date)
    return snapshot_from_inventory(layers, path, label, date)


def _from_register(entry: InventorySnapshot, layers: Layers,
                   shared: _Shared | None) -> RankingSnapshot:
    if is_ranking_file(entry.path):
        return snapshot_from_ranking(entry.path, layers.profile.crs, entry.display, entry.date)
    return snapshot_from_inventory(layers, entry.path, entry.display, entry.date,
                                   _shared_work=shared)


def snapshots_for_year(profile: Profile, register: Register, year: int, *,
                       layers: Layers | None = None, before: str | Path | None = None,
                       after: str | Path | None = None
                       ) -> tuple[RankingSnapshot | None, RankingSnapshot | None]:
    """The snapshots at the start and at the end of *year*.

    Parameters
    ----------
    profile : Profile
        The municipality profile (layers, CRS).
    register : Register
        Its dated inventories (:meth:`promises.register.Register.snapshots_for`).
    year : int
        The report year.
    layers : Layers, optional
        Already loaded layers of *profile* (loaded here when needed and not given).
    before, after : path, optional
        Override the register: a ``ranking.gpkg`` (or folder) or an inventory file.

    Returns
    -------
    (RankingSnapshot or None, RankingSnapshot or None)
        None where there is no inventory for that date. Without a dated inventory for the
        end of the year, the profile's current inventory is used for *after*.
    """
    entry_before, entry_after = register.snapshots_for(year)
    if entry_before is None and before is None:
        return None, None
    if layers is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LayerWarning)
            layers = load_layers(profile)
    shared = _shared(layers) if not (before and after and is_ranking_file(before)
                                     and is_ranking_file(after)) else None
    if before is not None:
        snap_before = load_snapshot(before, layers, label=Path(before).name)
    else:
        assert entry_before is not None
        snap_before = _from_register(entry_before, layers, shared)
    if after is not None:
        snap_after = load_snapshot(after, layers, label=Path(after).name)
    elif entry_after is not None:
        snap_after = _from_register(entry_after, layers, shared)
    elif profile.sources.lighting_inventory is not None:
        inv = profile.sources.lighting_inventory
        snap_after = snapshot_from_inventory(layers, inv, "Aktuellt belysningsregister",
                                             None, _shared_work=shared)
    else:
        return snap_before, None
    return snap_before, snap_after


__all__ = ["LUMINAIRE_NEEDS", "SEGMENT_NEEDS", "RankingSnapshot", "is_ranking_file",
           "load_snapshot", "snapshot_from_inventory", "snapshot_from_ranking",
           "snapshots_for_year"]
