"""The editable road mask and its operations, as sparse diffs (napari-style undo).

Coordinates are image pixels as Qt reports them: (x, y) floats where pixel
(col, row) covers [col, col+1) x [row, row+1), so its centre is (col+.5, row+.5).
Every operation works on the bounding box it touches (never a copy of the whole
mask), applies itself, and returns a ``MaskEdit`` (see mask_diff: the changed
pixels of that box and their new values, compactly stored) or None when nothing
changed. Listeners get the dirty rect (x, y, w, h) so a canvas repaints only that region.
"""

from __future__ import annotations

import math
import threading
from typing import Callable, Sequence

import numpy as np

from trainer.errors import BadInputError

from .mask_diff import MaskEdit, Rect, merge_edits

__all__ = ["MaskDocument", "MaskEdit", "threshold", "preload", "Point", "Rect"]
Point = tuple[float, float]


def threshold(probability: np.ndarray, t: float) -> np.ndarray:
    """Probability map (uint8 0..255) to a mask: road where probability >= t (0..1)."""
    level = min(256, max(0, math.ceil(t * 255 - 1e-9)))
    return probability >= level  # an integer level keeps the comparison in uint8


class MaskDocument:
    """Owns one tile's bool H x W mask; every change goes through here."""

    def __init__(self, mask: np.ndarray | tuple[int, int]):
        if isinstance(mask, tuple):
            mask = np.zeros(mask, bool)
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise BadInputError(f"a mask must be 2-D, not of shape {mask.shape}")
        self._mask = np.ascontiguousarray(mask, dtype=bool).copy()
        self._listeners: list[Callable[[Rect], None]] = []
        self._group: list[MaskEdit] | None = None
        self.revision = 0  # bumps on every change; the autosaver compares it
        _preload_in_background()  # so the first flood fill does not stall the UI thread

    # -- state -----------------------------------------------------------------------------
    @property
    def mask(self) -> np.ndarray:
        """A read-only view; change the mask through the operations."""
        view = self._mask.view()
        view.flags.writeable = False
        return view

    @property
    def shape(self) -> tuple[int, int]:
        return self._mask.shape

    def add_listener(self, callback: Callable[[Rect], None]) -> None:
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Rect], None]) -> None:
        self._listeners.remove(callback)

    def _changed(self, rect: Rect) -> None:
        self.revision += 1
        for callback in list(self._listeners):
            callback(rect)

    # -- undo/redo ---------------------------------------------------------------------------
    def apply(self, edit: MaskEdit) -> None:
        edit.write(self._mask, forward=True)
        self._changed(edit.rect)

    def revert(self, edit: MaskEdit) -> None:
        edit.write(self._mask, forward=False)
        self._changed(edit.rect)

    def begin_group(self) -> None:
        """Collect the following edits (e.g. the dabs of one drag) into one undo step."""
        self._group = []

    def end_group(self) -> MaskEdit | None:
        """The merged edit of everything since begin_group (already applied), or None."""
        edits, self._group = self._group or [], None
        return merge_edits(edits)

    # -- operations --------------------------------------------------------------------------
    def dab(self, center: Point, radius: float, value: bool = True) -> MaskEdit | None:
        """A round brush (value True) or eraser (False) dab."""
        return self.stroke(center, center, radius, value)

    def stroke(self, p0: Point, p1: Point, radius: float, value: bool = True) -> MaskEdit | None:
        """A brush segment from p0 to p1, so a fast drag leaves no gaps; p1's dab included."""
        edit = self._paint_capsules([(p0, p1)], radius, value)
        if edit is None:  # a radius below half a pixel still paints the pixel under the cursor
            x, y = int(math.floor(p1[0])), int(math.floor(p1[1]))
            if 0 <= y < self.shape[0] and 0 <= x < self.shape[1] and self._mask[y, x] != value:
                return self._commit(y, x, np.ones((1, 1), bool), value)
        return edit

    def road_line(self, points: Sequence[Point], width_px: float, value: bool = True) -> MaskEdit | None:
        """A polyline exactly ``width_px`` wide with round joins and caps.

        Points snap to pixel centres (odd widths) or pixel corners (even widths) so a
        horizontal or vertical road covers exactly ``width_px`` rows or columns."""
        width = max(1.0, float(width_px))
        offset = 0.5 if round(width) % 2 else 0.0
        snapped = [(math.floor(x) + offset, math.floor(y) + offset) if offset else (round(x), round(y))
                   for x, y in points]
        if not snapped:
            return None
        segments = list(zip(snapped, snapped[1:])) or [(snapped[0], snapped[0])]
        return self._paint_capsules(segments, width / 2, value)

    def polygon(self, points: Sequence[Point], value: bool = True) -> MaskEdit | None:
        """Fill the pixels whose centres lie inside the polygon (even-odd rule)."""
        if len(points) < 3:
            return None
        xs = np.array([p[0] for p in points], float)
        ys = np.array([p[1] for p in points], float)
        box = self._clip(ys.min(), xs.min(), ys.max(), xs.max())
        if box is None:
            return None
        y0, x0, y1, x1 = box
        inside = _polygon_inside(xs - x0, ys - y0, (y1 - y0, x1 - x0))
        return self._commit(y0, x0, inside & (self._mask[y0:y1, x0:x1] != value), value)

    def flood_fill(self, seed: Point, value: bool = True) -> MaskEdit | None:
        """Set the 4-connected region of equal value around ``seed`` to ``value``."""
        x, y = int(math.floor(seed[0])), int(math.floor(seed[1]))
        if not (0 <= y < self.shape[0] and 0 <= x < self.shape[1]) or self._mask[y, x] == value:
            return None
        wy0, wx0, region = self._flood_region(y, x)
        return self._commit(wy0, wx0, region, value)  # the region holds exactly the pixels != value

    def _flood_region(self, y: int, x: int) -> tuple[int, int, np.ndarray]:
        """The seed's region, searched in a window that doubles until the region fits inside it.

        An enclosed area is usually small: it costs a small window, not the whole 4096^2 mask."""
        from scipy import ndimage

        h, w = self.shape
        target = self._mask[y, x]
        half = 128
        while True:
            y0, y1 = max(0, y - half), min(h, y + half)
            x0, x1 = max(0, x - half), min(w, x + half)
            window = self._mask[y0:y1, x0:x1]
            labels, _ = ndimage.label(window if target else ~window)  # 4-connected by default
            region = labels == labels[y - y0, x - x0]
            leaks = ((y0 > 0 and region[0].any()) or (y1 < h and region[-1].any())
                     or (x0 > 0 and region[:, 0].any()) or (x1 < w and region[:, -1].any()))
            if not leaks:
                return y0, x0, region
            half *= 2

    def replace(self, new_mask: np.ndarray) -> MaskEdit | None:
        """Replace the whole mask (use the prediction, clear); the edit keeps only the changed box."""
        new_mask = np.asarray(new_mask, bool)
        if new_mask.shape != self.shape:
            raise BadInputError(f"the new mask is {new_mask.shape[1]}x{new_mask.shape[0]} but this tile is "
                                f"{self.shape[1]}x{self.shape[0]}")
        changed = new_mask != self._mask
        return self._commit(0, 0, changed, new_mask[changed])

    def clear(self) -> MaskEdit | None:
        return self.replace(np.zeros(self.shape, bool))

    # -- internals -------------------------------------------------------------------------------
    def _clip(self, top: float, left: float, bottom: float, right: float) -> tuple[int, int, int, int] | None:
        """Integer pixel box [y0, y1) x [x0, x1) covering a float box, clipped to the mask."""
        h, w = self.shape
        y0, x0 = max(0, int(math.floor(top))), max(0, int(math.floor(left)))
        y1, x1 = min(h, int(math.ceil(bottom)) + 1), min(w, int(math.ceil(right)) + 1)
        return (y0, x0, y1, x1) if y0 < y1 and x0 < x1 else None

    def _paint_capsules(self, segments: Sequence[tuple[Point, Point]], radius: float,
                        value: bool) -> MaskEdit | None:
        """Pixels whose centre is within ``radius`` of any segment (round caps and joins)."""
        r = max(0.0, float(radius))
        boxes = []
        for (ax, ay), (bx, by) in _subdivide(segments, max(32.0, 4 * r)):
            box = self._clip(min(ay, by) - r, min(ax, bx) - r, max(ay, by) + r, max(ax, bx) + r)
            if box:
                boxes.append(((ax, ay), (bx, by), box))
        if not boxes:
            return None
        y0, x0 = min(b[2][0] for b in boxes), min(b[2][1] for b in boxes)
        y1, x1 = max(b[2][2] for b in boxes), max(b[2][3] for b in boxes)
        changed = np.zeros((y1 - y0, x1 - x0), bool)
        limit = r * r + 1e-9
        for (ax, ay), (bx, by), (sy0, sx0, sy1, sx1) in boxes:
            py = (np.arange(sy0, sy1) + 0.5)[:, None]
            px = (np.arange(sx0, sx1) + 0.5)[None, :]
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            if length2 == 0:
                dist2 = (px - ax) ** 2 + (py - ay) ** 2
            else:
                t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)
                dist2 = (px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2
            changed[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] |= (dist2 <= limit) & (self._mask[sy0:sy1, sx0:sx1] != value)
        return self._commit(y0, x0, changed, value)

    def _commit(self, y0: int, x0: int, changed: np.ndarray, values: np.ndarray | bool) -> MaskEdit | None:
        """Apply the change (``changed`` pixels of the box at y0, x0 get ``values``) and return its edit."""
        edit = MaskEdit.from_change(y0, x0, changed, values)
        if edit is None:
            return None
        self.apply(edit)
        if self._group is not None:
            self._group.append(edit)
        return edit


def _polygon_inside(xs: np.ndarray, ys: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bool mask of the pixel centres inside a polygon (crop coordinates), by scanline crossings."""
    h, w = shape
    cy = np.arange(h) + 0.5
    ax, ay, bx, by = xs, ys, np.roll(xs, -1), np.roll(ys, -1)
    crosses = ((ay[None, :] <= cy[:, None]) != (by[None, :] <= cy[:, None]))  # rows x edges
    with np.errstate(divide="ignore", invalid="ignore"):
        cx = ax + (cy[:, None] - ay) * (bx - ax) / (by - ay)
    cx = np.sort(np.where(crosses, cx, np.inf), axis=1)   # crossings of each row, left to right
    starts = np.clip(np.ceil(cx[:, 0::2] - 0.5), 0, w)     # first centre at or right of the entry
    ends = np.clip(np.ceil(cx[:, 1::2] - 0.5), 0, w)       # first centre at or right of the exit
    pairs = min(starts.shape[1], ends.shape[1])
    starts, ends = starts[:, :pairs], ends[:, :pairs]
    ok = np.isfinite(starts) & np.isfinite(ends) & (ends > starts)
    rows = np.broadcast_to(np.arange(h)[:, None], starts.shape)[ok]
    diff = np.zeros((h, w + 1), np.int32)
    np.add.at(diff, (rows, starts[ok].astype(int)), 1)
    np.add.at(diff, (rows, ends[ok].astype(int)), -1)
    return np.cumsum(diff[:, :w], axis=1) > 0


def preload() -> None:
    """Import what flood fill needs (about a second on a busy machine) ahead of the first click."""
    from scipy import ndimage  # noqa: F401


_preloader: threading.Thread | None = None


def _preload_in_background() -> None:
    global _preloader
    if _preloader is None:
        _preloader = threading.Thread(target=preload, name="mask-edit-preload", daemon=True)
        _preloader.start()


def _subdivide(segments: Sequence[tuple[Point, Point]], step: float) -> list[tuple[Point, Point]]:
    """Long segments cut into collinear pieces: the same capsules, but small boxes to evaluate."""
    pieces = []
    for (ax, ay), (bx, by) in segments:
        n = max(1, math.ceil(math.hypot(bx - ax, by - ay) / step))
        points = [(ax + (bx - ax) * i / n, ay + (by - ay) * i / n) for i in range(n + 1)]
        pieces += list(zip(points, points[1:]))
    return pieces
