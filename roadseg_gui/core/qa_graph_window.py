"""QA's road graph after an edit, traced again only on a window round the edit and stitched to the rest.

The graph (``connectivity_qa.qa_graph``: traced skeleton, spurs pruned, close nodes merged, edges
joined through) is kept with nodes named by their first pixel, so a window traced again names its
nodes as the whole tile does. After an edit the skeleton is traced and cleaned on a crop round the
changed pixels (a core plus a halo), its graph is cut to the core, the kept graph to the outside,
and the two are joined where edges cross the core's border (as trainer.roadgraph.blocks stitches the
blocks of a scene). Cleaning decides each spur, merge and join from a few pixels round it, so the
edit's effect and the crop's cut edges reach only so far: the window is used only when the crop's
graph and the kept one agree exactly on a band round the core (neither reached it), else the margin
doubles, up to the whole mask. Every piece is checked to meet its partner at the border; anything
else (a ring joined round with no node of its own) falls back to the whole mask.
"""

from __future__ import annotations

from collections import Counter

import networkx as nx
import numpy as np

FIRST_MARGIN = 48   # px: several spur lengths and road widths of a typical road

Box = tuple   # (y0, y1, x0, x1), ends exclusive


def named_graph(graph: nx.MultiGraph) -> nx.MultiGraph:
    """``graph`` (global pixel coordinates) with nodes named ("node", first pixel) and edges carrying
    ``pts`` (from the node named in ``start``), ``length`` and ``box`` (their bounding box)."""
    from trainer.roadgraph.simplify import oriented_pts

    names = {n: ("node", min(map(tuple, np.asarray(d["pts"]).tolist()))) for n, d in graph.nodes(data=True)}
    out = nx.MultiGraph()
    out.add_nodes_from((names[n], {"o": d["o"], "pts": d["pts"]}) for n, d in graph.nodes(data=True))
    for u, v, key in graph.edges(keys=True):
        _add_edge(out, names[u], names[v], oriented_pts(graph, u, v, key))
    return out


def window_graph(skeleton: np.ndarray, crop: Box, road_width: float) -> nx.MultiGraph:
    """``qa_graph`` of the skeleton cut to ``crop``, in the tile's coordinates, named as ``named_graph``.

    Coordinates are moved to the tile's before cleaning: merged nodes' centres are then the same
    floating-point numbers as on the whole tile."""
    from trainer.roadgraph.simplify import simplify
    from trainer.roadgraph.trace import trace_graph

    y0, y1, x0, x1 = crop
    graph = trace_graph(skeleton[y0:y1, x0:x1])
    shift = np.array([y0, x0])
    for _n, data in graph.nodes(data=True):
        data["pts"] = data["pts"] + shift
        data["o"] = data["pts"].mean(axis=0)      # as trace_graph computes it on the whole tile
    for _u, _v, data in graph.edges(data=True):
        data["pts"] = data["pts"] + shift
    simplify(graph, None, min_spur_px=road_width, merge_px=3.0)
    return named_graph(graph)


