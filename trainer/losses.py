"""BCE + soft Dice on road logits: BCE for per-pixel calibration, Dice so that roads
(about 4 % of pixels) are not swamped by the background. Pixels marked IGNORE count for neither."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import IGNORE


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 1.0,
                  smooth: float = 1.0) -> torch.Tensor:
    """``logits`` N x 1 x H x W, ``target`` N x H x W uint8 (0, 1 or IGNORE); a scalar loss."""
    logits = logits[:, 0].float()
    valid = (target != IGNORE).float()
    truth = (target == 1).float()
    count = valid.sum().clamp_min(1.0)
    bce = (F.binary_cross_entropy_with_logits(logits, truth, reduction="none") * valid).sum() / count
    probability = torch.sigmoid(logits) * valid
    intersection = (probability * truth).sum()
    dice = 1.0 - (2.0 * intersection + smooth) / (probability.sum() + truth.sum() + smooth)
    return bce + dice_weight * dice
