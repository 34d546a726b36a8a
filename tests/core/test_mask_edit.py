"""MaskDocument: each operation changes exactly the expected pixels; revert restores them."""

from __future__ import annotations

import numpy as np
import pytest

from roadseg_gui.core.mask_edit import MaskDocument, threshold
from trainer.errors import BadInputError


def disc(shape, cx, cy, r):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r


def check_edit(doc, edit, before):
    """The edit covers exactly the changed pixels, and revert/apply round-trip."""
    after = doc.mask.copy()
    changed = before != after
    rows, cols = np.nonzero(changed)
    assert edit.rect == (cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1)
    doc.revert(edit)
    assert np.array_equal(doc.mask, before)
    doc.apply(edit)
    assert np.array_equal(doc.mask, after)


def test_dab_paints_a_disc_and_eraser_removes_it():
    doc = MaskDocument((50, 60))
    before = doc.mask.copy()
    edit = doc.dab((20.5, 30.5), 6)
    assert np.array_equal(doc.mask, disc((50, 60), 20.5, 30.5, 6))
    check_edit(doc, edit, before)
    erase = doc.dab((20.5, 30.5), 3, value=False)
    assert np.array_equal(doc.mask, disc((50, 60), 20.5, 30.5, 6) & ~disc((50, 60), 20.5, 30.5, 3))
    assert doc.dab((20.5, 30.5), 3, value=False) is None  # nothing left to erase
    doc.revert(erase)
    assert np.array_equal(doc.mask, disc((50, 60), 20.5, 30.5, 6))


def test_tiny_brush_paints_the_pixel_under_the_cursor_and_clips_at_edges():
    doc = MaskDocument((10, 10))
    doc.dab((3.2, 7.9), 0.1)
    assert doc.mask.sum() == 1 and doc.mask[7, 3]
    edit = doc.dab((0, 0), 3)
    assert edit.x0 == 0 and edit.y0 == 0
    assert doc.dab((-50, -50), 3) is None


def test_stroke_leaves_no_gaps_on_fast_drags():
    doc = MaskDocument((40, 200))
    doc.stroke((10, 20), (190, 20), 2)
    assert doc.mask[20, 10:190].all()
    assert doc.mask[:, 100].sum() == 4  # rows 18..21: centres within 2 px of y=20


