"""Network post-processing of a *prediction* (never of a label, which is the truth): the stage
between the traced graph and what a user receives, as CRESI and the SpaceNet 3 winner do.

``connect_network`` runs, in place on a pixel graph: prune spurs (a stub that sticks out of its
road by less than ``spur_widths`` road widths), bridge gaps (``bridge``), drop isolated fragments
shorter than ``fragment_widths`` widths, and re-join edges through the nodes that pruning and
bridging leave with only two edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .bridge import BridgeRules, bridge_gaps, edge_width
from .leastcost import CostWindows
from .simplify import join_through, oriented_pts, path_length


@dataclass(frozen=True)
class ConnectRules:
    bridge: BridgeRules = field(default_factory=BridgeRules)
    spur_widths: float = 1.0       # a spur sticking out less than this many widths is pruned
    fragment_widths: float = 4.0   # a piece of network on its own shorter than this is dropped


def connect_network(graph: nx.MultiGraph, probability: np.ndarray, distance: np.ndarray | None,
                    rules: ConnectRules = ConnectRules(), *, open_border: bool = False) -> dict:
    """Post-process ``graph`` in place; returns counts of what was done.

    ``probability``: the prediction's road probability (uint8 0..255, float 0..1) or its mask,
    the same H x W as the graph's pixels; ``distance``: the mask's distance transform (road widths).
    ``open_border``: the raster goes on past this window's edges (a block of a scene), so a
    fragment touching them is kept and ends there are not bridged."""
    floor = rules.bridge.min_width_px
    shape = np.asarray(probability).shape[:2]
    pruned = prune_spurs(graph, distance, rules.spur_widths, floor, shape)
    join_through(graph)
    bridged = bridge_gaps(graph, CostWindows(probability), distance, rules.bridge)
    dropped = drop_fragments(graph, distance, rules.fragment_widths, floor, shape if open_border else None)
    join_through(graph)
    return {"spurs_pruned": pruned, "gaps_bridged": bridged, "fragments_dropped": dropped}


def prune_spurs(graph: nx.MultiGraph, distance: np.ndarray | None, spur_widths: float, floor: float,
                shape: tuple[int, int] | None = None) -> int:
    """Remove ends whose edge reaches less than ``spur_widths`` widths past the side of the road at its
    junction (the junction's own half width is not part of the stub); repeats until none is left.
    An end within the road's width of the raster's edge (``shape``) is a road leaving it, never a spur:
    pruning those cut routes out of a tile (pruning alone: APLS 0.797 -> 0.737 on held-out tiles,
    bench/bench_connect.py, bench/RESULTS.md section 9)."""
    removed = 0
    widest = max(floor, 2.0 * float(distance.max()) - 1.0) if distance is not None and distance.size else floor
    while True:
        spurs = []
        for end in [n for n in graph.nodes if graph.degree(n) == 1]:
            (_, junction, key), = graph.edges(end, keys=True)
            data = graph.edges[end, junction, key]
            if graph.degree(junction) < 3 or data.get("bridge") or len(data["pts"]) - 1 > (spur_widths + 1) * widest:
                continue   # (the last: far longer than any spur could be, without measuring it)
            pts = oriented_pts(graph, junction, end, key)
            half = _half_width_at(distance, graph.nodes[junction]["o"])
            width = max(edge_width(distance, pts[::-1], floor), 2.0 * half - 1.0)   # the road's, not the stub's
            if shape is not None and _near_border(graph.nodes[end]["o"], shape, width):
                continue
            if path_length(pts) - half < spur_widths * width:
                spurs.append((end, junction))
        seen = set()
        for end, junction in spurs:   # one per junction per pass: two short arms may be all there is
            if junction not in seen and end in graph:
                seen.add(junction)
                graph.remove_node(end)
        if not seen:
            return removed
        removed += len(seen)


def _near_border(o, shape: tuple[int, int], width: float) -> bool:
    """Within a road width of the raster's edge: a road leaving the raster, whose skeleton stops short
    of the edge (by half its width, more where the prediction fades out there)."""
    h, w = shape
    return min(o[0], o[1], h - 1 - o[0], w - 1 - o[1]) <= max(2.0, width)


def _half_width_at(distance: np.ndarray | None, o) -> float:
    if distance is None:
        return 0.0
    h, w = distance.shape
    return float(distance[min(h - 1, max(0, int(round(o[0])))), min(w - 1, max(0, int(round(o[1]))))])


def drop_fragments(graph: nx.MultiGraph, distance: np.ndarray | None, fragment_widths: float, floor: float,
                   open_shape: tuple[int, int] | None = None) -> int:
    """Remove connected pieces whose total length is under ``fragment_widths`` times their width (and
    lone dots). With ``open_shape`` (H, W), pieces touching that window's border are kept."""
    widest = max(floor, 2.0 * float(distance.max()) - 1.0) if distance is not None and distance.size else floor
    cap = fragment_widths * widest   # no fragment is longer: a piece past it is left unmeasured
    dropped = 0
    for nodes in list(nx.connected_components(graph)):
        steps = 0   # pixel steps, each edge counted from both ends: twice a lower bound of the length
        for node in nodes:
            steps += sum(len(pts) - 1 for _, _, pts in graph.edges(node, data="pts"))
            if steps > 2 * cap:
                break
        if steps > 2 * cap:
            continue
        edges = [pts for _, _, pts in graph.subgraph(nodes).edges(data="pts")]
        if open_shape is not None and _touches_border(graph, nodes, edges, open_shape):
            continue
        length = sum(path_length(pts) for pts in edges)
        widths = [edge_width(distance, pts, floor) for pts in edges]
        if length < fragment_widths * (float(np.median(widths)) if widths else floor):
            graph.remove_nodes_from(nodes)
            dropped += 1
    return dropped


def _touches_border(graph, nodes, edges, shape) -> bool:
    h, w = shape
    pixels = [graph.nodes[n]["pts"] for n in nodes] + list(edges)
    every = np.concatenate(pixels) if pixels else np.zeros((0, 2), int)
    return bool(((every[:, 0] <= 1) | (every[:, 1] <= 1) | (every[:, 0] >= h - 2) | (every[:, 1] >= w - 2)).any())


def bridge_source(road: np.ndarray, probability, window) -> np.ndarray | None:
    """What one block's gaps are bridged over: nothing (no bridging) without a ``window``; else that
    window of the ``probability`` raster (a path; uint8 0..255 as predict writes it, or float 0..1), or
    the block's road mask when there is none."""
    if window is None:
        return None
    if probability is None:
        return road
    import rasterio

    from ..errors import BadInputError

    with rasterio.open(probability) as src:
        values = src.read(1, window=window, boundless=False)
    if values.shape != road.shape:
        raise BadInputError("is not the size of the mask it should guide",
                            "Give the probability raster written with that mask (predict --write both).", probability)
    return values if values.dtype == np.uint8 else np.clip(np.nan_to_num(values.astype(np.float32)), 0.0, 1.0)
