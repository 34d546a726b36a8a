"""The road model: torchvision DeepLabV3 with one logit per pixel.

Only public torchvision APIs that exist in 0.20 (the AWS PyTorch 2.5 images) are used.
ImageNet backbone weights are loaded when they are in the torch hub cache or can be
downloaded quickly; otherwise training starts from scratch and says so once.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision import models
from torchvision.models import segmentation

log = logging.getLogger(__name__)

BACKBONES = ("mobilenet_v3_large", "resnet50", "resnet101")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ROAD_PRIOR = 0.05  # initial road probability of a fresh model

_BUILDERS = {
    "mobilenet_v3_large": (segmentation.deeplabv3_mobilenet_v3_large, models.MobileNet_V3_Large_Weights.IMAGENET1K_V1),
    "resnet50": (segmentation.deeplabv3_resnet50, models.ResNet50_Weights.IMAGENET1K_V1),
    "resnet101": (segmentation.deeplabv3_resnet101, models.ResNet101_Weights.IMAGENET1K_V1),
}
# Download attempts give up after this many seconds of socket silence (no network -> no hang).
DOWNLOAD_TIMEOUT_S = float(os.environ.get("ROADSEG_DOWNLOAD_TIMEOUT", "20"))


class RoadSegNet(nn.Module):
    """DeepLabV3 returning road logits N x 1 x H x W instead of torchvision's output dict."""

    def __init__(self, net: nn.Module, backbone: str):
        super().__init__()
        self.net = net
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)["out"]


def check_backbone(backbone: str) -> str:
    if backbone not in BACKBONES:
        from .errors import BadInputError
        raise BadInputError(f"unknown backbone {backbone!r}", f"Use one of: {', '.join(BACKBONES)}.")
    return backbone


def build_model(backbone: str = "mobilenet_v3_large", pretrained_backbone: bool = False) -> RoadSegNet:
    """A fresh model; with ``pretrained_backbone`` the ImageNet encoder weights are used when reachable."""
    builder, _ = _BUILDERS[check_backbone(backbone)]
    net = builder(weights=None, weights_backbone=None, num_classes=1, aux_loss=False)
    # Start the road logit at the prior (roads are a few % of pixels), as RetinaNet does for rare
    # classes: without it the first steps spend themselves pushing every pixel to background.
    nn.init.constant_(net.classifier[4].bias, math.log(ROAD_PRIOR / (1.0 - ROAD_PRIOR)))
    model = RoadSegNet(net, backbone)
    if pretrained_backbone:
        if not load_pretrained_backbone(model):
            log.warning("ImageNet weights for %s are not available (offline?): starting from scratch", backbone)
    return model


def pretrained_allowed() -> bool:
    """ROADSEG_PRETRAINED=0 turns pretrained weights off (tests, air-gapped machines)."""
    return os.environ.get("ROADSEG_PRETRAINED", "1").strip().lower() not in ("0", "false", "no", "off")


def load_pretrained_backbone(model: RoadSegNet) -> bool:
    """Copy ImageNet weights into the encoder; False when they cannot be had."""
    if not pretrained_allowed():
        return False
    _, weights = _BUILDERS[model.backbone]
    state = _fetch_state_dict(weights.url)
    if state is None:
        return False
    if model.backbone == "mobilenet_v3_large":
        # DeepLabV3 keeps mobilenet's `features` only, without the prefix.
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    else:
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = model.net.backbone.load_state_dict(state, strict=False)
    if missing or unexpected:
        log.warning("ImageNet weights for %s did not fit (%d missing, %d unexpected keys)",
                    model.backbone, len(missing), len(unexpected))
        return False
    log.info("using ImageNet weights for the %s backbone", model.backbone)
    return True


def _fetch_state_dict(url: str) -> dict | None:
    cached = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(url).path))
    try:
        if os.path.exists(cached):
            return torch.load(cached, map_location="cpu", weights_only=True)
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
        try:
            return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, weights_only=True)
        finally:
            socket.setdefaulttimeout(previous)
    except Exception as exc:  # no network, proxy refusal, truncated cache file...
        log.debug("could not load %s: %s", url, exc)
        return None


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
