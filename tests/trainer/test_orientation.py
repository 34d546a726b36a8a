"""``--orientation-weight``: orientation learning as an auxiliary, training-only head (issue 21). Targets from
hand-made roads, the flag, and a run that trains with the term and still writes the plain DeepLabV3 model."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch

import trainer.orientation as orientation
from trainer.artifact import load_model
from trainer.data import IGNORE
from trainer.model import build_model
from trainer.orientation import NO_ORIENTATION, OrientationTerm, orientation_targets
from trainer.predict import Predictor
from trainer.synthetic import make_tile, write_dataset
from trainer.train import fit
from trainer.train_args import config_from_args

SIZE = 64


def _road(kind: str, width: int = 6) -> torch.Tensor:
    """A 1 x 64 x 64 mask of one straight road: horizontal, vertical, or diagonal (down-right, up-right)."""
    mask = np.zeros((SIZE, SIZE), np.uint8)
    rows, columns = np.mgrid[0:SIZE, 0:SIZE]
    across = {"horizontal": rows - SIZE / 2, "vertical": columns - SIZE / 2,
              "down_right": (rows - columns) / np.sqrt(2), "up_right": (rows + columns - SIZE) / np.sqrt(2)}[kind]
    mask[np.abs(across) < width / 2] = 1
    return torch.from_numpy(mask)[None]


@pytest.mark.parametrize("stride", [1, 4])
@pytest.mark.parametrize("kind, expected", [("horizontal", 0), ("vertical", 8), ("down_right", 4), ("up_right", 12)])
def test_each_road_pixel_gets_the_bin_of_its_roads_direction(kind, expected, stride):
    road = _road(kind)
    bins = orientation_targets(road, stride=stride)
    if stride == 1:
        assert torch.all(bins[road == 0] == NO_ORIENTATION)
        scored = bins[road == 1]
    else:
        scored = bins[bins != NO_ORIENTATION]
    assert scored.numel() > 0.9 * (road == 1).sum() / stride ** 2
    assert (scored == expected).float().mean() > 0.9        # a cell at the tile's corner may lean one bin
    assert torch.all((scored - expected).abs() <= 1)


def test_ignored_pixels_and_empty_tiles_are_not_scored():
    road = _road("horizontal")
    road[:, :, :20] = IGNORE
    bins = orientation_targets(road)
    assert torch.all(bins[:, :, :20] == NO_ORIENTATION) and torch.all(bins[:, 32, 20:] == 0)
    empty = torch.zeros(2, SIZE, SIZE, dtype=torch.uint8)
    assert torch.all(orientation_targets(empty) == NO_ORIENTATION)
    assert float(orientation.orientation_loss(torch.randn(2, 16, 4, 4), empty)) == 0.0


def test_the_orientation_term_is_off_unless_asked_and_is_recorded():
    assert config_from_args(["--out", "x"]).orientation_weight == 0.0
    assert config_from_args(["--out", "x", "--orientation-weight", "0.5"]).orientation_weight == 0.5
    model = build_model()
    off = OrientationTerm(model, 0.0)
    assert off.parameters() == [] and off.loss(torch.zeros(1, 8, 8)) == 0.0
    assert not model.net.classifier[-1]._forward_pre_hooks


def test_the_head_learns_from_the_models_features_and_leaves_no_trace():
    torch.manual_seed(0)
    model = build_model().train()
    term = OrientationTerm(model, 1.0)
    road = torch.cat([_road("horizontal"), _road("vertical")])
    model(torch.randn(2, 3, SIZE, SIZE))
    loss = term.loss(road)
    loss.backward()
    assert 0 < float(loss.detach()) < 10
    assert all(p.grad is not None for p in term.parameters())
    assert model.net.classifier[1].weight.grad is not None      # the shared features learn from it too
    term.detach()
    assert not model.net.classifier[-1]._forward_pre_hooks
    assert set(model.state_dict()) == set(build_model().state_dict())


def test_a_run_with_orientation_weight_trains_on_the_term_and_writes_the_plain_model(tmp_path, monkeypatch,
                                                                                     caplog):
    monkeypatch.setenv("ROADSEG_PRETRAINED", "0")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    calls = []
    real = orientation.orientation_loss

    def counted(*args, **kwargs):
        value = real(*args, **kwargs)
        calls.append(float(value.detach()))
        return value

    monkeypatch.setattr(orientation, "orientation_loss", counted)
    data = write_dataset(tmp_path / "data", train=2, test=1, size=64, seed=3)
    out = tmp_path / "model"
    config = config_from_args(["--out", str(out), "--data", str(data), "--epochs", "1", "--batch-size", "2",
                               "--workers", "0", "--pretrained", "false", "--precise-bn-batches", "1",
                               "--device", "cpu", "--image-size", "64", "--orientation-weight", "0.5"])
    with caplog.at_level(logging.INFO, logger="trainer.train"):
        fit(config)
    assert calls and all(value > 0 for value in calls)
    assert any("0.5 x orientation" in r.getMessage() for r in caplog.records)
    assert json.loads((out / "model.json").read_text())["hyperparameters"]["orientation_weight"] == 0.5
    state = torch.load(out / "model.pth", map_location="cpu", weights_only=True)
    assert set(state) == set(build_model().net.state_dict())   # no head weights in the saved model
    loaded = load_model(out)
    image = make_tile(64, 5)[0]
    prediction = Predictor(loaded, device="cpu", engine="torch").predict(image)
    assert prediction.mask.shape == (64, 64) and prediction.probability.dtype == np.uint8
