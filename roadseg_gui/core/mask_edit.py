"""The editable road mask and its operations, as sparse diffs (napari-style undo).

Coordinates are image pixels as Qt reports them: (x, y) floats where pixel
(col, row) covers [col, col+1) x [row, row+1), so its centre is (col+.5, row+.5).
Every operation works on the bounding-box crop it touches (never a copy of the
whole mask), applies itself, and returns a ``MaskEdit`` holding the old and new
values of the changed box only, or None when nothing changed. Listeners get the
dirty rect (x, y, w, h) so a canvas repaints only that region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from trainer.errors import BadInputError

Point = tuple[float, float]
Rect = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True, eq=False)
class MaskEdit:
    """The changed box of one edit: top-left (y0, x0), values before and after."""
    y0: int
    x0: int
    old: np.ndarray
    new: np.ndarray

    @property
    def rect(self) -> Rect:
        return self.x0, self.y0, self.old.shape[1], self.old.shape[0]

    @property
    def changed_pixels(self) -> int:
        return int(np.count_nonzero(self.old != self.new))

    @property
    def nbytes(self) -> int:
        return self.old.nbytes + self.new.nbytes


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
        h, w = edit.new.shape
        self._mask[edit.y0:edit.y0 + h, edit.x0:edit.x0 + w] = edit.new
        self._changed(edit.rect)

    def revert(self, edit: MaskEdit) -> None:
        h, w = edit.old.shape
        self._mask[edit.y0:edit.y0 + h, edit.x0:edit.x0 + w] = edit.old
        self._changed(edit.rect)

    def begin_group(self) -> None:
        """Collect the following edits (e.g. the dabs of one drag) into one undo step."""
        self._group = []

    def end_group(self) -> MaskEdit | None:
        """The merged edit of everything since begin_group (already applied), or None."""
        edits, self._group = self._group or [], None
        if not edits:
            return None
        y0 = min(e.y0 for e in edits)
        x0 = min(e.x0 for e in edits)
        y1 = max(e.y0 + e.old.shape[0] for e in edits)
        x1 = max(e.x0 + e.old.shape[1] for e in edits)
        new = self._mask[y0:y1, x0:x1].copy()
        old = new.copy()
        for e in reversed(edits):  # undo them in reverse on the crop to recover the start
            h, w = e.old.shape
            old[e.y0 - y0:e.y0 - y0 + h, e.x0 - x0:e.x0 - x0 + w] = e.old
        return _tight(y0, x0, old, new)

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
                return self._commit(y, x, np.array([[value]]))
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
        """Fill the pixels whose centres lie inside the polygon."""
        from skimage.draw import polygon as draw_polygon

        if len(points) < 3:
            return None
        xs = np.array([p[0] for p in points], float)
        ys = np.array([p[1] for p in points], float)
        box = self._clip(ys.min(), xs.min(), ys.max(), xs.max())
        if box is None:
            return None
        y0, x0, y1, x1 = box
        rows, cols = draw_polygon(ys - 0.5 - y0, xs - 0.5 - x0, shape=(y1 - y0, x1 - x0))
        crop = self._mask[y0:y1, x0:x1].copy()
        crop[rows, cols] = value
        return self._commit(y0, x0, crop)

    def flood_fill(self, seed: Point, value: bool = True) -> MaskEdit | None:
        """Set the 4-connected region of equal value around ``seed`` to ``value``."""
        from skimage.segmentation import flood

        x, y = int(math.floor(seed[0])), int(math.floor(seed[1]))
        if not (0 <= y < self.shape[0] and 0 <= x < self.shape[1]) or self._mask[y, x] == value:
            return None
        region = flood(self._mask.view(np.uint8), (y, x), connectivity=1)
        rows = np.flatnonzero(region.any(axis=1))
        cols = np.flatnonzero(region.any(axis=0))
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        crop = self._mask[y0:y1, x0:x1].copy()
        crop[region[y0:y1, x0:x1]] = value
        return self._commit(int(y0), int(x0), crop)

    def replace(self, new_mask: np.ndarray) -> MaskEdit | None:
        """Replace the whole mask (use the prediction, clear); the edit keeps only the changed box."""
        new_mask = np.asarray(new_mask, bool)
        if new_mask.shape != self.shape:
            raise BadInputError(f"the new mask is {new_mask.shape[1]}x{new_mask.shape[0]} but this tile is "
                                f"{self.shape[1]}x{self.shape[0]}")
        diff = new_mask != self._mask
        rows = np.flatnonzero(diff.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(diff.any(axis=0))
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        return self._commit(y0, x0, new_mask[y0:y1, x0:x1].copy())

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
        for (ax, ay), (bx, by) in segments:
            box = self._clip(min(ay, by) - r, min(ax, bx) - r, max(ay, by) + r, max(ax, bx) + r)
            if box:
                boxes.append(((ax, ay), (bx, by), box))
        if not boxes:
            return None
        y0, x0 = min(b[2][0] for b in boxes), min(b[2][1] for b in boxes)
        y1, x1 = max(b[2][2] for b in boxes), max(b[2][3] for b in boxes)
        crop = self._mask[y0:y1, x0:x1].copy()
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
            crop[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0][dist2 <= limit] = value
        return self._commit(y0, x0, crop)

    def _commit(self, y0: int, x0: int, new_crop: np.ndarray) -> MaskEdit | None:
        h, w = new_crop.shape
        old_crop = self._mask[y0:y0 + h, x0:x0 + w]
        edit = _tight(y0, x0, old_crop, new_crop)
        if edit is None:
            return None
        self.apply(edit)
        if self._group is not None:
            self._group.append(edit)
        return edit


def _tight(y0: int, x0: int, old: np.ndarray, new: np.ndarray) -> MaskEdit | None:
    """The edit shrunk to the box of pixels that really changed (copies, never views)."""
    diff = old != new
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return MaskEdit(y0 + r0, x0 + c0, old[r0:r1, c0:c1].copy(), new[r0:r1, c0:c1].copy())
