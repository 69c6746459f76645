"""``trygga walks qfield WALK_ID --out DIR``: the QField field kit of a planned walk.

Registered on the ``walks`` sub-app by importing this module (one line in
:mod:`trygga_cli.main`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trygga_cli.i18n import t
from trygga_cli.walks_cmd import (
    DEFAULT_PROFILE,
    ProfileOpt,
    StoreOpt,
    _fail,
    _profile_and_store,
    _quiet_layers,
    _walk_or_fail,
    walks_app,
)


@walks_app.command("qfield", help=t(
    "Skriv ett QField-projekt (.qgs + GeoPackage) för en planerad vandring: rutt, numrerade "
    "stopp, ett tomt fyndlager med formulär, belysta/obelysta segment och armaturer. Importera "
    "GeoPackage-filen efteråt med 'trygga walks import'.",
    "Write a QField project (.qgs + GeoPackage) for a planned walk: route, numbered stops, an "
    "empty findings layer with its form, lit/unlit segments and luminaires. Import the "
    "GeoPackage afterwards with 'trygga walks import'."))
def qfield_cmd(
    walk_id: Annotated[str, typer.Argument(help=t("Vandringens id.", "The walk's id."))],
    out: Annotated[Path, typer.Option("--out", "-o", help=t(
        "Mapp att skriva fältpaketet i.", "Folder to write the field kit into."))],
    basemap: Annotated[Path | None, typer.Option("--basemap", help=t(
        "Offline-bakgrundskarta (MBTiles, GeoTIFF eller GeoPackage-raster) att ta med.",
        "Offline basemap (MBTiles, GeoTIFF or GeoPackage raster) to include."))] = None,
    background: Annotated[bool, typer.Option("--background/--no-background", help=t(
        "Ta med bakgrundskartan från profilens OSM-fil (gator med namn, ortnamn, byggnader, "
        "vatten, markanvändning) runt rutten.",
        "Include the background map from the profile's OSM file (streets with names, "
        "places, buildings, water, land use) around the route."))] = True,
    store: StoreOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
) -> None:
    from gis.ranking import rank
    from layers import ValidationError
    from walks.fieldkit import write_field_kit
    from walks.service import open_findings

    prof, st = _profile_and_store(profile, store)
    walk = _walk_or_fail(st, walk_id)
    lay = _quiet_layers(prof)
    ranked = rank(lay.paths, lay.luminaires, lay.schools, lay.crossings, lay.priority_areas,
                  prof, findings=open_findings(st))
    try:
        back = None
        osm = prof.sources.osm
        if background and osm is not None and Path(osm).is_file():
            import shapely

            from layers.basemap import read_basemap
            from walks.fieldkit import BASEMAP_BUFFER_M

            core = shapely.union_all([g for g in [walk.route, *(s.point for s in walk.stops)]
                                      if g is not None])
            back = read_basemap(osm, prof.crs,
                                clip_to=shapely.buffer(core, BASEMAP_BUFFER_M))
        elif background:
            typer.echo(t("Ingen OSM-fil i profilen: fältpaketet får ingen bakgrundskarta.",
                         "No OSM file in the profile: the field kit gets no background map."),
                       err=True)
        kit = write_field_kit(walk, out, prof.crs, segments=ranked.segments,
                              luminaires=lay.luminaires, categories=st.categories,
                              basemap=basemap, background=back)
    except ValidationError as exc:
        _fail(exc)
        return
    typer.echo(f"{kit.project}\n{kit.geopackage}")
    for name, n in kit.layers.items():
        typer.echo(f"  {name}: {n}")
    typer.echo(t(f"Kopiera mappen {kit.project.parent} till telefonen och öppna "
                 f"{kit.project.name} i QField. Importera sedan fynden med: trygga walks "
                 f"import {kit.geopackage}",
                 f"Copy the folder {kit.project.parent} to the phone and open "
                 f"{kit.project.name} in QField. Then import the findings with: trygga walks "
                 f"import {kit.geopackage}"))
