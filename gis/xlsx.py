"""A small, fast XLSX writer: whole columns at a time, no per-cell Python calls.

Spreadsheet users of the ranking want an ``.xlsx``; writing ~200 000 cells one by one with a
pure-Python library takes seconds. An XLSX file is a zip of XML parts, and a sheet of plain
values (numbers and inline strings, a bold frozen header and an autofilter) needs only a
handful of them, so each sheet's XML is built column-wise with vectorised string operations.
The output opens in Excel, LibreOffice and openpyxl (the tests read it back with openpyxl).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import numpy.typing as npt
import pandas as pd

_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: Characters XML 1.0 does not allow, even escaped.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_STYLES = (_HEAD + f'<styleSheet xmlns="{_NS.split(chr(34))[1]}">'
           '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
           '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
           '<fills count="3"><fill><patternFill patternType="none"/></fill>'
           '<fill><patternFill patternType="gray125"/></fill>'
           '<fill><patternFill patternType="solid"><fgColor rgb="FFEEEEEE"/>'
           '<bgColor indexed="64"/></patternFill></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
           '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
           'borderId="0"/></cellStyleXfs><cellXfs count="3">'
           '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" '
           'applyFill="1" applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>'
           '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" '
           'applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>'
           '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
           '</cellStyles></styleSheet>')


def column_letter(i: int) -> str:
    """Excel column letters of 0-based column *i* (0 → A, 26 → AA)."""
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _text(values: pd.Series) -> npt.NDArray[np.object_]:
    """Cells as escaped XML text (``""`` for missing), each distinct value escaped once."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    texts = [escape(_ILLEGAL.sub("", str(u))) for u in uniques]
    return np.asarray([*texts, ""], dtype=object)[codes]  # code -1 (missing) -> ""


def _cells(col: pd.Series, letter: str, rows: npt.NDArray[np.object_],
           wrap: bool) -> npt.NDArray[np.object_]:
    """The XML of one column's cells (empty string for missing values).

    Built on numpy object arrays: ``str + array`` concatenates element-wise in C, without
    the per-result validation of pandas string columns.
    """
    ref = '<c r="' + letter + rows + '"'
    present = col.notna().to_numpy().copy()
    if pd.api.types.is_bool_dtype(col):
        values = np.asarray(col.fillna(False).astype(int).astype(str).tolist(), dtype=object)
        body = ref + ' t="b"><v>' + values + "</v></c>"
    elif pd.api.types.is_numeric_dtype(col):
        num = col.astype(float).to_numpy()
        finite = np.isfinite(num)
        present &= finite
        # Shortest round-trip text of each float (``repr``, as ``str`` of a float), once per
        # distinct bit pattern (0.0 and -0.0 stay apart); non-finite values are left empty.
        codes, uniques = pd.factorize(np.where(finite, num, 0.0).view(np.int64))
        values = np.asarray(list(map(repr, np.asarray(uniques).view(np.float64).tolist())),
                            dtype=object)[codes]
        body = ref + "><v>" + values + "</v></c>"
    else:
        style = ' s="2"' if wrap else ""
        body = (ref + style + ' t="inlineStr"><is><t xml:space="preserve">' + _text(col)
                + "</t></is></c>")
    body[~present] = ""
    return body


#: Rows of a sheet turned into XML at a time (bounds the text held in memory).
XML_CHUNK_ROWS = 50_000


