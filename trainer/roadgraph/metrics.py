"""Connectivity metrics of a predicted road mask against the truth: APLS and clDice.

Both are computed on pixel grids (a tile's own scale): APLS from ``apls`` -- of the raw skeleton's
graph (``apls_raw``) and, for a prediction, of the network a user gets (``apls``: post-processed by
``connect``, as ``predict --vector`` delivers it) -- and clDice per
Shit et al. (CVPR 2021): Tprec = |skel(P) & G| / |skel(P)|, Tsens = |skel(G) & P| / |skel(G)|,
clDice = 2 Tprec Tsens / (Tprec + Tsens). Empty against empty scores 1 on both.
"""

from __future__ import annotations

import numpy as np

from .apls import apls_between
from .build import graph_from_skeleton, raw_and_bridged
from .skeleton import skeletonize_mask

DEFAULT_WIDTH_PX = 5.0


def cldice_score(pred: np.ndarray, truth: np.ndarray) -> float:
    pred, truth = _pair(pred, truth)
    return _cldice(pred, truth, skeletonize_mask(pred), skeletonize_mask(truth))


def apls_score(pred: np.ndarray, truth: np.ndarray, *, spacing: float | None = None,
               buffer: float | None = None, **graph_options) -> float:
    """APLS of ``pred`` against ``truth`` (bool H x W). ``spacing`` between control points
    defaults to 4 road widths (at least 10 px) and the snapping ``buffer`` to one road width
    (at least 3 px), the truth's median width; ``graph_options`` go to ``mask_to_graph``."""
    pred, truth = _pair(pred, truth)
    return road_metrics(pred, truth, spacing=spacing, buffer=buffer, **graph_options)["apls"]


def road_metrics(pred: np.ndarray, truth: np.ndarray, *, spacing: float | None = None,
                 buffer: float | None = None, bridge: bool = False, probability: np.ndarray | None = None,
                 connect_rules=None, open_border: bool = False, **graph_options) -> dict:
    """``apls`` and ``cldice`` from one skeletonisation of each mask (plus both APLS directions).

    ``bridge``: ``pred`` is a prediction: ``apls`` (and its directions) is then that of its
    post-processed network (gaps bridged over -log ``probability``, or over ``pred`` without one)
    and ``apls_raw`` that of its raw skeleton; without, ``apls`` is the raw one and ``apls_raw`` its copy.
    ``connect_rules`` and ``open_border`` go to the post-processing (``connect.connect_network``)."""
    pred, truth = _pair(pred, truth)
    pred_skeleton, truth_skeleton = skeletonize_mask(pred), skeletonize_mask(truth)
    truth_graph = graph_from_skeleton(truth, truth_skeleton, **graph_options)
    delivered = None
    if bridge:
        pred_graph, delivered = raw_and_bridged(pred, pred_skeleton, probability=probability, rules=connect_rules,
                                                  open_border=open_border, **graph_options)
    else:
        pred_graph = graph_from_skeleton(pred, pred_skeleton, **graph_options)
    width = _median_width(truth_graph) or _median_width(pred_graph) or DEFAULT_WIDTH_PX
    spacing = max(10.0, 4.0 * width) if spacing is None else float(spacing)
    buffer = max(3.0, width) if buffer is None else float(buffer)
    result = apls_between(truth_graph, pred_graph, spacing=spacing, buffer=buffer)
    raw = result["apls"]
    if delivered is not None and pred_graph.number_of_nodes():
        result = apls_between(truth_graph, delivered, spacing=spacing, buffer=buffer)
    result["apls_raw"] = raw
    result["cldice"] = _cldice(pred, truth, pred_skeleton, truth_skeleton)
    return result


