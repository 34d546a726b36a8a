"""BCE + soft Dice: lower for better predictions, blind to IGNORE pixels; the learning-rate schedule."""

from __future__ import annotations

import pytest
import torch

from trainer.data import IGNORE
from trainer.losses import bce_dice_loss
from trainer.train_loop import lr_at


def test_loss_prefers_the_right_answer_and_ignores_padding():
    target = torch.zeros(1, 4, 4, dtype=torch.uint8)
    target[0, 1, :] = 1
    right = torch.where(target == 1, 6.0, -6.0)[:, None]
    wrong = -right
    assert bce_dice_loss(right, target) < 0.05 < 1.5 < bce_dice_loss(wrong, target)
    padded = target.clone()
    padded[0, 3, :] = IGNORE
    garbage = right.clone()
    garbage[0, 0, 3, :] = 50.0  # confidently "road" where the padding is: must not matter
    assert bce_dice_loss(garbage, padded) == pytest.approx(float(bce_dice_loss(right, padded)), abs=1e-6)
    all_background = torch.full_like(right, -6.0)
    assert bce_dice_loss(all_background, target) > 0.9  # Dice: a model that finds no road is not "95 % right"


def test_schedules_warm_up_and_decay():
    assert lr_at(0, 100, 1.0, warmup=10) == pytest.approx(0.1)
    assert lr_at(10, 100, 1.0, warmup=10) == pytest.approx(1.0)
    assert lr_at(100, 100, 1.0, "cosine") == pytest.approx(0.01)
    assert lr_at(100, 100, 1.0, "poly") == pytest.approx(0.0)
    assert lr_at(50, 100, 1.0, "cosine") < lr_at(25, 100, 1.0, "cosine")


def test_soft_cldice_rewards_a_connected_road_over_a_broken_one():
    from trainer.losses import soft_cldice_loss, soft_skeleton

    truth = torch.zeros(1, 32, 32)
    truth[0, 14:19, :] = 1.0  # a horizontal road 5 px wide
    skeleton = soft_skeleton(truth, iterations=5)
    assert skeleton[0, 16].mean() > 0.9 and skeleton[0, :12].sum() == 0  # the centre line, nothing off the road
    broken = truth.clone()
    broken[0, :, 12:20] = 0.0  # the same road with an 8 px gap
    valid = torch.ones_like(truth)
    connected = soft_cldice_loss(truth, truth, valid, iterations=5)
    gapped = soft_cldice_loss(broken, truth, valid, iterations=5)
    assert connected < 0.05 < gapped
    logits = torch.where(truth == 1, 6.0, -6.0)[:, None]
    target = truth.to(torch.uint8)
    assert bce_dice_loss(logits, target, cldice_weight=0.5) == pytest.approx(
        float(bce_dice_loss(logits, target)), abs=0.03)  # a right answer costs (almost) nothing extra