def _sheet_xml(df: pd.DataFrame, widths: list[float], wrap: set[str]) -> Iterator[str]:
    """The sheet's XML in pieces: the head, then :data:`XML_CHUNK_ROWS` rows at a time,
    then the tail (joined, the same text as one string)."""
    n = len(df)
    header = "".join(
        f'<c r="{column_letter(j)}1" s="1" t="inlineStr"><is><t>{escape(str(c))}</t></is></c>'
        for j, c in enumerate(df.columns))
    last = column_letter(max(len(df.columns) - 1, 0))
    cols = "".join(f'<col min="{j + 1}" max="{j + 1}" width="{w:g}" customWidth="1"/>'
                   for j, w in enumerate(widths))
    yield (_HEAD + f"<worksheet {_NS}><sheetViews><sheetView workbookViewId=\"0\">"
           '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
           "</sheetView></sheetViews>" + (f"<cols>{cols}</cols>" if cols else "")
           + f'<sheetData><row r="1">{header}</row>')
    for start in range(0, n, XML_CHUNK_ROWS):
        part = df.iloc[start:start + XML_CHUNK_ROWS]
        rows = np.asarray(np.arange(start + 2, start + len(part) + 2).astype(str).tolist(),
                          dtype=object)
        columns = [_cells(part.iloc[:, j], column_letter(j), rows, c in wrap)
                   for j, c in enumerate(part.columns)]
        yield "".join('<row r="' + r + '">' + "".join(cells) + "</row>"
                      for r, *cells in zip(rows.tolist(), *(c.tolist() for c in columns),
                                           strict=True))
    yield f'</sheetData><autoFilter ref="A1:{last}{n + 1}"/></worksheet>'


_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_names(names: list[str]) -> list[str]:
    r"""Names Excel accepts: at most 31 characters, none of ``[ ] : * ? / \``, not empty,
    unique (case-insensitive; later ones get `` (2)``, `` (3)`` …).

    Examples
    --------
    >>> sheet_names(["kommun gata/park", "Kommun gata-park", ""])
    ['kommun gata-park', 'Kommun gata-park (2)', 'Blad3']
    """
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names):
        base = _BAD_SHEET_CHARS.sub("-", str(raw)).strip("'").strip()[:31] or f"Blad{i + 1}"
        name, k = base, 2
        while name.lower() in seen:
            suffix = f" ({k})"
            name = base[:31 - len(suffix)] + suffix
            k += 1
        seen.add(name.lower())
        out.append(name)
    return out


def write_sheets(sheets: dict[str, pd.DataFrame], path: str | Path,
                 widths: dict[str, list[float]] | None = None,
                 wrap: set[str] | None = None) -> Path:
    """Write DataFrames as the sheets of one XLSX file.

    Parameters
    ----------
    sheets : dict
        Sheet name (at most 31 characters are kept) -> table. Numbers become numeric cells,
        booleans boolean cells, everything else text; missing values stay empty.
    path : path
        Output ``.xlsx``.
    widths : dict, optional
        Sheet name -> column widths (characters).
    wrap : set of str, optional
        Column names whose text wraps (long reasons).
    """
    path = Path(path)
    names = sheet_names(list(sheets))
    content = (_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
               'content-types"><Default Extension="rels" ContentType="application/'
               'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
               'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
               'sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="'
               'application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
               + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType='
                         '"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                         'worksheet+xml"/>' for i in range(len(names))) + "</Types>")
    rels = (_HEAD + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>")
    workbook = (_HEAD + f"<workbook {_NS}><sheets>"
                + "".join(f'<sheet name="{escape(n)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                          for i, n in enumerate(names)) + "</sheets><definedNames>"
                + "".join(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" '
                          f'hidden="1">\'{escape(n)}\'!$A$1:${column_letter(max(len(df.columns) - 1, 0))}'
                          f'${len(df) + 1}</definedName>'
                          for i, (n, df) in enumerate(zip(names, sheets.values(), strict=True)))
                + "</definedNames></workbook>")
    wb_rels = (_HEAD + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
               'relationships">'
               + "".join(f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.'
                         f'org/officeDocument/2006/relationships/worksheet" '
                         f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(names)))
               + f'<Relationship Id="rId{len(names) + 1}" Type="http://schemas.'
               'openxmlformats.org/officeDocument/2006/relationships/styles" '
               'Target="styles.xml"/></Relationships>')
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", content)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        z.writestr("xl/styles.xml", _STYLES)
        for i, (name, df) in enumerate(sheets.items()):
            w = (widths or {}).get(name, [])
            with z.open(f"xl/worksheets/sheet{i + 1}.xml", "w", force_zip64=True) as fh:
                for piece in _sheet_xml(df, w, wrap or set()):
                    fh.write(piece.encode("utf-8"))
    tmp.replace(path)
    return path
