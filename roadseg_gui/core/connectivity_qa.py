"""Connectivity QA: the places where a labeled road network is probably broken.

A 3-px gap costs nothing in IoU but cuts every route through it, so while labeling we look at
the mask as a graph (trainer.roadgraph) and report, in reading order:

- ``gap``: two road ends (or an end and another road) closer than a few road widths;
- ``prediction_continues``: an end where the model's prediction goes on beyond the mask;
- ``short_fragment``: a piece of road, not touching the tile edge, shorter than a set length;
- ``dangling_end``: any other road end away from the tile edge.

Ends at the tile edge (within the margin or the road's own width of it) are roads leaving the tile
and are never issues. Specks of the prediction in the mask (a weak model's speckle, copied in with
"Use prediction") are not marked: a piece smaller than ``speck_px`` that lies mostly on predicted road
is left out of the check and only counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .qa_tile_edge import leaves_tile

KINDS = ("gap", "prediction_continues", "short_fragment", "dangling_end",
         "self_intersection", "spike", "short_piece")   # the last three: road review's checks of an accepted road


@dataclass(frozen=True)
class Issue:
    kind: str
    x: float                       # where to look: image coordinates (pixel centre = col + .5)
    y: float
    text: str
    x2: float | None = None        # a gap's other side
    y2: float | None = None

    @property
    def centre(self) -> tuple[float, float]:
        if self.x2 is None or self.y2 is None:
            return self.x, self.y
        return (self.x + self.x2) / 2, (self.y + self.y2) / 2


@dataclass(frozen=True)
class QASettings:
    road_width: float = 7.0        # px; sets the scale of everything below
    gap_widths: float = 4.0        # a gap up to this many road widths is reported
    min_fragment_px: float | None = None   # default: 8 road widths
    edge_margin: float | None = None       # default: one road width
    min_speck_px: float | None = None      # area; default: a square two road widths wide

    @property
    def gap_px(self) -> float:
        return self.gap_widths * self.road_width

    @property
    def fragment_px(self) -> float:
        return self.min_fragment_px if self.min_fragment_px is not None else 8 * self.road_width

    @property
    def speck_px(self) -> float:
        return self.min_speck_px if self.min_speck_px is not None else (2 * self.road_width) ** 2

    @property
    def margin(self) -> float:
        return self.edge_margin if self.edge_margin is not None else max(3.0, self.road_width)


@dataclass(frozen=True)
class QAResult:
    issues: list[Issue]
    specks: int = 0                # prediction specks left unmarked


def check_mask(mask: np.ndarray, predicted: np.ndarray | None = None,
               settings: QASettings = QASettings()) -> QAResult:
    """``find_issues`` on the mask without the prediction's specks, and how many were left out."""
    mask, specks = drop_prediction_specks(np.asarray(mask, bool), predicted, settings.speck_px)
    return QAResult(find_issues(mask, predicted, settings), specks)


def drop_prediction_specks(mask: np.ndarray, predicted: np.ndarray | None, speck_px: float,
                           labels: tuple | None = None):
    """(the mask without pieces under ``speck_px`` pixels lying mostly on predicted road, their count).
    ``labels``: the mask's (8-connected labels, their count) when already at hand."""
    if predicted is None or predicted.shape != mask.shape or not mask.any():
        return mask, 0
    labels, count = _labels_and_count(mask) if labels is None else labels
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    on_prediction = np.bincount(labels.ravel(), weights=predicted.ravel().astype(float), minlength=count + 1)
    # sizes > 0: labels left unused after a stroke joined two pieces (qa_labels) are no specks
    speck = (sizes > 0) & (sizes < speck_px) & (on_prediction >= 0.5 * sizes)
    speck[0] = False
    if not speck.any():
        return mask, 0
    return mask & ~speck[labels], int(speck.sum())


