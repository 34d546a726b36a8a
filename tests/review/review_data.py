"""Hand-made predictions for the review tests: straight roads of known width and probability."""

from __future__ import annotations

import numpy as np


def road_band(shape, segments, width: int) -> np.ndarray:
    """A bool mask of straight roads (r0, c0, r1, c1) exactly ``width`` px wide (round caps)."""
    from roadseg_gui.core.mask_edit import MaskDocument

    document = MaskDocument(shape)
    for r0, c0, r1, c1 in segments:
        document.road_line([(c0 + 0.5, r0 + 0.5), (c1 + 0.5, r1 + 0.5)], width)
    return document.mask.copy()


def probability(shape, roads, background: float = 0.05) -> np.ndarray:
    """uint8 probability: each road (segments, width, p) at probability p, softened at its edges."""
    from scipy.ndimage import gaussian_filter

    p = np.full(shape, background, np.float32)
    for segments, width, value in roads:
        p = np.maximum(p, road_band(shape, segments, width) * value)
    p = np.maximum(gaussian_filter(p, 0.7), background)
    return (np.clip(p, 0, 1) * 255).round().astype(np.uint8)
