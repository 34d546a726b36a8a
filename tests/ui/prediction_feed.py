"""A stand-in for the prediction worker process: it files each prediction in the workspace and reports
it on the same result queue the real PredictionService uses, so the window's bridge, pool-thread layer
making and editor run as they do with a model (without the seconds a model takes to load)."""

from __future__ import annotations

import queue

import numpy as np

from roadseg_gui.core.prediction_results import Succeeded
from trainer.synthetic import make_tile


class PredictionFeed:
    model_version = "feed-model"
    model_path = None

    def __init__(self, workspace):
        self.workspace = workspace
        self.results: queue.Queue = queue.Queue()
        self.asked: list[str] = []

    def deliver(self, stem: str, probability: np.ndarray, uncertainty: float = 0.5) -> None:
        """The model finished ``stem`` (asked for or predicted ahead)."""
        self.workspace.save_prediction(stem, probability, uncertainty, self.model_version)
        self.results.put(Succeeded(stem, probability, probability >= 128, uncertainty, self.model_version, 0.1,
                                   prefetched=stem not in self.asked))

    # what the bridge calls on the real service
    def request(self, stem: str, _image_path: str) -> None:
        self.asked.append(stem)

    def prefetch(self, _items) -> None: ...
    def cancel(self, _stem=None) -> None: ...
    def close(self, timeout: float = 1.0) -> None: ...


def attach(window) -> PredictionFeed:
    feed = PredictionFeed(window.workspace)
    window.prediction.service = feed
    window.prediction._timer.start()
    return feed


def road_probability(seed: int, size: int = 96) -> np.ndarray:
    """The synthetic tile's own roads as a confident prediction (uint8 0..255)."""
    _image, mask = make_tile(size, seed=seed)
    return np.where(mask, 230, 10).astype(np.uint8)
