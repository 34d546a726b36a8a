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
