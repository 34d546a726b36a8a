"""Connectivity QA after an edit without redoing the whole tile.

The heavy part of QA (skeleton, tracing and cleaning the road graph) is kept between checks, and an
edit redoes it only on a window round what changed: the skeleton is thinned again there
(core.qa_skeleton), then traced and cleaned there and stitched to the graph kept outside
(core.qa_graph_window); either falls back to the whole mask when the window cannot be trusted. The
cheap global parts (pairing ends, the pieces of road) run on the whole graph and mask, so the
result is exactly ``connectivity_qa.check_mask``'s.

Whole results are cached too, keyed by a hash of the mask, the prediction and the settings, so a
tile shown again with the same mask is not checked again and a stale result is never used; with a
``store`` (core.qa_store) the latest result is kept with the tile's state and survives a relaunch.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from .connectivity_qa import QAResult, QASettings, drop_prediction_specks, find_issues, qa_graph
from .qa_graph_window import named_graph, update_graph
from .qa_labels import label_mask, update_labels
from .qa_skeleton import skeleton_and_change

RESULTS_KEPT = 8   # whole results per checker: undo/redo back to a recent mask is instant
QA_VERSION = 1     # part of every result's key: a change to what QA reports invalidates stored results


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
    """``check(mask, predicted, settings)`` = ``check_mask(...)``, redoing the graph only round an edit.

    ``store``: where results are kept with the tile's state (``load(key)``, ``save(key, result)``).
    Not thread-safe: one checker per tile, called from one thread at a time (the QA overlay's pool
    has a single thread)."""

    def __init__(self, store=None):
        self.store = store
        self._results: OrderedDict[str, QAResult] = OrderedDict()
        self._mask: np.ndarray | None = None          # the last mask computed (specks dropped)
        self._skeleton: np.ndarray | None = None      # its skeleton
        self._graph = None                            # and its graph (qa_graph_window.named_graph)
        self._raw: np.ndarray | None = None           # the last mask as given
        self._labels: np.ndarray | None = None        # and its pieces (qa_labels)
        self._label_count = 0
        self._road_width: float | None = None         # the graph's spur length
        self.rebuilt = 0          # graphs traced by the last check, whole or a window (tests, benches)
        self.traced_px = 0        # and the pixels traced

    def drop_state(self) -> None:
        """Forget the kept mask, skeleton, labels and graph (memory), not the results."""
        self._mask = self._skeleton = self._graph = self._raw = self._labels = None

    def cached(self, mask: np.ndarray, predicted: np.ndarray | None, settings: QASettings) -> QAResult | None:
        """The result for exactly this mask, prediction and settings, or None."""
        return self._results.get(result_key(mask, predicted, settings))

    def check(self, mask: np.ndarray, predicted: np.ndarray | None = None,
              settings: QASettings = QASettings()) -> QAResult:
        mask = np.asarray(mask, bool)
        if predicted is not None and predicted.shape != mask.shape:
            predicted = None
        key = result_key(mask, predicted, settings)
        self.rebuilt = self.traced_px = 0
        result = self._results.get(key)
        if result is None and self.store is not None:
            result = self.store.load(key)
        if result is None:
            result = self._compute(mask, predicted, settings)
            if self.store is not None:
                self.store.save(key, result)
        self._results[key] = result
        self._results.move_to_end(key)
        while len(self._results) > RESULTS_KEPT:
            self._results.popitem(last=False)
        return result

    def _compute(self, raw: np.ndarray, predicted: np.ndarray | None, settings: QASettings) -> QAResult:
        try:
            labels, count = self._update_labels(raw)
            mask, specks = drop_prediction_specks(raw, predicted, settings.speck_px, labels=(labels, count))
            if not mask.any():
                return QAResult([], specks)
            self._update_graph(mask, settings.road_width)
        except BaseException:
            # half updated: the next check starts again from the whole mask
            self._graph = self._labels = None
            raise
        if specks:
            labels = np.where(mask, labels, 0)
        return QAResult(find_issues(mask, predicted, settings, graph=self._graph, labels=labels), specks)

    def _update_labels(self, raw: np.ndarray) -> tuple[np.ndarray, int]:
        """The pieces of the mask as given (specks and all), relabelled round a painted stroke only."""
        if self._labels is None or self._raw is None or self._raw.shape != raw.shape:
            labels, count = label_mask(raw)
        else:
            labels, count = update_labels(self._labels, self._label_count, self._raw, raw)
        self._raw, self._labels, self._label_count = raw.copy(), labels, count
        return labels, count

    def _update_graph(self, mask: np.ndarray, road_width: float) -> None:
        skeleton, changed = skeleton_and_change(self._mask, self._skeleton, mask)
        traced = None
        if changed is not None and self._graph is not None and road_width == self._road_width:
            if changed[0] == changed[1]:
                traced = 0                           # the skeleton, so the graph, did not change
            else:
                traced = update_graph(self._graph, skeleton, changed, road_width)
        if traced is None:
            self._graph = named_graph(qa_graph(mask, road_width, skeleton=skeleton))
            traced = mask.size
        # a copy: the caller may edit its array in place before the next check
        self._mask, self._skeleton, self._road_width = mask.copy(), skeleton, road_width
        self.rebuilt, self.traced_px = int(traced > 0), traced


def result_key(mask: np.ndarray, predicted: np.ndarray | None, settings: QASettings) -> str:
    return digest(mask, predicted, extra=(QA_VERSION, settings))
