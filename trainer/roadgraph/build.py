"""The whole chain for one mask: skeleton -> graph -> cleaned graph -> measured graph."""

from __future__ import annotations

import networkx as nx
import numpy as np

from .georef import Georeference
from .simplify import path_length, simplify
from .skeleton import skeletonize_mask
from .trace import trace_graph


def mask_to_graph(mask: np.ndarray, *, transform=None, crs=None, min_spur_px: float | None = None,
                  merge_px: float = 3.0, bridge: bool = False, probability: np.ndarray | None = None
                  ) -> nx.MultiGraph:
    """Road network of a boolean H x W mask as a networkx MultiGraph.

    Nodes: ``o`` (row, col) float centre, ``pts`` their pixels, ``kind`` "junction" (3+ edges),
    "end" (1 edge), "isolated" (a dot with no edge) or "loop" (a closed ring's only node).
    Edges: ``pts`` (N, 2) int row/col pixel path, ``length`` and ``width`` (``weight`` = length),
    in metres when ``transform`` is given (``crs`` names its units; no CRS = map units as metres),
    else in pixels; ``G.graph["units"]`` is "m" or "px".
    Spurs shorter than the road's width at their junction (or ``min_spur_px``) are pruned, and
    nodes joined by an edge of at most ``merge_px`` pixels are merged.
    ``bridge`` (a prediction's network, never a label's): post-process it with ``connect`` (bridge
    gaps along the least-cost path over -log ``probability``, or over the mask when there is none;
    prune spurs, drop short fragments, re-join edges); ``G.graph["connect"]`` counts what it did.
    """
    mask = np.asarray(mask, dtype=bool)
    return graph_from_skeleton(mask, skeletonize_mask(mask), transform=transform, crs=crs,
                               min_spur_px=min_spur_px, merge_px=merge_px, bridge=bridge, probability=probability)


def graph_from_skeleton(mask: np.ndarray, skeleton: np.ndarray, *, transform=None, crs=None,
                        min_spur_px: float | None = None, merge_px: float = 3.0, bridge: bool = False,
                        probability: np.ndarray | None = None) -> nx.MultiGraph:
    """``mask_to_graph`` for a mask whose skeleton is already at hand (the metrics need both)."""
    graph, distance = _traced(mask, skeleton, min_spur_px, merge_px)
    if bridge:
        connected(graph, mask, distance, probability)
    return _measured(graph, mask, distance, transform, crs)


def raw_and_bridged(mask: np.ndarray, skeleton: np.ndarray, *, probability: np.ndarray | None = None,
                    transform=None, crs=None, min_spur_px: float | None = None, merge_px: float = 3.0,
                    rules=None, open_border: bool = False) -> tuple[nx.MultiGraph, nx.MultiGraph]:
    """A prediction's raw network and its post-processed one (``bridge=True``) from one trace, one
    simplification and one distance transform: the metrics score both, and tracing is the dear part.
    ``rules`` (``connect.ConnectRules``) and ``open_border`` go to ``connect_network``."""
    import copy

    raw, distance = _traced(mask, skeleton, min_spur_px, merge_px)
    bridged = copy.deepcopy(raw)
    connected(bridged, mask, distance, probability, rules=rules, open_border=open_border)
    return (_measured(raw, mask, distance, transform, crs), _measured(bridged, mask, distance, transform, crs))


def _traced(mask, skeleton, min_spur_px, merge_px):
    from scipy import ndimage

    graph = trace_graph(skeleton)
    distance = ndimage.distance_transform_edt(mask) if graph.number_of_edges() else None
    simplify(graph, distance, min_spur_px=min_spur_px, merge_px=merge_px)
    return graph, distance


def _measured(graph, mask, distance, transform, crs) -> nx.MultiGraph:
    measure(graph, distance, Georeference(transform, crs) if transform is not None else None)
    graph.graph.update(shape=mask.shape, transform=transform, crs=crs)
    return graph


def connected(graph: nx.MultiGraph, mask: np.ndarray, distance: np.ndarray | None,
              probability: np.ndarray | None = None, *, rules=None, open_border: bool = False) -> nx.MultiGraph:
    """``graph`` (traced and simplified, in pixels) post-processed in place by ``connect``."""
    from .connect import ConnectRules, connect_network

    if probability is not None and np.shape(probability)[:2] != mask.shape:
        raise ValueError(f"probability {np.shape(probability)} and mask {mask.shape} must be one H x W size")
    graph.graph["connect"] = connect_network(graph, mask if probability is None else probability, distance,
                                             rules or ConnectRules(), open_border=open_border)
    return graph


def measure(graph: nx.MultiGraph, distance: np.ndarray | None, georef: Georeference | None) -> None:
    """Set edge ``length``/``weight``/``width``, node ``kind`` and ``G.graph['units']``."""
    graph.graph["units"] = "m" if georef is not None else "px"
    for _, _, data in graph.edges(data=True):
        pts = data["pts"]
        width_px = data["width_px"] if "width_px" in data else edge_width_px(distance, pts)  # a bridge: its road's
        if georef is None:
            length, width = path_length(pts), width_px
        else:
            middle = pts[len(pts) // 2]
            length = georef.path_length_m(pts)
            width = width_px * georef.pixel_size_m(float(middle[0]), float(middle[1]))
        data.update(length=length, weight=length, width=width)
    label_kinds(graph)


def edge_width_px(distance: np.ndarray | None, pts: np.ndarray) -> float:
    """Road width along a path: 2 x the median distance to the road's edge, less the centre pixel."""
    if distance is None or not len(pts):
        return 1.0
    return max(1.0, 2.0 * float(np.median(distance[pts[:, 0], pts[:, 1]])) - 1.0)


def label_kinds(graph: nx.MultiGraph) -> None:
    for node in graph.nodes:
        degree = graph.degree(node)
        if degree == 0:
            kind = "isolated"
        elif degree == 1:
            kind = "end"
        elif degree == 2 and graph.has_edge(node, node):
            kind = "loop"
        else:
            kind = "junction"
        graph.nodes[node]["kind"] = kind
