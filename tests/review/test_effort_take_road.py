"""bench_effort's fix flow takes a predicted road (the road line's Ctrl+click) where that costs fewer
actions than drawing it, counting the threshold slider's drag and the eraser strokes for what it brings
in, and only when the taken road runs end to end; otherwise it draws."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from review_data import probability, road_band

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

SHAPE = (256, 256)
KEPT = ([(60, 0, 60, 255)], 7, 0.95)          # found by the model: in the starting mask
MISSED = [(180, 0, 180, 255)]                 # weak in the prediction: below the 0.5 threshold


def tile(missed_roads):
    from effort_flows import Tile
    from trainer.roadgraph.build import mask_to_graph

    truth = road_band(SHAPE, KEPT[0] + MISSED, 7)
    graph = mask_to_graph(truth)
    edges = sorted((np.asarray(d["pts"]) for _u, _v, d in graph.edges(data=True) if len(d["pts"]) > 1),
                   key=len, reverse=True)
    return Tile("hand_made", truth, probability(SHAPE, [KEPT] + missed_roads), 7.0, edges, 0.5)


def test_a_weak_predicted_road_is_taken_with_the_slider_and_one_click_not_drawn_with_three():
    from effort_flows import clicks_along, fix_flow

    hand_made = tile([(MISSED, 7, 0.35)])
    assert len(clicks_along(hand_made.edges[1])) == 3           # drawing the missed road: 3 clicks
    result = fix_flow(hand_made, 200)
    assert result.actions == 2                                   # the slider to 0.3, a Ctrl+click
    assert result.apls >= 0.9 and result.iou >= 0.85


def test_a_predicted_road_stopping_short_of_where_the_road_goes_is_drawn():
    from effort_flows import fix_flow

    short = tile([([(180, 0, 180, 215)], 7, 0.35)])    # covers 84 % of the road, not its end at the edge
    result = fix_flow(short, 200)
    assert result.actions == 3 and result.apls >= 0.9


def test_a_predicted_road_that_brings_in_a_long_false_road_is_drawn():
    from effort_flows import fix_flow

    # Taking it would cost the slider, the click and two eraser strokes for the false road: 4 > 3.
    with_false = tile([(MISSED, 7, 0.35), ([(180, 128, 20, 200)], 7, 0.35)])
    result = fix_flow(with_false, 200)
    assert result.actions == 3 and result.apls >= 0.9
