"""The training crop follows the device: 256 px on a CPU (the recipe that learns fastest there), 512 on a GPU;
the first line of the log says which was chosen and why."""

from __future__ import annotations

import json
import logging

import torch

from trainer.synthetic import write_dataset
from trainer.train import fit
from trainer.train_args import CPU_CROP, GPU_CROP, choose_crop, config_from_args


def test_the_crop_follows_the_device_unless_asked():
    assert choose_crop(None, cuda=False)[0] == CPU_CROP == 256
    assert choose_crop(None, cuda=True)[0] == GPU_CROP == 512
    assert choose_crop(384, cuda=False) == (384, "--image-size")
    assert config_from_args(["--out", "x"]).image_size is None          # decided once the device is known
    assert config_from_args(["--out", "x", "--image-size", "512"]).image_size == 512


def test_a_cpu_run_without_image_size_trains_on_256_px_crops_and_says_so_first(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("ROADSEG_PRETRAINED", "0")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    data = write_dataset(tmp_path / "data", train=2, test=1, size=64, seed=2)
    config = config_from_args(["--out", str(tmp_path / "model"), "--data", str(data), "--epochs", "1",
                               "--batch-size", "2", "--workers", "0", "--pretrained", "false",
                               "--precise-bn-batches", "1", "--device", "cpu"])
    with caplog.at_level(logging.INFO, logger="trainer.train"):
        fit(config)
    first = [r.getMessage() for r in caplog.records if r.name == "trainer.train"][0]
    assert first.startswith("training crop 256 px (the CPU default") and "device cpu" in first
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["hyperparameters"]["image_size"] == 256 and meta["image_size"] == 256
