"""School routes: how many shortest routes to school use each segment.

The path segments form an undirected network whose nodes are segment endpoints snapped to
a grid. For each school one multi-source Dijkstra search (``scipy.sparse.csgraph``, with a
distance limit, on the part of the network within the limit of the school's nodes) runs
from the school's node(s) outwards (the network is undirected, so the route school→origin
equals origin→school); every origin then contributes one route along the shortest-path
tree. The number of routes using a tree edge equals the number of origins in the subtree
below it, so counts are accumulated level by level over the tree (numpy) instead of
walking every path. :func:`build_network` gives the same network as a networkx graph.

Children walk on residential streets as well as on paths: with ``walkable`` (the roads a
pedestrian may use, :func:`layers.paths.walkable_from_osm`) the routes run over the whole
walkable network, and only the scored segments get counts. The segments and roads are then
cut where they share a vertex (:func:`gis.segments.split_at_junctions`), so a road that
meets a path in the middle of a segment is connected there; a segment cut into pieces gets
the largest count of its pieces. Segments tagged ``foot=no`` / ``use_sidepath`` are left
out of the walking network (count 0).

All inputs must share one projected (metric) CRS, e.g. EPSG:3007; lengths and distances
are in metres. Routing needs the network across partition borders: run
:func:`school_route_counts` on the complete set of segments, or
:func:`school_route_counts_tiled`, which gives each tile of schools the network, homes and
roads within :func:`route_halo_m` (route cutoff plus origin search) and so returns the same
counts, tile by tile (on dask: ``trygga rank --dask``). Cache the result with
:func:`network_key`.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis._crs import require_projected
from gis.context import _check_distance, _nearest_positions, geometry_array

if TYPE_CHECKING:  # networkx (0.1 s to import) only when a network is built
    import networkx as nx

    from layers.loader import Layers

logger = logging.getLogger(__name__)

#: Spacing (m) of the default grid of route origins, used when no homes are given.
ROUTE_GRID_SPACING_M = 250.0


def _endpoint_nodes(segments: gpd.GeoDataFrame | gpd.GeoSeries, snap_m: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Usable-segment mask, start node, end node and node coordinates (snapped, metres)."""
    geoms = geometry_array(segments)
    usable = (shapely.get_type_id(geoms) == 1) & ~shapely.is_empty(geoms)
    lines = geoms[usable]
    coords = shapely.get_coordinates(lines)  # one pass; first and last vertex per line
    last = np.cumsum(shapely.get_num_coordinates(lines)) - 1
    first = np.concatenate([[0], last[:-1] + 1]) if len(last) else last
    keys = np.rint(np.vstack([coords[first], coords[last]]) / snap_m).astype(np.int64)
    m = len(lines)
    if not len(keys):
        return usable, np.empty(0, np.intp), np.empty(0, np.intp), np.empty((0, 2))
    low = keys.min(axis=0)
    shifted = keys - low
    span = int(shifted[:, 1].max()) + 1
    if (int(shifted[:, 0].max()) + 1) * span < 2 ** 62:
        # one int64 per (x, y) cell, ordered as (x, y): the order of unique(axis=0)
        flat, inverse = np.unique(shifted[:, 0] * span + shifted[:, 1], return_inverse=True)
        uniq = np.column_stack([flat // span, flat % span]) + low
    else:
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return usable, inverse[:m], inverse[m:], uniq.astype(float) * snap_m


def build_network(segments: gpd.GeoDataFrame, snap_m: float = 0.1) -> nx.Graph:
    """Build an undirected routing network from path segments.

    Parameters
    ----------
    segments : GeoDataFrame
        Path segments (LineStrings) with a unique index (``segment_id``), in a projected
        CRS (metres). ``length_m`` is used as the edge length when present, else the
        geometry length.
    snap_m : float, default 0.1
        Grid size in metres: endpoints that round to the same grid cell become one node.

    Returns
    -------
    networkx.Graph
        Nodes are ints ``0..n-1`` (ordered by snapped x, then y) with attributes ``x`` and
        ``y`` (metres); edges carry ``segment_id`` and ``length_m``. Where several
        segments join the same two nodes only the shortest becomes an edge; segments whose
        ends snap to one node (loops) and non-LineString or empty geometries are left out
        (the latter with a warning). The graph attributes (``G.graph``) hold ``crs`` and
        ``node_xy`` (an (n, 2) array of node coordinates, row = node id).

    Raises
    ------
    gis._crs.CRSError
        When ``segments`` is in degrees or has no CRS.
    ValueError
        When the segment index is not unique.
    """
    crs = require_projected(("segments", segments))
    _check_distance("snap_m", snap_m, allow_none=False)
    if not segments.index.is_unique:
        dup = segments.index[segments.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"segments index is not unique (e.g. {dup}). Fix: use the "
                         "segment_id index from gis.segments")
    node_xy, u_k, v_k, pos_k, len_k = _network_edges(segments, snap_m, stacklevel=3)
    ids_k = segments.index[pos_k].tolist()
    u_k, v_k, len_k = u_k.tolist(), v_k.tolist(), len_k.tolist()

    import networkx as nx

    graph = nx.Graph(crs=crs, node_xy=node_xy)
    graph.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(node_xy.tolist()))
    graph.add_edges_from((a, b, {"segment_id": s, "length_m": w})
                     for a, b, s, w in zip(u_k, v_k, ids_k, len_k, strict=True))
    logger.debug("network: %d nodes, %d edges from %d segments",
                 graph.number_of_nodes(), graph.number_of_edges(), len(segments))
    return graph


def _network_edges(segments: gpd.GeoDataFrame, snap_m: float, stacklevel: int = 2
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The edges of :func:`build_network` as arrays, in its insertion order.

    Returns node coordinates (n, 2) and, per edge, start node, end node, position of the
    segment in *segments* and length in metres, longest first (stable), so that for
    parallel segments between the same nodes the last one listed is the shortest (the one
    the graph keeps). Loops (both ends on one node) are left out; so are non-LineString
    and empty geometries, with a warning.
    """
    usable, u, v, node_xy = _endpoint_nodes(segments, snap_m)
    if not usable.all():
        bad = segments.index[~usable]
        warnings.warn(f"{len(bad)} segment(s) left out of the network: not a LineString or "
                      f"empty ({', '.join(map(str, bad[:10].tolist()))})", UserWarning,
                      stacklevel=stacklevel + 1)
    pos = np.flatnonzero(usable)
    if "length_m" in segments.columns:
        lengths = pd.to_numeric(segments["length_m"]).to_numpy(dtype=float)[usable]
        lengths = np.where(np.isfinite(lengths), lengths,
                           shapely.length(geometry_array(segments)[usable]))
    else:
        lengths = shapely.length(geometry_array(segments)[usable])
    keep = u != v
    # Longest first: for parallel segments between the same nodes the shortest is added
    # last and its attributes win.
    order = np.argsort(-lengths[keep], kind="stable")
    return (node_xy, u[keep][order], v[keep][order], pos[keep][order],
            lengths[keep][order])


class _CsrNetwork:
    """The network of :func:`build_network` as a symmetric CSR matrix (scipy.sparse.csgraph).

    Attributes: ``node_xy`` (n, 2) metres; ``matrix`` (n × n CSR, edge lengths in metres,
    one entry per direction); ``line`` (per CSR entry, the position of its segment).
    The same edges as the networkx graph: per node pair the edge the graph keeps (the
    shortest, among equally long ones the last listed).
    """

    def __init__(self, segments: gpd.GeoDataFrame, snap_m: float) -> None:
        from scipy.sparse import csr_matrix

        node_xy, u, v, pos, length = _network_edges(segments, snap_m, stacklevel=3)
        n = len(node_xy)
        a, b = np.minimum(u, v), np.maximum(u, v)
        # per pair the edge inserted last wins (insertion order = array order)
        key = a.astype(np.int64) * max(n, 1) + b
        last = len(key) - 1 - np.unique(key[::-1], return_index=True)[1]
        a, b, pos, length = a[last], b[last], pos[last], length[last]
        if (length <= 0).any():  # Dijkstra's tie rule needs positive lengths
            length = np.maximum(length, 1e-9)
        rows = np.concatenate([a, b])
        cols = np.concatenate([b, a])
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
        self.node_xy = node_xy
        self.line = np.concatenate([pos, pos])[order]
        data = np.concatenate([length, length])[order]
        self.matrix = csr_matrix((data, cols, np.searchsorted(rows, np.arange(n + 1))),
                                 shape=(n, n))
        self.matrix.has_sorted_indices = True

    def local(self, sources: np.ndarray, cutoff: float
              ) -> tuple[np.ndarray, Any, np.ndarray]:
        """The part of the network a search from *sources* up to *cutoff* metres can use.

        A route of network length ≤ cutoff stays within ``cutoff`` straight-line metres of
        its source, so the nodes in the sources' bounding box grown by ``cutoff`` and the
        edges between them give the same shortest distances as the whole network. Node ids
        are ordered by x, so the box is a contiguous id range filtered on y.

        Returns the global ids of the local nodes (ascending), the local CSR matrix and
        per local CSR entry the segment position.
        """
        from scipy.sparse import csr_matrix

        xy = self.node_xy
        (x0, y0), (x1, y1) = xy[sources].min(axis=0) - cutoff, xy[sources].max(axis=0) + cutoff
        lo = int(np.searchsorted(xy[:, 0], x0, side="left"))
        hi = int(np.searchsorted(xy[:, 0], x1, side="right"))
        y = xy[lo:hi, 1]
        inbox = (y >= y0) & (y <= y1)
        nodes = lo + np.flatnonzero(inbox)
        new_id = np.full(hi - lo, -1, dtype=np.int64)
        new_id[inbox] = np.arange(len(nodes))
        ip, ix = self.matrix.indptr, self.matrix.indices
        starts, stops = ip[nodes], ip[nodes + 1]
        deg = stops - starts
        entry = np.repeat(starts - np.cumsum(deg) + deg, deg) + np.arange(deg.sum())
        row = np.repeat(np.arange(len(nodes)), deg)
        col = ix[entry] - lo
        ok = (col >= 0) & (col < hi - lo)
        ok[ok] = new_id[col[ok]] >= 0
        entry, row = entry[ok], row[ok]
        col = new_id[col[ok]]  # ascending within each row, as in the whole matrix
        sub = csr_matrix((self.matrix.data[entry], col,
                          np.searchsorted(row, np.arange(len(nodes) + 1))),
                         shape=(len(nodes), len(nodes)))
        sub.has_sorted_indices = True
        return nodes, sub, self.line[entry]

    def tree_routes(self, sources: np.ndarray, origin_nodes: np.ndarray, cutoff: float,
                    counts: np.ndarray) -> int:
        """One school: multi-source Dijkstra from *sources* (node ids) up to *cutoff*
        metres on :meth:`local`, then each origin (a node id per origin) adds one route
        along the shortest-path tree to *counts* (per segment position).

        Among equally short predecessors the lowest node id wins, as in networkx's
        ``dijkstra_predecessor_and_distance`` followed by ``min(pred)``: the predecessors
        are the neighbours with ``dist[p] + length == dist[node]``, exactly. Returns the
        number of origins reached.
        """
        from scipy.sparse.csgraph import dijkstra

        nodes, matrix, line = self.local(sources, cutoff)
        src = np.searchsorted(nodes, sources)
        org = np.searchsorted(nodes, origin_nodes)
        inside = (org < len(nodes)) & (nodes[np.minimum(org, len(nodes) - 1)] == origin_nodes)
        weight = np.bincount(org[inside], minlength=len(nodes))
        dist = dijkstra(matrix, directed=True, indices=src, min_only=True, limit=cutoff)
        reached = np.flatnonzero(np.isfinite(dist))
        below = weight[reached].astype(np.int64)
        n_reached = int(below.sum())
        if n_reached == 0:
            return 0
        ip, ix, w = matrix.indptr, matrix.indices, matrix.data
        starts, stops = ip[reached], ip[reached + 1]
        deg = stops - starts
        entry = np.repeat(starts - np.cumsum(deg) + deg, deg) + np.arange(deg.sum())
        child = np.repeat(np.arange(len(reached)), deg)
        nb = ix[entry]
        cand = dist[nb] + w[entry] == dist[reached][child]
        is_source = np.zeros(len(dist), dtype=bool)
        is_source[src] = True  # roots: their predecessor is the school itself
        cand &= ~is_source[reached][child]
        entry, child, nb = entry[cand], child[cand], nb[cand]
        # lowest neighbour id per node: the columns of a row are sorted, take the first
        first = np.ones(len(child), dtype=bool)
        first[1:] = child[1:] != child[:-1]
        entry, child, nb = entry[first], child[first], nb[first]
        local = np.full(len(dist), -1, dtype=np.int64)
        local[reached] = np.arange(len(reached))
        parent = np.full(len(reached), -1, dtype=np.int64)
        parent[child] = local[nb]
        edge = np.full(len(reached), -1, dtype=np.int64)
        edge[child] = line[entry]
        # subtree sums, deepest level first (no node is an ancestor of another in its level)
        depth = _tree_depth(parent)
        order = np.argsort(-depth, kind="stable")
        cuts = np.flatnonzero(np.diff(depth[order])) + 1
        for part in np.split(order, cuts):
            p = parent[part]
            ok = p >= 0
            if ok.any():
                np.add.at(below, p[ok], below[part[ok]])
        used = (parent >= 0) & (below > 0)
        np.add.at(counts, edge[used], below[used])
        return n_reached


def _tree_depth(parent: np.ndarray) -> np.ndarray:
    """Depth (edges to the root) of each node of a forest given by parent pointers (-1 for
    a root), by pointer jumping: log2(height) vectorised steps."""
    depth = (parent >= 0).astype(np.int64)
    anc = parent.copy()
    live = np.flatnonzero(anc >= 0)
    while len(live):
        up = anc[live]
        depth[live] += depth[up]  # old values: numpy reads the right side first
        anc[live] = anc[up]
        live = live[anc[live] >= 0]
    return depth

def network_key(segments: gpd.GeoDataFrame, snap_m: float = 0.1) -> str:
    """A cache key for a segment network: hash of segment ids, coordinates and CRS.

    Coordinates are rounded to ``snap_m`` metres, so the key changes exactly when the
    routing network could change. Parameters of :func:`school_route_counts` (schools,
    origins, distances) are not part of the key: add them to the cache key yourself.

    Parameters
    ----------
    segments : GeoDataFrame
        Path segments in a projected CRS (metres).
    snap_m : float, default 0.1
        Rounding grid in metres, as in :func:`build_network`.

    Returns
    -------
    str
        A 32-character hex digest.
    """
    crs = require_projected(("segments", segments))
    geoms = geometry_array(segments)
    h = hashlib.blake2b(digest_size=16)
    h.update(crs.to_wkt().encode())
    h.update(f"{snap_m!r}|{len(segments)}".encode())
    h.update("\x1f".join(map(str, segments.index.tolist())).encode())
    h.update(shapely.get_num_coordinates(geoms).astype(np.int64).tobytes())
    h.update(np.rint(shapely.get_coordinates(geoms) / snap_m).astype(np.int64).tobytes())
    if "length_m" in segments.columns:
        lengths = pd.to_numeric(segments["length_m"]).to_numpy(dtype=float)
        h.update(np.nan_to_num(np.round(lengths, 2), nan=-1.0).tobytes())
    return h.hexdigest()


def _grid_origins(node_xy: np.ndarray, spacing_m: float) -> np.ndarray:
    """Regular grid points (shapely Points) over the bounds of the network nodes."""
    (minx, miny), (maxx, maxy) = node_xy.min(axis=0), node_xy.max(axis=0)
    xs = np.arange(minx, maxx + spacing_m * 1e-9, spacing_m)
    ys = np.arange(miny, maxy + spacing_m * 1e-9, spacing_m)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.asarray(shapely.points(gx.ravel(), gy.ravel()), dtype=object)


def _routing_lines(segments: gpd.GeoDataFrame, walkable: gpd.GeoDataFrame | None,
                   ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The walking network as lines with a unique integer index, and per line the position
    in *segments* it counts for (-1 for roads).

    Without roads: the segments themselves (positions 0..n-1), so the network is exactly
    the one of :func:`build_network`. With roads: segments (without ``foot=no``) and roads
    cut at their shared vertices.
    """
    from gis.segments import split_at_junctions

    geoms = geometry_array(segments)
    n = len(geoms)
    walk = np.ones(n, dtype=bool)
    if "foot" in segments.columns:
        walk = ~segments["foot"].astype("string").str.strip().str.lower().isin(
            ["no", "use_sidepath"]).fillna(False).to_numpy(dtype=bool)
    if walkable is None or len(walkable) == 0:
        if walk.all():
            lines = gpd.GeoDataFrame({"length_m": segments["length_m"].to_numpy()}
                                     if "length_m" in segments.columns else {},
                                     geometry=geoms, crs=segments.crs)
            return lines, np.arange(n)
        pos = np.flatnonzero(walk)
        lines = gpd.GeoDataFrame(geometry=geoms[pos], crs=segments.crs)
        return lines, pos
    road = np.asarray(walkable.explode(index_parts=False).geometry.values, dtype=object)
    road = road[(shapely.get_type_id(road) == 1) & ~shapely.is_empty(road)]
    usable = walk & (shapely.get_type_id(geoms) == 1) & ~shapely.is_empty(geoms)
    seg_pos = np.flatnonzero(usable)
    all_lines = np.concatenate([geoms[seg_pos], road])
    parts, part_line, _ = split_at_junctions(all_lines)
    owner = np.where(part_line < len(seg_pos), seg_pos[np.minimum(part_line,
                                                                 max(len(seg_pos) - 1, 0))],
                     -1)
    return gpd.GeoDataFrame(geometry=np.asarray(parts, dtype=object), crs=segments.crs), owner


def _check_crs(segments: gpd.GeoDataFrame, schools: gpd.GeoDataFrame,
               origins: gpd.GeoDataFrame | gpd.GeoSeries | None,
               walkable: gpd.GeoDataFrame | None) -> None:
    """All inputs in one projected CRS (raises :class:`gis._crs.CRSError`)."""
    frames: list[tuple[str, gpd.GeoDataFrame | gpd.GeoSeries]] = [
        ("segments", segments), ("schools", schools)]
    if origins is not None:
        frames.append(("origins", origins))
    if walkable is not None:
        frames.append(("walkable", walkable))
    require_projected(*frames)


def _warn_unreached(unreached: list[str], max_distance_m: float) -> None:
    if unreached:
        warnings.warn(f"{len(unreached)} school(s) have no network node within "
                      f"{max_distance_m:g} m and get no routes: {', '.join(unreached[:10])}",
                      UserWarning, stacklevel=3)


def _route_parts(segments: gpd.GeoDataFrame, schools: gpd.GeoDataFrame,
                 origins: gpd.GeoDataFrame | gpd.GeoSeries | None,
                 walkable: gpd.GeoDataFrame | None, *, grid_spacing_m: float,
                 max_distance_m: float, origin_snap_m: float, school_snap_m: float,
                 snap_m: float) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray,
                                         dict[str, dict[str, int]], list[str]]:
    """The work of :func:`school_route_counts` (inputs already checked): the routing lines,
    per line its segment position (-1 for roads) and its route count, the homes reached per
    school name, and the ids of schools without a network node."""
    lines, owner = _routing_lines(segments, walkable)
    net = _CsrNetwork(lines, snap_m)
    node_xy: np.ndarray = net.node_xy
    school_geoms = geometry_array(schools)
    names = (schools["name"].astype(str).tolist() if "name" in schools.columns
             else [str(i) for i in schools.index])
    counts = np.zeros(len(lines), dtype=np.int64)
    if len(node_xy) == 0 or len(school_geoms) == 0:
        return lines, owner, counts, {}, []
    node_points = np.asarray(shapely.points(node_xy), dtype=object)

    # Origins, snapped once to their nearest node.
    origin_geoms = (_grid_origins(node_xy, grid_spacing_m) if origins is None
                    else geometry_array(origins))
    origin_node, _ = _nearest_positions(origin_geoms, node_points, origin_snap_m)
    ok = origin_node >= 0
    origin_geoms, origin_node = origin_geoms[ok], origin_node[ok]
    logger.debug("%d of %d origins within %.0f m of the network", ok.sum(), len(ok),
                 origin_snap_m)

    # Origins near each school (straight line), and school nodes.
    if len(origin_geoms):
        o_school, o_pos = shapely.STRtree(origin_geoms).query(
            school_geoms, predicate="dwithin", distance=max_distance_m)
    else:
        o_school = o_pos = np.empty(0, dtype=np.intp)
    node_tree = shapely.STRtree(node_points)
    s_school, s_node = node_tree.query(school_geoms, predicate="dwithin", distance=school_snap_m)
    fallback, _ = _nearest_positions(school_geoms, node_points, max_distance_m)

    reached: dict[str, dict[str, int]] = {}
    unreached: list[str] = []
    cutoff = 1.5 * max_distance_m
    order = np.argsort(o_school, kind="stable")
    o_school, o_pos = o_school[order], o_pos[order]
    o_bounds = np.searchsorted(o_school, np.arange(len(school_geoms) + 1))
    order = np.argsort(s_school, kind="stable")
    s_school, s_node = s_school[order], s_node[order]
    s_bounds = np.searchsorted(s_school, np.arange(len(school_geoms) + 1))
    for k in range(len(school_geoms)):
        sources = s_node[s_bounds[k]:s_bounds[k + 1]]
        if len(sources) == 0:
            sources = fallback[k:k + 1][fallback[k:k + 1] >= 0]
        if len(sources) == 0:
            unreached.append(str(schools.index[k]))
            continue
        near = origin_node[o_pos[o_bounds[k]:o_bounds[k + 1]]]
        entry = reached.setdefault(names[k], {"near": 0, "reached": 0})
        entry["near"] += len(near)
        if not len(near):
            continue
        entry["reached"] += net.tree_routes(np.unique(sources), near, cutoff, counts)
    return lines, owner, counts, reached, unreached


def school_route_counts(segments: gpd.GeoDataFrame, schools: gpd.GeoDataFrame,
                        origins: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
                        grid_spacing_m: float = ROUTE_GRID_SPACING_M,
                        max_distance_m: float = 2000.0, *,
                        origin_snap_m: float = 100.0, school_snap_m: float = 30.0,
                        snap_m: float = 0.1,
                        walkable: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Count, per segment, the shortest routes to school that use it.

    For each school, the origins within ``max_distance_m`` straight-line distance of the
    school grounds are routed along the network to the school's nodes (all nodes within
    ``school_snap_m`` of the grounds, else the nearest node) by shortest network length.
    Routes longer than 1.5 × ``max_distance_m`` are cut. Each origin adds one route per
    school it is near; among equally short routes a fixed rule picks one (the
    predecessor node with the lowest id, i.e. the westernmost, then southernmost).

    Parameters
    ----------
    segments : GeoDataFrame
        Path segments (LineStrings), unique index, projected CRS (metres).
    schools : GeoDataFrame
        School grounds (polygons or points), same CRS.
    origins : GeoDataFrame or GeoSeries, optional
        Where routes start, e.g. residential buildings (any geometry), same CRS. Default: a
        regular grid of points ``grid_spacing_m`` apart over the network bounds.
    grid_spacing_m : float, default 250
        Spacing in metres of the default origin grid.
    max_distance_m : float, default 2000
        Straight-line distance in metres from an origin to the school grounds for the
        origin to route to that school.
    origin_snap_m : float, default 100
        Origins farther than this (metres) from every network node are dropped.
    school_snap_m : float, default 30
        Nodes within this distance (metres) of the school grounds are school nodes.
    snap_m : float, default 0.1
        Node snapping grid in metres (see :func:`build_network`).
    walkable : GeoDataFrame, optional
        Roads a pedestrian may use (lines, same CRS), routed over but not counted (module
        docstring). None: the segments alone are the network.

    Returns
    -------
    Series
        Integer route counts named ``'school_routes'``, aligned to ``segments.index``
        (0 for segments no route uses). ``attrs["homes_reached"]`` holds, per school (its
        ``name``, else its id), ``{"near": origins within max_distance_m, "reached":
        those with a route to it within 1.5 × max_distance_m}``.

    Raises
    ------
    gis._crs.CRSError
        When an input is in degrees, has no CRS, or the CRSs differ.
    ValueError
        When a distance is not positive or the segment index is not unique.

    Examples
    --------
    >>> counts = school_route_counts(segments, schools)  # doctest: +SKIP
    >>> counts.sort_values(ascending=False).head()  # doctest: +SKIP
    """
    _check_crs(segments, schools, origins, walkable)
    for label, value in (("grid_spacing_m", grid_spacing_m), ("max_distance_m", max_distance_m),
                         ("origin_snap_m", origin_snap_m), ("school_snap_m", school_snap_m)):
        _check_distance(label, value, allow_none=False)

    result = pd.Series(np.zeros(len(segments), dtype=np.int64), index=segments.index,
                       name="school_routes")
    _lines, owner, counts, reached, unreached = _route_parts(
        segments, schools, origins, walkable, grid_spacing_m=grid_spacing_m,
        max_distance_m=max_distance_m, origin_snap_m=origin_snap_m,
        school_snap_m=school_snap_m, snap_m=snap_m)
    _warn_unreached(unreached, max_distance_m)
    used = np.flatnonzero(counts)
    if len(used):
        seg = owner[used]
        on_segment = seg >= 0
        values = result.to_numpy().copy()
        np.maximum.at(values, seg[on_segment], counts[used][on_segment])
        result = pd.Series(values, index=segments.index, name="school_routes")
    result.attrs["homes_reached"] = reached
    return result


def layer_route_counts(layers: Layers, segments: gpd.GeoDataFrame) -> pd.Series:
    """:func:`school_route_counts` of loaded layers: the schools, the homes (else a grid,
    :meth:`layers.loader.Layers.route_origins`) and the walkable roads. Every caller (the
    ranking, the app, the walk planner, the yearly follow-up) uses this, so they all count
    the same routes.

    Parameters
    ----------
    layers : Layers
        From :func:`layers.loader.load_layers`, in the profile's metric CRS.
    segments : GeoDataFrame
        :func:`gis.segments.segment_paths` of ``layers.paths``.
    """
    return school_route_counts(segments, layers.schools, origins=layers.route_origins(),
                               walkable=layers.walkable)


#: Side in metres of the square tiles the schools are grouped in by
#: :func:`school_route_counts_tiled`. Each tile also builds the network of its halo
#: (:func:`route_halo_m`, 5 km by default), so the work grows by ((tile + 2·halo) / tile)²:
#: 1.4× at 50 km, 2.3× at 20 km, 5× at 8 km (measured: 8 km tiles took 2.6× the single
#: network's time in one process at 5× the demo).
ROUTE_TILE_M = 50_000.0


def route_halo_m(max_distance_m: float = 2000.0, origin_snap_m: float = 100.0,
                 school_snap_m: float = 30.0) -> float:
    """Width (m) around a tile's school grounds that holds everything their routes use.

    A school's search starts at nodes within ``school_snap_m`` of its grounds (else at the
    nearest node within ``max_distance_m``) and goes 1.5 × ``max_distance_m`` along the
    network, which is never shorter than the straight line; its origins lie within
    ``max_distance_m`` and snap to a node within ``origin_snap_m``. One metre of margin.
    """
    start = max(max_distance_m, school_snap_m)
    return start + max(1.5 * max_distance_m, origin_snap_m) + 1.0


def _tile_route_parts(segments: gpd.GeoDataFrame, positions: np.ndarray,
                      schools: gpd.GeoDataFrame, origins: gpd.GeoDataFrame | None,
                      walkable: gpd.GeoDataFrame | None, params: dict[str, float]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                 dict[str, dict[str, int]], list[str]]:
    """One tile's routes (runs on a worker): per routing line with routes, the global
    position of its segment, its end points (x0, y0, x1, y1 in metres: the line's identity
    across tiles) and its count; and the homes reached and unreached schools."""
    lines, owner, counts, reached, unreached = _route_parts(
        segments, schools, origins, walkable, **params)
    used = np.flatnonzero((counts > 0) & (owner >= 0))
    geoms = geometry_array(lines)[used]
    ends = np.hstack([shapely.get_coordinates(shapely.get_point(geoms, 0)),
                      shapely.get_coordinates(shapely.get_point(geoms, -1))])
    return positions[owner[used]], ends, counts[used], reached, unreached


def school_route_counts_tiled(segments: gpd.GeoDataFrame, schools: gpd.GeoDataFrame,
                              origins: gpd.GeoDataFrame | gpd.GeoSeries | None = None, *,
                              walkable: gpd.GeoDataFrame | None = None,
                              tile_m: float = ROUTE_TILE_M, map_tiles: Any = None,
                              grid_spacing_m: float = ROUTE_GRID_SPACING_M,
                              max_distance_m: float = 2000.0, origin_snap_m: float = 100.0,
                              school_snap_m: float = 30.0, snap_m: float = 0.1,
                              ) -> pd.Series:
    """:func:`school_route_counts`, computed per spatial tile of schools; the same result.

    The schools are grouped by the ``tile_m`` square their centroid falls in. Each tile gets
    the segments, roads and origins within :func:`route_halo_m` of its schools' grounds
    (whole lines: a line that touches the box is kept), which is everything its routes can
    use, so its counts are exact. The tiles' counts per routing line (identified by its
    segment and its end points) are summed, and each segment gets the largest count of its
    pieces, as in the single network. Without origins, the grid of the whole network is
    made first, so every tile uses the same grid.

    Parameters
    ----------
    segments, schools, origins, walkable, grid_spacing_m, max_distance_m, origin_snap_m, \
