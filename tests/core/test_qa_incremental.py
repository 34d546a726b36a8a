"""Incremental connectivity QA equals the full check, after edits anywhere, and reuses what it can."""

import numpy as np
import pytest
from scipy import ndimage
from skimage.draw import disk, line

from roadseg_gui.core.connectivity_qa import QASettings, check_mask
from roadseg_gui.core.qa_incremental import IncrementalQA

SETTINGS = QASettings(road_width=7)


def roads(n=200, count=10, seed=3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, n), bool)
    for _ in range(count):
        r0, c0, r1, c1 = rng.integers(0, n, 4)
        rr, cc = line(r0, c0, r1, c1)
        mask[rr, cc] = True
    return ndimage.binary_dilation(mask, iterations=3)


def two_roads() -> np.ndarray:
    mask = np.zeros((120, 160), bool)
    mask[30:37, 10:150] = True          # one road
    mask[80:87, 10:70] = True           # two pieces of another, 6 px apart
    mask[80:87, 76:150] = True
    return mask


def test_random_strokes_match_the_full_check():
    rng = np.random.default_rng(7)
    mask, checker = roads(), IncrementalQA()
    predicted = roads(seed=4)
    assert checker.check(mask, predicted, SETTINGS) == check_mask(mask, predicted, SETTINGS)
    for step in range(12):
        r, c = rng.integers(0, mask.shape[0], 2)
        rr, cc = disk((r, c), int(rng.integers(3, 10)), shape=mask.shape)
        mask[rr, cc] = step % 3 != 0      # paint twice, erase once
        assert checker.check(mask, predicted, SETTINGS) == check_mask(mask, predicted, SETTINGS), step


@pytest.mark.parametrize("edit", ["join", "split", "erase_piece", "new_piece", "at_tile_edge"])
def test_edits_that_join_or_split_pieces_match_the_full_check(edit):
    mask, checker = two_roads(), IncrementalQA()
    first = checker.check(mask, None, SETTINGS)
    assert first == check_mask(mask, None, SETTINGS)
    assert [i.kind for i in first.issues].count("gap") == 1
    if edit == "join":
        mask[80:87, 68:78] = True        # the gap closed: the two pieces become one
    elif edit == "split":
        mask[28:39, 60:66] = False       # the first road cut in two
    elif edit == "erase_piece":
        mask[80:87, 76:150] = False
    elif edit == "new_piece":
        mask[50:57, 90:110] = True
    else:
        mask[100:120, 150:153] = True    # a spur running off the bottom edge
    after = checker.check(mask, None, SETTINGS)
    assert after == check_mask(mask, None, SETTINGS)
    assert after != first


def test_a_stroke_joining_two_roads_under_a_prediction_counts_no_speck():
    mask = np.zeros((100, 200), bool)
    mask[46:53, 10:90] = True            # two 80-px roads, 10 px apart
    mask[46:53, 100:180] = True
    predicted, checker = mask.copy(), IncrementalQA()
    assert checker.check(mask, predicted, SETTINGS) == check_mask(mask, predicted, SETTINGS)
    mask[46:53, 88:102] = True           # joined: one of their two labels goes unused
    after = checker.check(mask, predicted, SETTINGS)
    assert after == check_mask(mask, predicted, SETTINGS)
    assert after.specks == 0


def test_wide_roads_at_the_tile_edge_match_the_full_check():
    settings = QASettings(road_width=5)
    mask, checker = two_roads(), IncrementalQA()
    mask[40:55, 100:160] = True          # a 15-px road off the right edge
    assert checker.check(mask, None, settings) == check_mask(mask, None, settings)
    mask[40:55, 120:160] = False         # now it stops 40 px short: a dangling end
    after = checker.check(mask, None, settings)
    assert after == check_mask(mask, None, settings)
    assert "dangling_end" in [i.kind for i in after.issues]