def update_graph(graph: nx.MultiGraph, skeleton: np.ndarray, changed: Box, road_width: float) -> int | None:
    """Bring ``graph`` (kept for the old skeleton) up to ``skeleton``, which differs from the old one
    only inside ``changed``, in place. Returns the pixels traced, or None: the window would be the
    whole mask or the pieces did not meet (the caller builds the whole graph; ``graph`` is then spoilt)."""
    h, w = skeleton.shape
    margin, traced = FIRST_MARGIN, 0
    while True:
        crop = _grown(changed, 2 * margin, h, w)
        if crop == (0, h, 0, w):
            return None
        core, band = _grown(changed, margin, h, w), _grown(changed, margin * 3 // 2, h, w)
        local = window_graph(skeleton, crop, road_width)
        traced += (crop[1] - crop[0]) * (crop[3] - crop[2])
        ring = Region(band, hole=core)
        near = _edges_near(graph.edges(keys=True, data=True), band)      # the one pass over the whole graph
        local_near = _edges_near(local.edges(keys=True, data=True), band)
        if _cut_summary(graph, near, ring) == _cut_summary(local, local_near, ring):
            return traced if _stitch(graph, local, core, _edges_near(near, core)) else None
        margin *= 2


def _stitch(graph: nx.MultiGraph, local: nx.MultiGraph, core: Box, near: list) -> bool:
    """Replace ``graph`` inside ``core`` by ``local``'s (``near``: ``graph``'s edges that may reach into
    ``core``); False when the pieces do not meet."""
    inside, outside = Region(core), Region((0, 1 << 30, 0, 1 << 30), hole=core)
    owned = [n for n in graph.nodes if inside.holds(n)]
    old = {id(d): (u, v, k, d) for u, v, k, d in graph.edges(owned, keys=True, data=True)}
    old.update((id(d), (u, v, k, d)) for u, v, k, d in near)
    pieces = [p for u, v, _k, d in old.values() for p in _cut(u, v, d, outside)]
    graph.remove_edges_from([(u, v, k) for u, v, k, _d in old.values()])
    graph.remove_nodes_from(owned)
    graph.add_nodes_from((n, d) for n, d in local.nodes(data=True) if inside.holds(n))
    pieces += [p for u, v, _k, d in _edges_near(local.edges(keys=True, data=True), core)
               for p in _cut(u, v, d, inside)]
    borders = set()
    for a, b, pts in pieces:
        _add_edge(graph, a, b, pts)
        borders.update(n for n in (a, b) if n[0] == "border")
    for node in borders:
        if graph.degree(node) != 2 or graph.has_edge(node, node):
            return False        # a piece without its partner, or a ring with no node of its own
        _join(graph, node)
    return all("o" in graph.nodes[n] for n in graph.nodes)    # every piece ends on a real node


def _join(graph: nx.MultiGraph, node) -> None:
    """One edge for the two pieces that meet at a border node (each holds the link's two pixels)."""
    (_, a, da), (_, b, db) = graph.edges(node, data=True)
    first, second = _from(da, a), _from(db, node)
    graph.remove_node(node)
    _add_edge(graph, a, b, np.concatenate([first, second[2:]]))


def _cut_summary(graph: nx.MultiGraph, near: list, region: "Region") -> tuple:
    """What ``graph`` holds in ``region``: its nodes there and the pieces there of its edges ``near``
    it, comparably."""
    nodes = {n: (tuple(d["o"]), tuple(sorted(map(tuple, np.asarray(d["pts"]).tolist()))))
             for n, d in graph.nodes(data=True) if region.holds(n)}
    pieces = Counter()
    for u, v, _k, d in near:
        for a, b, pts in _cut(u, v, d, region):
            pts = pts.astype(np.int64)
            pieces[min((a, b, pts.tobytes()), (b, a, pts[::-1].tobytes()))] += 1
    return nodes, pieces


def _cut(u, v, data: dict, region) -> list:
    """The runs of the edge's pixels in ``region``: (from, to, pts), each end its node or a border
    node named by the link it crosses; pts hold one pixel beyond each border."""
    pts = _from(data, u)
    flags = region.pixels(pts)
    if not flags.any():
        return []
    steps = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    last, out = len(pts) - 1, []
    for i, j in zip(steps[::2], steps[1::2] - 1):
        a = u if i == 0 else _border(pts[i - 1], pts[i])
        b = v if j == last else _border(pts[j], pts[j + 1])
        out.append((a, b, pts[max(i - 1, 0):min(j + 2, len(pts))]))
    return out


def _add_edge(graph: nx.MultiGraph, a, b, pts: np.ndarray) -> None:
    from trainer.roadgraph.simplify import path_length

    box = (int(pts[:, 0].min()), int(pts[:, 0].max()) + 1, int(pts[:, 1].min()), int(pts[:, 1].max()) + 1)
    graph.add_edge(a, b, pts=pts, start=a, length=path_length(pts), box=box)


def _from(data: dict, node) -> np.ndarray:
    return data["pts"] if data["start"] == node else data["pts"][::-1]


def _edges_near(edges, box: Box) -> list:
    """The (u, v, key, data) of ``edges`` whose bounding box meets ``box``."""
    y0, y1, x0, x1 = box
    return [(u, v, k, d) for u, v, k, d in edges
            if d["box"][0] < y1 and d["box"][1] > y0 and d["box"][2] < x1 and d["box"][3] > x0]


def _border(p: np.ndarray, q: np.ndarray) -> tuple:
    return ("border", tuple(sorted((tuple(p.tolist()), tuple(q.tolist())))))


class Region:
    """The pixels of ``box`` less those of ``hole``."""

    def __init__(self, box: Box, hole: Box | None = None):
        self.box, self.hole = box, hole

    def pixels(self, pts: np.ndarray) -> np.ndarray:
        flags = _in_box(pts, self.box)
        return flags & ~_in_box(pts, self.hole) if self.hole is not None else flags

    def holds(self, name) -> bool:
        """Is this node's first pixel in the region (border nodes: never)?"""
        if name[0] != "node":
            return False
        r, c = name[1]
        b, hole = self.box, self.hole
        return b[0] <= r < b[1] and b[2] <= c < b[3] and \
            not (hole is not None and hole[0] <= r < hole[1] and hole[2] <= c < hole[3])


def _in_box(pts: np.ndarray, box: Box) -> np.ndarray:
    return (box[0] <= pts[:, 0]) & (pts[:, 0] < box[1]) & (box[2] <= pts[:, 1]) & (pts[:, 1] < box[3])


def _grown(box: Box, by: int, h: int, w: int) -> Box:
    return max(0, box[0] - by), min(h, box[1] + by), max(0, box[2] - by), min(w, box[3] + by)
