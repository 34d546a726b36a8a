"""APLS (SpaceNet's Average Path Length Similarity) between two road graphs in pixels.

As in CosmiQ's ``apls``: control points are inserted along every edge (every ``spacing``
px, a few road widths; wider on dense networks, see MAX_CONTROL_POINTS), each point of one
graph is snapped onto the nearest edge of the other within ``buffer`` px, and for every
pair of points joined in the first graph the
path length L is compared with the length L' between the snapped points in the second:
penalty min(1, |L - L'| / L), 1 when a point found no match or no path joins them.
A direction's score is 1 - mean penalty; APLS is the harmonic mean of both directions.
Paths shorter than the buffer are skipped: below the snapping's resolution (the reference skips
paths under 10 m with a 4 m buffer). One difference from the reference: two graphs with no
path at all (two empty tiles) agree, so they score 1, where the reference returns 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .simplify import oriented_pts

# The pair count grows with the square of the points: past this many, control points are spread
# wider (a dense 1024-px grid of thin streets would otherwise take ~4,000 points and 30 s).
MAX_CONTROL_POINTS = 400


@dataclass
class Routes:
    """A graph's edges as arrays, its node-to-node distances, and points along its edges."""

    ends: np.ndarray        # (E, 2) node index of each edge's start and end
    lengths: np.ndarray     # (E,) edge length along its pixels
    node_dist: np.ndarray   # (V, V) shortest path lengths between nodes (inf: not joined)
    pixels: np.ndarray      # (P, 2) every edge pixel (row, col) ...
    pixel_edge: np.ndarray  # (P,) ... the edge it is on ...
    pixel_arc: np.ndarray   # (P,) ... and how far along it

    @classmethod
    def of(cls, graph: nx.MultiGraph) -> "Routes":
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import dijkstra

        index = {node: i for i, node in enumerate(graph.nodes)}
        ends, lengths, pixels, edge_of, arcs = [], [], [], [], []
        for e, (u, v, key) in enumerate(graph.edges(keys=True)):
            pts = oriented_pts(graph, u, v, key).astype(float)
            arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))]) if len(pts) > 1 \
                else np.zeros(1)
            ends.append((index[u], index[v]))
            lengths.append(max(arc[-1], 1e-6))
            pixels.append(pts)
            edge_of.append(np.full(len(pts), e))
            arcs.append(arc)
        n = len(index)
        ends_a = np.asarray(ends, np.int64).reshape(-1, 2)
        lengths_a = np.asarray(lengths, float)
        node_dist = np.full((n, n), np.inf)
        if n:
            other = ends_a[:, 0] != ends_a[:, 1]
            # parallel edges: csgraph sums duplicates, so keep the shortest of each pair
            weights: dict[tuple[int, int], float] = {}
            for (a, b), length in zip(ends_a[other].tolist(), lengths_a[other].tolist()):
                pair = (min(a, b), max(a, b))
                weights[pair] = min(length, weights.get(pair, np.inf))
            if weights:
                (rows, cols), values = zip(*weights.keys()), list(weights.values())
                matrix = coo_matrix((values, (rows, cols)), shape=(n, n)).tocsr()
                node_dist = dijkstra(matrix, directed=False)
            else:
                np.fill_diagonal(node_dist, 0.0)
        cat = (lambda parts, width: np.concatenate(parts) if parts else np.zeros((0,) * width))
        return cls(ends_a, lengths_a, node_dist, cat(pixels, 2).reshape(-1, 2), cat(edge_of, 1).astype(np.int64),
                   cat(arcs, 1))

    def control_points(self, spacing: float) -> tuple[np.ndarray, np.ndarray]:
        """(edge, arc) of every node (once) and of points about ``spacing`` apart along each edge."""
        edges, arcs, seen = [], [], set()
        bounds = np.searchsorted(self.pixel_edge, np.arange(len(self.ends) + 1))
        for e, ((a, b), length) in enumerate(zip(self.ends.tolist(), self.lengths.tolist())):
            along = self.pixel_arc[bounds[e]:bounds[e + 1]]
            for node, arc in ((a, 0.0), (b, float(along[-1]))):
                if node not in seen:
                    seen.add(node)
                    edges.append(e)
                    arcs.append(arc)
            segments = max(1, int(round(length / spacing)))
            # on a pixel of the path, so a graph snapped onto itself finds each point exactly
            wanted = length * np.arange(1, segments) / segments
            picks = np.clip(np.searchsorted(along, wanted), 0, len(along) - 1)
            edges.extend([e] * len(picks))
            arcs.extend(along[picks].tolist())
        return np.asarray(edges, np.int64), np.asarray(arcs, float)

    def position(self, edges: np.ndarray, arcs: np.ndarray) -> np.ndarray:
        """(row, col) of points given as (edge, arc)."""
        bounds = np.searchsorted(self.pixel_edge, np.arange(len(self.ends) + 1))
        out = np.zeros((len(edges), 2))
        for i, (e, arc) in enumerate(zip(edges.tolist(), arcs.tolist())):
            on = slice(bounds[e], bounds[e + 1])
            out[i] = [np.interp(arc, self.pixel_arc[on], self.pixels[on, 0]),
                      np.interp(arc, self.pixel_arc[on], self.pixels[on, 1])]
        return out

    def snap(self, points: np.ndarray, buffer: float) -> tuple[np.ndarray, np.ndarray]:
        """(edge, arc) of the nearest edge pixel within ``buffer`` of each point; edge -1 when none."""
        from scipy.spatial import cKDTree

        if not len(self.pixels) or not len(points):
            return np.full(len(points), -1, np.int64), np.zeros(len(points))
        distance, nearest = cKDTree(self.pixels).query(points, distance_upper_bound=buffer)
        found = np.isfinite(distance)
        nearest = np.where(found, nearest, 0)
        return np.where(found, self.pixel_edge[nearest], -1), np.where(found, self.pixel_arc[nearest], 0.0)

    def distances(self, edges: np.ndarray, arcs: np.ndarray) -> np.ndarray:
        """Shortest path lengths between points (edge, arc) along the graph: M x M."""
        ends = self.ends[edges]                                            # (M, 2)
        offsets = np.column_stack([arcs, self.lengths[edges] - arcs])     # (M, 2)
        best = np.full((len(edges), len(edges)), np.inf)
        for a in (0, 1):          # leave by either end of one's edge, arrive by either end of the other's
            for b in (0, 1):
                via = self.node_dist[np.ix_(ends[:, a], ends[:, b])]
                np.minimum(best, offsets[:, a, None] + via + offsets[None, :, b], out=best)
        same = edges[:, None] == edges[None, :]
        along = np.abs(arcs[:, None] - arcs[None, :])
        return np.where(same, np.minimum(best, along), best)


