"""Confusion counts against hand-computed values; accuracy always sits beside the all-background score."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainer.metrics import METRIC_KEYS, Confusion


def test_counts_and_ratios_match_hand_computation():
    target = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], bool)
    pred = np.array([[1, 0, 1, 0], [0, 0, 0, 0]], bool)
    c = Confusion().add(pred, target)
    assert (c.tp, c.fp, c.fn, c.tn, c.tiles) == (1, 1, 1, 5, 1)
    m = c.as_dict()
    assert set(m) == set(METRIC_KEYS)
    assert m["iou"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(2 / 4)
    assert m["precision"] == pytest.approx(1 / 2)
    assert m["recall"] == pytest.approx(1 / 2)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["background_accuracy"] == pytest.approx(6 / 8)  # 2 road pixels of 8


def test_accumulates_over_the_whole_set_not_per_batch_mean():
    # tile A: perfect on 1 road pixel; tile B: misses 9 road pixels. Mean of per-tile IoU would be 0.5.
    a_t = np.zeros((4, 4), bool); a_t[0, 0] = True
    b_t = np.zeros((4, 4), bool); b_t[:3, :3] = True
    c = Confusion().add(a_t.copy(), a_t).add(np.zeros((4, 4), bool), b_t)
    assert c.as_dict()["iou"] == pytest.approx(1 / 10)
    assert c.tiles == 2


def test_all_background_prediction_scores_zero_iou_but_high_accuracy():
    target = np.zeros((1, 10, 10), bool); target[0, 0, :4] = True
    m = Confusion().add(np.zeros_like(target), target).as_dict()
    assert m["iou"] == 0.0 and m["recall"] == 0.0 and m["f1"] == 0.0
    assert m["accuracy"] == pytest.approx(0.96) == m["background_accuracy"]


def test_torch_and_numpy_agree_and_batches_count_tiles():
    rng = np.random.default_rng(0)
    pred, target = rng.random((3, 8, 8)) > 0.5, rng.random((3, 8, 8)) > 0.7
    a = Confusion().add(pred, target)
    b = Confusion().add(torch.from_numpy(pred), torch.from_numpy(target))
    assert a == b and a.tiles == 3
    merged = Confusion.from_list(a.as_list())
    merged += b
    assert merged.tp == 2 * a.tp and merged.tiles == 6


def test_empty_cases_and_shape_mismatch():
    nothing = np.zeros((2, 2), bool)
    assert Confusion().add(nothing, nothing).as_dict()["iou"] == 1.0  # nothing to find, nothing claimed
    assert Confusion().add(~nothing, nothing).as_dict()["precision"] == 0.0
    with pytest.raises(ValueError):
        Confusion().add(np.zeros((2, 3), bool), nothing)


def test_invalid_pixels_are_left_out():
    target = np.array([[1, 0], [0, 0]], bool)
    pred = np.array([[1, 1], [1, 0]], bool)
    valid = np.array([[1, 0], [0, 1]], bool)  # padding where the false positives are
    c = Confusion().add(pred, target, valid)
    assert (c.tp, c.fp, c.fn, c.tn, c.tiles) == (1, 0, 0, 1, 1)
    t = Confusion().add(torch.from_numpy(pred), torch.from_numpy(target), torch.from_numpy(valid))
    assert t == c
