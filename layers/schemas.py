"""Column schemas of every layer that leaves :mod:`layers`.

Each schema maps column name -> description. Every layer is a GeoDataFrame in the
profile's metric CRS, with a unique string index named as in ``*_INDEX`` and exactly these
columns (plus ``geometry``), in this order. :mod:`gis` may import these names.
"""

from __future__ import annotations

#: Values of the normalised OSM ``lit`` tag.
LIT_VALUES = ("yes", "no", "limited", "automatic", "unknown")

#: Path types used for target lighting classes (see ``Lighting.target_class``).
PATH_TYPES = ("cycleway", "footway", "sidewalk", "crossing", "path", "pedestrian", "steps",
              "living_street", "track", "road")

#: Normalised light-source values of luminaires.
LIGHT_SOURCES = ("LED", "HPS", "Hg", "MH", "LPS", "fluorescent", "other", "unknown")

#: Owners of luminaires.
OWNERS = ("kommun", "Trafikverket", "privat", "annan", "unknown")

PATHS_INDEX = "path_id"
PATHS: dict[str, str] = {
    "osm_id": "OSM way id (int64); -1 when the path did not come from OSM",
    "path_type": f"one of {PATH_TYPES}, derived from highway/footway/designation tags",
    "highway": "OSM highway tag",
    "footway": "OSM footway tag (sidewalk, crossing, ...) or empty",
    "cycleway": "OSM cycleway tag or empty",
    "bicycle": "OSM bicycle tag or empty",
    "foot": "OSM foot tag or empty",
    "segregated": "OSM segregated tag or empty",
    "surface": "OSM surface tag or empty",
    "name": "street or path name, or empty",
    "lit": f"normalised lighting tag, one of {LIT_VALUES}",
    "lit_raw": "the lit tag as found in OSM, or empty",
}

LUMINAIRES_INDEX = "luminaire_id"
LUMINAIRES: dict[str, str] = {
    "pole_id": "pole number (stolpnummer), or empty",
    "light_source": f"normalised light source, one of {LIGHT_SOURCES}",
    "light_source_raw": "the light-source text as found in the source",
    "wattage_w": "lamp power in watts (float, NaN when unknown)",
    "lumen_lm": "luminous flux in lumen (float, NaN when unknown)",
    "mounting_height_m": "mounting height in metres (float, NaN when unknown)",
    "install_year": "installation year (Int64, <NA> when unknown)",
    "owner": f"one of {OWNERS}",
    "status": "operational status as given (e.g. 'i drift'; codes mapped by the profile's "
              "[inventory.codes.status]), or empty",
    "operating": "'in_service', 'out_of_service' (a fault: no light), 'removed' or 'planned', "
                 "read from the status; only 'in_service' luminaires give light",
    "source": "'inventory' or 'osm'",
}

SCHOOLS_INDEX = "school_id"
SCHOOLS: dict[str, str] = {
    "name": "school name",
    "grades": "grades as tagged (OSM isced:level / grades), or empty",
    "geometry_source": "'polygon' (school grounds) or 'point_buffered' (a point buffered 50 m)",
    "designated": "True when the profile lists the school for yearly safety walks",
    "osm_id": "OSM element id as 'n123' / 'w123' / 'r123', or empty",
}

CROSSINGS_INDEX = "crossing_id"
CROSSINGS: dict[str, str] = {
    "crossing": "OSM crossing tag (marked, zebra, traffic_signals, uncontrolled, unmarked, ...)",
    "marked": "True for marked crossings (zebra/marked/traffic_signals/uncontrolled)",
    "source": "'node' (highway=crossing), 'way' (footway=crossing reduced to a point) or 'file'",
    "osm_id": "OSM element id as 'n123' / 'w123', or empty",
}

RESIDENCES_INDEX = "residence_id"
RESIDENCES: dict[str, str] = {
    "building": "kind of building (OSM building tag or the file's column), or empty",
    "source": "file name, or 'overpass'",
}

AREAS_INDEX = "area_id"
AREAS: dict[str, str] = {
    "name": "area name, e.g. 'Strömsdalen'",
}
