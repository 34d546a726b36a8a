"""``--cldice-weight`` turns the soft clDice term of the loss on for a run (issue 21 measures it at 20 minutes);
off by default, and the run says when it is on."""

from __future__ import annotations

import json
import logging

import torch

import trainer.losses as losses
from trainer.synthetic import write_dataset
from trainer.train import fit
from trainer.train_args import config_from_args


def _config(tmp_path, *extra):
    data = write_dataset(tmp_path / "data", train=2, test=1, size=64, seed=3)
    return config_from_args(["--out", str(tmp_path / "model"), "--data", str(data), "--epochs", "1",
                             "--batch-size", "2", "--workers", "0", "--pretrained", "false",
                             "--precise-bn-batches", "1", "--device", "cpu", "--image-size", "64", *extra])


def test_the_clDice_term_is_off_unless_asked():
    assert config_from_args(["--out", "x"]).cldice_weight == 0.0
    assert config_from_args(["--out", "x", "--cldice-weight", "0.5"]).cldice_weight == 0.5


def test_a_run_with_cldice_weight_trains_on_the_clDice_term_and_says_so(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("ROADSEG_PRETRAINED", "0")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    calls = []
    real = losses.soft_cldice_loss

    def counted(*args, **kwargs):
        value = real(*args, **kwargs)
        calls.append(float(value.detach()))
        return value

    monkeypatch.setattr(losses, "soft_cldice_loss", counted)
    with caplog.at_level(logging.INFO, logger="trainer.train"):
        fit(_config(tmp_path, "--cldice-weight", "0.5"))
    assert calls and all(0.0 <= c <= 1.0 for c in calls)
    assert any("0.5 x soft clDice" in r.getMessage() for r in caplog.records)
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["hyperparameters"]["cldice_weight"] == 0.5
