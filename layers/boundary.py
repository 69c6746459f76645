"""The municipality boundary and named priority areas (e.g. Strömsdalen)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from layers import schemas
from layers._common import (
    Problem,
    ValidationError,
    clean_geometries,
    finalize,
    source_label,
    to_profile_crs,
    warn_layer,
)
from layers.io import read_vector
from layers.profile import HULL_BUFFER_M, Profile


def load_boundary(profile: Profile) -> shapely.Geometry:
    """The municipality boundary as one (Multi)Polygon in the profile CRS (metres).

    Raises
    ------
    ValueError
        When the profile names no boundary file (use :func:`boundary_from_paths`).
    """
    if profile.boundary is None:
        raise ValueError("the profile names no boundary; use boundary_from_paths")
    gdf = read_vector(profile.boundary)
    gdf = clean_geometries(gdf, ["Polygon", "MultiPolygon"], "boundary")
    gdf = to_profile_crs(gdf, profile.crs, source_label(profile.boundary))
    return shapely.union_all(gdf.geometry.values)


def boundary_from_paths(paths: gpd.GeoDataFrame, buffer_m: float = HULL_BUFFER_M,
                        ) -> shapely.Geometry:
    """A stand-in boundary when the profile names none: the convex hull of the paths,
    buffered by *buffer_m* metres, with a LayerWarning.

    Parameters
    ----------
    paths : GeoDataFrame
        The path layer, in the profile's metric CRS.
    buffer_m : float
        Buffer in metres around the hull (luminaires and homes near the outermost paths).

    Raises
    ------
    ValidationError
        When there are no paths to take a hull of.
    """
    geoms = paths.geometry.values
    if len(paths) == 0:
        raise ValidationError([Problem(
            "profile", "", "boundary", "the profile names no boundary file and there are no "
            "paths to derive one from", "add boundary = \"...\" (a municipality polygon) "
            "to the profile, or an OSM source with paths", column_label="key")])
    hull = shapely.buffer(shapely.convex_hull(shapely.union_all(geoms)), buffer_m)
    warn_layer(f"boundary: the profile names no boundary file; using the convex hull of "
               f"the {len(paths)} paths buffered {buffer_m:.0f} m ({hull.area / 1e6:.1f} km²). "
               "Add boundary = \"...\" to the profile for the municipality's real boundary")
    return hull


def _normalize_areas(gdf: gpd.GeoDataFrame, crs: str, src: str) -> gpd.GeoDataFrame:
    """The one funnel for priority areas: name, valid polygons, unique id, profile CRS."""
    name_col = next((c for c in gdf.columns if c.lower() in ("name", "namn", "omrade",
                                                              "område", "area")), None)
    if name_col is None:
        raise ValidationError([Problem(
            src, "", "name", f"no name column (found: {', '.join(map(str, gdf.columns))})",
            "add a 'name' (or 'namn') attribute with the area's name")])
    gdf = gdf.rename(columns={name_col: "name"})
    gdf["name"] = gdf["name"].astype("string").str.strip()
    missing = gdf["name"].isna() | (gdf["name"] == "")
    if missing.any():
        raise ValidationError([Problem(src, str(i + 1), "name", "area has no name",
                                       "give every priority area a name")
                               for i in range(len(gdf)) if missing.iloc[i]])
    gdf = clean_geometries(gdf, ["Polygon", "MultiPolygon"], "priority_areas")
    gdf = to_profile_crs(gdf, crs, src)
    slug = gdf["name"].str.lower().str.replace(r"[^0-9a-zåäö]+", "-", regex=True)
    if slug.duplicated().any():
        warn_layer("priority_areas: areas with the same name were merged",
                   slug[slug.duplicated()].tolist())
        gdf = gdf.dissolve(by=slug, aggfunc="first")
    else:
        gdf.index = slug
    return finalize(gdf, list(schemas.AREAS), schemas.AREAS_INDEX, crs)


def read_priority_areas(path: str | Path, crs: str) -> gpd.GeoDataFrame:
    """Read named priority-area polygons from GeoJSON or GeoPackage.

    Parameters
    ----------
    path : str or Path
        File with polygons and a ``name`` (or ``namn``) attribute.
    crs : str
        Target metric CRS, e.g. ``"EPSG:3007"``.

    Returns
    -------
    GeoDataFrame
        Columns as :data:`layers.schemas.AREAS`, index ``area_id`` (slug of the name).
    """
    return _normalize_areas(read_vector(path), crs, source_label(path))
