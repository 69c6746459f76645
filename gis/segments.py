"""Split paths into short, equal-length analysis segments.

Every later step (lighting model, proximity, scoring, work packages) works on these segments,
so their ids must be stable: ``segment_id = f"{path_id}:{seq:04d}"`` depends only on the path
id and the position along the path, never on row order or run.
"""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis._crs import require_projected
from gis.fastquery import linestrings_sorted
from layers._common import LayerWarning
from layers.schemas import PATHS_INDEX

logger = logging.getLogger(__name__)

#: Index name of the segment layer.
SEGMENTS_INDEX = "segment_id"

#: Output columns of :func:`segment_paths`, in order (plus ``geometry``).
SEGMENT_COLUMNS = ("path_id", "osm_id", "seq", "start_m", "end_m", "length_m", "path_type", "lit")

#: Columns copied from the paths layer.
_COPIED = ("osm_id", "path_type", "lit")

#: Vertices closer than this to a cut (in metres) are not repeated inside a piece.
_EPS_M = 1e-9


def segment_paths(paths: gpd.GeoDataFrame, max_length_m: float = 25.0) -> gpd.GeoDataFrame:
    """Split every path at its junctions, then into equal pieces of at most ``max_length_m``.

    Each path is first cut where it meets another path at one of its interior vertices
    (:func:`split_at_junctions`), so that segments meet at junctions and form a routable
    network. A part of length ``L`` then becomes ``n = ceil(L / max_length_m)`` pieces of
    length ``L / n``; ``seq`` counts the pieces along the whole path.
    Each piece keeps the original vertices between its cut points, so the pieces follow the
    path exactly and their lengths add up to the path length. Fully vectorised: cut points
    come from one ``shapely.line_interpolate_point`` call and all pieces are built with one
    ``shapely.from_ragged_array`` call. Z coordinates are dropped.

    Parameters
    ----------
    paths : GeoDataFrame
        The paths layer (:data:`layers.schemas.PATHS`), LineString geometry in a projected
        CRS (metres), index = ``path_id``. Needs the columns ``osm_id``, ``path_type`` and
        ``lit``.
    max_length_m : float, default 25.0
        Maximum piece length in metres (the profile's ``lighting.segment_length_m``).

    Returns
    -------
    GeoDataFrame
        One row per piece, index ``segment_id`` = ``"{path_id}:{seq:04d}"``, columns
        ``path_id, osm_id, seq, start_m, end_m, length_m, path_type, lit, geometry``; ``seq``
        is the 0-based position along the path, ``start_m``/``end_m`` the distances of the cut
        points from the path start and ``length_m`` the piece length, all in metres. Same CRS
        as ``paths``. Empty and zero-length paths are dropped with a :class:`LayerWarning`.

    Raises
    ------
    gis._crs.CRSError
        When ``paths`` is not in a projected CRS.
    ValueError
        For a non-positive ``max_length_m``, missing columns, or geometry other than
        LineString (e.g. MultiLineString: the paths funnel explodes those).

    Examples
    --------
    >>> segs = segment_paths(paths, max_length_m=25.0)  # doctest: +SKIP
    >>> segs.loc["w1:0000", ["start_m", "end_m"]].tolist()  # doctest: +SKIP
    [0.0, 25.0]
    """
    require_projected(("paths", paths))
    if not max_length_m > 0:
        raise ValueError(f"max_length_m must be positive, got {max_length_m!r}")
    missing = [c for c in _COPIED if c not in paths.columns]
    if missing:
        raise ValueError(f"paths lacks column(s) {', '.join(missing)}. Fix: load the paths "
                         "through layers/ (schema layers.schemas.PATHS)")
    geoms = np.asarray(paths.geometry.values)
    path_ids = paths.index.astype(str)
    if path_ids.has_duplicates:
        dup = list(path_ids[path_ids.duplicated()][:5])
        raise ValueError(f"paths index is not unique (e.g. {dup}). Fix: give every path a "
                         f"unique {PATHS_INDEX}")

    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    type_ids = shapely.get_type_id(geoms)
    wrong = present & (type_ids != shapely.GeometryType.LINESTRING)
    if wrong.any():
        bad = list(path_ids[wrong][:10])
        names = sorted({g.geom_type for g in geoms[wrong][:1000]})  # error path only
        raise ValueError(f"paths has {int(wrong.sum())} non-LineString geometries "
                         f"({', '.join(names)}), e.g. {bad}. Fix: explode MultiLineStrings "
                         "into LineStrings (the layers/ paths funnel does this)")
    lengths = np.where(present, shapely.length(geoms), 0.0)
    keep = lengths > 0
    if not keep.all():
        dropped = list(path_ids[~keep][:10])
        warnings.warn(f"segment_paths dropped {int((~keep).sum())} empty or zero-length "
                      f"path(s), e.g. {dropped}", LayerWarning, stacklevel=2)

    src = paths.loc[keep]
    lines = geoms[keep]
    pid = path_ids[keep]

    # Cut every path at its junctions first (vertices it shares with another path, or where
    # another path ends), so segments meet at junctions and form a routable network.
    parts, part_line, part_offset = split_at_junctions(lines)
    part_len = shapely.length(parts)
    pieces, part_of_piece, part_seq, start_m, end_m = _equal_pieces(parts, part_len,
                                                                    max_length_m)
    n_total = len(pieces)
    line_of_piece = part_line[part_of_piece]
    # seq runs along the whole path: pieces of earlier parts of the same path come first.
    per_part = np.bincount(part_of_piece, minlength=len(parts))
    before = np.cumsum(per_part) - per_part
    first_part = np.searchsorted(part_line, part_line, side="left")
    seq = (before[part_of_piece] - before[first_part[part_of_piece]]) + part_seq
    start_m = start_m + part_offset[part_of_piece]
    end_m = end_m + part_offset[part_of_piece]
    n_lines = len(lines)

    pid_obj = np.asarray(pid, dtype=object)[line_of_piece]
    pid_rep = pd.Series(pid_obj, dtype="str")
    segment_id = pd.Index(pid_obj + ":" + seq_labels(seq), name=SEGMENTS_INDEX, dtype="str")

    def copied(col: str) -> pd.Series:
        return src[col].take(line_of_piece).set_axis(segment_id)

    out = gpd.GeoDataFrame({
        "path_id": pid_rep.set_axis(segment_id),
        "osm_id": copied("osm_id"),
        "seq": pd.Series(seq, index=segment_id, dtype="int64"),
        "start_m": pd.Series(start_m, index=segment_id),
        "end_m": pd.Series(end_m, index=segment_id),
        "length_m": pd.Series(shapely.length(pieces), index=segment_id),
        "path_type": copied("path_type"),
        "lit": copied("lit"),
    }, geometry=gpd.GeoSeries(pieces, index=segment_id, crs=paths.crs), crs=paths.crs)
    logger.debug("segment_paths: %d paths -> %d segments (max %.1f m)", n_lines, n_total,
                 max_length_m)
    return out


