"""The human-readable ``--dry-run`` report of an import (Swedish / English)."""

from __future__ import annotations

import pandas as pd

from walks.importers._funnel import ImportResult, _row_sort_key

_PREVIEW = 70


def _preview(text: str) -> str:
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= _PREVIEW else one_line[: _PREVIEW - 1] + "…"


def dry_run_report(result: ImportResult, dry_run: bool = True) -> str:
    """What an import of *result* would store, and every problem, row by row.

    Nothing is written anywhere. With ``dry_run=False`` the heading says it is a real
    import (the same rows are then stored, all or nothing). Rows are listed in file order; each accepted row shows its
    category (and the text it came from when they differ), severity, time, photos and the
    start of its description; each rejected row lists its problems. Problems with the whole
    file come first, warnings last.

    Examples
    --------
    >>> from walks.importers import read_findings_file
    >>> r = read_findings_file("tests/fixtures/walks/fynd_mall_cp1252.csv", "EPSG:3007")
    >>> print(dry_run_report(r).splitlines()[2])
    Rader / rows: 3 lästa / read, 3 importeras / would be imported, 0 med problem / with problems
    """
    f = result.findings
    by_row: dict[str, list[str]] = {}
    file_level: list[str] = []
    for p in result.problems:
        text = f"{p.column}: {p.message}. Åtgärd / fix: {p.fix}" if p.column else (
            f"{p.message}. Åtgärd / fix: {p.fix}")
        (by_row.setdefault(p.row, []) if p.row else file_level).append(text)
    channel = f"import:{result.format}"
    verdict = ("kan importeras / can be imported" if result.ok else
               "importeras INTE förrän problemen är åtgärdade / will NOT be imported until "
               "the problems are fixed")
    heading = ("Torrkörning, inget sparas / dry run, nothing is saved" if dry_run
               else "Import / import")
    lines = [
        f"{heading}: {result.path.name} "
        f"(format {result.format}, kanal / channel {channel})",
        f"Resultat / result: {verdict}",
        f"Rader / rows: {result.rows_read} lästa / read, {len(f)} importeras / "
        f"{'would be imported' if dry_run else 'to import'}, {len(result.rejected)} med "
        f"problem / with problems",
    ]
    if file_level:
        lines.append("")
        lines.append("Problem i hela filen / problems with the whole file:")
        lines.extend(f"  - {t}" for t in file_level)
    rows = sorted({*f.index, *result.rejected.index, *by_row}, key=_row_sort_key)
    if rows:
        lines.append("")
    for row in rows:
        if row in f.index:
            rec = f.loc[row]
            cat = str(rec["category"])
            raw = str(rec["raw_category"])
            if raw and raw.casefold() != cat.casefold():
                cat += f" (från / from '{_preview(raw)}')"
            sev = "–" if pd.isna(rec["severity"]) else str(int(rec["severity"]))
            when = "–" if pd.isna(rec["created"]) else rec["created"].strftime("%Y-%m-%d %H:%M")
            photos = len(rec["photo_paths"])
            walk = "" if pd.isna(rec["walk_id"]) else f", vandring / walk {rec['walk_id']}"
            lines.append(f"Rad / row {row}: OK  id {rec['source_id']}, {cat}, allvarlighet / "
                         f"severity {sev}, {when}, {photos} foto / photo(s){walk}")
            if rec["description"]:
                lines.append(f"    \"{_preview(rec['description'])}\"")
        else:
            sid = result.rejected.loc[row, "source_id"] if row in result.rejected.index else ""
            lines.append(f"Rad / row {row}: PROBLEM" + (f"  id {sid}" if sid else ""))
            lines.extend(f"    - {t}" for t in by_row.get(row, []))
    if result.warnings:
        lines.append("")
        lines.append("Varningar / warnings:")
        lines.extend(f"  - {w}" for w in result.warnings)
    return "\n".join(lines)
