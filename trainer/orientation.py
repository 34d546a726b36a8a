"""Orientation learning as an auxiliary training task (Batra et al., CVPR 2019, "Improved road connectivity
by joint learning of orientation and segmentation"): a small head on the DeepLabV3 head's penultimate
features predicts, for each road pixel, the road's direction in ORIENTATION_BINS bins over 180 degrees.

The head lives only while training: it reads the features through a hook on the model's last conv, and
``OrientationTerm.detach`` removes the hook before the model is saved, so model.pth, the ONNX export and
prediction are the plain DeepLabV3 model. Targets come from the batch's road mask on the fly (a structure
tensor of the mask's Sobel gradients: the road runs across its dominant gradient), in torch, no skeleton.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .data import IGNORE
from .errors import DataError

ORIENTATION_BINS = 16     # over 0..180 degrees: a road has a direction, not a heading
TENSOR_RADIUS = 10        # structure tensor window: about half the widest road, so a centre pixel sees both edges
MIN_COHERENCE = 0.25      # below it (junctions, road ends) the direction is ambiguous and the pixel not scored
NO_ORIENTATION = -1       # target of pixels that are not scored
LOSS_STRIDE = 4           # the loss is scored on 4 x 4 cells: at full size its upsampling tripled its cost

def _box_blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Box mean of N x C x H x W over (2 radius + 1)^2, edges replicated: running sums, so its cost does not
    grow with the radius."""
    size = 2 * radius + 1
    total = F.pad(x, (radius + 1, radius, radius + 1, radius), mode="replicate").cumsum(2)
    total = (total[:, :, size:] - total[:, :, :-size]).cumsum(3)
    return (total[:, :, :, size:] - total[:, :, :, :-size]) / (size * size)


def _sobel(road: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(d/dx, d/dy) of N x 1 x H x W by the Sobel kernels, edges replicated (slices: no conv)."""
    padded = F.pad(road, (1, 1, 1, 1), mode="replicate")
    across = padded[:, :, :, 2:] - padded[:, :, :, :-2]
    down = padded[:, :, 2:] - padded[:, :, :-2]
    gx = across[:, :, :-2] + 2.0 * across[:, :, 1:-1] + across[:, :, 2:]
    gy = down[:, :, :, :-2] + 2.0 * down[:, :, :, 1:-1] + down[:, :, :, 2:]
    return gx, gy


@torch.no_grad()
def orientation_targets(target: torch.Tensor, bins: int = ORIENTATION_BINS, radius: int = TENSOR_RADIUS,
                        min_coherence: float = MIN_COHERENCE, stride: int = 1) -> torch.Tensor:
    """Orientation bin (int64 N x H/stride x W/stride) of the road through each road cell of ``target``
    (N x H x W, 0, 1 or IGNORE); NO_ORIENTATION off the road, on IGNORE and where the direction is
    ambiguous. A cell of ``stride`` x ``stride`` pixels is road when any of its pixels is (thin roads stay)
    and holds no IGNORE pixel; ``radius`` is in pixels. Angles are in image coordinates (x right, y down):
    bin 0 is horizontal, bins/4 the diagonal down-right, bins/2 vertical; bin k covers k * 180/bins degrees
    +- half a bin."""
    road = (target == 1).float()[:, None]
    unknown = (target == IGNORE).float()[:, None]
    if stride > 1:
        cells = (F.max_pool2d(road, stride, ceil_mode=True) > 0) & (F.max_pool2d(unknown, stride, ceil_mode=True) == 0)
        road, radius = F.avg_pool2d(road, stride, ceil_mode=True), max(1, math.ceil(radius / stride))
    else:
        cells = road > 0
    gx, gy = _sobel(road)
    jxx, jyy, jxy = _box_blur(torch.cat([gx * gx, gy * gy, gx * gy], 1), radius).unbind(1)
    trace = jxx + jyy
    anisotropy = torch.sqrt((jxx - jyy) ** 2 + 4.0 * jxy ** 2)
    gradient_angle = 0.5 * torch.atan2(2.0 * jxy, jxx - jyy)         # dominant gradient, mod pi
    road_angle = torch.remainder(gradient_angle + math.pi / 2, math.pi)  # the road runs across it
    width = math.pi / bins
    bin_index = torch.floor((road_angle + width / 2) / width).long() % bins
    scored = cells[:, 0] & (trace > 1e-2) & (anisotropy >= min_coherence * trace)
    return torch.where(scored, bin_index, torch.full_like(bin_index, NO_ORIENTATION))


def orientation_loss(orientation_logits: torch.Tensor, target: torch.Tensor, stride: int = LOSS_STRIDE
                     ) -> torch.Tensor:
    """Cross-entropy of N x bins x h x w logits, upsampled to the cells of ``orientation_targets(target,
    stride=stride)``, over the scored road cells; 0 for a batch without any."""
    targets = orientation_targets(target, orientation_logits.shape[1], stride=stride)
    logits = F.interpolate(orientation_logits.float(), size=targets.shape[-2:], mode="bilinear", align_corners=False)
    total = F.cross_entropy(logits, targets, ignore_index=NO_ORIENTATION, reduction="sum")
    return total / (targets != NO_ORIENTATION).sum().clamp_min(1)


class OrientationTerm:
    """The auxiliary head and its loss for one training run of ``model`` (a RoadSegNet). ``weight`` 0: off
    (no head, no hook, no parameters, a loss of 0). The head is not checkpointed: a resumed run starts it
    afresh, which an auxiliary task can afford."""

    def __init__(self, model: nn.Module, weight: float, bins: int = ORIENTATION_BINS, distributed: bool = False):
        self.weight = float(weight)
        self.head: nn.Module | None = None
        self._logits: torch.Tensor | None = None
        self._hook = None
        if not self.weight:
            return
        if distributed:
            raise DataError("--orientation-weight works in single-process runs only",
                            "Train on one device, or leave --orientation-weight at 0.")
        final_conv = model.net.classifier[-1]   # DeepLabHead: ASPP, conv, BN, ReLU, this 1x1 conv
        channels = final_conv.in_channels
        parameter = next(final_conv.parameters())
        self.head = nn.Sequential(nn.Conv2d(channels, 64, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(64, bins, 1)).to(parameter.device)
        self._hook = final_conv.register_forward_pre_hook(self._read_features)

    def _read_features(self, module, inputs) -> None:
        # only in training steps: test passes and BatchNorm re-estimation run without gradients
        if module.training and torch.is_grad_enabled():
            self._logits = self.head(inputs[0])

    def parameters(self) -> list:
        return list(self.head.parameters()) if self.head is not None else []

    def loss(self, target: torch.Tensor) -> torch.Tensor | float:
        """weight x orientation loss of the last training forward pass; 0 when off."""
        if self.head is None:
            return 0.0
        if self._logits is None:
            raise RuntimeError("the orientation head saw no training forward pass")
        logits, self._logits = self._logits, None
        return self.weight * orientation_loss(logits, target)

    def detach(self) -> None:
        """Remove the hook: the model is the plain DeepLabV3 model again (before saving it)."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        self._logits = None
