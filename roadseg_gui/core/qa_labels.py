"""The 8-connected pieces of a mask after a stroke, labelled again only where the stroke painted.

Painting can only grow and join pieces: the pixels round the stroke are labelled on a window one
pixel wider than it, each piece there takes the label of the old pieces it touches (or a new one),
and pieces it joined are renamed to one everywhere. Erasing can split a piece anywhere along it, so
an erasing stroke labels the whole mask again. Only which pixels share a piece is kept (the numbers
are not ``ndimage.label``'s), and that is all QA reads.
"""

from __future__ import annotations

import numpy as np

EIGHT = np.ones((3, 3), bool)


def label_mask(mask: np.ndarray) -> tuple[np.ndarray, int]:
    from scipy import ndimage

    return ndimage.label(mask, structure=EIGHT)


def update_labels(labels: np.ndarray, count: int, before: np.ndarray, after: np.ndarray
                  ) -> tuple[np.ndarray, int]:
    """``label_mask(after)`` up to the labels' numbers, given ``labels``, ``count`` of ``before``
    (``labels`` is changed in place when only painting happened)."""
    from scipy import ndimage

    changed = before != after
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if rows.size == 0:
        return labels, count
    h, w = after.shape
    y0, y1, x0, x1 = max(0, rows[0] - 1), min(h, rows[-1] + 2), max(0, cols[0] - 1), min(w, cols[-1] + 2)
    if (before[y0:y1, x0:x1] & ~after[y0:y1, x0:x1]).any():
        return label_mask(after)                 # erased: a piece may have split anywhere
    local, pieces = ndimage.label(after[y0:y1, x0:x1], structure=EIGHT)
    old = labels[y0:y1, x0:x1]
    parent = {}

    def root(label: int) -> int:
        while parent.get(label, label) != label:
            label = parent[label]
        return label

    touched = np.unique(np.column_stack([local[old > 0], old[old > 0]]), axis=0)
    first_of = {}
    for piece, label in touched.tolist():        # pieces of the window that touch several old pieces join them
        if piece in first_of:
            a, b = root(first_of[piece]), root(label)
            if a != b:
                parent[max(a, b)] = min(a, b)
        else:
            first_of[piece] = label
    new_label = np.zeros(pieces + 1, labels.dtype)
    for piece in range(1, pieces + 1):
        if piece in first_of:
            new_label[piece] = root(first_of[piece])
        else:
            count += 1
            new_label[piece] = count
    if any(root(label) != label for label in parent):
        renamed = np.arange(count + 1, dtype=labels.dtype)
        for label in parent:
            renamed[label] = root(label)
        labels[...] = renamed[labels]
    window = labels[y0:y1, x0:x1]
    window[local > 0] = new_label[local[local > 0]]
    return labels, count
