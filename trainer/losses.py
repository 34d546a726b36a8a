"""BCE + soft Dice on road logits: BCE for per-pixel calibration, Dice so that roads
(about 4 % of pixels) are not swamped by the background. Pixels marked IGNORE count for neither.
An optional soft clDice term (Shit et al., CVPR 2021) rewards connected centre lines."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import IGNORE


# The recipe's weights (bench/RESULTS.md): the loss train_loop uses.
DICE_WEIGHT = 1.0
CLDICE_WEIGHT = 0.0
CLDICE_ITERATIONS = 10  # soft-skeleton erosions: about half the widest road, in pixels


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = DICE_WEIGHT,
                  smooth: float = 1.0, cldice_weight: float = CLDICE_WEIGHT) -> torch.Tensor:
    """``logits`` N x 1 x H x W, ``target`` N x H x W uint8 (0, 1 or IGNORE); a scalar loss."""
    logits = logits[:, 0].float()
    valid = (target != IGNORE).float()
    truth = (target == 1).float()
    count = valid.sum().clamp_min(1.0)
    bce = (F.binary_cross_entropy_with_logits(logits, truth, reduction="none") * valid).sum() / count
    probability = torch.sigmoid(logits) * valid
    intersection = (probability * truth).sum()
    dice = 1.0 - (2.0 * intersection + smooth) / (probability.sum() + truth.sum() + smooth)
    loss = bce + dice_weight * dice
    if cldice_weight:
        loss = loss + cldice_weight * soft_cldice_loss(probability, truth, valid)
    return loss


def _soft_erode(x: torch.Tensor) -> torch.Tensor:
    return torch.minimum(-F.max_pool2d(-x, (3, 1), 1, (1, 0)), -F.max_pool2d(-x, (1, 3), 1, (0, 1)))


def _soft_dilate(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, 3, 1, 1)


def soft_skeleton(x: torch.Tensor, iterations: int = CLDICE_ITERATIONS) -> torch.Tensor:
    """Differentiable skeleton of N x H x W probabilities (iterated soft opening, as in the paper)."""
    x = x[:, None]
    skeleton = F.relu(x - _soft_dilate(_soft_erode(x)))
    for _ in range(iterations):
        x = _soft_erode(x)
        delta = F.relu(x - _soft_dilate(_soft_erode(x)))
        skeleton = skeleton + F.relu(delta - skeleton * delta)
    return skeleton[:, 0]


def soft_cldice_loss(probability: torch.Tensor, truth: torch.Tensor, valid: torch.Tensor,
                     smooth: float = 1.0, iterations: int = CLDICE_ITERATIONS) -> torch.Tensor:
    """1 - clDice of soft masks: how much of each skeleton lies inside the other mask."""
    skeleton_p = soft_skeleton(probability, iterations) * valid
    skeleton_t = soft_skeleton(truth, iterations) * valid
    precision = ((skeleton_p * truth).sum() + smooth) / (skeleton_p.sum() + smooth)
    sensitivity = ((skeleton_t * probability).sum() + smooth) / (skeleton_t.sum() + smooth)
    return 1.0 - 2.0 * precision * sensitivity / (precision + sensitivity)