def find_issues(mask: np.ndarray, predicted: np.ndarray | None = None,
                settings: QASettings = QASettings(), *, graph=None, labels: np.ndarray | None = None
                ) -> list[Issue]:
    """The connectivity issues of a bool road ``mask``; ``predicted`` is the model's road mask
    at the current threshold (or None). ``graph`` and ``labels`` (the mask's road graph and its
    8-connected labels) when already at hand: core.qa_incremental builds them piece by piece."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return []
    if graph is None:
        graph = qa_graph(mask, settings.road_width)
    h, w = mask.shape
    near_edge = _near_edge(h, w, settings.margin)
    issues: list[Issue] = []
    fragment_nodes: set = set()
    import networkx as nx

    components = list(nx.connected_components(graph))
    component_of = {n: i for i, component in enumerate(components) for n in component}
    lengths = [0.0] * len(components)
    for u, _v, d in graph.edges(data=True):    # one pass: a subgraph view per component is slow on a big one
        lengths[component_of[u]] += d.get("length", 0.0)
    for component, length in zip(components, lengths):
        if length >= settings.fragment_px or any(_touches(graph, n, near_edge) for n in component):
            continue
        fragment_nodes |= component
        r, c = np.mean([graph.nodes[n]["o"] for n in component], axis=0)
        issues.append(Issue("short_fragment", c + 0.5, r + 0.5, f"fragment of {length:.0f} px"))

    ends = [n for n in graph.nodes if graph.degree(n) == 1 and n not in fragment_nodes
            and not leaves_tile(mask, graph, n, settings.margin)]
    ends.sort(key=lambda n: tuple(graph.nodes[n]["o"]))   # by place, not node id: ties pair the same way always
    paired = _pair_gaps(graph, ends, settings.gap_px, issues)
    if labels is None and len(paired) < len(ends):
        labels = _labels(mask)
    for n in ends:
        if n in paired:
            continue
        r, c = graph.nodes[n]["o"]
        target = _nearest_other_road(labels, (r, c), settings.gap_px)
        if target is not None:
            gap = math.dist((r, c), target)
            issues.append(Issue("gap", c + 0.5, r + 0.5, f"gap of {gap:.0f} px to a road",
                                target[1] + 0.5, target[0] + 0.5))
        elif predicted is not None and _prediction_continues(graph, n, mask, predicted, settings.road_width):
            issues.append(Issue("prediction_continues", c + 0.5, r + 0.5, "the prediction continues this road"))
        else:
            issues.append(Issue("dangling_end", c + 0.5, r + 0.5, "dangling end"))
    # reading order, in bands of 32 px; the rest of the key only makes the order total
    issues.sort(key=lambda i: (i.centre[1] // 32, i.centre[0], i.centre[1], i.kind, i.text))
    return issues


def qa_graph(mask: np.ndarray, road_width: float, skeleton: np.ndarray | None = None):
    """``mask_to_graph(mask, min_spur_px=road_width)`` less the distance transform: with a fixed spur
    length nothing QA reads depends on it (it only sets the edges' widths, left at 1 here), and on a
    4096² tile it is the slowest step. ``skeleton``: the mask's, when already at hand."""
    from trainer.roadgraph.build import measure
    from trainer.roadgraph.simplify import simplify
    from trainer.roadgraph.skeleton import skeletonize_mask
    from trainer.roadgraph.trace import trace_graph

    graph = trace_graph(skeletonize_mask(mask) if skeleton is None else skeleton)
    simplify(graph, None, min_spur_px=road_width, merge_px=3.0)
    measure(graph, None, None)
    graph.graph.update(shape=mask.shape, transform=None, crs=None)
    return graph


def summary(issues: list[Issue]) -> str:
    """'3 connectivity issues', '1 connectivity issue' or 'No connectivity issues'."""
    if not issues:
        return "No connectivity issues"
    return f"{len(issues)} connectivity issue{'s' if len(issues) != 1 else ''}"


def counts_by_kind(issues: list[Issue]) -> dict[str, int]:
    """Issues per kind, in ``KINDS`` order, kinds with none left out."""
    counts = {kind: sum(1 for i in issues if i.kind == kind) for kind in KINDS}
    return {kind: n for kind, n in counts.items() if n}


def _near_edge(h: int, w: int, margin: float):
    return lambda r, c: r < margin or c < margin or r > h - 1 - margin or c > w - 1 - margin


def _touches(graph, node, near_edge) -> bool:
    if near_edge(*graph.nodes[node]["o"]):
        return True
    return any(near_edge(*p) for p in graph.nodes[node].get("pts", ()))


def _pair_gaps(graph, ends: list, gap_px: float, issues: list[Issue]) -> set:
    """Pair ends closer than ``gap_px``, nearest first, each end at most once; record the gaps.

    Two ends of one component count only when the way round through the network is much longer
    than the gap (a road cut in two, not the two tips of one short piece)."""
    if len(ends) < 2:
        return set()
    import networkx as nx

    from scipy.spatial import cKDTree

    points = np.array([graph.nodes[n]["o"] for n in ends], float)
    close = cKDTree(points).query_pairs(gap_px, output_type="ndarray")   # not all n^2 pairs of a big scene
    candidates = sorted((math.dist(points[i], points[j]), i, j) for i, j in close)
    paired: set = set()
    for gap, i, j in candidates:
        a, b = ends[i], ends[j]
        if a in paired or b in paired:
            continue
        if nx.has_path(graph, a, b):
            around = nx.shortest_path_length(graph, a, b, weight="length")
            if around < 3 * gap + 2:
                continue
        paired |= {a, b}
        (r, c), (r2, c2) = points[i], points[j]
        issues.append(Issue("gap", c + 0.5, r + 0.5, f"gap of {gap:.0f} px between two road ends",
                            c2 + 0.5, r2 + 0.5))
    return paired


def _labels(mask: np.ndarray) -> np.ndarray:
    return _labels_and_count(mask)[0]


def _labels_and_count(mask: np.ndarray):
    from scipy.ndimage import label

    return label(mask, structure=np.ones((3, 3), bool))


def _nearest_other_road(labels: np.ndarray | None, end: tuple[float, float], reach: float):
    """(row, col) of the nearest road pixel of another connected piece within ``reach``, or None."""
    if labels is None:
        return None
    r, c = int(round(end[0])), int(round(end[1]))
    h, w = labels.shape
    k = int(math.ceil(reach))
    y0, y1, x0, x1 = max(0, r - k), min(h, r + k + 1), max(0, c - k), min(w, c + k + 1)
    window = labels[y0:y1, x0:x1]
    own = labels[min(max(r, 0), h - 1), min(max(c, 0), w - 1)]
    rows, cols = np.nonzero((window != 0) & (window != own))
    if rows.size == 0:
        return None
    distance = np.hypot(rows + y0 - end[0], cols + x0 - end[1])
    best = int(np.argmin(distance))
    return (rows[best] + y0, cols[best] + x0) if distance[best] <= reach else None


def _prediction_continues(graph, node, mask: np.ndarray, predicted: np.ndarray, width: float) -> bool:
    """Does predicted road lie ahead of this end, beyond the mask, for most of 1 to 4 road widths?"""
    direction = _end_direction(graph, node, width)
    if direction is None:
        return False
    r, c = graph.nodes[node]["o"]
    h, w = mask.shape
    steps = np.arange(max(2.0, width), 4 * max(2.0, width) + 1)
    rows = np.round(r + direction[0] * steps).astype(int)
    cols = np.round(c + direction[1] * steps).astype(int)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    if inside.sum() < len(steps) / 2:
        return False
    rows, cols = rows[inside], cols[inside]
    beyond = predicted[rows, cols] & ~mask[rows, cols]
    return beyond.mean() >= 0.6


def _end_direction(graph, node, width: float) -> np.ndarray | None:
    """Unit (row, col) vector pointing out of the road at this end, from the last few path pixels."""
    edges = list(graph.edges(node, data=True))
    if not edges:
        return None
    pts = np.asarray(edges[0][2].get("pts", ()), float)
    end = np.asarray(graph.nodes[node]["o"], float)
    if len(pts) < 2:
        return None
    if np.hypot(*(pts[0] - end)) > np.hypot(*(pts[-1] - end)):
        pts = pts[::-1]                      # make pts run from this end inwards
    back = pts[min(len(pts) - 1, max(2, int(2 * width)))]
    vector = end - back
    norm = np.hypot(*vector)
    return vector / norm if norm > 0 else None