def one_way(source: Routes, target: Routes, spacing: float, buffer: float) -> float | None:
    """1 - mean penalty over paths of ``source`` (None when it has no path to judge)."""
    spacing = max(spacing, float(source.lengths.sum()) / MAX_CONTROL_POINTS)
    edges, arcs = source.control_points(spacing)
    if len(edges) < 2:
        return None
    lengths = source.distances(edges, arcs)
    upper = np.triu(np.ones_like(lengths, bool), 1)
    judged = upper & np.isfinite(lengths) & (lengths >= buffer)
    if not judged.any():
        return None
    t_edges, t_arcs = target.snap(source.position(edges, arcs), buffer)
    matched = t_edges >= 0
    penalty = np.ones_like(lengths)
    if matched.any():
        idx = np.flatnonzero(matched)
        found = target.distances(t_edges[idx], t_arcs[idx])
        sub = lengths[np.ix_(idx, idx)]
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = np.where(np.isfinite(found), np.minimum(1.0, np.abs(sub - found) / sub), 1.0)
        penalty[np.ix_(idx, idx)] = relative
    return float(1.0 - penalty[judged].mean())


def apls_between(truth: nx.MultiGraph, proposal: nx.MultiGraph, *, spacing: float, buffer: float) -> dict:
    """Both directions and their harmonic mean; a direction with no path to judge counts 1."""
    t, p = Routes.of(truth), Routes.of(proposal)
    onto_proposal = one_way(t, p, spacing, buffer)
    onto_truth = one_way(p, t, spacing, buffer)
    a = 1.0 if onto_proposal is None else onto_proposal
    b = 1.0 if onto_truth is None else onto_truth
    score = 2 * a * b / (a + b) if a + b > 0 else 0.0
    return {"apls": score, "truth_to_proposal": a, "proposal_to_truth": b}
