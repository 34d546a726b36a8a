"""A mask's skeleton after an edit, thinned again only on a window round the edit.

Thinning (skimage's Zhang-Suen) decides each pixel from its 3 x 3 neighbourhood, one ring per pass,
so an edit changes the skeleton only a few road widths round it, and a crop's cut edges disturb it
only a few road widths inside the crop. The window is thinned with a margin, and kept only when a
band between the two (inner margin to 1.5 margins) comes out exactly as the old skeleton there: then
neither the edit's effect nor the cut's reached the band. Otherwise the margin doubles, up to the
whole mask.
"""

from __future__ import annotations

import numpy as np

FIRST_MARGIN = 32   # px: several widths of a typical road


def update_skeleton(before: np.ndarray | None, skeleton: np.ndarray | None, after: np.ndarray) -> np.ndarray:
    """``skeletonize_mask(after)``, given ``skeleton`` = ``skeletonize_mask(before)`` (None: none yet)."""
    return skeleton_and_change(before, skeleton, after)[0]


def skeleton_and_change(before: np.ndarray | None, skeleton: np.ndarray | None, after: np.ndarray):
    """(``update_skeleton``'s result, the box (y0, y1, x0, x1) holding every pixel where it differs
    from ``skeleton``, or None when thinned on the whole mask; an empty box when nothing changed)."""
    from trainer.roadgraph.skeleton import skeletonize_mask

    if before is None or skeleton is None or before.shape != after.shape:
        return skeletonize_mask(after), None
    changed = before != after
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if rows.size == 0:
        return skeleton, (0, 0, 0, 0)
    edit = (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)
    h, w = after.shape
    margin = FIRST_MARGIN
    while True:
        outer = _grown(edit, 2 * margin, h, w)
        if outer == (0, h, 0, w):
            return skeletonize_mask(after), None
        inner, band = _grown(edit, margin, h, w), _grown(edit, margin * 3 // 2, h, w)
        local = skeletonize_mask(after[outer[0]:outer[1], outer[2]:outer[3]])
        if _band_matches(local, skeleton, outer, inner, band):
            updated = skeleton.copy()
            updated[inner[0]:inner[1], inner[2]:inner[3]] = local[inner[0] - outer[0]:inner[1] - outer[0],
                                                                  inner[2] - outer[2]:inner[3] - outer[2]]
            return updated, _changed_box(skeleton, updated, inner)
        margin *= 2


def _changed_box(old: np.ndarray, new: np.ndarray, window: tuple) -> tuple:
    y0, y1, x0, x1 = window
    differs = old[y0:y1, x0:x1] != new[y0:y1, x0:x1]
    rows, cols = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    if rows.size == 0:
        return 0, 0, 0, 0
    return y0 + rows[0], y0 + rows[-1] + 1, x0 + cols[0], x0 + cols[-1] + 1


def _grown(box: tuple, by: int, h: int, w: int) -> tuple:
    return max(0, box[0] - by), min(h, box[1] + by), max(0, box[2] - by), min(w, box[3] + by)


def _band_matches(local: np.ndarray, skeleton: np.ndarray, outer: tuple, inner: tuple, band: tuple) -> bool:
    """Do ``local`` (thinned on ``outer``) and the old ``skeleton`` agree on ``band`` outside ``inner``?"""
    y0, y1, x0, x1 = band
    old = skeleton[y0:y1, x0:x1]
    new = local[y0 - outer[0]:y1 - outer[0], x0 - outer[2]:x1 - outer[2]]
    differs = old != new
    differs[inner[0] - y0:inner[1] - y0, inner[2] - x0:inner[3] - x0] = False   # the edit's own window
    return not differs.any()
