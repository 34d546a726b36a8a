"""Tile uncertainty: the mean binary entropy of a uint8 road-probability map (the app's "most uncertain first").

Its own module so that both the tile predictor (``trainer.predict``) and the scene predictor
(``trainer.scene``), which the predictor calls, read one table without importing each other.
"""

from __future__ import annotations

import numpy as np


def _entropy_table() -> np.ndarray:
    p = np.arange(256, dtype=np.float64) / 255.0
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.nan_to_num(h, nan=0.0).astype(np.float64)


ENTROPY_BITS = _entropy_table()  # entropy in bits of each uint8 probability value


def uncertainty_of_histogram(counts: np.ndarray) -> float:
    """Mean entropy of pixels counted per uint8 probability value (256 bins); 0 for no pixels."""
    total = counts.sum()
    return float(counts @ ENTROPY_BITS / total) if total else 0.0


def uncertainty(prob_uint8: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Mean binary entropy (bits) of a uint8 probability map: 0 when sure, 1 when every pixel is 0.5."""
    prob = np.asarray(prob_uint8, dtype=np.uint8)
    return uncertainty_of_histogram(np.bincount(prob[valid] if valid is not None else prob.ravel(), minlength=256))
