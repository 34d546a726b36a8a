"""Test-time flips: an engine wrapper that predicts each window as it is, mirrored left-right, upside down
and both, and averages the four probabilities (each flipped back), before any threshold.

Roads have no preferred side, so the mirrored views are as valid as the original and their average is
steadier at gaps and faint stretches. It costs four engine calls per window.
"""

from __future__ import annotations

import numpy as np

# (flip the rows, flip the columns) of each view; the identity first
FLIP_VIEWS = ((False, False), (False, True), (True, False), (True, True))


def _flip(batch: np.ndarray, rows: bool, columns: bool) -> np.ndarray:
    """Mirror N x H x W (x C) arrays along H and/or W."""
    axes = tuple(axis for axis, wanted in ((1, rows), (2, columns)) if wanted)
    return np.ascontiguousarray(np.flip(batch, axes)) if axes else batch


class FlipAveraging:
    """Wraps an engine (``uint8 N x H x W x 3 -> float32 N x H x W``); same call, flip-averaged."""

    def __init__(self, engine, views=FLIP_VIEWS):
        self.engine = engine
        self.views = tuple(views)
        self.name = engine.name

    @property
    def description(self) -> str:
        return f"{self.engine.description}, {len(self.views)} flips averaged"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        total = None
        for rows, columns in self.views:
            probability = _flip(np.asarray(self.engine(_flip(batch, rows, columns)), np.float32), rows, columns)
            total = probability.copy() if total is None else total + probability
        return total / np.float32(len(self.views))
