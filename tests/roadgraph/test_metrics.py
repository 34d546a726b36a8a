"""APLS and clDice with answers known by hand.

The reference ``apls`` 0.1.0 (CosmiQ, 2019) downloads from PyPI but its module imports utm,
shapely, osmnx, pandas and matplotlib and reads SpaceNet GeoJSON, so it is not run here. The
expected values below are worked out by hand from the definitions (see each docstring); the
rules were checked against the reference's ``path_sim_metric``/``compute_apls_metric``: ordered
pairs of control nodes, paths under a minimum length skipped, a missing node or path costs 1,
min(1, |L - L'| / L), harmonic mean of both directions (0 when either is 0). Run once by hand
(its two functions lifted out of the wheel, fed our control points and snapped paths), the
reference gave the same direction scores: T arm missing 0.5 / 1.0, the gap 0.4898 / 0.9999,
two synthetic networks 0.925 / 0.3197 (ours 0.3199).
"""

from __future__ import annotations

import numpy as np
import pytest

from trainer.metrics import Confusion
from trainer.roadgraph.metrics import apls_score, cldice_score, road_metrics
from trainer.synthetic import make_tile


def t_road(width: int = 5, arm: bool = True) -> np.ndarray:
    mask = np.zeros((200, 200), bool)
    half = width // 2
    mask[50 - half:51 + half, 10:190] = True
    if arm:
        mask[50:150, 100 - half:101 + half] = True
    return mask


def test_identical_masks_score_one():
    _, mask = make_tile((256, 256), 5, roads=4)
    assert apls_score(mask, mask) == 1.0
    assert cldice_score(mask, mask) == 1.0
    empty = np.zeros((64, 64), bool)
    assert apls_score(empty, empty) == 1.0 and cldice_score(empty, empty) == 1.0


def test_empty_proposal_scores_zero():
    truth = t_road()
    empty = np.zeros_like(truth)
    assert apls_score(empty, truth) == 0.0
    assert cldice_score(empty, truth) == 0.0
    assert apls_score(truth, empty) == 0.0   # roads where there are none


def test_gap_of_a_few_pixels_keeps_iou_but_cuts_apls():
    truth = np.zeros((60, 1000), bool)
    truth[28:33, 5:995] = True
    pred = truth.copy()
    pred[:, 500:504] = False                 # a 4-px cut across the road
    iou = Confusion().add(pred, truth).as_dict()["iou"]
    apls = apls_score(pred, truth)
    assert iou > 0.99 and apls < 0.7
    # truth -> proposal: n points each side, the n*n crossing pairs lose everything, the rest
    # nothing: 1 - n/(2n-1) ~ 0.49; proposal -> truth: every proposal path exists, 1.0;
    # harmonic mean ~ 2 * 0.49 / 1.49 ~ 0.66.
    assert apls == pytest.approx(0.66, abs=0.02)


def test_t_junction_with_one_arm_missing():
    """Nodes only (spacing beyond any edge): truth A (west end), J (junction), B (east end),
    C (south end); the proposal is the bar A-B alone. Truth -> proposal: the 6 pairs AJ, AB, JB
    keep their length (penalty 0), AC, JC, BC lose C (penalty 1): 1 - 3/6 = 0.5. Proposal ->
    truth: its one path A-B is as long in the truth: 1.0. APLS = 2 * 0.5 * 1 / 1.5 = 2/3."""
    result = road_metrics(t_road(arm=False), t_road(), spacing=1000)
    assert result["truth_to_proposal"] == pytest.approx(0.5, abs=1e-3)
    assert result["proposal_to_truth"] == pytest.approx(1.0, abs=1e-3)
    assert result["apls"] == pytest.approx(2 / 3, abs=1e-3)


def test_t_junction_cldice_by_hand():
    """One-pixel lines are their own skeletons: truth = bar (180 px) + arm (100 px below it),
    proposal = bar. Tprec = 180/180 = 1, Tsens = 180/280, clDice = 2 * (9/14) / (23/14) = 18/23."""
    truth = np.zeros((200, 200), bool)
    truth[50, 10:190] = True
    truth[51:151, 100] = True
    pred = np.zeros_like(truth)
    pred[50, 10:190] = True
    assert cldice_score(pred, truth) == pytest.approx(18 / 23)
    assert cldice_score(truth, pred) == pytest.approx(18 / 23)   # symmetric: the roles swap


def test_detour_is_penalised_by_its_length():
    """A road cut and rejoined by a detour: the proposal's paths across it are longer."""
    truth = np.zeros((120, 400), bool)
    truth[58:63, 10:390] = True
    pred = truth.copy()
    pred[:, 195:205] = False
    pred[58:100, 185:190] = pred[58:100, 210:215] = pred[95:100, 185:215] = True   # a U detour
    result = road_metrics(pred, truth)
    assert 0.3 < result["truth_to_proposal"] < 0.95   # paths exist, but ~75 px longer
    assert result["apls"] < 0.95 and result["cldice"] < 1.0


def test_shapes_must_match():
    with pytest.raises(ValueError, match="one H x W size"):
        apls_score(np.zeros((5, 5), bool), np.zeros((5, 6), bool))


def test_identical_tangled_masks_score_one():
    """Noise makes junction clusters, merged nodes and parallel edges: a mask against itself still scores 1
    (each edge remembers which end its pixel path starts from, so snapping finds the same routes)."""
    rng = np.random.default_rng(0)
    for _ in range(12):
        mask = rng.random((80, 90)) < rng.uniform(0.05, 0.7)
        assert apls_score(mask, mask) == pytest.approx(1.0, abs=1e-9)


def test_big_tiles_are_scored_in_equal_windows(monkeypatch):
    """Each window counts once in the APLS mean: a 1300-px tile is 2 x 2 windows of 650, not one of
    1024 and three thin leftover strips that would outweigh it."""
    from trainer.roadgraph import metrics

    assert metrics.window_edges(1024) == [0, 1024]
    assert metrics.window_edges(1300) == [0, 650, 1300]
    assert metrics.window_edges(3000) == [0, 1000, 2000, 3000]
    shapes = []
    real = metrics.road_metrics
    monkeypatch.setattr(metrics, "road_metrics", lambda p, t, **kw: shapes.append(t.shape) or real(p, t, **kw))
    mask = np.zeros((1300, 1100), bool)
    mask[600:605, :] = True
    metrics.ConnectivityTotals().add(mask, mask)
    assert sorted(shapes) == [(650, 550)] * 4