def network(n=512, seed=0) -> np.ndarray:
    """Streets from edge to edge, crossing a middle street each: one connected network."""
    rng = np.random.default_rng(seed)
    lines = np.zeros((n, n), bool)
    lines[n // 2, :] = lines[:, n // 2] = True
    for k in range(n // 40):
        a, b = rng.integers(0, n, 2)
        lines[line(a, 0, b, n - 1) if k % 2 else line(0, a, n - 1, b)] = True
    return ndimage.binary_dilation(lines, iterations=3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_strokes_on_one_network_match_the_full_check_and_retrace_a_window(seed):
    rng = np.random.default_rng(seed)
    mask, checker = network(seed=seed), IncrementalQA()
    predicted = network(seed=seed + 3) if seed else None     # strokes off the road become its specks
    assert ndimage.label(mask, np.ones((3, 3)))[1] == 1
    checker.check(mask, predicted, SETTINGS)
    road, windows, specks = np.argwhere(mask), 0, 0
    off_road = np.argwhere(predicted & ~ndimage.binary_dilation(mask, iterations=8)) if seed else None
    for step in range(12):
        r, c = road[rng.integers(len(road))] if step % 2 else rng.integers(0, mask.shape[0], 2)
        radius = int(rng.integers(3, 12))
        if seed and step % 4 == 0:        # a dab on predicted road away from the mask: a speck
            (r, c), radius = off_road[rng.integers(len(off_road))], 3
        rr, cc = disk((r, c), radius, shape=mask.shape)
        mask[rr, cc] = step % 3 != 2      # paint twice, erase once: ends, junctions, splits
        result = checker.check(mask, predicted, SETTINGS)
        assert result == check_mask(mask, predicted, SETTINGS), step
        windows += 0 < checker.traced_px < mask.size / 4
        specks += result.specks
    assert windows >= 6                   # the graph was traced again on a window, not the whole tile
    assert specks > 0 or not seed


@pytest.mark.parametrize("offset", range(40, 66, 3))
def test_strokes_whose_window_border_crosses_a_junction_or_an_earlier_stroke(offset):
    mask = np.zeros((400, 400), bool)
    mask[197:204, :] = True               # two roads crossing at (200, 200)
    mask[:, 197:204] = True
    mask[100:107, 150:260] = True         # and a short one beside
    checker = IncrementalQA()
    checker.check(mask, None, SETTINGS)
    for r, c, radius, paint in ((200, 200 - offset, 4, True), (200 + offset, 200, 5, True),
                                (200, 200 - offset, 4, False), (103 + offset, 205, 3, True),
                                (200 - offset, 203, 4, False)):
        rr, cc = disk((r, c), radius, shape=mask.shape)
        mask[rr, cc] = paint              # bumps (spurs), a cut, a road end near the window's border
        assert checker.check(mask, None, SETTINGS) == check_mask(mask, None, SETTINGS), (r, c)
        assert checker.traced_px < mask.size


def test_a_stroke_retraces_a_window_not_the_whole_tile():
    mask, checker = network(n=600), IncrementalQA()
    checker.check(mask, None, SETTINGS)
    assert checker.rebuilt == 1 and checker.traced_px == mask.size
    road = np.argwhere(mask)
    r, c = road[len(road) // 2]
    mask[disk((r, c), 9, shape=mask.shape)] = True
    assert checker.check(mask, None, SETTINGS) == check_mask(mask, None, SETTINGS)
    assert checker.rebuilt == 1 and checker.traced_px <= mask.size / 4


def test_a_checker_whose_state_was_dropped_keeps_its_results_and_checks_the_whole_tile_again():
    mask, checker = network(n=300), IncrementalQA()
    first = checker.check(mask, None, SETTINGS)
    checker.drop_state()
    assert checker.check(mask, None, SETTINGS) == first and checker.rebuilt == 0
    mask[140:160, 140:160] = True
    assert checker.check(mask, None, SETTINGS) == check_mask(mask, None, SETTINGS)
    assert checker.traced_px == mask.size


def test_results_are_cached_by_the_mask_not_the_array():
    mask, checker = two_roads(), IncrementalQA()
    first = checker.check(mask, None, SETTINGS)
    assert checker.cached(mask, None, SETTINGS) == first
    mask[80:87, 70:76] = True            # the same array, edited in place: never the stale result
    assert checker.cached(mask, None, SETTINGS) is None
    assert checker.check(mask, None, SETTINGS) == check_mask(mask, None, SETTINGS)
    mask[80:87, 70:76] = False           # undo: the earlier result, without a rebuild
    assert checker.check(mask, None, SETTINGS) == first and checker.rebuilt == 0
    assert checker.cached(mask, None, QASettings(road_width=9)) is None   # other settings, other result


def test_the_qa_graph_is_the_road_graph_without_its_widths():
    from trainer.roadgraph.build import mask_to_graph

    from roadseg_gui.core.connectivity_qa import qa_graph

    mask = roads(seed=5)
    fast, full = qa_graph(mask, 7), mask_to_graph(mask, min_spur_px=7)
    assert sorted(map(tuple, (d["o"] for _n, d in fast.nodes(data=True)))) == \
        sorted(map(tuple, (d["o"] for _n, d in full.nodes(data=True))))
    assert sorted(d["length"] for *_e, d in fast.edges(data=True)) == \
        sorted(d["length"] for *_e, d in full.edges(data=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_skeleton_thinned_on_a_window_equals_the_whole_masks(seed):
    from trainer.roadgraph.skeleton import skeletonize_mask

    from roadseg_gui.core.qa_skeleton import update_skeleton

    rng = np.random.default_rng(seed)
    mask = roads(n=300, count=12, seed=seed)
    mask[100:190, 60:170] = True                 # a parking lot: thinning runs ~45 passes there
    skeleton = skeletonize_mask(mask)
    for step in range(10):
        before = mask.copy()
        r, c = rng.integers(0, 300, 2) if step % 3 else (rng.integers(95, 195), rng.integers(55, 175))
        rr, cc = disk((r, c), int(rng.integers(2, 12)), shape=mask.shape)
        mask[rr, cc] = step % 4 != 1
        skeleton = update_skeleton(before, skeleton, mask)
        assert np.array_equal(skeleton, skeletonize_mask(mask)), step


def test_a_stroke_is_thinned_on_a_window_not_the_whole_mask(monkeypatch):
    import trainer.roadgraph.skeleton as skeleton_module

    from roadseg_gui.core.qa_skeleton import update_skeleton

    mask = roads(n=600, count=20)
    skeleton = skeleton_module.skeletonize_mask(mask)
    thinned = []
    real = skeleton_module.skeletonize_mask
    monkeypatch.setattr(skeleton_module, "skeletonize_mask", lambda m: thinned.append(m.size) or real(m))
    before = mask.copy()
    mask[300:310, 300:310] = True
    assert np.array_equal(update_skeleton(before, skeleton, mask), real(mask))
    assert thinned and max(thinned) <= mask.size / 9      # a window round the stroke, not 600²
