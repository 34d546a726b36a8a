"""Snapping road line core: the least-cost path follows the probability, stays in its corridor,
and falls back to a straight line where asked."""

from __future__ import annotations

import math

import numpy as np

from roadseg_gui.core.mask_edit import MaskDocument
from roadseg_gui.core.snapping import SnapCost, cost_from_probability, snapped_polyline


def arc_probability(size=160, radius=60, width=5):
    """uint8 probability of a quarter-circle road centred on the top-left corner."""
    yy, xx = np.mgrid[:size, :size] + 0.5
    on_road = np.abs(np.hypot(yy - 10, xx - 10) - radius) <= width / 2
    return np.where(on_road, 240, 8).astype(np.uint8), on_road


def test_cost_is_low_on_road_and_high_off_it_for_uint8_and_float():
    cost = cost_from_probability(np.array([[255, 0, 128]], np.uint8), smooth=0)
    assert cost[0, 0] < 0.1 < 0.6 < cost[0, 2] < 0.8 < 6 < cost[0, 1] < 8
    as_float = cost_from_probability(np.array([[1.0, 0.5]], np.float32), smooth=0)
    assert np.allclose(as_float, cost[0, [0, 2]], atol=0.01)


def test_blur_makes_a_flat_road_cheapest_on_its_centre_line():
    band = np.zeros((21, 40), np.uint8)
    band[6:15] = 250                       # a 9-px road of flat probability, centre row 10
    cost = cost_from_probability(band)
    assert np.argmin(cost[:, 20]) == 10 and cost[10, 20] < cost[7, 20] < cost[3, 20]


def test_path_between_two_clicks_follows_a_curved_road_not_the_chord():
    probability, on_road = arc_probability()
    cost = SnapCost(probability)
    a, b = (70.5, 10.5), (10.5, 70.5)      # both ends of the arc (x, y)
    path = cost.path(a, b, road_width=5)
    assert path[0] == a and path[-1] == b
    rows = np.array([int(y) for _x, y in path])
    cols = np.array([int(x) for x, _y in path])
    assert on_road[rows, cols].mean() > 0.95
    chord_mid = (40.5, 40.5)
    assert min(math.dist(p, chord_mid) for p in path) > 10  # it bent away from the straight line


def test_the_path_never_leaves_its_corridor_even_when_a_road_outside_is_cheaper():
    probability = np.full((200, 200), 5, np.uint8)
    probability[150:155, :] = 255          # a tempting road far below both clicks
    cost = SnapCost(probability)
    path = cost.path((10.5, 20.5), (190.5, 20.5), road_width=5)
    assert max(y for _x, y in path) < 20.5 + 0.2 * 180 + 1  # corridor half width: 0.2 x length


def test_painted_snapped_line_covers_the_curved_road_better_than_a_straight_one():
    probability, on_road = arc_probability()
    clicks = [(70.5, 10.5), (52.9, 52.9), (10.5, 70.5)]   # ends plus one middle point on the arc
    snapped, straight = MaskDocument(on_road.shape), MaskDocument(on_road.shape)
    snapped.road_line(snapped_polyline(SnapCost(probability), clicks, road_width=5), 5)
    straight.road_line(snapped_polyline(None, clicks), 5)
    between = on_road.copy()
    between[:10], between[:, :10] = False, False   # the arc's part between the first and last click
    coverage = [(doc.mask & between).sum() / between.sum() for doc in (snapped, straight)]
    assert coverage[0] > 0.9 and coverage[0] > 1.3 * coverage[1]


def test_straight_flag_or_no_cost_gives_the_clicks_themselves():
    probability, _ = arc_probability()
    clicks = [(70.5, 10.5), (10.5, 70.5), (10.5, 120.5)]
    assert snapped_polyline(None, clicks) == clicks
    mixed = snapped_polyline(SnapCost(probability), clicks, straight=[False, False, True], road_width=5)
    assert mixed[-2:] == [(10.5, 70.5), (10.5, 120.5)] and len(mixed) > 3
    assert snapped_polyline(SnapCost(probability), clicks[:1]) == clicks[:1]


def test_clicks_outside_the_tile_are_clamped_to_its_edge():
    cost = SnapCost(np.full((50, 50), 200, np.uint8))
    path = cost.path((-10, 5.5), (70, 5.5))
    assert path[0] == (0.5, 5.5) and path[-1] == (49.5, 5.5)


def test_a_long_segment_around_a_right_angle_is_routed_coarse_to_fine_along_the_road():
    probability = np.full((640, 640), 10, np.uint8)
    probability[96:105, 40:560] = 230       # east along row 100...
    probability[96:600, 551:560] = 230      # ...then south along column 555
    rng = np.random.default_rng(0)
    noisy = np.clip(probability + rng.normal(0, 25, probability.shape), 0, 255).astype(np.uint8)
    cost = SnapCost(noisy, road_width=9)
    path = cost.path((45.5, 100.5), (555.5, 595.5), road_width=9)   # box far above DIRECT_AREA
    rows = np.array([int(y) for _x, y in path])
    cols = np.array([int(x) for x, _y in path])
    assert (probability[rows, cols] > 100).mean() > 0.97
    steps = np.abs(np.diff(rows)) + np.abs(np.diff(cols))
    assert steps.max() <= 2 and path[0] == (45.5, 100.5) and path[-1] == (555.5, 595.5)  # 8-connected
