"""Connectivity QA on masks whose issues are known by hand, and the road-picking helpers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from roadseg_gui.core.connectivity_qa import QASettings, find_issues, summary
from roadseg_gui.core.road_pick import nearest_road_end, predicted_road_at

SETTINGS = QASettings(road_width=7)
DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def road(shape=(120, 160), rows=slice(56, 63), cols=slice(None)):
    mask = np.zeros(shape, bool)
    mask[rows, cols] = True
    return mask


def kinds(issues):
    return sorted(i.kind for i in issues)


def test_a_road_across_the_tile_has_no_issues_and_an_empty_mask_neither():
    assert find_issues(road(), settings=SETTINGS) == []
    assert find_issues(np.zeros((50, 50), bool), settings=SETTINGS) == []
    assert summary([]) == "No connectivity issues"


def test_a_small_gap_cut_into_a_road_is_one_gap_issue_at_the_gap():
    mask = road()
    mask[:, 78:84] = False                      # 6 px cut: far below 4 road widths
    issues = find_issues(mask, settings=SETTINGS)
    assert kinds(issues) == ["gap"]
    x, y = issues[0].centre
    assert abs(x - 81) < 4 and abs(y - 59.5) < 2
    assert math.dist((issues[0].x, issues[0].y), (issues[0].x2, issues[0].y2)) < 4 * 7
    assert summary(issues) == "1 connectivity issue"


def test_a_wide_gap_is_two_dangling_ends_not_a_gap():
    mask = road()
    mask[:, 40:120] = False
    issues = find_issues(mask, settings=SETTINGS)
    assert kinds(issues) == ["dangling_end", "dangling_end"]
    assert [round(i.x) for i in issues] == sorted(round(i.x) for i in issues)  # reading order
    assert summary(issues) == "2 connectivity issues"


def test_a_road_that_stops_where_the_prediction_goes_on():
    mask = road(cols=slice(0, 90))
    dangling = find_issues(mask, settings=SETTINGS)
    assert kinds(dangling) == ["dangling_end"] and abs(dangling[0].x - 86) < 5
    predicted = road(rows=slice(57, 62))       # the model sees the road all the way across
    continues = find_issues(mask, predicted, settings=SETTINGS)
    assert kinds(continues) == ["prediction_continues"]
    assert (continues[0].x, continues[0].y) == (dangling[0].x, dangling[0].y)
    sideways = road(rows=slice(57, 62), cols=slice(0, 90)) | road(rows=slice(0, 120), cols=slice(88, 93))
    assert kinds(find_issues(mask, sideways, settings=SETTINGS)) == ["dangling_end"]  # a turn, not ahead


def test_a_short_piece_in_the_middle_is_a_fragment_but_one_at_the_edge_is_not():
    mask = road()
    mask[20:27, 70:90] = True                    # 20 px long < 8 road widths
    mask[100:107, 0:20] = True                   # as short, but it leaves the tile: only its tip dangles
    issues = find_issues(mask, settings=SETTINGS)
    assert kinds(issues) == ["dangling_end", "short_fragment"]
    fragment = next(i for i in issues if i.kind == "short_fragment")
    assert abs(fragment.x - 80) < 4 and abs(fragment.y - 23.5) < 2
    longer_than_set = find_issues(mask, settings=QASettings(road_width=7, min_fragment_px=10))
    assert kinds(longer_than_set) == ["dangling_end"] * 3


def wide_road(stop_before_edge: int, end=(199.5, 99.5)) -> np.ndarray:
    """A 15-px road from a 5-px crossing road towards ``end`` (x, y) on the right edge, stopping
    ``stop_before_edge`` px short of the edge."""
    from roadseg_gui.core.mask_edit import MaskDocument

    document = MaskDocument((200, 200))
    document.road_line([(23.5, 0.5), (23.5, 199.5)], 5)
    x, y = end
    document.road_line([(23.5, 99.5), (x - stop_before_edge, y)], 15)
    return document.mask.copy()


@pytest.mark.parametrize("end", [(199.5, 99.5), (199.5, 160.5)])
def test_a_wide_road_running_off_the_tile_edge_has_no_dangling_end(end):
    # A 5-px line width sets the margin to 5 px; the 15-px road's skeleton stops ~7 px short of the edge.
    settings = QASettings(road_width=5)
    assert find_issues(wide_road(0, end), settings=settings) == []
    stopped = find_issues(wide_road(40, end), settings=settings)    # it really stops 40 px before the edge
    assert kinds(stopped) == ["dangling_end"] and 140 < stopped[0].x < 165


def test_a_road_stopping_just_short_of_a_crossing_road_is_a_gap_to_that_road():
    mask = road() | road(rows=slice(0, 48), cols=slice(76, 83))   # stops 8 px above the road
    issues = find_issues(mask, settings=SETTINGS)
    assert kinds(issues) == ["gap"]
    assert issues[0].y2 is not None and issues[0].y2 > issues[0].y and abs(issues[0].x2 - issues[0].x) < 2


def test_a_real_spacenet_mask_gives_issues_inside_the_tile():
    from PIL import Image

    mask = np.asarray(Image.open(DEMO / "train" / "masks" / "vegas_r1_c0.png"))
    mask = (mask[..., 0] if mask.ndim == 3 else mask) >= 128
    issues = find_issues(mask, settings=QASettings(road_width=15))
    h, w = mask.shape
    assert all(0 <= i.x <= w and 0 <= i.y <= h for i in issues)
    assert len(issues) < 10
    cut = mask.copy()
    rows, cols = np.nonzero(mask[h // 4: 3 * h // 4, w // 4: 3 * w // 4])
    r, c = rows[len(rows) // 2] + h // 4, cols[len(cols) // 2] + w // 4
    cut[max(0, r - 20):r + 20, max(0, c - 3):c + 3] = False   # a narrow cut somewhere in the middle
    cut[max(0, r - 3):r + 3, max(0, c - 20):c + 20] = False
    new = [i for i in find_issues(cut, settings=QASettings(road_width=15)) if i not in issues]
    assert any(i.kind == "gap" and math.dist(i.centre, (c + 0.5, r + 0.5)) < 20 for i in new)


def test_predicted_road_at_takes_the_connected_road_under_or_next_to_the_click():
    predicted = road() | road(rows=slice(0, 56), cols=slice(20, 25))
    predicted[100:110, 100:110] = True            # another, unconnected blob
    taken = predicted_road_at(predicted, (22.5, 10.5))
    assert taken.sum() == predicted.sum() - 100 and not taken[100:110, 100:110].any()
    assert predicted_road_at(predicted, (30.5, 53.5)) is not None    # 3 px above the road: within reach
    assert predicted_road_at(predicted, (30.5, 40.5)) is None


@pytest.mark.parametrize("click, expected", [((84.0, 62.0), (89.5, 59.5)), ((20.0, 58.0), None)])
def test_nearest_road_end_finds_the_tip_of_a_road_not_a_point_along_it(click, expected):
    mask = road(cols=slice(0, 93))
    end = nearest_road_end(mask, click, reach=14)
    if expected is None:
        assert end is None
    else:
        assert math.dist(end, expected) <= 3


def test_road_ends_are_found_in_a_read_only_mask_like_the_documents():
    mask = road(shape=(40, 40), rows=slice(17, 24), cols=slice(0, 30))
    mask.flags.writeable = False
    assert math.dist(nearest_road_end(mask, (28.0, 20.0), reach=60), (26.5, 20.5)) <= 3