school_snap_m, snap_m
        As for :func:`school_route_counts` (one projected CRS, metres).
    tile_m : float, default 50 000
        Tile side in metres.
    map_tiles : callable, optional
        ``map_tiles(function, list_of_argument_tuples)`` returning the results in order,
        e.g. a dask ``distributed.Client`` wrapper (:mod:`trygga_cli.rank`); default: in
        this process, one tile after the other.

    Returns
    -------
    Series
        As :func:`school_route_counts`, including ``attrs["homes_reached"]``.
    """
    _check_crs(segments, schools, origins, walkable)
    _check_distance("tile_m", tile_m, allow_none=False)
    params = {"grid_spacing_m": grid_spacing_m, "max_distance_m": max_distance_m,
              "origin_snap_m": origin_snap_m, "school_snap_m": school_snap_m, "snap_m": snap_m}
    result = pd.Series(np.zeros(len(segments), dtype=np.int64), index=segments.index,
                       name="school_routes")
    result.attrs["homes_reached"] = {}
    school_geoms = geometry_array(schools)
    if len(segments) == 0 or len(school_geoms) == 0:
        return result
    if origins is None:  # the grid of the whole network, the same for every tile
        lines, _ = _routing_lines(segments, walkable)
        _, _, _, node_xy = _endpoint_nodes(lines, snap_m)
        origins = gpd.GeoSeries(_grid_origins(node_xy, grid_spacing_m), crs=segments.crs)
    halo = route_halo_m(max_distance_m, origin_snap_m, school_snap_m)
    centre = shapely.get_coordinates(shapely.centroid(school_geoms))
    tile = np.floor(centre / tile_m).astype(np.int64)
    _, tile_of = np.unique(tile, axis=0, return_inverse=True)
    tile_of = tile_of.reshape(-1)
    seg_geoms = geometry_array(segments)
    seg_tree = shapely.STRtree(seg_geoms)
    org_geoms = geometry_array(origins)
    org_tree = shapely.STRtree(org_geoms)
    walk = walkable.explode(index_parts=False) if walkable is not None else None
    walk_tree = shapely.STRtree(geometry_array(walk)) if walk is not None else None
    tasks = []
    for t in range(int(tile_of.max()) + 1):
        mine = np.flatnonzero(tile_of == t)
        box = shapely.box(*shapely.total_bounds(school_geoms[mine]))
        seg_pos = np.sort(seg_tree.query(box, predicate="dwithin", distance=halo))
        org_pos = np.sort(org_tree.query(box, predicate="dwithin", distance=halo))
        walk_sub = None
        if walk is not None and walk_tree is not None:
            walk_sub = walk.iloc[np.sort(walk_tree.query(box, predicate="dwithin",
                                                         distance=halo))]
        tasks.append((segments.iloc[seg_pos], seg_pos, schools.iloc[mine],
                      origins.iloc[org_pos], walk_sub, params))
    if map_tiles is None:
        outs = [_tile_route_parts(*task) for task in tasks]
    else:
        outs = list(map_tiles(_tile_route_parts, tasks))
    pos = np.concatenate([o[0] for o in outs])
    ends = np.vstack([o[1] for o in outs]) if len(pos) else np.empty((0, 4))
    cnt = np.concatenate([o[2] for o in outs])
    if len(pos):
        keys = np.column_stack([pos.astype(float), ends])
        _, line_of = np.unique(keys, axis=0, return_inverse=True)
        per_line = np.bincount(line_of.reshape(-1), weights=cnt).astype(np.int64)
        line_pos = np.zeros(len(per_line), dtype=np.int64)
        line_pos[line_of.reshape(-1)] = pos
        values = result.to_numpy().copy()
        np.maximum.at(values, line_pos, per_line)
        result = pd.Series(values, index=segments.index, name="school_routes")
    names = (schools["name"].astype(str).tolist() if "name" in schools.columns
             else [str(i) for i in schools.index])
    reached: dict[str, dict[str, int]] = {}
    per_tile = [o[3] for o in outs]
    for k in range(len(school_geoms)):  # the single run's order: schools as given
        got = per_tile[tile_of[k]].get(names[k])
        if got is not None and names[k] not in reached:
            reached[names[k]] = {"near": 0, "reached": 0}
    for got in per_tile:
        for name, entry in got.items():
            reached[name]["near"] += entry["near"]
            reached[name]["reached"] += entry["reached"]
    unreached = [u for o in outs for u in o[4]]
    _warn_unreached(unreached, max_distance_m)
    result.attrs["homes_reached"] = reached
    return result
