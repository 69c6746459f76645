"""Use cases that combine importers, the store and the demo data (for the CLI and the UI)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers.boundary import load_boundary
from layers.profile import Profile
from walks.demo import demo_fixed_at
from walks.model import finding_state
from walks.store import FindingStore, ImportReport
from walks.store import open_store as open_profile_store

logger = logging.getLogger(__name__)


@dataclass
class ImportOutcome:
    """What ``trygga walks import`` did: the reader's report and the store's report."""

    text: str
    report: ImportReport | None
    ok: bool


def import_file(store: FindingStore, profile: Profile, path: str | Path,
                walk_id: str | None = None, dry_run: bool = False) -> ImportOutcome:
    """Read a findings file and import it into *store*, all or nothing.

    Parameters
    ----------
    store : FindingStore
        The findings store (profile CRS).
    profile : Profile
        For the CRS and the municipality boundary (points outside are errors).
    path : path
        A QField/Survey123/Epicollect5/GPX/KML/GeoJSON/CSV-template file.
    walk_id : str, optional
        Walk the findings belong to (overrides the file's).
    dry_run : bool
        Only report what would be imported and every problem, by row.
    """
    # The importers (fastkml, lxml, gpxpy…) load only when a file is imported.
    from walks.importers import dry_run_report, read_findings_file

    result = read_findings_file(path, profile.crs, boundary=load_boundary(profile),
                                service_codes=getattr(profile, "open311_services", None),
                                limits=profile.limits)
    text = dry_run_report(result, dry_run=dry_run)
    if result.problems:
        return ImportOutcome(text, None, False)
    frame = result.findings
    if walk_id is not None:
        frame = frame.assign(walk_id=walk_id)
    report = store.import_findings(frame, Path(path).name, dry_run=dry_run)
    lines = [text, "", report.summary()]
    store_notes = [n for n in report.notes if n.column in ("geometry", "source_id")]
    if store_notes:
        lines.append("Att kontrollera / to check:")
        lines.extend(f"  - rad / row {n.row}: {n.message}. Åtgärd / fix: {n.fix}"
                     for n in store_notes)
    if report.new == 0 and report.duplicates and report.ok:
        lines.append("Alla rader fanns redan i lagret; inget nytt sparades / every row was "
                     "already in the store; nothing new was saved")
    return ImportOutcome("\n".join(lines), report, report.ok)


def seed_demo_store(store: FindingStore, profile: Profile) -> int:
    """Put the demo findings (``sources.findings``) into an empty store, with their states.

    Returns the number of findings added; 0 when the store already has findings or the
    profile has no findings file. Only for ``profile.demo``; real stores start empty.
    """
    src = profile.sources.findings
    if not profile.demo or src is None or len(store.findings()) > 0:
        return 0
    outcome = import_file(store, profile, src)
    if not outcome.ok or outcome.report is None:
        raise RuntimeError(f"demo findings could not be imported:\n{outcome.text}")
    # The demo file also says how far each finding has come; replay that as history.
    props = {str(f["properties"]["id"]): f["properties"]
             for f in json.loads(Path(src).read_text(encoding="utf-8"))["features"]}
    found = store.findings()
    for fid, row in found.iterrows():
        p = props.get(str(row.get("source_id", "")))
        if p is None:
            continue
        finding = store.get_finding(str(fid))
        if p.get("responsible"):
            finding = store.update_finding(str(fid), finding.version, author_role="staff",
                                           note="demo", responsible=p["responsible"])
        target = finding_state(p.get("state", "ny"))
        if target.label != finding.state.label:
            reason = "Ingen åtgärd behövs (demo)." if target.is_closed() else None
            # The fix date comes from the seeded generator (the file's ``fixed``), so
            # two clones give the same report.
            fixed = demo_fixed_at(p, profile.timezone) if target.is_fixed() else None
            store.set_state(str(fid), finding.version, target, note="demo",
                            author_role="staff", reason=reason, fixed_at=fixed,
                            public_note=reason)
    logger.info("seeded %d demo findings", outcome.report.new)
    return outcome.report.new


def open_store(profile: Profile, *, actor_id: str | None = None) -> FindingStore:
    """The profile's store (GeoPackage or PostGIS, see :func:`walks.store.open_store`);
    on the demo, seeded with the demo findings on first use."""
    store = open_profile_store(profile, actor_id=actor_id)
    if profile.demo:
        seed_demo_store(store, profile)
    return store


#: Categories whose open findings with a luminaire id are lamp faults (the lamp is dark).
LAMP_FAULT_CATEGORIES: tuple[str, ...] = ("belysning",)


def lamp_faults(store: FindingStore) -> gpd.GeoDataFrame:
    """Open lamp faults: open findings in a lighting category that name a luminaire.

    Returns
    -------
    GeoDataFrame
        Index: finding id. Columns ``luminaire_id``, ``responsible``, ``category``,
        ``description``, ``created`` (UTC), ``deadline``, ``state_label``; points in the store
        CRS. Sorted by responsible party, then luminaire id. Staff data (not public).
    """
    f = store.findings()
    cols = ["luminaire_id", "responsible", "category", "description", "created", "deadline",
            "state_label", "geometry"]
    if f.empty:
        return f[cols]
    keep = (f["state_type"].astype(str).eq("open")
            & f["category"].astype(str).isin(LAMP_FAULT_CATEGORIES)
            & f["luminaire_id"].notna() & f["luminaire_id"].astype(str).str.strip().ne(""))
    out = f.loc[keep, cols]
    order = out.assign(_r=out["responsible"].fillna("~")).sort_values(
        ["_r", "luminaire_id", "created"], kind="stable").index
    return out.loc[order]


def open_findings(store: FindingStore) -> gpd.GeoDataFrame:
    """Open findings (state type ``open``) with category and severity, for the ranking."""
    f = store.findings()
    if f.empty:
        return f
    is_open = f["state_type"].astype(str).eq("open")
    return f.loc[is_open, ["category", "severity", "geometry"]]


#: Swedish headers of the fault list, in order.
FAULT_COLUMNS_SV: dict[str, str] = {
    "responsible": "Ansvarig", "luminaire_id": "Armatur-id", "category": "Kategori",
    "description": "Beskrivning", "created": "Anmäld", "deadline": "Slutdatum",
    "state_label": "Status", "id": "Fynd-id", "E": "E (m)", "N": "N (m)",
}


def write_fault_list(store: FindingStore, path: str | Path, tz: str) -> tuple[Path, int]:
    """Write the open lamp faults for the repair crews: CSV (Swedish Excel dialect, one
    file with a responsible column) or XLSX (one sheet per responsible party).

    Parameters
    ----------
    store : FindingStore
    path : path
        ``.csv`` or ``.xlsx``.
    tz : str
        Time zone for the report dates (the profile's).

    Returns
    -------
    (Path, int)
        The file and the number of faults in it.
    """
    from gis.outputs import table_for_excel, write_csv_sv
    from gis.xlsx import write_sheets

    faults = lamp_faults(store)
    table = table_for_excel(faults)
    table["created"] = [pd.Timestamp(c).tz_convert(tz).strftime("%Y-%m-%d %H:%M")
                        for c in table["created"]]
    table["deadline"] = [d.isoformat() if d is not None and not pd.isna(d) else ""
                         for d in table["deadline"]]
    table["responsible"] = table["responsible"].fillna("(ingen ansvarig)")
    table = table[[c for c in FAULT_COLUMNS_SV if c in table.columns]].rename(
        columns=FAULT_COLUMNS_SV)
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        sheets = {str(r)[:31]: g for r, g in table.groupby("Ansvarig", sort=True)} or {
            "Felanmälningar": table}
        write_sheets(sheets, path)
    elif path.suffix.lower() == ".csv":
        write_csv_sv(table, path)
    else:
        raise ValueError(f"{path.name}: the fault list is written as .csv or .xlsx. "
                         "Fix: give a file name ending in .csv or .xlsx")
    return path, len(table)
