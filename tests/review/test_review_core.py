"""Road review core (issue 20) on hand-made predictions: candidates, accept with conflation, checks."""

from __future__ import annotations

import numpy as np
import pytest
from review_data import probability, road_band

from roadseg_gui.core.mask_edit import MaskDocument
from roadseg_gui.core.review.accept import accept_candidate, accept_many, accept_road
from roadseg_gui.core.review.candidates import CandidateList, ReviewSettings
from roadseg_gui.core.review.network import predicted_network

SHAPE = (128, 128)
CROSS = [([(64, 6, 64, 121)], 7, 0.95), ([(8, 60, 64, 60)], 7, 0.75)]   # a long road and a side road


def candidates(p, mask=None, settings=ReviewSettings(), pixel_m=None, rejected=None):
    network = predicted_network(p, 0.5, pixel_m)
    return CandidateList(network, np.zeros(SHAPE, bool) if mask is None else mask, settings, rejected)


def test_one_candidate_per_edge_with_confidence_width_and_length_best_first():
    found = candidates(probability(SHAPE, CROSS)).items
    assert len(found) == 3                       # the junction splits the long road in two
    first, second, side = found
    assert first.length_px >= second.length_px and side.confidence < first.confidence
    assert side.confidence == pytest.approx(0.75, abs=0.05) and first.confidence == pytest.approx(0.95, abs=0.03)
    assert all(6 <= c.width_px <= 8 and c.width_px == int(c.width_px) for c in found)   # whole pixels
    assert side.length_px == pytest.approx(56, abs=4)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def test_lengths_in_metres_and_widths_clamped_to_the_workspace_range():
    p = probability(SHAPE, [([(64, 6, 64, 121)], 15, 0.9)])
    narrow = ReviewSettings(min_width_px=3, max_width_px=9)
    (road,) = candidates(p, settings=narrow, pixel_m=0.5).items
    assert road.width_px == 9
    assert road.units == "m" and road.length == pytest.approx(road.length_px * 0.5)
    assert "m," in road.describe()


def test_what_the_mask_labels_is_not_proposed_and_a_half_labeled_road_keeps_its_other_half():
    p = probability(SHAPE, CROSS)
    labeled = road_band(SHAPE, [(8, 60, 64, 60), (64, 6, 64, 40)], 7)
    found = candidates(p, labeled).items
    spans = sorted((int(c.pts[:, 1].min()), int(c.pts[:, 1].max())) for c in found)
    assert len(found) == 2                          # the side road is gone, the long road's rest stays
    assert spans[0][0] >= 38 and spans[0][1] <= 61  # the unlabeled part between 40 and the junction
    assert spans[1][0] >= 58


def test_an_update_around_an_edit_equals_a_fresh_list():
    p = probability(SHAPE, CROSS)
    document = MaskDocument(SHAPE)
    listed = candidates(p, document.mask)
    edit = accept_candidate(document, listed.items[0], ReviewSettings()).edit
    listed.update(document.mask, edit.rect)
    fresh = candidates(p, document.mask)
    assert [c.key for c in listed.items] == [c.key for c in fresh.items]
    assert len(listed) == 2


def test_an_end_near_a_labeled_road_is_joined_with_no_gap_and_no_overshoot():
    from scipy import ndimage

    labeled = road_band(SHAPE, [(0, 70, 127, 70)], 3)          # a narrow labeled road
    document = MaskDocument(labeled)
    p = probability(SHAPE, [([(40, 8, 40, 58)], 9, 0.9)])      # a wide predicted road stopping 11 px short
    (road,) = candidates(p, labeled).items
    outcome = accept_candidate(document, road, ReviewSettings())
    assert outcome.accepted == 1 and outcome.joined_ends == 1
    _labels, pieces = ndimage.label(document.mask, structure=np.ones((3, 3)))
    assert pieces == 1                                          # no gap
    new = document.mask & ~labeled
    assert not new[:, 72:].any()                                # nothing past the far side of the road
    assert new[36:45, 62:69].any()


