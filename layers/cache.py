"""The normalised layers of one input, on disk as GeoParquet (one file per layer).

What :func:`layers.loader.load_layers` returns is kept in a folder: each layer frame as a
GeoParquet file (columns, dtypes, index and CRS kept; geometry as WKB, so coordinates are
exact), and ``meta.json`` with the boundary (WKB), the load reports and the warnings the
funnels gave, written last so that a folder without it is no cache. The caller names the
folder after a key of the inputs (``trygga_cli.rank.layers_cache_key``); this module only
writes and reads. Reading is columnar (pyarrow, then one ``shapely.from_wkb`` per layer),
with no Python object per feature.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from layers.loader import LayerReport, Layers
from layers.profile import Profile

#: Written last: its presence marks a complete cache folder.
META = "meta.json"
#: Bumped when the folder layout changes (an old folder is then a miss).
FORMAT = 2


def _frame_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(Layers)
            if f.name not in ("profile", "boundary", "reports")]


def write_layers(folder: Path, layers: Layers,
                 warned: list[tuple[type[Warning], str]]) -> Path:
    """Write *layers* (and the warnings their funnels gave) into *folder*, atomically.

    The files go to a temporary sibling folder that is renamed to *folder* when complete,
    so a reader never sees half a cache. Raises what pyarrow raises for a column it cannot
    store (the caller then goes without a cache).
    """
    folder = Path(folder)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        frames: dict[str, str | None] = {}
        crs: dict[str, str | None] = {}
        for name in _frame_fields():
            gdf = getattr(layers, name)
            if gdf is None:
                frames[name] = None
                continue
            gdf.to_parquet(tmp / f"{name}.parquet", compression="zstd")
            frames[name] = f"{name}.parquet"
            crs[name] = gdf.crs.srs if gdf.crs is not None else None
        meta = {
            "format": FORMAT,
            "frames": frames,
            # the CRS as the funnels set it ("EPSG:3007"), not GeoParquet's PROJJSON: the
            # same CRS, and the same text where a key or a file takes it as text
            "crs": crs,
            "boundary_wkb": shapely.to_wkb(layers.boundary, hex=True),
            "reports": {k: dataclasses.asdict(r) for k, r in layers.reports.items()},
            "warnings": [[f"{c.__module__}:{c.__qualname__}", m] for c, m in warned],
        }
        (tmp / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _category(name: str) -> type[Warning]:
    module, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, Warning)):
        raise TypeError(f"{name} is not a warning category")
    return obj


def read_layers(folder: Path, profile: Profile,
                ) -> tuple[Layers, list[tuple[type[Warning], str]]] | None:
    """The layers in *folder* (for *profile*) and their warnings; None when *folder* holds
    no complete cache of this format. A damaged file raises (the caller treats it as a
    miss)."""
    folder = Path(folder)
    meta_path = folder / META
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        return None
    frames: dict[str, gpd.GeoDataFrame | None] = {}
    for name in _frame_fields():
        file = meta["frames"].get(name)
        if file is None:
            frames[name] = None
            continue
        gdf = gpd.read_parquet(folder / file)
        srs = meta["crs"].get(name)
        frames[name] = gdf.set_crs(srs, allow_override=True) if srs else gdf
    reports = {k: LayerReport(**r) for k, r in meta["reports"].items()}
    boundary = shapely.from_wkb(bytes.fromhex(meta["boundary_wkb"]))
    warned = [(_category(c), m) for c, m in meta["warnings"]]
    return Layers(profile=profile, boundary=boundary, reports=reports, **frames), warned
