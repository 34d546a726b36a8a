"""Snapping road line: between two clicks, the least-cost path over -log(road probability).

``SnapCost`` turns a tile's probability into a cost map once (Geo-SAM's lesson: the heavy part
once per image, not per click); ``SnapCost.path`` then runs skimage's MCP_Geometric inside a
corridor around the two clicks, so a click costs the corridor, not the whole (maybe 4096²) tile.
Points are (x, y) image coordinates as the canvas gives them; pixel (col, row) has centre
(col + .5, row + .5).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Point = tuple[float, float]

MIN_PROBABILITY = 1e-3   # -log(p) is capped at ~6.9 so "no road" is expensive, not impassable
LENGTH_COST = 0.05       # per pixel on top of -log p: among equally likely paths, prefer the shorter
SMOOTH_SIGMA = 2.0       # px of blur before -log p (see cost_from_probability)


def cost_from_probability(probability: np.ndarray, smooth: float = SMOOTH_SIGMA) -> np.ndarray:
    """float32 cost -log(p) + LENGTH_COST of a uint8 (0..255) or float (0..1) probability map.

    p is blurred first: a flat plateau of high probability then peaks on its centre line, so the
    path runs down the middle of the road instead of hugging the inside of every bend."""
    from scipy.ndimage import gaussian_filter

    probability = np.asarray(probability)
    scale = 1 / 255 if probability.dtype == np.uint8 else 1.0
    p = probability.astype(np.float32) * np.float32(scale)
    if smooth > 0:
        p = gaussian_filter(p, smooth, truncate=3.0)
    np.clip(p, MIN_PROBABILITY, 1.0, out=p)
    cost = np.log(p, out=p)
    np.negative(cost, out=cost)
    cost += np.float32(LENGTH_COST)
    return cost


def corridor_half_width(length: float, road_width: float) -> float:
    """How far the path may stray from the straight line: a road between two clicks bends, but
    rarely further than a fifth of the click spacing from the chord."""
    return max(24.0, 3.0 * road_width, 0.2 * length)


class SnapCost:
    """The cost map of one tile's prediction, shared by every click on that tile."""

    def __init__(self, probability: np.ndarray):
        self.cost = cost_from_probability(probability)

    @property
    def shape(self) -> tuple[int, int]:
        return self.cost.shape

    def path(self, a: Point, b: Point, road_width: float = 7.0) -> list[Point]:
        """Pixel-centre points of the cheapest 8-connected path from a to b, in their corridor."""
        h, w = self.shape
        (ar, ac), (br, bc) = _pixel(a, h, w), _pixel(b, h, w)
        if (ar, ac) == (br, bc):
            return [(ac + 0.5, ar + 0.5)]
        half = corridor_half_width(math.hypot(br - ar, bc - ac), road_width)
        y0, x0 = max(0, int(min(ar, br) - half)), max(0, int(min(ac, bc) - half))
        y1, x1 = min(h, int(max(ar, br) + half) + 1), min(w, int(max(ac, bc) + half) + 1)
        crop = self.cost[y0:y1, x0:x1].copy()
        crop[~_capsule(y0, x0, y1, x1, (ar, ac), (br, bc), half)] = np.inf  # impassable outside
        from skimage.graph import MCP_Geometric

        mcp = MCP_Geometric(crop, fully_connected=True)
        start, end = (ar - y0, ac - x0), (br - y0, bc - x0)
        mcp.find_costs([start], [end])
        return [(c + x0 + 0.5, r + y0 + 0.5) for r, c in mcp.traceback(end)]


def snapped_polyline(cost: SnapCost | None, clicks: Sequence[Point], straight: Sequence[bool] = (),
                     road_width: float = 7.0) -> list[Point]:
    """The polyline through ``clicks``: each segment snapped to the road, or straight where
    ``straight[i]`` (the modifier was held at click i + 1) or when there is no cost map.

    Snapped segments are simplified to within half a pixel, so painting them stays cheap."""
    if not clicks:
        return []
    from skimage.measure import approximate_polygon

    points: list[Point] = [tuple(clicks[0])]
    for i, (a, b) in enumerate(zip(clicks, clicks[1:])):
        if cost is None or (i + 1 < len(straight) and straight[i + 1]):
            points.append(tuple(b))
            continue
        segment = np.array(cost.path(a, b, road_width))
        if len(segment) > 2:
            segment = approximate_polygon(segment, tolerance=0.5)
        points.extend(tuple(p) for p in segment[1:])
    return points


def _pixel(point: Point, h: int, w: int) -> tuple[int, int]:
    """(row, col) of the pixel under an (x, y) point, clamped into the tile."""
    x, y = point
    return min(h - 1, max(0, int(math.floor(y)))), min(w - 1, max(0, int(math.floor(x))))


def _capsule(y0: int, x0: int, y1: int, x1: int, a: tuple[int, int], b: tuple[int, int],
             radius: float) -> np.ndarray:
    """Bool box [y0, y1) x [x0, x1): pixels within ``radius`` of the segment a-b (row, col)."""
    rows = np.arange(y0, y1, dtype=np.float32)[:, None]
    cols = np.arange(x0, x1, dtype=np.float32)[None, :]
    dr, dc = b[0] - a[0], b[1] - a[1]
    t = np.clip(((rows - a[0]) * dr + (cols - a[1]) * dc) / float(dr * dr + dc * dc), 0.0, 1.0)
    return (rows - a[0] - t * dr) ** 2 + (cols - a[1] - t * dc) ** 2 <= radius * radius
