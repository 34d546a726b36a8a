"""Picking roads by clicking: the predicted road under a click, and the road end nearest a click.

Both work on a window around the click (growing only as far as the road reaches), so a click on a
4096² tile does not cost a whole-tile pass. Points are (x, y) image coordinates.
"""

from __future__ import annotations

import math

import numpy as np

Point = tuple[float, float]


def predicted_road_at(predicted: np.ndarray, point: Point, reach: float = 3.0) -> np.ndarray | None:
    """The 8-connected predicted road under ``point`` (or within ``reach`` px of it) as a bool mask
    of the tile; None when no predicted road is that close."""
    from skimage.segmentation import flood

    seed = _nearest_true(predicted, point, reach)
    if seed is None:
        return None
    return flood(np.asarray(predicted, bool), seed, connectivity=2)


def nearest_road_end(mask: np.ndarray, point: Point, reach: float) -> Point | None:
    """The road end (a skeleton tip) of ``mask`` nearest to ``point`` within ``reach`` px, as the
    (x, y) centre of its pixel; None if there is none.

    Only a window around the click is skeletonised; tips that are merely the window's cut through
    a road (on its border, away from the tile's own edge) do not count."""
    from skimage.morphology import skeletonize
    from scipy.ndimage import convolve

    h, w = mask.shape
    x, y = point
    pad = int(math.ceil(reach)) + 16
    y0, y1 = max(0, int(y) - pad), min(h, int(y) + pad + 1)
    x0, x1 = max(0, int(x) - pad), min(w, int(x) + pad + 1)
    if y0 >= y1 or x0 >= x1:
        return None
    skeleton = skeletonize(np.array(mask[y0:y1, x0:x1], bool))  # a copy: skimage needs a writable array
    neighbours = convolve(skeleton.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    tips = skeleton & (neighbours <= 1)
    rows, cols = np.nonzero(tips)
    cut = (((rows == 0) & (y0 > 0)) | ((rows == y1 - y0 - 1) & (y1 < h))
           | ((cols == 0) & (x0 > 0)) | ((cols == x1 - x0 - 1) & (x1 < w)))
    rows, cols = rows[~cut] + y0, cols[~cut] + x0
    if rows.size == 0:
        return None
    distance = np.hypot(cols + 0.5 - x, rows + 0.5 - y)
    best = int(np.argmin(distance))
    return (cols[best] + 0.5, rows[best] + 0.5) if distance[best] <= reach else None


def _nearest_true(array: np.ndarray, point: Point, reach: float) -> tuple[int, int] | None:
    """(row, col) of the True pixel nearest to ``point`` within ``reach`` px, or None."""
    h, w = array.shape
    x, y = point
    r = int(math.ceil(reach))
    y0, y1 = max(0, int(math.floor(y)) - r), min(h, int(math.floor(y)) + r + 1)
    x0, x1 = max(0, int(math.floor(x)) - r), min(w, int(math.floor(x)) + r + 1)
    rows, cols = np.nonzero(array[y0:y1, x0:x1])
    if rows.size == 0:
        return None
    distance = np.hypot(cols + x0 + 0.5 - x, rows + y0 + 0.5 - y)
    best = int(np.argmin(distance))
    if distance[best] > reach + 0.5:
        return None
    return int(rows[best] + y0), int(cols[best] + x0)
