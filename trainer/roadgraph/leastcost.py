"""Least-cost paths over -log(road probability): the snapping line's machinery, shared by the
labeling tool (``roadseg_gui.core.snapping``) and the network post-processing (``bridge``).

A path that follows the model's prediction is the cheapest 8-connected path through a cost map
-log(p) + LENGTH_COST, with p blurred first so a flat plateau of high probability peaks on its
centre line. Paths are found with skimage's MCP_Geometric (Dijkstra, diagonal steps cost sqrt 2)
inside a small box, never over a whole (maybe 4096²) raster.
"""

from __future__ import annotations

import numpy as np

MIN_PROBABILITY = 1e-3   # -log(p) is capped at ~6.9 so "no road" is expensive, not impassable
LENGTH_COST = 0.05       # per pixel on top of -log p: among equally likely paths, prefer the shorter
SMOOTH_SIGMA = 2.0       # px of blur before -log p


def blurred_probability(probability: np.ndarray, smooth: float = SMOOTH_SIGMA) -> np.ndarray:
    """float32 p in [MIN_PROBABILITY, 1] of a uint8 (0..255), bool (a mask) or float (0..1) map, blurred."""
    from scipy.ndimage import gaussian_filter

    probability = np.asarray(probability)
    scale = 1 / 255 if probability.dtype == np.uint8 else 1.0
    p = probability.astype(np.float32) * np.float32(scale)
    if smooth > 0:
        p = gaussian_filter(p, smooth, truncate=3.0)
    return np.clip(p, MIN_PROBABILITY, 1.0, out=p)


def neg_log_cost(p: np.ndarray) -> np.ndarray:
    """-log(p) + LENGTH_COST, in place on a float32 p already clipped to [MIN_PROBABILITY, 1]."""
    cost = np.log(p, out=p)
    np.negative(cost, out=cost)
    cost += np.float32(LENGTH_COST)
    return cost


def cost_from_probability(probability: np.ndarray, smooth: float = SMOOTH_SIGMA) -> np.ndarray:
    """float32 cost -log(p) + LENGTH_COST of the blurred probability (see blurred_probability)."""
    return neg_log_cost(blurred_probability(probability, smooth))


class CostWindows:
    """The cost of any box of one probability (or mask) raster, blurred with a margin so a box's
    cost equals the whole raster's there; made on demand, so a sparse set of boxes (one per dangling
    end) costs their area, not the raster's."""

    def __init__(self, probability: np.ndarray, smooth: float = SMOOTH_SIGMA):
        self.source = np.asarray(probability)
        self.smooth = smooth
        self.shape = self.source.shape[:2]

    def cost(self, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        margin = int(np.ceil(3 * self.smooth)) + 1
        h, w = self.shape
        a0, b0, a1, b1 = max(0, y0 - margin), max(0, x0 - margin), min(h, y1 + margin), min(w, x1 + margin)
        p = blurred_probability(self.source[a0:a1, b0:b1], self.smooth)
        return neg_log_cost(p)[y0 - a0:y1 - a0, x0 - b0:x1 - b0]


def route(cost: np.ndarray, box, allowed: np.ndarray | None, start, end) -> list[tuple[int, int]]:
    """(row, col) cells of the cheapest 8-connected path from start to end through the allowed
    cells of ``cost[box]`` (box = y0, x0, y1, x1; start and end in the full map's cells)."""
    from skimage.graph import MCP_Geometric

    y0, x0, y1, x1 = box
    crop = cost[y0:y1, x0:x1].astype(np.float64)
    if allowed is not None:
        crop[~allowed] = np.inf  # impassable outside the corridor
    first, last = (start[0] - y0, start[1] - x0), (end[0] - y0, end[1] - x0)
    crop[first], crop[last] = cost[start], cost[end]
    mcp = MCP_Geometric(crop, fully_connected=True)
    mcp.find_costs([first], [last])
    return [(r + y0, c + x0) for r, c in mcp.traceback(last)]


def costs_from(cost: np.ndarray, start: tuple[int, int]):
    """Cumulative least costs from ``start`` (row, col in ``cost``) to every cell of ``cost``,
    and the MCP object whose ``traceback`` gives the path to any of them."""
    from skimage.graph import MCP_Geometric

    mcp = MCP_Geometric(np.asarray(cost, np.float64), fully_connected=True)
    cumulative, _ = mcp.find_costs([start])
    return cumulative, mcp
