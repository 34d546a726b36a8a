"""A road network of a raster far larger than memory: traced block by block, stitched at borders.

Each block is read with a halo, skeletonised, traced and cleaned (spurs, merges) with that
context, then cut to its core: the pieces of edges inside the core are kept. A piece that
leaves the core ends at a *border node* named by the link it crosses (the pair of pixels on
either side, in global coordinates); the neighbouring block names the same link from its
side, so the two pieces meet at one node and are joined into ONE edge. Nodes are named by
their first pixel in global coordinates, so both blocks name a node near their border alike;
the block whose core holds that pixel writes it. Edges whose ends are both nodes are final at
once (``emit_edge``); only pieces waiting for a neighbour stay in memory.
As long as the halo is wider than a road and its spurs, the result is the whole raster's.
"""

from __future__ import annotations

from typing import Callable

import networkx as nx
import numpy as np

from .build import edge_width_px, label_kinds
from .connect import connect_network
from .simplify import oriented_pts, path_length, simplify
from .skeleton import skeletonize_mask
from .trace import check_junctions, trace_graph

# from node, to node, (N, 2) global row/col, width px, and the two nodes' (row, col): the line's exact ends
EdgeFn = Callable[[int, int, np.ndarray, float, tuple], None]
NodeFn = Callable[[int, np.ndarray, str, int], None]       # id, (row, col), kind, degree


def block_network(road: np.ndarray, core: tuple[slice, slice], origin: tuple[int, int], *,
                  min_spur_px: float | None = None, merge_px: float = 3.0,
                  bridge: np.ndarray | None = None) -> nx.MultiGraph:
    """The pieces of the road graph of a haloed window ``road`` (top-left pixel ``origin`` globally)
    that lie in its ``core``. Nodes: ("node", first pixel) with ``owned`` (its pixel is in the core),
    ``kind`` and ``degree``, or ("border", link); edges carry global ``pts``, ``width_px`` and ``start``."""
    from scipy import ndimage

    distance = ndimage.distance_transform_edt(road)
    local = trace_graph(skeletonize_mask(road))
    check_junctions(local, origin)
    simplify(local, distance, min_spur_px=min_spur_px, merge_px=merge_px)
    if bridge is not None:   # the window's probability (or mask): post-process a prediction's network
        connect_network(local, bridge, distance, open_border=True)
    label_kinds(local)
    offset = np.asarray(origin)
    rows, cols = core

    def inside(rc: np.ndarray) -> np.ndarray:
        rc = np.atleast_2d(rc)
        return (rows.start <= rc[:, 0]) & (rc[:, 0] < rows.stop) & (cols.start <= rc[:, 1]) & (rc[:, 1] < cols.stop)

    graph = nx.MultiGraph()
    names = {}
    for node, data in local.nodes(data=True):
        first = min(map(tuple, data["pts"].tolist()))
        names[node] = ("node", (first[0] + origin[0], first[1] + origin[1]))
        if inside(np.array(first))[0]:
            graph.add_node(names[node], o=data["o"] + offset, kind=data["kind"], degree=local.degree(node),
                           owned=True)
    for u, v, key in local.edges(keys=True):
        pts = oriented_pts(local, u, v, key)
        flags = inside(pts)
        if not flags.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
        for i, j in zip(edges[::2], edges[1::2] - 1):       # runs of pixels inside the core, i..j
            a = names[u] if i == 0 else _border(pts[i - 1] + offset, pts[i] + offset)
            b = names[v] if j == len(pts) - 1 else _border(pts[j] + offset, pts[j + 1] + offset)
            for end, node in ((a, u), (b, v)):
                if end not in graph:
                    o = np.mean(end[1], axis=0) if end[0] == "border" else local.nodes[node]["o"] + offset
                    graph.add_node(end, o=np.asarray(o, float), owned=False)
            piece = pts[max(i - 1, 0):min(j + 2, len(pts))] + offset
            width = local.edges[u, v, key].get("width_px") or edge_width_px(distance, pts[i:j + 1])  # bridge: its road's
            graph.add_edge(a, b, pts=piece, width_px=width, start=a)
    return graph