def test_an_end_beyond_the_tolerance_is_left_alone():
    labeled = road_band(SHAPE, [(0, 100, 127, 100)], 5)
    document = MaskDocument(labeled)
    p = probability(SHAPE, [([(40, 8, 40, 58)], 7, 0.9)])      # 40 px short: more than 2 widths
    (road,) = candidates(p, labeled).items
    outcome = accept_candidate(document, road, ReviewSettings())
    assert outcome.joined_ends == 0
    assert not (document.mask & ~labeled)[:, 70:].any()


def test_parts_already_labeled_are_not_painted_twice():
    labeled = road_band(SHAPE, [(64, 6, 64, 60)], 3)           # the left half is labeled, narrower
    document = MaskDocument(labeled)
    p = probability(SHAPE, [([(64, 6, 64, 121)], 11, 0.9)])
    (road,) = candidates(p, labeled).items
    assert road.pts[:, 1].min() >= 58
    outcome = accept_candidate(document, road, ReviewSettings())
    new = document.mask & ~labeled
    assert outcome.edit.changed_pixels == int(new.sum())
    assert not new[:, :52].any()                                # the labeled half is not widened


def test_a_candidate_running_along_a_labeled_road_is_refused_as_a_duplicate():
    labeled = road_band(SHAPE, [(60, 6, 60, 121)], 5)          # 5 px above the predicted centre line
    document = MaskDocument(labeled)
    p = probability(SHAPE, [([(65, 6, 65, 121)], 7, 0.9)])
    found = candidates(p, labeled).items
    assert found
    outcome = accept_candidate(document, max(found, key=lambda c: c.length_px), ReviewSettings())
    assert outcome.accepted == 0 and outcome.edit is None
    assert "already labeled" in outcome.message()
    assert np.array_equal(document.mask, labeled)


def test_a_short_link_between_two_labeled_roads_is_not_a_duplicate():
    labeled = road_band(SHAPE, [(0, 40, 127, 40), (0, 60, 127, 60)], 5)
    document = MaskDocument(labeled)
    outcome = accept_road(document, np.array([(64, c) for c in range(43, 58)]), 7, ReviewSettings())
    assert outcome.accepted == 1 and not outcome.issues


def test_geometry_checks_on_accept_spike_self_crossing_and_short_piece():
    settings = ReviewSettings(fragment_px=60)
    spike = np.array([(40, c) for c in range(10, 60)] + [(42, c) for c in range(59, 30, -1)])
    kinds = [i.kind for i in accept_road(MaskDocument(SHAPE), spike, 3, settings).issues]
    assert "spike" in kinds
    loop = np.array([(20 + i, 20 + i) for i in range(60)] + [(80, 80 - i) for i in range(1, 60)]
                    + [(80 - i, 21) for i in range(1, 30)] + [(51, 21 + i) for i in range(1, 70)])
    issues = accept_road(MaskDocument(SHAPE), loop, 3, settings).issues
    crossing = [i for i in issues if i.kind == "self_intersection"]
    assert crossing and abs(crossing[0].x - 51.5) < 3 and abs(crossing[0].y - 51.5) < 3
    short = accept_road(MaskDocument(SHAPE), np.array([(100, c) for c in range(30, 50)]), 5, settings)
    assert [i.kind for i in short.issues] == ["short_piece"] and short.accepted == 1
    clean = accept_road(MaskDocument(SHAPE), np.array([(100, c) for c in range(10, 100)]), 5, settings)
    assert clean.issues == []


def test_bulk_accept_above_a_confidence_inside_an_area_is_one_edit():
    roads = [([(30, 6, 30, 121)], 7, 0.95), ([(90, 6, 90, 121)], 7, 0.95), ([(60, 6, 60, 121)], 7, 0.6)]
    p = probability(SHAPE, roads)
    document = MaskDocument(SHAPE)
    listed = candidates(p, document.mask)
    chosen = listed.above(0.8, area=(0, 0, 127, 70))
    assert len(chosen) == 1 and abs(chosen[0].pts[:, 0].mean() - 30) < 2
    everywhere = listed.above(0.8)
    assert len(everywhere) == 2
    outcome = accept_many(document, everywhere, ReviewSettings())
    assert outcome.accepted == 2 and outcome.edit is not None
    assert document.mask[30, 60] and document.mask[90, 60] and not document.mask[60, 60]
    document.revert(outcome.edit)
    assert not document.mask.any()


