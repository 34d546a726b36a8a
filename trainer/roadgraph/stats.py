"""Counts a person reads as network health: junctions, dangling ends, fragments, length."""

from __future__ import annotations

import networkx as nx


def network_stats(graph: nx.MultiGraph) -> dict:
    """``junctions`` (nodes with 3+ edges), ``dangling_ends`` (nodes with one edge), ``fragments``
    (connected pieces, dots included), ``edges``, ``length`` (total, in ``units``) and ``units``."""
    degrees = dict(graph.degree())
    return {
        "junctions": sum(1 for d in degrees.values() if d >= 3),
        "dangling_ends": sum(1 for d in degrees.values() if d == 1),
        "fragments": nx.number_connected_components(graph) if graph.number_of_nodes() else 0,
        "edges": graph.number_of_edges(),
        "length": float(sum(length for _, _, length in graph.edges(data="length", default=0.0))),
        "units": graph.graph.get("units", "px"),
    }
