"""Snapping road line: between two clicks, the least-cost path over -log(road probability).

``SnapCost`` turns a tile's probability into a cost map once (Geo-SAM's lesson: the heavy part
once per image, not per click); ``SnapCost.path`` then runs skimage's MCP_Geometric inside a
corridor around the two clicks, so a click costs the corridor, not the whole (maybe 4096²) tile.
Points are (x, y) image coordinates as the canvas gives them; pixel (col, row) has centre
(col + .5, row + .5). The cost map and the routing are ``trainer.roadgraph.leastcost``'s, shared with the
network post-processing that bridges a prediction's gaps.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from trainer.roadgraph.leastcost import (LENGTH_COST, MIN_PROBABILITY, SMOOTH_SIGMA,  # noqa: F401 - re-exported
                                         blurred_probability, cost_from_probability, neg_log_cost, route)

Point = tuple[float, float]

COARSE = 8               # the coarse cost map is this many times smaller per side
DIRECT_AREA = 40_000     # a corridor box up to this many pixels is routed at full resolution directly
PIECE_PX = 96            # longer segments are refined in pieces of about this length
_cost, _route = neg_log_cost, route   # the least-cost machinery lives in trainer (network bridging uses it too)


def corridor_half_width(length: float, road_width: float) -> float:
    """How far the path may stray from the straight line between two clicks: half their spacing,
    so a road that turns a right angle between them still fits."""
    return max(24.0, 3.0 * road_width, 0.5 * length)


class SnapCost:
    """The cost map of one tile's prediction, shared by every click on that tile.

    Besides the full-resolution cost it keeps one COARSE times smaller: a long segment is first
    routed there through its wide corridor, then refined at full resolution in a narrow band
    around that route (MCP's set-up costs time per pixel of its box, so the box must stay small)."""

    def __init__(self, probability: np.ndarray, road_width: float | None = None):
        import skimage.graph  # noqa: F401 - imported here (on the pool thread that makes the cost map),
        import skimage.measure  # noqa: F401   not on the first click, where it would cost a second
        smooth = max(SMOOTH_SIGMA, road_width / 3) if road_width else SMOOTH_SIGMA
        p = blurred_probability(probability, smooth)
        h, w = p.shape
        k = COARSE
        padded = np.pad(p, ((0, -h % k), (0, -w % k)), mode="edge")
        self.coarse = _cost(padded.reshape(padded.shape[0] // k, k, padded.shape[1] // k, k).mean(axis=(1, 3)))
        self.cost = _cost(p)
        self.road_width = road_width

    @property
    def shape(self) -> tuple[int, int]:
        return self.cost.shape

    def path(self, a: Point, b: Point, road_width: float = 7.0) -> list[Point]:
        """Pixel-centre points of the cheapest 8-connected path from a to b, in their corridor."""
        h, w = self.shape
        start, end = _pixel(a, h, w), _pixel(b, h, w)
        if start == end:
            return [(start[1] + 0.5, start[0] + 0.5)]
        half = corridor_half_width(math.dist(start, end), road_width)
        box = _box(start, end, half, (h, w))
        if (box[2] - box[0]) * (box[3] - box[1]) <= DIRECT_AREA:
            cells = _route(self.cost, box, _capsule(*box, start, end, half), start, end)
        else:
            cells = self._coarse_to_fine(start, end, half, road_width)
        return [(c + 0.5, r + 0.5) for r, c in cells]

    def _coarse_to_fine(self, start, end, half: float, road_width: float) -> list[tuple[int, int]]:
        """Route on the coarse grid through the wide corridor, then refine piece by piece (about
        PIECE_PX each) at full resolution, each piece in a narrow band around its coarse cells and
        joined at the cheapest pixel of a coarse cell (a point on the road's centre line)."""
        k = COARSE
        cs, ce = (start[0] // k, start[1] // k), (end[0] // k, end[1] // k)
        cbox = _box(cs, ce, half / k, self.coarse.shape)
        coarse = _route(self.coarse, cbox, _capsule(*cbox, cs, ce, half / k), cs, ce)
        cuts = list(range(0, len(coarse) - 1, max(2, PIECE_PX // k))) + [len(coarse) - 1]
        joints = [start] + [self._centre_of(coarse[i]) for i in cuts[1:-1]] + [end]
        reach = int(math.ceil(road_width / k)) + 1
        cells: list[tuple[int, int]] = [start]
        for (i, j), (p, q) in zip(zip(cuts, cuts[1:]), zip(joints, joints[1:])):
            box, allowed = self._band(coarse[i:j + 1], reach)
            cells += _route(self.cost, box, allowed, p, q)[1:]
        return cells

    def _centre_of(self, cell: tuple[int, int]) -> tuple[int, int]:
        k = COARSE
        block = self.cost[cell[0] * k:(cell[0] + 1) * k, cell[1] * k:(cell[1] + 1) * k]
        r, c = np.unravel_index(int(np.argmin(block)), block.shape)
        return cell[0] * k + int(r), cell[1] * k + int(c)

    def _band(self, coarse_cells, reach: int):
        """Full-resolution box and allowed pixels: the coarse cells grown by ``reach`` cells."""
        k = COARSE
        rows = np.array([p[0] for p in coarse_cells])
        cols = np.array([p[1] for p in coarse_cells])
        y0, x0 = rows.min() - reach, cols.min() - reach
        band = np.zeros((rows.max() + reach + 1 - y0, cols.max() + reach + 1 - x0), bool)
        for dr in range(-reach, reach + 1):           # a square dilation of a few cells: cheap
            for dc in range(-reach, reach + 1):
                band[rows - y0 + dr, cols - x0 + dc] = True
        fine = np.repeat(np.repeat(band, k, axis=0), k, axis=1)
        h, w = self.shape
        box = (max(0, y0 * k), max(0, x0 * k), min(h, (y0 + band.shape[0]) * k), min(w, (x0 + band.shape[1]) * k))
        oy, ox = box[0] - y0 * k, box[1] - x0 * k
        return box, fine[oy:oy + box[2] - box[0], ox:ox + box[3] - box[1]]


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


def _box(a: tuple[int, int], b: tuple[int, int], half: float, shape) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1): the box around a and b grown by ``half``, clipped to ``shape``."""
    y0, x0 = max(0, int(min(a[0], b[0]) - half)), max(0, int(min(a[1], b[1]) - half))
    y1 = min(shape[0], int(max(a[0], b[0]) + half) + 1)
    x1 = min(shape[1], int(max(a[1], b[1]) + half) + 1)
    return y0, x0, y1, x1


def _capsule(y0: int, x0: int, y1: int, x1: int, a: tuple[int, int], b: tuple[int, int],
             radius: float) -> np.ndarray:
    """Bool box [y0, y1) x [x0, x1): pixels within ``radius`` of the segment a-b (row, col)."""
    rows = np.arange(y0, y1, dtype=np.float32)[:, None]
    cols = np.arange(x0, x1, dtype=np.float32)[None, :]
    dr, dc = b[0] - a[0], b[1] - a[1]
    t = np.clip(((rows - a[0]) * dr + (cols - a[1]) * dc) / float(dr * dr + dc * dc), 0.0, 1.0)
    return (rows - a[0] - t * dr) ** 2 + (cols - a[1] - t * dc) ** 2 <= radius * radius
