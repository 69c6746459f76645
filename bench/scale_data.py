"""The Strömstad demo replicated N times side by side: the input of ``bench/run_scale.py``.

Deterministic: the same N gives the same files, byte for byte. Tile ``k`` (0-based) lies at
column ``k % cols`` and row ``k // cols`` of a grid ``cols = ceil(sqrt(N))`` wide, shifted
by a fixed step in longitude and latitude (a little more than the demo's extent, so tiles do
not overlap). In tile ``k``:

* OSM ids are ``id + k * 10 000 000`` (the demo's ids are below 3 000 000) and every
  ``name`` gets the suffix `` T<k>`` for ``k > 0`` (tile 0 is the demo itself, with its
  designated schools);
* the lighting inventory is moved by the same shift (EPSG:3007 → degrees → shift →
  EPSG:3007) and its ids get the suffix ``-T<k>``;
* the priority areas and the findings are shifted too.

The boundary is the rectangle around all tiles. The OSM file is written as PBF (what a
real county or country extract is). Write with::

    python -m bench.scale_data 25 /tmp/scale25     # → /tmp/scale25/profile.toml
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
PROFILE = ROOT / "data" / "stromstad" / "profile.toml"
ID_STEP = 10_000_000
#: Tile step in degrees (the demo spans 0.090° of longitude and 0.046° of latitude).
STEP_LON = 0.095
STEP_LAT = 0.050


def tile_shifts(n: int) -> np.ndarray:
    """(n, 2) shift in degrees (lon, lat) of each tile."""
    cols = math.ceil(math.sqrt(n))
    k = np.arange(n)
    return np.column_stack([(k % cols) * STEP_LON, (k // cols) * STEP_LAT])


class _Reader(osmium.SimpleHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[tuple[int, float, float, list[tuple[str, str]]]] = []
        self.ways: list[tuple[int, list[int], list[tuple[str, str]]]] = []
        self.relations: list[tuple[int, list[tuple[str, int, str]], list[tuple[str, str]]]] = []

    def node(self, n: osmium.osm.Node) -> None:
        self.nodes.append((n.id, n.location.lon, n.location.lat,
                           [(t.k, t.v) for t in n.tags]))

    def way(self, w: osmium.osm.Way) -> None:
        self.ways.append((w.id, [r.ref for r in w.nodes], [(t.k, t.v) for t in w.tags]))

    def relation(self, r: osmium.osm.Relation) -> None:
        self.relations.append((r.id, [(m.type, m.ref, m.role) for m in r.members],
                               [(t.k, t.v) for t in r.tags]))


def _tags(tags: list[tuple[str, str]], k: int) -> list[tuple[str, str]]:
    if k == 0:
        return tags
    return [(key, f"{v} T{k}" if key == "name" else v) for key, v in tags]


def write_osm(n: int, out: Path) -> None:
    """The demo OSM extract replicated *n* times, as PBF."""
    src = _Reader()
    src.apply_file(str(DEMO / "stromstad_demo.osm"))
    shifts = tile_shifts(n)
    out.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(out))
    try:
        for k in range(n):  # ids ascend per type: nodes of every tile, then ways, ...
            dlon, dlat = shifts[k]
            off = k * ID_STEP
            for nid, lon, lat, tags in src.nodes:
                writer.add_node(osmium.osm.mutable.Node(
                    id=nid + off, location=(round(lon + dlon, 7), round(lat + dlat, 7)),
                    tags=_tags(tags, k), version=1))
        for k in range(n):
            off = k * ID_STEP
            for wid, refs, tags in src.ways:
                writer.add_way(osmium.osm.mutable.Way(
                    id=wid + off, nodes=[r + off for r in refs], tags=_tags(tags, k),
                    version=1))
        for k in range(n):
            off = k * ID_STEP
            for rid, members, tags in src.relations:
                writer.add_relation(osmium.osm.mutable.Relation(
                    id=rid + off, members=[(t, r + off, role) for t, r, role in members],
                    tags=_tags(tags, k), version=1))
    finally:
        writer.close()


def _dec(values: np.ndarray) -> list[str]:
    return [f"{v:.2f}".replace(".", ",") for v in values]


def write_inventory(n: int, out: Path) -> None:
    """The demo lighting inventory (EPSG:3007, Swedish CSV) replicated *n* times."""
    raw = (DEMO / "belysning_demo.csv").read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "cp1252"
    df = pd.read_csv(DEMO / "belysning_demo.csv", sep=";", dtype=str, keep_default_na=False,
                     encoding=encoding)
    north, east = df.columns[-2], df.columns[-1]
    x = pd.to_numeric(df[east].str.replace(",", "."), errors="coerce").to_numpy()
    y = pd.to_numeric(df[north].str.replace(",", "."), errors="coerce").to_numpy()
    to_deg = Transformer.from_crs("EPSG:3007", "EPSG:4326", always_xy=True)
    to_m = Transformer.from_crs("EPSG:4326", "EPSG:3007", always_xy=True)
    lon, lat = to_deg.transform(x, y)
    parts = []
    for k, (dlon, dlat) in enumerate(tile_shifts(n)):
        tile = df.copy()
        if k:
            for col in df.columns[:2]:  # luminaire id and pole number
                tile[col] = np.where(tile[col] != "", tile[col] + f"-T{k}", "")
            tx, ty = to_m.transform(lon + dlon, lat + dlat)
            ok = np.isfinite(x) & np.isfinite(y)
            tile.loc[ok, east] = np.asarray(_dec(tx[ok]), dtype=object)
            tile.loc[ok, north] = np.asarray(_dec(ty[ok]), dtype=object)
        parts.append(tile)
    pd.concat(parts).to_csv(out, sep=";", index=False, encoding=encoding, lineterminator="\r\n"
                            if b"\r\n" in raw[:2000] else "\n")


def _shift_coords(c: object, dlon: float, dlat: float) -> object:
    if isinstance(c, list) and c and isinstance(c[0], (int, float)):
        return [round(c[0] + dlon, 9), round(c[1] + dlat, 9), *c[2:]]
    if isinstance(c, list):
        return [_shift_coords(x, dlon, dlat) for x in c]
    return c


def write_geojson(name: str, n: int, out: Path, id_field: str | None = None) -> None:
    """A demo GeoJSON (EPSG:4326) replicated *n* times."""
    doc = json.loads((DEMO / name).read_text(encoding="utf-8"))
    feats = []
    for k, (dlon, dlat) in enumerate(tile_shifts(n)):
        for f in doc["features"]:
            g = json.loads(json.dumps(f))
            g["geometry"]["coordinates"] = _shift_coords(g["geometry"]["coordinates"],
                                                         float(dlon), float(dlat))
            props = g.get("properties") or {}
            if k and id_field and props.get(id_field):
                props[id_field] = f"{props[id_field]}-T{k}"
            if k and props.get("name"):
                props["name"] = f"{props['name']} T{k}"
            feats.append(g)
    doc["features"] = feats
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def write_boundary(n: int, out: Path) -> None:
    """The rectangle around all tiles (with a 0.01° margin), EPSG:4326."""
    minlon, minlat, maxlon, maxlat = 11.1266788, 58.9132465, 11.2168882, 58.9593155
    s = tile_shifts(n)
    x0, y0 = minlon - 0.01, minlat - 0.01
    x1, y1 = maxlon + s[:, 0].max() + 0.01, maxlat + s[:, 1].max() + 0.01
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": f"Strömstad demo ×{n}"},
        "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1],
                                                         [x0, y1], [x0, y0]]]}}]}
    out.write_text(json.dumps(doc), encoding="utf-8")


def write_scale_input(n: int, folder: Path) -> Path:
    """Write the ×*n* input (OSM, inventory, areas, findings, boundary, profile) into
    *folder*; returns the profile path. Skips the work when *folder* already has it."""
    folder.mkdir(parents=True, exist_ok=True)
    prof = folder / "profile.toml"
    marker = folder / ".complete"
    if marker.exists() and marker.read_text() == str(n):
        return prof
    write_osm(n, folder / "scale.osm.pbf")
    write_inventory(n, folder / "belysning.csv")
    write_geojson("prioriterade_omraden_demo.geojson", n, folder / "omraden.geojson")
    write_geojson("fynd_demo.geojson", n, folder / "fynd.geojson", id_field="id")
    write_boundary(n, folder / "boundary.geojson")
    text = PROFILE.read_text(encoding="utf-8")
    text = text.replace('"../demo/stromstad_demo.osm"', '"scale.osm.pbf"')
    text = text.replace('"../demo/belysning_demo.csv"', '"belysning.csv"')
    text = text.replace('"../demo/prioriterade_omraden_demo.geojson"', '"omraden.geojson"')
    text = text.replace('"../demo/fynd_demo.geojson"', '"fynd.geojson"')
    text = text.replace('name = "Strömstad"', f'name = "Strömstad demo x{n}"', 1)
    prof.write_text(text, encoding="utf-8")
    marker.write_text(str(n))
    return prof


if __name__ == "__main__":
    print(write_scale_input(int(sys.argv[1]), Path(sys.argv[2])))