def seq_labels(seq: np.ndarray) -> np.ndarray:
    """``f"{k:04d}"`` of each non-negative ``seq`` as an object array (the id suffix of
    segments and packages), each value formatted once."""
    table = np.array([f"{k:04d}" for k in range(int(np.max(seq, initial=0)) + 1)],
                     dtype=object)
    return table[np.asarray(seq, dtype=np.intp)]


def split_at_junctions(lines: np.ndarray, snap_m: float = 0.01
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut LineStrings at interior vertices that are junctions, vectorised.

    A junction is an interior vertex whose position (snapped to ``snap_m`` metres) is also a
    vertex of another line, or occurs twice in the same line. OSM ways often meet at a node
    in the middle of one of them; without this cut the two would not be connected.

    Parameters
    ----------
    lines : array of LineString
        In a projected CRS (metres).
    snap_m : float
        Grid size in metres for deciding that two vertices are the same point.

    Returns
    -------
    parts : array of LineString
        The pieces, in line order, then along each line.
    part_line : array of int
        Index into *lines* of every part.
    part_offset : array of float
        Distance (m) along the original line at which each part starts.
    """
    coords, vline = shapely.get_coordinates(lines, return_index=True)
    n_lines = len(lines)
    if not len(coords):
        return np.asarray(lines), np.arange(n_lines), np.zeros(n_lines)
    # One int64 key per snapped position (1-D unique is much faster than unique(axis=0)).
    grid = np.round(coords / snap_m).astype(np.int64)
    grid -= grid.min(axis=0)
    key = grid[:, 0] * (int(grid[:, 1].max()) + 1) + grid[:, 1]
    _, inverse = np.unique(key, return_inverse=True)
    n_pos = int(inverse.max()) + 1
    # Distinct lines per position: unique (position, line) pairs.
    pair = np.unique(inverse * np.int64(n_lines) + vline)
    lines_at = np.bincount(pair // n_lines, minlength=n_pos)
    repeats = np.bincount(inverse, minlength=n_pos)
    first_v = np.searchsorted(vline, np.arange(n_lines), side="left")
    last_v = np.searchsorted(vline, np.arange(n_lines), side="right") - 1
    interior = np.ones(len(coords), dtype=bool)
    interior[first_v] = False
    interior[last_v] = False
    cut = interior & ((lines_at[inverse] > 1) | (repeats[inverse] > lines_at[inverse]))
    has_cut = np.zeros(n_lines, dtype=bool)
    has_cut[vline[cut]] = True
    if not has_cut.any():
        return np.asarray(lines, dtype=object), np.arange(n_lines), np.zeros(n_lines)
    # Only lines with a junction are rebuilt. A cut vertex ends one part and starts the
    # next, so it is emitted twice; the part number increases at every second copy.
    sel = has_cut[vline]
    c_coords, c_vline, c_cut = coords[sel], vline[sel], cut[sel]
    dup = np.repeat(np.arange(len(c_coords)), np.where(c_cut, 2, 1))
    is_second = np.zeros(len(dup), dtype=bool)
    is_second[1:] = dup[1:] == dup[:-1]
    starts_part = is_second | np.r_[True, c_vline[dup][1:] != c_vline[dup][:-1]]
    part_id = np.cumsum(starts_part) - 1
    cut_parts = linestrings_sorted(c_coords[dup], part_id)
    cut_line = c_vline[dup][starts_part]
    # Merge: whole lines without junctions, and the parts of the others, in line order.
    keep_line = np.flatnonzero(~has_cut)
    parts = np.concatenate([np.asarray(lines, dtype=object)[keep_line], cut_parts])
    part_line = np.concatenate([keep_line, cut_line])
    order = np.argsort(part_line, kind="stable")
    parts, part_line = parts[order], part_line[order]
    lengths = shapely.length(parts)
    offset = np.cumsum(lengths) - lengths
    line_first_part = np.searchsorted(part_line, part_line, side="left")
    part_offset = offset - offset[line_first_part]
    return parts, part_line, part_offset


def _equal_pieces(lines: np.ndarray, length: np.ndarray, max_length_m: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split each line into ``ceil(L / max)`` equal pieces keeping the vertices between cuts.

    Returns pieces, line index of each piece, position ``seq`` within its line, and the
    start and end distance (m) of each piece along its line.
    """
    n_lines = len(lines)
    # Number of pieces per line; the tolerance keeps 100 m / 25 m at exactly 4 pieces.
    n_pieces = np.maximum(np.ceil(length / max_length_m - 1e-9), 1).astype(np.int64)
    n_total = int(n_pieces.sum())
    line_of_piece = np.repeat(np.arange(n_lines), n_pieces)
    first_piece = np.cumsum(n_pieces) - n_pieces
    seq = np.arange(n_total) - first_piece[line_of_piece]
    piece_len = length / n_pieces
    start_m = seq * piece_len[line_of_piece]
    end_m = np.where(seq == n_pieces[line_of_piece] - 1, length[line_of_piece],
                     (seq + 1) * piece_len[line_of_piece])

    # Cut points: n + 1 per line, shared by neighbouring pieces (so they meet exactly).
    coords, vline = shapely.get_coordinates(lines, return_index=True)
    n_cuts = n_pieces + 1
    line_of_cut = np.repeat(np.arange(n_lines), n_cuts)
    cut_k = np.arange(len(line_of_cut)) - (np.cumsum(n_cuts) - n_cuts)[line_of_cut]
    first_vertex = np.searchsorted(vline, np.arange(n_lines), side="left")
    last_vertex = np.searchsorted(vline, np.arange(n_lines), side="right") - 1

    # Distance of every vertex along its line.
    step = np.hypot(*np.diff(coords, axis=0).T)
    step = np.concatenate([[0.0], step])
    step[first_vertex] = 0.0
    cum = np.cumsum(step)
    cum -= cum[first_vertex][vline]

    # Cut points by interpolation on the vertex arrays (as line_interpolate_point): one
    # searchsorted over a key that increases through all lines (1 m gap between lines).
    line_offset = np.cumsum(length + 1.0) - (length + 1.0)
    cut_d = cut_k * piece_len[line_of_cut]
    j = np.searchsorted(cum + line_offset[vline], cut_d + line_offset[line_of_cut],
                        side="right") - 1
    j = np.clip(j, first_vertex[line_of_cut], last_vertex[line_of_cut] - 1)
    w = np.clip(np.divide(cut_d - cum[j], step[j + 1], out=np.zeros(len(j)),
                          where=step[j + 1] > 0), 0.0, 1.0)
    cut_pts = coords[j] + w[:, None] * (coords[j + 1] - coords[j])
    cut_first = np.cumsum(n_cuts) - n_cuts
    cut_pts[cut_first] = coords[first_vertex]            # exact path start
    cut_pts[cut_first + n_pieces] = coords[last_vertex]   # exact path end

    # The piece every vertex falls strictly inside.
    vk = np.clip(np.floor(cum / piece_len[vline]).astype(np.int64), 0, n_pieces[vline] - 1)
    v_piece = first_piece[vline] + vk
    interior = ((cum - start_m[v_piece]) > _EPS_M) & ((end_m[v_piece] - cum) > _EPS_M)
    iv = np.flatnonzero(interior)

    # Each piece = its start cut, its interior vertices, its end cut; order by (piece, role, i).
    start_cut = cut_first[line_of_piece] + seq
    all_xy = np.concatenate([cut_pts[start_cut], coords[iv], cut_pts[start_cut + 1]])
    piece = np.concatenate([np.arange(n_total), v_piece[iv], np.arange(n_total)])
    role = np.concatenate([np.zeros(n_total, np.int8), np.ones(len(iv), np.int8),
                           np.full(n_total, 2, np.int8)])
    order_in = np.concatenate([np.zeros(n_total, np.int64), iv, np.zeros(n_total, np.int64)])
    order = np.lexsort((order_in, role, piece))
    pieces = linestrings_sorted(all_xy[order], piece[order])
    return pieces, line_of_piece, seq, start_m, end_m
