"""The profile's ``[limits]`` applied to imported files, in bounded memory.

Every check here runs *before* a file is parsed as a whole, by streaming it, so that a
hostile or mistaken file (a KMZ whose zip header lies about its size, a 3 M-row CSV, a
KML with 300 000 placemarks) is refused within seconds and a few megabytes of memory:

* :func:`check_file_size`: the file's size against ``upload_mb``;
* :func:`read_zip_member`: a zip member decompressed through a counting reader that stops
  at the limit (the header's ``file_size`` is never trusted);
* :func:`check_csv_rows`: CSV records counted with :mod:`csv` over the byte stream,
  stopping at the first record over ``rows_per_import``;
* :func:`check_xml_elements`: ``<Placemark>``/``<wpt>`` elements counted with
  ``lxml.etree.iterparse`` (elements cleared as they pass), stopping over the limit.

Each refusal is a :class:`~layers._common.ValidationError` that names the limit and the
profile key, so nothing of the file is stored.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from layers._common import Problem, ValidationError
from layers.profile import Limits

#: Limits used when a caller gives none (the defaults of :class:`layers.profile.Limits`).
DEFAULT_LIMITS = Limits()

_CHUNK = 1 << 20


def _n(value: float) -> str:
    """12 345 with a space as thousands separator (Swedish style, readable in English);
    fractions as they are (0.5)."""
    if not float(value).is_integer():
        return f"{value:g}"
    return f"{value:,.0f}".replace(",", " ")


def over_limit(src: str, what: str, limit: float, key: str, unit: str = "",
               row: str = "", column: str = "", fix: str = "") -> Problem:
    """The problem for a value over a ``[limits]`` entry, naming the limit and its key."""
    unit = f" {unit}" if unit else ""
    return Problem(src, row, column,
                   f"{what}; the limit is {_n(limit)}{unit} (profile [limits] {key})",
                   fix or f"split the file into smaller ones, or raise [limits] {key} in "
                   "the profile")


def check_file_size(path: Path, src: str, limits: Limits) -> None:
    """Refuse a file larger than ``upload_mb``."""
    size = path.stat().st_size
    if size > limits.upload_bytes:
        raise ValidationError([over_limit(
            src, f"the file is {size / 1e6:.1f} MB", limits.upload_mb, "upload_mb", "MB")])


def read_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, src: str,
                    limits: Limits) -> bytes:
    """The decompressed bytes of *info*, refusing more than ``upload_mb``.

    The size is counted while decompressing, chunk by chunk, so a zip whose header
    claims a small ``file_size`` cannot make this read more than the limit (plus one
    chunk) into memory.
    """
    limit = limits.upload_bytes
    out = io.BytesIO()
    with zf.open(info) as fh:
        while chunk := fh.read(_CHUNK):
            if out.tell() + len(chunk) > limit:
                raise ValidationError([over_limit(
                    src, f"{info.filename} in the archive decompresses to more than "
                    f"{limits.upload_mb:g} MB", limits.upload_mb, "upload_mb", "MB",
                    fix="export fewer layers at a time, or raise [limits] upload_mb in the "
                    "profile")])
            out.write(chunk)
    return out.getvalue()


def _text_lines(path: Path) -> Iterator[str]:
    """The file as text lines, streamed; UTF-16 by its BOM, else latin-1 (every byte is a
    character, and ``"``, ``;``, ``,``, newlines are the same bytes in UTF-8 and cp1252)."""
    with open(path, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        encoding = "utf-16" if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "latin-1"
        yield from io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")


def check_csv_rows(path: Path, src: str, limits: Limits) -> None:
    """Refuse a CSV with more data records than ``rows_per_import`` (header excluded).

    Records are counted as :mod:`csv` splits them (a newline inside quotes is part of a
    cell; the delimiter is the header's commonest of ``;``, tab and ``,``), streaming, and
    counting stops at the first record over the limit.
    """
    limit = limits.rows_per_import
    csv.field_size_limit(max(csv.field_size_limit(), limits.upload_bytes))
    records = 0
    lines = _text_lines(path)
    header = next(lines, "")
    # Quotes only quote at a field's start, so the delimiter matters: the header's commonest.
    delimiter = max(";\t,", key=header.count)
    try:
        for fields in csv.reader(itertools.chain([header], lines), delimiter=delimiter):
            if fields:
                records += 1
            if records > limit + 1:  # + the header
                raise ValidationError([over_limit(
                    src, f"the file has more than {_n(limit)} rows", limit,
                    "rows_per_import", "rows per import")])
    except csv.Error:  # not our job to judge the CSV: the reader reports it
        return


def check_xml_elements(data: bytes | Path, local_name: str, src: str, limits: Limits,
                       what: str) -> None:
    """Refuse an XML document with more than ``rows_per_import`` *local_name* elements.

    Streams with ``iterparse`` (no entity expansion, no network, no huge tree) and clears
    every element once seen, so memory stays small whatever the document's size. Syntax
    errors are left to the reader, which reports them with its own message.
    """
    limit = limits.rows_per_import
    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    count = 0
    try:
        for _event, element in etree.iterparse(
                source, events=("end",), resolve_entities=False, no_network=True,
                huge_tree=False, remove_comments=True, load_dtd=False):
            tag = element.tag
            if isinstance(tag, str) and tag.rsplit("}", 1)[-1] == local_name:
                count += 1
                if count > limit:
                    raise ValidationError([over_limit(
                        src, f"the file has more than {_n(limit)} {what}", limit,
                        "rows_per_import", "rows per import")])
            element.clear()
            while element.getprevious() is not None:  # drop the cleared siblings too
                del element.getparent()[0]
    except etree.XMLSyntaxError:
        return