def test_a_rejected_road_stays_hidden_at_another_threshold():
    p = probability(SHAPE, CROSS)
    listed = candidates(p)
    side = min(listed.items, key=lambda c: c.confidence)
    line = listed.reject(side)
    assert side.key not in [c.key for c in listed.items] and len(listed) == 2
    again = CandidateList(predicted_network(p, 0.4), np.zeros(SHAPE, bool), ReviewSettings(), [line])
    assert len(again) == 2
    assert all(c.confidence > 0.9 for c in again.items)


def test_rejections_survive_in_the_state_db_and_an_old_db_gets_the_table(tmp_path):
    import sqlite3

    from roadseg_gui.core import statedb
    from roadseg_gui.core.review.rejections import forget_last_rejection, load_rejections, save_rejection

    old = statedb.connect(tmp_path)                # a state DB from before review
    assert "review_rejections" not in {r[0] for r in old.execute("SELECT name FROM sqlite_master")}
    save_rejection(old, "tile_a", np.array([[1.0, 2.0], [3.0, 4.5]]), 7)
    old.close()
    conn = sqlite3.connect(tmp_path / ".roadseg" / "state.sqlite")
    (line,) = load_rejections(conn, "tile_a")
    assert line.tolist() == [[1.0, 2.0], [3.0, 4.5]]
    assert load_rejections(conn, "tile_b") == []
    assert forget_last_rejection(conn, "tile_a") and load_rejections(conn, "tile_a") == []


def test_review_settings_come_from_the_labeling_section(tmp_path):
    from roadseg_gui.core.settings import WorkspaceSettings

    settings = WorkspaceSettings()
    assert settings.labeling.review_join_widths == 2.0 and settings.labeling.review_start == "prediction"
    settings.labeling.review_join_widths, settings.labeling.review_max_width_px = 3.5, 12
    settings.save(tmp_path)
    review = ReviewSettings.from_labeling(WorkspaceSettings.load(tmp_path).labeling, road_width=10)
    assert review.join_widths == 3.5 and review.clamp(30) == 12 and review.clamp(1) == 3
    assert review.fragment_px == 80            # QA's default: 8 road widths


def test_a_pinhole_in_a_predicted_road_does_not_split_it_into_a_loop_of_short_candidates():
    p = probability(SHAPE, [([(64, 6, 64, 121)], 11, 0.9)])
    p[62:67, 50:53] = 10                               # a 5 x 3 hole in the middle of the road
    found = candidates(p).items
    assert len(found) == 1 and found[0].length_px > 100


def test_an_end_heading_out_of_the_tile_runs_on_to_its_edge_and_a_road_along_the_edge_does_not_hook():
    settings = ReviewSettings(fragment_px=80)
    document = MaskDocument(SHAPE)
    outcome = accept_road(document, np.array([(64, c) for c in range(70, 121)]), 7, settings)
    assert document.mask[64, 127] and document.mask[64, 122]    # on to the right edge, no stub left short
    assert not document.mask[64, 60] and outcome.issues == []   # leaving the tile: not a lone short piece
    along = MaskDocument(SHAPE)
    accept_road(along, np.array([(6, c) for c in range(30, 90)]), 5, settings)
    assert not along.mask[0:2, :].any()                         # running beside the top edge: no hook up to it


def test_hand_edited_review_settings_that_are_not_numbers_fall_back_to_their_defaults():
    from roadseg_gui.core.settings import LabelingSettings

    labeling = LabelingSettings(review_join_widths="lots", review_min_width_px=-2, review_max_width_px="")
    review = ReviewSettings.from_labeling(labeling, road_width=10)
    assert review.join_widths == 2.0 and review.min_width_px == 3 and review.max_width_px == 40


def test_a_diagonal_road_gets_a_whole_pixel_width():
    p = probability(SHAPE, [([(10, 10, 110, 110)], 8, 0.9)])
    assert predicted_network(p, 0.5).edges[0].width_px != int(predicted_network(p, 0.5).edges[0].width_px)
    (road,) = candidates(p).items
    assert road.width_px == int(road.width_px)
