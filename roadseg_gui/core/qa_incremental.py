"""Connectivity QA after an edit without redoing the whole tile.

The heavy part of QA (skeleton, distance transform, tracing and pruning the graph) depends only on
the pixels of one 8-connected piece of road: thinning and the distance to the road's edge look at
3 x 3 neighbourhoods, and two pieces never share one. So each piece's graph is kept, keyed by its
place and a hash of its pixels, and after a stroke only the pieces the stroke touched (joined,
split, grown or new) are rebuilt, on a window around each; the rest of the graph is kept as it was.
The cheap global parts (labelling the pieces, pairing ends across pieces) run on the whole mask, so
the result is exactly ``connectivity_qa.check_mask``'s.

Whole results are cached too, keyed by a hash of the mask, the prediction and the settings, so a
tile shown again with the same mask is not checked again and a stale result is never used.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from .connectivity_qa import QAResult, QASettings, drop_prediction_specks, find_issues, qa_graph
from .qa_skeleton import update_skeleton

RESULTS_KEPT = 8   # whole results per checker: undo/redo back to a recent mask is instant


def digest(*arrays, extra: object = None) -> str:
    """A hash of bool/uint8 arrays (their shapes and bits) and ``extra``'s repr."""
    h = hashlib.blake2b(digest_size=16)
    for array in arrays:
        if array is None:
            h.update(b"none")
            continue
        array = np.ascontiguousarray(array)
        h.update(repr((array.shape, array.dtype.str)).encode())
        h.update(np.packbits(array.astype(bool, copy=False)).tobytes())
    h.update(repr(extra).encode())
    return h.hexdigest()


class IncrementalQA:
    """``check(mask, predicted, settings)`` = ``check_mask(...)``, reusing the graphs of unchanged pieces.

    Not thread-safe: one checker per tile, called from one thread at a time (the QA overlay's pool
    has a single thread)."""

    def __init__(self):
        self._pieces: dict[tuple, object] = {}        # (y0, x0, hash, road width) -> the piece's graph
        self._results: OrderedDict[str, QAResult] = OrderedDict()
        self._mask: np.ndarray | None = None          # the last mask computed (specks dropped)
        self._skeleton: np.ndarray | None = None      # and its skeleton, updated on a window per edit
        self.rebuilt = 0                               # pieces rebuilt by the last check (for tests and benches)

    def cached(self, mask: np.ndarray, predicted: np.ndarray | None, settings: QASettings) -> QAResult | None:
        """The result for exactly this mask, prediction and settings, or None."""
        return self._results.get(digest(mask, predicted, extra=settings))

    def check(self, mask: np.ndarray, predicted: np.ndarray | None = None,
              settings: QASettings = QASettings()) -> QAResult:
        mask = np.asarray(mask, bool)
        if predicted is not None and predicted.shape != mask.shape:
            predicted = None
        key = digest(mask, predicted, extra=settings)
        if key in self._results:
            self._results.move_to_end(key)
            self.rebuilt = 0
            return self._results[key]
        result = self._compute(mask, predicted, settings)
        self._results[key] = result
        while len(self._results) > RESULTS_KEPT:
            self._results.popitem(last=False)
        return result

    def _compute(self, mask: np.ndarray, predicted: np.ndarray | None, settings: QASettings) -> QAResult:
        from scipy import ndimage

        mask, specks = drop_prediction_specks(mask, predicted, settings.speck_px)
        if not mask.any():
            return QAResult([], specks)
        labels, _count = ndimage.label(mask, structure=np.ones((3, 3), bool))
        # a copy: the caller may edit its array in place before the next check
        self._skeleton, self._mask = update_skeleton(self._mask, self._skeleton, mask), mask.copy()
        graph, self.rebuilt = self._graph(labels, self._skeleton, settings.road_width)
        return QAResult(find_issues(mask, predicted, settings, graph=graph, labels=labels), specks)

    def _graph(self, labels: np.ndarray, skeleton: np.ndarray, road_width: float):
        """The whole mask's graph from its pieces' graphs (kept or rebuilt), and how many were rebuilt."""
        import networkx as nx
        from scipy import ndimage

        graph, pieces, rebuilt = nx.MultiGraph(), {}, 0
        h, w = labels.shape
        for index, window in enumerate(ndimage.find_objects(labels), start=1):
            if window is None:
                continue
            # one pixel of background round the piece (where the image allows): thinning and the
            # distance to the road's edge see the same neighbourhood as on the whole tile
            y0, x0 = max(0, window[0].start - 1), max(0, window[1].start - 1)
            y1, x1 = min(h, window[0].stop + 1), min(w, window[1].stop + 1)
            piece = labels[y0:y1, x0:x1] == index
            key = (y0, x0, digest(piece), road_width)
            part = self._pieces.get(key)
            if part is None:
                part = _piece_graph(piece, skeleton[y0:y1, x0:x1] & piece, y0, x0, road_width)
                rebuilt += 1
            pieces[key] = part
            offset = graph.number_of_nodes()
            graph.add_nodes_from((offset + n, d) for n, d in part.nodes(data=True))
            graph.add_edges_from((offset + u, offset + v, d) for u, v, d in part.edges(data=True))
        self._pieces = pieces            # pieces no longer in the mask are dropped
        return graph, rebuilt


def _piece_graph(piece: np.ndarray, skeleton: np.ndarray, y0: int, x0: int, road_width: float):
    """One piece's graph (nodes 0..n-1), in the whole tile's pixel coordinates."""
    import networkx as nx

    local = qa_graph(piece, road_width, skeleton=skeleton)
    shift = np.array([y0, x0])
    part = nx.MultiGraph()
    ids = {n: i for i, n in enumerate(local.nodes)}
    for n, d in local.nodes(data=True):
        moved = dict(d, o=np.asarray(d["o"], float) + shift)
        if "pts" in d:
            moved["pts"] = np.asarray(d["pts"]) + shift
        part.add_node(ids[n], **moved)
    for u, v, d in local.edges(data=True):
        moved = dict(d, pts=np.asarray(d["pts"]) + shift)
        if "start" in d:
            moved["start"] = ids.get(d["start"], d["start"])
        part.add_edge(ids[u], ids[v], **moved)
    return part
