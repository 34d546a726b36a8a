"""Stage 3: clean the traced graph: prune skeleton spurs, merge close nodes, join edges
through nodes that only continue a road (two edges, no junction).

Edge ``pts`` always run from the node their edge tuple names first when read with
``oriented_pts``; lengths here are in pixels (``path_length``).
"""

from __future__ import annotations

import networkx as nx
import numpy as np


def path_length(pts: np.ndarray) -> float:
    """Length of a pixel path, in pixels (diagonal steps count sqrt 2)."""
    if len(pts) < 2:
        return 0.0
    return float(np.hypot(*np.diff(np.asarray(pts, float), axis=0).T).sum())


def oriented_pts(graph: nx.MultiGraph, u, v, key) -> np.ndarray:
    """The edge's path starting at node ``u`` (edges record the node their ``pts`` start from in ``start``;
    without it, the end nearer ``u``)."""
    data = graph.edges[u, v, key]
    pts, start = data["pts"], data.get("start")
    if start is not None and start in (u, v):
        return pts if start == u else pts[::-1]
    o = graph.nodes[u]["o"]
    if np.hypot(*(pts[-1] - o)) < np.hypot(*(pts[0] - o)):
        return pts[::-1]
    return pts


def simplify(graph: nx.MultiGraph, distance: np.ndarray | None, *, min_spur_px: float | None = None,
             merge_px: float = 3.0, keep: set | None = None) -> nx.MultiGraph:
    """Prune, merge and join in place (and return the graph).

    ``distance`` is the mask's distance transform: a spur is pruned when it is shorter than the
    road width at its junction (``min_spur_px`` overrides that with one fixed length).
    Nodes in ``keep`` (e.g. block-border cuts) are never removed, merged or joined through.
    """
    keep = keep or set()
    for _ in range(8):   # pruning can expose new spurs; a few passes settle real masks
        changed = _prune_spurs(graph, distance, min_spur_px, keep)
        changed |= _merge_close(graph, merge_px, keep)
        changed |= join_through(graph, keep)
        if not changed:
            break
    return graph


def _spur_limit(graph, junction, distance, min_spur_px) -> float:
    if min_spur_px is not None:
        return float(min_spur_px)
    if distance is None:
        return 0.0
    r, c = np.clip(np.rint(graph.nodes[junction]["o"]).astype(int), 0, np.array(distance.shape) - 1)
    return 2.0 * float(distance[r, c])   # the road's width at the junction


def _prune_spurs(graph, distance, min_spur_px, keep) -> bool:
    spurs = []
    for end in [n for n in graph.nodes if graph.degree(n) == 1 and n not in keep]:
        (u, junction, key), = graph.edges(end, keys=True)
        if graph.degree(junction) >= 3 and \
                path_length(graph.edges[u, junction, key]["pts"]) < _spur_limit(graph, junction, distance, min_spur_px):
            spurs.append(end)
    # prune at most one spur per junction per pass: two short arms may be all there is
    seen = set()
    for end in spurs:
        junction = next(iter(graph.neighbors(end)))
        if junction in seen:
            continue
        seen.add(junction)
        graph.remove_node(end)
    return bool(seen)


def _merge_close(graph, merge_px, keep) -> bool:
    changed = False
    for u, v, key, pts in list(graph.edges(keys=True, data="pts")):
        if u == v or u not in graph or v not in graph or not graph.has_edge(u, v, key):
            continue
        if path_length(pts) > merge_px or u in keep or v in keep:
            continue
        if graph.degree(u) < 2 or graph.degree(v) < 2:
            continue   # an end: that is a spur (pruned above) or a tiny fragment (kept)
        graph.remove_edge(u, v, key)
        ou, ov = graph.nodes[u]["o"], graph.nodes[v]["o"]
        graph.nodes[u]["o"] = (ou + ov) / 2.0
        graph.nodes[u]["pts"] = np.concatenate([graph.nodes[u]["pts"], graph.nodes[v]["pts"]])
        for _, w, data in list(graph.edges(v, data=True)):
            data = dict(data, start=u if data.get("start") == v else data.get("start"))
            graph.add_edge(u, u if w == v else w, **data)
        graph.remove_node(v)
        changed = True
    return changed


def join_through(graph: nx.MultiGraph, keep: set | None = None) -> bool:
    """Replace each node with exactly two edges to other nodes by one edge through it."""
    keep = keep or set()
    changed = False
    for node in list(graph.nodes):
        if node in keep or graph.degree(node) != 2 or graph.has_edge(node, node):
            continue
        (_, a, ka), (_, b, kb) = graph.edges(node, keys=True)
        first = oriented_pts(graph, a, node, ka)
        second = oriented_pts(graph, node, b, kb)
        pts = np.concatenate([first, second[1:]]) if (first[-1] == second[0]).all() else \
            np.concatenate([first, second])
        graph.remove_node(node)
        graph.add_edge(a, b, pts=pts, start=a)
        changed = True
    return changed
