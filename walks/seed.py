"""Reading a findings file into the frame the ranking needs (until the walk store lands).

The full data model, store and importers of safety walks are issue #4; this module only
reads a findings file in our own GeoJSON shape (as written by the demo generator) so that
``trygga rank`` can weigh open findings near each segment.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers._common import Problem, ValidationError, source_label, to_profile_crs
from layers.io import read_vector

#: State labels whose type is "open" (STYLE rule 7); the others are fixed or closed.
OPEN_STATES = ("ny", "bedömd", "planerad")


def read_open_findings(path: str | Path, crs: str) -> gpd.GeoDataFrame:
    """Open findings (points) with ``category``, ``severity`` and ``state``, in *crs*.

    Parameters
    ----------
    path : path
        GeoJSON/GeoPackage of findings with ``category``, ``severity`` (1–3) and ``state``.
    crs : str
        The profile's metric CRS.
    """
    src = source_label(path)
    gdf = read_vector(path)
    missing = [c for c in ("category", "severity", "state") if c not in gdf]
    if missing:
        raise ValidationError([Problem(src, "", c, "required field is missing",
                                       "add the field (category, severity 1–3, state)")
                               for c in missing])
    gdf = to_profile_crs(gdf, crs, src)
    severity = pd.to_numeric(gdf["severity"], errors="coerce")
    bad = ~severity.isin([1, 2, 3])
    if bad.any():
        raise ValidationError([Problem(src, str(i + 1), "severity",
                                       f"severity {gdf['severity'].iloc[i]!r} is not 1, 2 or 3",
                                       "use 1 (low), 2 or 3 (high)")
                               for i in range(len(gdf)) if bad.iloc[i]])
    out = gdf.assign(severity=severity.astype(int),
                     category=gdf["category"].astype(str).str.strip().str.lower())
    out = out[out["state"].astype(str).str.strip().str.lower().isin(OPEN_STATES)]
    return out[["category", "severity", "state", "geometry"]]
