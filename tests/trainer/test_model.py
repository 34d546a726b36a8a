"""The model: logits N x 1 x H x W, known backbones only, ImageNet weights from the hub cache when present."""

from __future__ import annotations

import logging

import pytest
import torch
from torchvision import models

from trainer.errors import BadInputError
from trainer.model import BACKBONES, RoadSegNet, build_model


@pytest.fixture(scope="module")
def mobilenet():
    torch.manual_seed(0)
    return build_model("mobilenet_v3_large")


def test_forward_gives_one_logit_per_pixel(mobilenet):
    mobilenet.eval()
    with torch.no_grad():
        out = mobilenet(torch.randn(2, 3, 72, 88))
    assert out.shape == (2, 1, 72, 88)
    assert isinstance(mobilenet, RoadSegNet) and mobilenet.backbone == "mobilenet_v3_large"
    assert mobilenet.net.aux_classifier is None
    assert not any(k.startswith("aux") for k in mobilenet.net.state_dict())


def test_unknown_backbone_is_refused():
    assert BACKBONES[0] == "mobilenet_v3_large"
    with pytest.raises(BadInputError, match="unknown backbone"):
        build_model("vgg16")


def test_pretrained_switched_off_says_scratch_once(monkeypatch, caplog):
    monkeypatch.setenv("ROADSEG_PRETRAINED", "0")
    with caplog.at_level(logging.WARNING, logger="trainer.model"):
        build_model("mobilenet_v3_large", pretrained_backbone=True)
    assert [r.getMessage() for r in caplog.records].count(
        "ImageNet weights for mobilenet_v3_large are not available (offline?): starting from scratch") == 1


def test_pretrained_weights_come_from_the_hub_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("ROADSEG_PRETRAINED", "1")
    old_dir = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    try:
        torch.manual_seed(123)
        reference = models.mobilenet_v3_large(weights=None)
        url = models.MobileNet_V3_Large_Weights.IMAGENET1K_V1.url
        (tmp_path / "checkpoints").mkdir()
        torch.save(reference.state_dict(), tmp_path / "checkpoints" / url.rsplit("/", 1)[1])
        model = build_model("mobilenet_v3_large", pretrained_backbone=True)
    finally:
        torch.hub.set_dir(old_dir)
    assert torch.equal(model.net.backbone["0"][0].weight, reference.features[0][0].weight)
    assert torch.equal(model.net.backbone["16"][0].weight, reference.features[16][0].weight)


def test_flag_choices_match_the_model_without_importing_torch():
    from trainer.train_args import BACKBONE_CHOICES
    assert BACKBONE_CHOICES == BACKBONES
