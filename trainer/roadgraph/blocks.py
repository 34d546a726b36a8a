"""A road network of a raster far larger than memory: traced block by block, stitched at borders.

Each block is skeletonised with a halo (so the skeleton near its border is the one the
neighbour sees), then traced over its core plus a one-pixel fringe. A road leaving the core
ends at a *border node* named by the link it crosses (its last core pixel and the first
pixel beyond, in global coordinates); the neighbouring block names the same link from its
side, so the two halves meet at one node and are joined into ONE edge. Edges whose ends are
both ordinary nodes are final as soon as their block is done and are handed to ``emit_edge``;
only edges waiting for a neighbour stay in memory.
"""

from __future__ import annotations

from typing import Callable

import networkx as nx
import numpy as np

from .build import edge_width_px
from .simplify import oriented_pts, path_length, simplify
from .skeleton import skeletonize_mask
from .trace import trace_graph

EdgeFn = Callable[[int, int, np.ndarray, float], None]     # from node, to node, (N, 2) global row/col, width px
NodeFn = Callable[[int, np.ndarray, str, int], None]       # id, (row, col), kind, degree


def block_network(road: np.ndarray, core: tuple[slice, slice], origin: tuple[int, int], *,
                  min_spur_px: float | None = None, merge_px: float = 3.0) -> nx.MultiGraph:
    """Graph of the ``core`` of a haloed window ``road`` whose top-left pixel is ``origin`` globally.

    Nodes are ints (ordinary nodes) or ("border", link) tuples; edges carry global ``pts`` and ``width_px``.
    """
    from scipy import ndimage

    height, width = road.shape
    skeleton = skeletonize_mask(road)
    r0, r1 = max(core[0].start - 1, 0), min(core[0].stop + 1, height)
    c0, c1 = max(core[1].start - 1, 0), min(core[1].stop + 1, width)
    sub = skeleton[r0:r1, c0:c1]
    in_core = np.zeros(sub.shape, bool)
    in_core[core[0].start - r0:core[0].stop - r0, core[1].start - c0:core[1].stop - c0] = True
    core_skeleton = sub & in_core
    fringe = sub & ~in_core & ndimage.binary_dilation(core_skeleton, np.ones((3, 3), bool))
    traced = trace_graph(core_skeleton | fringe, forced=fringe)
    distance = ndimage.distance_transform_edt(road[r0:r1, c0:c1])
    graph = _split_border_nodes(traced, fringe, in_core, (origin[0] + r0, origin[1] + c0))
    keep = {n for n in graph.nodes if isinstance(n, tuple)}
    local = (origin[0] + r0, origin[1] + c0)
    _shift(graph, -np.array(local))
    simplify(graph, distance, min_spur_px=min_spur_px, merge_px=merge_px, keep=keep)
    for _, _, data in graph.edges(data=True):
        data["width_px"] = edge_width_px(distance, data["pts"])
    _shift(graph, np.array(local))
    return graph


def _split_border_nodes(traced: nx.MultiGraph, fringe: np.ndarray, in_core: np.ndarray,
                        offset: tuple[int, int]) -> nx.MultiGraph:
    """One border node per edge leaving the core, named by its crossing link; edges outside dropped."""
    offset_a = np.array(offset)
    forced = {n for n, pts in traced.nodes(data="pts") if len(pts) == 1 and fringe[pts[0][0], pts[0][1]]}
    graph = nx.MultiGraph()
    for n, data in traced.nodes(data=True):
        if n not in forced:
            graph.add_node(n, pts=data["pts"] + offset_a, o=data["o"] + offset_a)
    for u, v, key in traced.edges(keys=True):
        pts = traced.edges[u, v, key]["pts"]
        if not in_core[pts[:, 0], pts[:, 1]].any():
            continue    # runs along the fringe only: the neighbour's edge
        ends = []
        for node, toward in ((u, oriented_pts(traced, v, u, key)), (v, oriented_pts(traced, u, v, key))):
            if node in forced:
                link = tuple(sorted((tuple((toward[-2] + offset_a).tolist()), tuple((toward[-1] + offset_a).tolist()))))
                node = ("border", link)
            ends.append(node)
        if ends[0] == ends[1] and isinstance(ends[0], tuple):
            continue
        for node in ends:
            if isinstance(node, tuple) and node not in graph:
                link = np.array(node[1])
                graph.add_node(node, pts=link, o=link.astype(float).mean(axis=0))
        start = ends[0] if traced.edges[u, v, key].get("start", u) == u else ends[1]
        graph.add_edge(ends[0], ends[1], pts=pts + offset_a, start=start)
    return graph


def _shift(graph: nx.MultiGraph, by: np.ndarray) -> None:
    for _, data in graph.nodes(data=True):
        data["o"] = data["o"] + by
        data["pts"] = data["pts"] + by
    for _, _, data in graph.edges(data=True):
        data["pts"] = data["pts"] + by


class Stitcher:
    """Numbers nodes across blocks, emits final edges at once and joins halves at border nodes."""

    def __init__(self, emit_edge: EdgeFn, emit_node: NodeFn):
        self.emit_edge, self.emit_node = emit_edge, emit_node
        self.pending = nx.MultiGraph()
        self.next_id = 0

    def add_block(self, graph: nx.MultiGraph) -> None:
        ids = {}
        for node, data in graph.nodes(data=True):
            if isinstance(node, tuple):
                ids[node] = node
                continue
            ids[node] = self.next_id
            self.next_id += 1
            self.emit_node(ids[node], data["o"], _kind(graph, node), graph.degree(node))
        touched = set()
        for u, v, key, data in graph.edges(keys=True, data=True):
            a, b = ids[u], ids[v]
            pts = oriented_pts(graph, u, v, key)
            if isinstance(a, tuple) or isinstance(b, tuple):
                for end, original in ((a, u), (b, v)):
                    self.pending.add_node(end, o=graph.nodes[original]["o"])
                self.pending.add_edge(a, b, pts=pts, width_px=data["width_px"], start=a)
                touched.update(n for n in (a, b) if isinstance(n, tuple))
            else:
                self.emit_edge(a, b, pts, data["width_px"])
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
        if isinstance(a, tuple) or isinstance(b, tuple):
            pending.add_edge(a, b, pts=pts, width_px=width, start=a)
        else:
            self.emit_edge(a, b, pts, width)
        for end in (a, b):
            if not isinstance(end, tuple) and end in pending and pending.degree(end) == 0:
                pending.remove_node(end)

    def finish(self) -> None:
        """Border nodes no neighbour matched (the scene's edge, a skeleton that differs) become ends."""
        ids = {}
        for node in list(self.pending.nodes):
            if isinstance(node, tuple):
                ids[node] = self.next_id
                self.next_id += 1
                self.emit_node(ids[node], self.pending.nodes[node]["o"], "end", self.pending.degree(node))
        for u, v, key, data in self.pending.edges(keys=True, data=True):
            self.emit_edge(ids.get(u, u), ids.get(v, v), oriented_pts(self.pending, u, v, key), data["width_px"])
        self.pending.clear()


def _kind(graph: nx.MultiGraph, node) -> str:
    degree = graph.degree(node)
    if degree == 0:
        return "isolated"
    if degree == 1:
        return "end"
    if degree == 2 and graph.has_edge(node, node):
        return "loop"
    return "junction"