def _cldice(pred, truth, pred_skeleton, truth_skeleton) -> float:
    pred_len, truth_len = np.count_nonzero(pred_skeleton), np.count_nonzero(truth_skeleton)
    if pred_len == 0 and truth_len == 0:
        return 1.0
    if pred_len == 0 or truth_len == 0:
        return 0.0
    precision = np.count_nonzero(pred_skeleton & truth) / pred_len
    sensitivity = np.count_nonzero(truth_skeleton & pred) / truth_len
    total = precision + sensitivity
    return float(2 * precision * sensitivity / total) if total else 0.0


def _median_width(graph) -> float | None:
    widths = [w for _, _, w in graph.edges(data="width")]
    return float(np.median(widths)) if widths else None


def _pair(pred, truth) -> tuple[np.ndarray, np.ndarray]:
    pred, truth = np.asarray(pred, dtype=bool), np.asarray(truth, dtype=bool)
    if pred.shape != truth.shape or pred.ndim != 2:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} must be masks of one H x W size")
    return pred, truth


APLS_WINDOW = 1024   # SpaceNet scores ~1300-px chips; bigger tiles are scored window by window


def window_edges(length: int) -> list[int]:
    """Cuts of one axis into the fewest windows of at most APLS_WINDOW px, all of one size (1300 ->
    650 + 650): each window counts once in the mean, so none may be a thin leftover strip."""
    count = max(1, -(-length // APLS_WINDOW))
    return [round(i * length / count) for i in range(count + 1)]


class ConnectivityTotals:
    """APLS and clDice over a set of tiles, beside ``trainer.metrics.Confusion``.

    ``apls`` is that of the network a user gets from each prediction (``connect``'s post-processing,
    over the tile's probability when ``add`` is given it), ``apls_raw`` that of its raw skeleton;
    ``bridge=False`` scores the masks' own networks (a second annotator's labels): both are then the raw one.

    clDice sums its skeleton counts over the set (as IoU sums pixels), so big tiles weigh
    more; APLS is the mean over tiles (SpaceNet's way), tiles over ``APLS_WINDOW`` px split
    into equal windows so the pairs of control points stay in memory.
    """

    def __init__(self, bridge: bool = True):
        self.bridge = bridge
        self.pred_skeleton = self.pred_inside = self.truth_skeleton = self.truth_inside = 0
        self.apls_sum, self.apls_raw_sum, self.apls_count = 0.0, 0.0, 0

    def add(self, pred: np.ndarray, truth: np.ndarray, probability: np.ndarray | None = None) -> "ConnectivityTotals":
        pred, truth = _pair(pred, truth)
        pred_skeleton, truth_skeleton = skeletonize_mask(pred), skeletonize_mask(truth)
        self.pred_skeleton += int(np.count_nonzero(pred_skeleton))
        self.pred_inside += int(np.count_nonzero(pred_skeleton & truth))
        self.truth_skeleton += int(np.count_nonzero(truth_skeleton))
        self.truth_inside += int(np.count_nonzero(truth_skeleton & pred))
        rows, cols = (window_edges(n) for n in truth.shape)
        for r0, r1 in zip(rows[:-1], rows[1:]):
            for c0, c1 in zip(cols[:-1], cols[1:]):
                window = (slice(r0, r1), slice(c0, c1))
                scores = road_metrics(pred[window], truth[window], bridge=self.bridge,
                                      probability=None if probability is None else probability[window])
                self.apls_sum += scores["apls"]
                self.apls_raw_sum += scores["apls_raw"]
                self.apls_count += 1
        return self

    def as_dict(self) -> dict:
        if self.pred_skeleton == 0 and self.truth_skeleton == 0:
            cldice = 1.0
        elif self.pred_skeleton == 0 or self.truth_skeleton == 0:
            cldice = 0.0
        else:
            precision = self.pred_inside / self.pred_skeleton
            sensitivity = self.truth_inside / self.truth_skeleton
            cldice = 2 * precision * sensitivity / (precision + sensitivity) if precision + sensitivity else 0.0
        count = self.apls_count
        return {"apls": self.apls_sum / count if count else 1.0,
                "apls_raw": self.apls_raw_sum / count if count else 1.0, "cldice": float(cldice)}