def _border(p: np.ndarray, q: np.ndarray) -> tuple:
    return ("border", tuple(sorted((tuple(p.tolist()), tuple(q.tolist())))))


class Stitcher:
    """Numbers nodes across blocks, emits final edges at once and joins pieces at border nodes."""

    def __init__(self, emit_edge: EdgeFn, emit_node: NodeFn):
        self._emit_edge, self.emit_node = emit_edge, emit_node
        self.pending = nx.MultiGraph()
        self.ids: dict[tuple, int] = {}
        # Each node's place as first seen: the node and the ends of its edges are written from this one
        # value, so every edge ends exactly on its node (blocks that see a node both compute its centre).
        self.where: dict[tuple, np.ndarray] = {}

    def _id(self, name: tuple) -> int:
        return self.ids.setdefault(name, len(self.ids))

    def emit_edge(self, u: tuple, v: tuple, pts: np.ndarray, width: float) -> None:
        self._emit_edge(self._id(u), self._id(v), pts, width, (self.where[u], self.where[v]))

    def add_block(self, graph: nx.MultiGraph) -> None:
        for name, data in graph.nodes(data=True):
            self.where.setdefault(name, np.asarray(data["o"], float))
            if data.get("owned"):
                self.emit_node(self._id(name), self.where[name], data["kind"], data["degree"])
        touched = set()
        for u, v, key, data in graph.edges(keys=True, data=True):
            pts = oriented_pts(graph, u, v, key)
            if _is_border(u) or _is_border(v):
                for end in (u, v):
                    self.pending.add_node(end, o=graph.nodes[end]["o"])
                self.pending.add_edge(u, v, pts=pts, width_px=data["width_px"], start=u)
                touched.update(n for n in (u, v) if _is_border(n))
            else:
                self.emit_edge(u, v, pts, data["width_px"])
        for node in touched:
            self._join(node)

    def _join(self, node) -> None:
        pending = self.pending
        if node not in pending or pending.degree(node) != 2 or pending.has_edge(node, node):
            return
        (_, a, ka), (_, b, kb) = pending.edges(node, keys=True)
        first, second = oriented_pts(pending, a, node, ka), oriented_pts(pending, node, b, kb)
        overlap = 2 if len(first) >= 2 and len(second) >= 2 and (first[-2:] == second[:2]).all() else 0
        pts = np.concatenate([first, second[overlap:]])
        w1, w2 = pending.edges[a, node, ka]["width_px"], pending.edges[node, b, kb]["width_px"]
        l1, l2 = path_length(first), path_length(second)
        width = (w1 * l1 + w2 * l2) / (l1 + l2) if l1 + l2 else w1
        pending.remove_node(node)
        if _is_border(a) or _is_border(b):
            pending.add_edge(a, b, pts=pts, width_px=width, start=a)
        else:
            self.emit_edge(a, b, pts, width)
        for end in (a, b):
            if not _is_border(end) and end in pending and pending.degree(end) == 0:
                pending.remove_node(end)

    def finish(self) -> None:
        """Border nodes no neighbour matched (a skeleton that differs across a border) become ends;
        the one left on a ring road joined all round (a self-loop) is its loop node, as in one block."""
        for node in list(self.pending.nodes):
            if _is_border(node):
                kind = "loop" if self.pending.has_edge(node, node) else "end"
                self.emit_node(self._id(node), self.where[node], kind, self.pending.degree(node))
        for u, v, key, data in self.pending.edges(keys=True, data=True):
            self.emit_edge(u, v, oriented_pts(self.pending, u, v, key), data["width_px"])
        self.pending.clear()


def _is_border(name: tuple) -> bool:
    return name[0] == "border"
