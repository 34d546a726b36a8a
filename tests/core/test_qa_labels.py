"""Pieces relabelled round a stroke are the whole mask's pieces (up to their numbers)."""

import numpy as np
from scipy import ndimage
from skimage.draw import disk, line

from roadseg_gui.core.qa_labels import label_mask, update_labels


def same_pieces(labels: np.ndarray, expected: np.ndarray) -> bool:
    if not np.array_equal(labels > 0, expected > 0):
        return False
    pairs = np.unique(np.column_stack([labels[labels > 0], expected[labels > 0]]), axis=0)
    return len(np.unique(pairs[:, 0])) == len(pairs) == len(np.unique(pairs[:, 1]))   # one-to-one


def test_painting_and_erasing_keep_the_pieces_of_the_whole_mask():
    rng = np.random.default_rng(0)
    mask = np.zeros((300, 300), bool)
    for _ in range(25):
        r0, c0, r1, c1 = rng.integers(0, 300, 4)
        mask[line(r0, c0, r0 + (r1 - r0) // 4, c0 + (c1 - c0) // 4)] = True
    mask = ndimage.binary_dilation(mask)
    labels, count = label_mask(mask)
    joins = 0
    for step in range(60):
        before = mask.copy()
        rr, cc = disk(tuple(rng.integers(0, 300, 2)), int(rng.integers(2, 20)), shape=mask.shape)
        mask[rr, cc] = step % 5 != 4                 # mostly painting (joins pieces), sometimes erasing
        pieces_before = label_mask(before)[1]
        labels, count = update_labels(labels, count, before, mask)
        assert same_pieces(labels, label_mask(mask)[0]), step
        joins += label_mask(mask)[1] < pieces_before
    assert joins >= 3                                # strokes that joined pieces were among them
