"""The CUDA paths: autocast dtype, channels_last, batched prediction, AMP training, DDP under torchrun, scenes.

Marked ``cuda``: CI has no GPU, so each test is skipped there with the reason shown
(``pytest -rs``); ``bench/gpu_check.sh`` runs them on a GPU machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (run bench/gpu_check.sh)")]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    torch.manual_seed(0)
    return save_model_dir(build_model("mobilenet_v3_large").eval(), ModelMeta(),
                          tmp_path_factory.mktemp("cuda") / "model")


def test_the_autocast_dtype_follows_the_compute_capability():
    from trainer.devices import amp_dtype

    expected = torch.bfloat16 if torch.cuda.get_device_capability(0) >= (8, 0) else torch.float16
    assert amp_dtype("cuda:0") == expected


def test_cuda_prediction_agrees_with_the_cpu(model_dir):
    from trainer.predict import Predictor
    from trainer.synthetic import make_tile

    tiles = [make_tile(512, seed)[0] for seed in range(4)]
    gpu = Predictor(model_dir, device="cuda", tile=512)
    cpu = Predictor(model_dir, device="cpu", tile=512, engine="torch")
    assert "CUDA" in gpu.describe()
    for tile in tiles:
        a, b = gpu.predict(tile), cpu.predict(tile)
        # autocast (bf16/fp16) against fp32: probabilities agree to a few 1/255 steps
        assert np.mean(np.abs(a.probability.astype(int) - b.probability.astype(int))) < 3


def test_training_steps_run_with_amp_and_learn(tmp_path):
    from trainer.synthetic import write_dataset
    from trainer.train import TrainConfig, fit

    data = write_dataset(tmp_path / "data", train=8, test=2, size=64, seed=3)
    config = TrainConfig(out=str(tmp_path / "model"), data=str(data), epochs=2, batch_size=4, lr=3e-3,
                         image_size=64, workers=2, seed=0, pretrained=False, device="cuda")
    result = fit(config)
    assert (tmp_path / "model" / "model.pth").is_file()
    assert np.isfinite(result.get("train_loss", result.get("final_train_loss", 0.0)))


def test_ddp_under_torchrun_trains_one_epoch(tmp_path):
    from trainer.synthetic import write_dataset

    data = write_dataset(tmp_path / "data", train=8, test=2, size=64, seed=3)
    env = dict(os.environ, ROADSEG_PRETRAINED="0")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1",
                           "-m", "trainer.train", "--data", str(data), "--out", str(tmp_path / "model"),
                           "--epochs", "1", "--batch-size", "4", "--image-size", "64", "--pretrained", "false",
                           "--device", "cuda"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (tmp_path / "model" / "model.pth").is_file()


def test_a_scene_is_predicted_on_cuda_in_bounded_gpu_memory(model_dir, tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    from trainer.predict import Predictor

    scene = tmp_path / "scene.tif"
    with rasterio.open(scene, "w", driver="GTiff", width=3000, height=2000, count=3, dtype="uint8",
                       crs="EPSG:32618", transform=from_origin(500000, 4100000, 0.5, 0.5), tiled=True) as dst:
        dst.write(np.random.default_rng(0).integers(0, 255, (3, 2000, 3000), dtype=np.uint8))
    torch.cuda.reset_peak_memory_stats()
    result = Predictor(model_dir, device="cuda", tile=512).predict_scene(scene, tmp_path / "out")
    with rasterio.open(result.mask) as mask:
        assert mask.crs.to_epsg() == 32618 and (mask.width, mask.height) == (3000, 2000)
    assert torch.cuda.max_memory_allocated() < 4 * 2**30
