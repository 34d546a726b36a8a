"""Stage 2: skeleton pixels -> networkx graph (sknw's shape: node ``pts``/``o``, edge ``pts``).

Our own tracing rather than sknw: sknw needs numba (~40 MB with llvmlite) in the training
image, and the walk below takes a few milliseconds on a 1024 x 1024 tile.
Nodes are groups of touching pixels that are not plain line pixels (ends: one neighbour,
junctions: three or more); edges are the chains of
two-neighbour pixels between them. A closed ring with no junction gets one node of its own.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from .skeleton import skeleton_links

# A junction of real roads is a few skeleton pixels; a mesh of branch pixels (a 1-px checkerboard or
# dithering) would become one "node" with hundreds of self-loops whose ends lie far from it.
MAX_JUNCTION_PX = 64


class DegenerateSkeletonError(ValueError):
    """The skeleton is a mesh, not lines: ``pixels`` branch pixels touch each other around (row, col)."""

    def __init__(self, pixels: int, row: float, col: float):
        self.pixels, self.row, self.col = pixels, row, col
        super().__init__(self.sentence())

    def sentence(self) -> str:
        return (f"its road pixels around row {self.row:.0f}, column {self.col:.0f} form a 1-pixel pattern "
                f"(a checkerboard or dithering: {self.pixels} touching branch pixels), not roads, so no "
                f"road network can be traced from them")


def check_junctions(graph: nx.MultiGraph, origin: tuple[int, int] = (0, 0)) -> None:
    """Raise DegenerateSkeletonError when a node of ``trace_graph`` is a mesh rather than a junction."""
    for _, data in graph.nodes(data=True):
        if len(data["pts"]) > MAX_JUNCTION_PX:
            row, col = data["o"]
            raise DegenerateSkeletonError(len(data["pts"]), row + origin[0], col + origin[1])


def trace_graph(skeleton: np.ndarray) -> nx.MultiGraph:
    """Graph of a one-pixel-wide ``skeleton`` (bool H x W), in its pixel coordinates."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows, cols, links = skeleton_links(skeleton)
    graph = nx.MultiGraph()
    n = rows.size
    if n == 0:
        return graph
    degree = np.bincount(links.ravel(), minlength=n)
    is_node = degree != 2
    # touching node pixels form one node (a junction is often a few pixels)
    both = is_node[links[:, 0]] & is_node[links[:, 1]]
    joined = links[both]
    adjacency = coo_matrix((np.ones(len(joined)), (joined[:, 0], joined[:, 1])), shape=(n, n))
    _, label = connected_components(adjacency, directed=False)
    node_pixels = np.flatnonzero(is_node)
    node_of = np.full(n, -1, np.int64)
    _, node_of[node_pixels] = np.unique(label[node_pixels], return_inverse=True)
    if node_pixels.size:
        order = np.argsort(node_of[node_pixels], kind="stable")
        grouped = node_pixels[order]
        bounds = np.searchsorted(node_of[grouped], np.arange(int(node_of.max()) + 2))
        for node in range(len(bounds) - 1):
            members = grouped[bounds[node]:bounds[node + 1]]
            pts = np.column_stack([rows[members], cols[members]])
            graph.add_node(node, pts=pts, o=pts.mean(axis=0))

    neighbours = _neighbour_lists(links, n)
    visited = np.zeros(n, bool)
    is_node_list = is_node.tolist()

    def walk(start: int, first: int) -> list[int]:
        path, previous, current = [start, first], start, first
        while not is_node_list[current]:
            visited[current] = True
            a, b = neighbours[current]
            previous, current = current, (b if a == previous else a)
            path.append(current)
        return path

    def add_edge(path: list[int]) -> None:
        pts = np.column_stack([rows[path], cols[path]])
        start = int(node_of[path[0]])
        graph.add_edge(start, int(node_of[path[-1]]), pts=pts, start=start)

    for p in node_pixels.tolist():
        for q in neighbours[p]:
            if is_node_list[q]:
                if node_of[q] != node_of[p] and p < q:   # two nodes side by side
                    add_edge([p, q])
            elif not visited[q]:
                add_edge(walk(p, q))
    for p in np.flatnonzero(~is_node & ~visited).tolist():   # rings: make a node of one pixel
        if visited[p]:
            continue
        node = graph.number_of_nodes()
        node_of[p] = node
        is_node_list[p] = True
        graph.add_node(node, pts=np.array([[rows[p], cols[p]]]), o=np.array([rows[p], cols[p]], float))
        add_edge(walk(p, neighbours[p][0]))
        visited[p] = True
    return graph


def _neighbour_lists(links: np.ndarray, n: int) -> list[list[int]]:
    source = np.concatenate([links[:, 0], links[:, 1]])
    target = np.concatenate([links[:, 1], links[:, 0]])
    order = np.argsort(source, kind="stable")
    bounds = np.searchsorted(source[order], np.arange(n + 1))
    flat = target[order].tolist()
    return [flat[bounds[i]:bounds[i + 1]] for i in range(n)]
