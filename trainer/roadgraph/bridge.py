"""Bridge the gaps of a predicted network: each dangling end is joined to another road or end
along the least-cost path over -log(probability) (``leastcost``), when that road lies ahead of
the end (within ``max_turn_deg`` of its heading) and within ``gap_widths`` road widths; ends that
face each other are preferred (their path's cost is scaled by ``facing_bonus``).

Works in place on a traced graph in pixel coordinates (``trace``/``simplify`` shape: edge ``pts``
and ``start``, node ``pts`` and ``o``). A bridge is an edge with ``bridge=True`` and the width
of the road it continues (``width_px``); a bridge onto the middle of an edge splits that edge at
a new junction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .leastcost import CostWindows, route
from .simplify import oriented_pts, path_length


@dataclass(frozen=True)
class BridgeRules:
    gap_widths: float = 3.0      # longest bridge, in widths of the road it continues
    min_gap_px: float = 8.0      # ... but at least this many pixels (thin roads)
    max_turn_deg: float = 45.0   # the target must lie within this angle of the end's heading
    facing_bonus: float = 0.5    # cost factor for an end whose own heading points back at us
    detour_factor: float = 3.0   # a road already reachable within this x the gap is not bridged to
    min_width_px: float = 3.0


@dataclass
class _Proposal:
    score: float
    end: object
    start: tuple         # the end's pixel and the target's, in ``cost``'s cells
    target: tuple
    cost: np.ndarray     # the cost around the end (its own road impassable)
    origin: tuple        # (row, col) of cost's first cell
    width: float
    reach: float

    def path(self, label: np.ndarray) -> np.ndarray | None:
        """(N, 2) global row/col of the least-cost path from the end to the target, cut at the first
        road it meets on the way; None when that path is far longer than the gap allows."""
        (r, c), target, margin = self.start, self.target, int(max(4, self.width // 2 + 1))
        h, w = self.cost.shape
        box = (max(0, min(r, target[0]) - margin), max(0, min(c, target[1]) - margin),
               min(h, max(r, target[0]) + margin + 1), min(w, max(c, target[1]) + margin + 1))
        path = np.asarray(route(self.cost, box, None, self.start, target), dtype=np.int64) + self.origin
        hits = np.flatnonzero(label[path[1:, 0], path[1:, 1]] > 0)
        if hits.size:
            path = path[:hits[0] + 2]
        return path if path_length(path) <= 1.5 * self.reach else None


def end_heading(pts: np.ndarray, width: float) -> np.ndarray | None:
    """Unit (row, col) direction out of an end whose edge path ``pts`` starts at the end, measured
    over about two road widths (one pixel's stair steps would swing it by 45 degrees)."""
    back = pts[min(len(pts) - 1, max(2, int(round(2 * width))))]
    d = pts[0].astype(float) - back
    norm = math.hypot(*d)
    return d / norm if norm > 0 else None


def edge_width(distance: np.ndarray | None, pts: np.ndarray, floor: float) -> float:
    """Road width near an end: 2 x the median distance to the road's edge over its first pixels."""
    if distance is None:
        return floor
    near = pts[: max(3, min(len(pts), 15))]
    values = np.sort(distance[near[:, 0], near[:, 1]])
    return max(floor, 2.0 * float(values[len(values) // 2]) - 1.0)   # the median, without np.median's overhead


def bridge_gaps(graph: nx.MultiGraph, costs: CostWindows, distance: np.ndarray | None,
                rules: BridgeRules = BridgeRules(), *, skip_border: bool = True) -> int:
    """Add bridges from dangling ends (in place); returns how many. Ends on the raster's border
    are roads leaving it, not gaps, and are left alone when ``skip_border``."""
    h, w = costs.shape
    label, edges = _edge_labels(graph, (h, w))
    ends = {}   # pixel -> (node, heading, width, path from the end) of every dangling end
    for end in [n for n in graph.nodes if graph.degree(n) == 1 and not graph.has_edge(n, n)]:
        (_, other, key), = graph.edges(end, keys=True)
        pts = oriented_pts(graph, end, other, key)
        width = edge_width(distance, pts, rules.min_width_px)
        heading = end_heading(pts, width)
        if heading is not None:
            ends[tuple(pts[0].tolist())] = (end, heading, width, pts)
    proposals = []
    for (r, c), (end, heading, width, pts) in ends.items():
        if skip_border and (r <= 1 or c <= 1 or r >= h - 2 or c >= w - 2):
            continue
        proposal = _propose(graph, end, pts, heading, width, label, edges, ends, costs, rules)
        if proposal is not None:
            proposals.append(proposal)
    proposals.sort(key=lambda p: p.score)
    added = 0
    next_node = max((n for n in graph.nodes if isinstance(n, int)), default=-1) + 1
    for proposal in proposals:   # routed only now: most ends of a busy scene never get this far
        if proposal.end not in graph or graph.degree(proposal.end) != 1:
            continue   # the target of an earlier bridge: already joined
        path = proposal.path(label)
        if path is None:
            continue
        target = _attach(graph, tuple(path[-1].tolist()), label, edges, next_node)
        if target is None or target == proposal.end:
            continue
        next_node += 1
        graph.add_edge(proposal.end, target, pts=path, start=proposal.end, bridge=True, width_px=proposal.width)
        added += 1
    return added


def _edge_labels(graph: nx.MultiGraph, shape) -> tuple[np.ndarray, dict]:
    """An int32 raster naming the edge under each pixel (0: none; zeros, not full(-1): calloc'd pages
    cost nothing until written) and id -> (u, v, key)."""
    label = np.zeros(shape, np.int32)
    edges = {}
    for i, (u, v, key, pts) in enumerate(graph.edges(keys=True, data="pts"), start=1):
        label[pts[:, 0], pts[:, 1]] = i
        edges[i] = (u, v, key)
    return label, edges


def _propose(graph, end, pts, heading, width, label, edges, ends: dict, costs: CostWindows,
             rules: BridgeRules) -> _Proposal | None:
    """The best bridge from one end: candidates are road pixels ahead within reach, not already
    near along the network; each is scored by the cost of the straight line to it (ends facing back
    scaled by ``facing_bonus``), and the winner is routed along the least-cost path."""
    reach = max(rules.min_gap_px, rules.gap_widths * width)
    r, c = (int(v) for v in pts[0])
    h, w = label.shape
    y0, x0 = max(0, r - int(reach) - 1), max(0, c - int(reach) - 1)
    y1, x1 = min(h, r + int(reach) + 2), min(w, c + int(reach) + 2)
    own = label[r, c]
    window = label[y0:y1, x0:x1]
    rows, cols = np.nonzero((window > 0) & (window != own))
    if not rows.size:
        return None
    ids = window[rows, cols]
    offset = np.column_stack([rows + y0 - r, cols + x0 - c]).astype(float)
    gap = np.hypot(offset[:, 0], offset[:, 1])
    ok = (gap <= reach) & ((offset @ heading) >= gap * math.cos(math.radians(rules.max_turn_deg)))
    if not ok.any():
        return None
    rows, cols, ids, gap, offset = rows[ok], cols[ok], ids[ok], gap[ok], offset[ok]
    near = _network_distances(graph, end, rules.detour_factor * reach + width)
    if len(near) > 1:   # roads already near along the network are not bridged to
        keep = np.array([_detour(graph, edges[i], (rr + y0, cc + x0), near) > rules.detour_factor * g + width
                         for i, rr, cc, g in zip(ids.tolist(), rows.tolist(), cols.tolist(), gap.tolist())])
        if not keep.any():
            return None
        rows, cols, gap, offset = rows[keep], cols[keep], gap[keep], offset[keep]
    cost = costs.cost(y0, x0, y1, x1).copy()
    own_pts = pts[1:]
    inside = (own_pts[:, 0] >= y0) & (own_pts[:, 0] < y1) & (own_pts[:, 1] >= x0) & (own_pts[:, 1] < x1)
    cost[own_pts[inside, 0] - y0, own_pts[inside, 1] - x0] = np.inf   # never run back along its own road
    steps = int(np.ceil(gap.max())) + 1
    t = np.linspace(0.0, 1.0, steps)
    line_r = np.rint((r - y0) + offset[:, :1] * t).astype(int)
    line_c = np.rint((c - x0) + offset[:, 1:] * t).astype(int)
    on_line = cost[line_r, line_c]
    on_line[:, 0] = 0.0                                                # the end's own pixel
    scores = np.where(np.isfinite(on_line), on_line, 1e3).mean(axis=1) * gap
    for j, (rr, cc) in enumerate(zip((rows + y0).tolist(), (cols + x0).tolist())):
        other = ends.get((rr, cc))
        if other is not None and _faces(other[1], (rr, cc), (r, c), rules):
            scores[j] *= rules.facing_bonus
    best = int(np.argmin(scores))
    return _Proposal(float(scores[best]), end, (r - y0, c - x0), (int(rows[best]), int(cols[best])), cost,
                     (y0, x0), width, reach)


def _network_distances(graph, end, cutoff: float) -> dict:
    """Steps along the network from ``end`` to the nodes within ``cutoff`` (a path's pixel count: its
    length to within sqrt 2, cheap to get)."""
    def weight(u, v, data):
        return min(len(d["pts"]) - 1 for d in data.values())
    return nx.single_source_dijkstra_path_length(graph, end, cutoff=cutoff, weight=weight)


def _detour(graph, edge, pixel, near: dict) -> float:
    """Steps along the network from the end to ``pixel`` on ``edge`` (inf when beyond the cutoff)."""
    u, v, key = edge
    if u not in near and v not in near:
        return math.inf
    pts = oriented_pts(graph, u, v, key)
    index = int(np.flatnonzero((pts[:, 0] == pixel[0]) & (pts[:, 1] == pixel[1]))[0])
    return min(near.get(u, math.inf) + index, near.get(v, math.inf) + len(pts) - 1 - index)


def _faces(heading, pixel, source, rules: BridgeRules) -> bool:
    """Whether an end at ``pixel`` whose own ``heading`` is given points back towards ``source``."""
    back = np.asarray(source, float) - np.asarray(pixel, float)
    norm = math.hypot(*back)
    return norm > 0 and float(back @ heading) / norm >= math.cos(math.radians(rules.max_turn_deg))


def _attach(graph, pixel, label, edges, new_node):
    """The node at ``pixel`` on the edge under it: an end node of that edge, or a new junction
    splitting it there. None when no edge is there any more."""
    edge_id = int(label[pixel])
    if edge_id <= 0 or edge_id not in edges:
        return None
    u, v, key = edges[edge_id]
    if not graph.has_edge(u, v, key):
        return None
    pts = oriented_pts(graph, u, v, key)
    index = int(np.flatnonzero((pts == pixel).all(axis=1))[0])
    if index == 0:
        return u
    if index == len(pts) - 1:
        return v
    data = dict(graph.edges[u, v, key])
    graph.remove_edge(u, v, key)
    graph.add_node(new_node, pts=np.asarray([pixel]), o=np.asarray(pixel, float))
    for a, b, piece in ((u, new_node, pts[:index + 1]), (new_node, v, pts[index:])):
        k = graph.add_edge(a, b, **{**data, "pts": piece, "start": a})
        new_id = max(edges) + 1
        edges[new_id] = (a, b, k)
        label[piece[:, 0], piece[:, 1]] = new_id
    return new_node
