"""Tiny models for the inference tests: no downloads, no training, a second or two to build."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from trainer.artifact import LoadedModel, ModelMeta, save_model_dir
from trainer.model import build_model
from trainer.synthetic import make_tile


def calibrated_deeplab(seed: int = 0):
    """A random-init DeepLabV3-MobileNetV3 whose BatchNorm statistics are fitted to a few tiles.

    Random init with default BN statistics gives a constant output; refitting the statistics
    (no training) gives a model whose output varies with the image, which these tests need.
    """
    torch.manual_seed(seed)
    model = build_model("mobilenet_v3_large")
    images = np.stack([make_tile(96, i)[0] for i in range(4)])
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


class LocalNet(nn.Module):
    """A small fully convolutional net (receptive field 7 px): no global context, so tiling is exact."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                                  nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1))

    def forward(self, x):
        return self.body(x) * 20.0


@pytest.fixture(scope="session", autouse=True)
def onnx_cache_in_tmp(tmp_path_factory):
    """Exports of in-memory models go to a temp folder, not the user's cache."""
    previous = os.environ.get("ROADSEG_ONNX_CACHE")
    os.environ["ROADSEG_ONNX_CACHE"] = str(tmp_path_factory.mktemp("onnx-cache"))
    yield
    if previous is None:
        os.environ.pop("ROADSEG_ONNX_CACHE", None)
    else:
        os.environ["ROADSEG_ONNX_CACHE"] = previous


@pytest.fixture(scope="session")
def deeplab_model() -> LoadedModel:
    return LoadedModel(calibrated_deeplab(), ModelMeta(version="calibrated"), None, [])


@pytest.fixture(scope="session")
def deeplab_dir(tmp_path_factory, deeplab_model):
    return save_model_dir(deeplab_model.model, ModelMeta(), tmp_path_factory.mktemp("models") / "m1")


@pytest.fixture(scope="session")
def local_model() -> LoadedModel:
    return LoadedModel(LocalNet().eval(), ModelMeta(version="local"), None, [])


@pytest.fixture(scope="session")
def trained_dir(built_once):
    """A model folder trained for one epoch by trainer.train.fit on 8 synthetic 64 px tiles (~4 s), once per
    test run: the xdist workers share it. Its data is beside it (``trained_dir.parent / "data"``).

    Unlike the calibrated random-init models, its output on random noise differs between
    ONNX Runtime and torch by 1e-2 or more (ordinary fp32 noise), as real models' does.
    Tests that change a model copy it first.
    """
    return built_once("trained-one-epoch", _train_one_epoch) / "model"


def _train_one_epoch(root):
    import contextlib
    import io

    from trainer.synthetic import write_dataset
    from trainer.train import TrainConfig, fit

    data = write_dataset(root / "data", train=8, test=2, size=64, seed=3)
    config = TrainConfig(out=str(root / "model"), data=str(data), epochs=1, batch_size=4, lr=3e-3,
                         image_size=64, workers=0, seed=0, pretrained=False, precise_bn_batches=2)
    previous_env, threads = os.environ.get("ROADSEG_PRETRAINED"), torch.get_num_threads()
    os.environ["ROADSEG_PRETRAINED"] = "0"
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            fit(config)
    finally:
        torch.set_num_threads(threads)
        if previous_env is None:
            os.environ.pop("ROADSEG_PRETRAINED", None)
        else:
            os.environ["ROADSEG_PRETRAINED"] = previous_env