def test_road_line_has_the_requested_width():
    for width in (1, 4, 7, 10):
        doc = MaskDocument((80, 120))
        doc.road_line([(10.3, 40.2), (60, 40.4), (110, 40)], width)
        column = doc.mask[:, 50]
        rows = np.flatnonzero(column)
        assert len(rows) == width and np.all(np.diff(rows) == 1), (width, rows)
        # round caps: the line extends about half its width beyond the end points
        cols = np.flatnonzero(doc.mask[rows[len(rows) // 2]])
        assert abs(cols[0] - (10 - width / 2)) <= 1 and abs(cols[-1] + 1 - (110 + width / 2)) <= 1


def test_road_line_diagonal_width_and_round_join():
    doc = MaskDocument((100, 100))
    doc.road_line([(10, 10), (80, 80), (80, 10)], 8)
    # perpendicular width of the 45 degree part: along the anti-diagonal through (45, 45)
    hits = [doc.mask[45 - k, 45 + k] or doc.mask[45 + k, 45 - k] for k in range(0, 10)]
    assert sum(hits) in (3, 4)  # half width 4 px = 2.8 steps of sqrt(2)
    assert doc.mask[80, 80] and doc.mask[82, 82]  # the round join covers the corner...
    assert not doc.mask[84, 84]  # ...and is round, not mitred
    assert doc.road_line([], 5) is None


def test_polygon_fills_pixels_inside():
    doc = MaskDocument((40, 40))
    before = doc.mask.copy()
    edit = doc.polygon([(10, 10), (20, 10), (20, 25), (10, 25)])
    expected = np.zeros((40, 40), bool)
    expected[10:25, 10:20] = True
    assert np.array_equal(doc.mask, expected)
    check_edit(doc, edit, before)
    assert doc.polygon([(1, 1), (2, 2)]) is None


def point_in_polygon(px, py, pts):
    inside = False
    for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]):
        if (ay <= py) != (by <= py) and px < ax + (py - ay) * (bx - ax) / (by - ay):
            inside = not inside
    return inside


def test_polygon_matches_a_point_in_polygon_reference():
    rng = np.random.default_rng(3)
    for _ in range(5):
        pts = [(float(x), float(y)) for x, y in rng.uniform(-5, 35, (int(rng.integers(3, 9)), 2))]
        doc = MaskDocument((30, 30))
        doc.polygon(pts)
        expected = np.array([[point_in_polygon(c + 0.5, r + 0.5, pts) for c in range(30)] for r in range(30)])
        assert np.array_equal(doc.mask, expected), pts


def test_flood_fill_fills_an_enclosed_area_only():
    doc = MaskDocument((50, 50))
    doc.polygon([(10, 10), (40, 10), (40, 40), (10, 40)])
    doc.polygon([(15, 15), (35, 15), (35, 35), (15, 35)], value=False)  # a ring of road
    before = doc.mask.copy()
    edit = doc.flood_fill((25.5, 25.5))
    assert edit.rect == (15, 15, 20, 20)
    expected = before.copy()
    expected[15:35, 15:35] = True
    assert np.array_equal(doc.mask, expected)
    check_edit(doc, edit, before)
    assert doc.flood_fill((25.5, 25.5)) is None  # already road
    assert doc.flood_fill((99, 99)) is None


def test_replace_and_clear_keep_only_the_changed_box():
    doc = MaskDocument((64, 64))
    new = np.zeros((64, 64), bool)
    new[5:9, 40:50] = True
    edit = doc.replace(new)
    assert edit.rect == (40, 5, 10, 4) and edit.changed_pixels == 40 and edit.changed.all()
    assert doc.replace(new) is None
    edit = doc.clear()
    assert not doc.mask.any() and edit.rect == (40, 5, 10, 4)
    with pytest.raises(BadInputError):
        doc.replace(np.zeros((3, 3), bool))


def test_listeners_get_dirty_rects_and_revision_bumps():
    doc = MaskDocument((100, 100))
    rects = []
    doc.add_listener(rects.append)
    edit = doc.dab((50, 50), 5)
    assert rects == [edit.rect] and edit.rect == (45, 45, 10, 10)
    doc.revert(edit)
    assert rects[-1] == edit.rect and doc.revision == 2
    doc.remove_listener(rects.append)
    doc.dab((10, 10), 2)
    assert len(rects) == 2


def test_grouped_drag_is_one_undo_step():
    doc = MaskDocument((60, 60))
    doc.dab((30, 30), 4)
    before = doc.mask.copy()
    doc.begin_group()
    for x in range(10, 50, 3):
        doc.stroke((x, 20), (x + 3, 22), 3)
    doc.dab((30, 30), 2, value=False)
    merged = doc.end_group()
    after = doc.mask.copy()
    doc.revert(merged)
    assert np.array_equal(doc.mask, before)
    doc.apply(merged)
    assert np.array_equal(doc.mask, after)
    doc.begin_group()
    assert doc.end_group() is None
    doc.begin_group()  # painted and erased again within one drag: nothing to undo
    doc.dab((5, 5), 2)
    doc.dab((5, 5), 2, value=False)
    assert doc.end_group() is None


def test_flood_fill_of_a_large_region_grows_its_search_window():
    doc = MaskDocument((1000, 1200))
    doc.road_line([(0, 500), (1200, 500)], 3)
    edit = doc.flood_fill((10, 10))
    assert edit.rect == (0, 0, 1200, 499)
    assert doc.mask[:499].all() and not doc.mask[502:].any()


def test_edits_on_a_4096_mask_stay_small():
    doc = MaskDocument((4096, 4096))
    edit = doc.dab((2000, 3000), 10)
    assert edit.rect == (1990, 2990, 20, 20) and edit.nbytes < 2000
    line = doc.road_line([(5, 5), (4090, 4090)], 12)  # its box is the whole tile
    assert line.rect[2] > 4000 and line.nbytes < 400_000  # vs 32 MB for old + new box copies
    before = doc.mask.copy()
    doc.revert(line)
    assert np.count_nonzero(before != doc.mask) == line.changed_pixels
    doc.apply(line)
    doc.apply(line)  # applying twice is harmless (QUndoStack's first redo)
    assert np.array_equal(doc.mask, before)
    everything = doc.replace(np.ones((4096, 4096), bool))
    assert everything.nbytes < 2 * 4096 * 4096 // 8 + 100  # a packed bitmap, not bool copies
    with pytest.raises(ValueError):
        doc.mask[0, 0] = True  # the view is read-only; changes go through the operations


def test_replace_with_mixed_values_round_trips():
    rng = np.random.default_rng(0)
    start, target = rng.random((64, 64)) > 0.5, rng.random((64, 64)) > 0.7
    doc = MaskDocument(start)
    edit = doc.replace(target)
    assert np.array_equal(doc.mask, target)
    doc.revert(edit)
    assert np.array_equal(doc.mask, start)


def test_threshold():
    prob = np.array([0, 127, 128, 255], np.uint8)
    assert threshold(prob, 0.5).tolist() == [False, False, True, True]
    assert threshold(prob, 0.0).all()
    assert not threshold(prob, 1.01).any()
