"""Plain PNG/TIFF inputs are ordinary: rasterio's NotGeoreferencedWarning and NodataShadowWarning never
reach a person's terminal from predict, eval, train or import-scene."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image

from trainer.artifact import ModelMeta, save_model_dir
from trainer.model import build_model
from trainer.synthetic import make_tile

ROOT = Path(__file__).resolve().parents[2]


def _plain_tif(path, image, nodata=None, alpha=False):
    bands = np.moveaxis(image, -1, 0)
    if alpha:
        bands = np.concatenate([bands, np.full((1, *image.shape[:2]), 255, np.uint8)])
    with rasterio.open(path, "w", driver="GTiff", width=image.shape[1], height=image.shape[0],
                       count=bands.shape[0], dtype="uint8", nodata=nodata) as dst:  # no CRS, no transform
        dst.write(bands)


def _roadseg(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "ROADSEG_PRETRAINED": "0"}
    return subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=240)


def test_no_rasterio_warnings_for_plain_images(tmp_path):
    data = tmp_path / "data"
    for split in ("train", "test"):
        (data / split / "images").mkdir(parents=True)
        (data / split / "masks").mkdir(parents=True)
        for i in range(2):
            image, mask = make_tile(64, seed=i + (10 if split == "test" else 0))
            stem = f"{split}{i}"
            _plain_tif(data / split / "images" / f"{stem}.tif", image, nodata=0 if i else None, alpha=bool(i))
            Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(data / split / "masks" / f"{stem}.png")
    Image.fromarray(make_tile(64, seed=5)[0]).save(tmp_path / "plain.png")
    model = save_model_dir(build_model("mobilenet_v3_large"), ModelMeta(image_size=64), tmp_path / "model")
    runs = {
        "predict": _roadseg("predict", "--model", str(model), str(data / "test" / "images"), str(tmp_path / "plain.png"),
                            "--out", str(tmp_path / "out"), "--tile", "64", "--overlap", "16", "--engine", "torch"),
        "eval": _roadseg("eval", "--model", str(model), "--data", str(data), "--device", "cpu"),
        "import-scene": _roadseg("import-scene", str(data / "train" / "images" / "train1.tif"), str(tmp_path / "ws"),
                                 "--chip", "32"),
        "train": _roadseg("train", "--data", str(data), "--out", str(tmp_path / "trained"), "--epochs", "1",
                          "--batch-size", "2", "--image-size", "64", "--workers", "0", "--pretrained", "false",
                          "--precise-bn-batches", "0"),
    }
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}: {run.stdout}\n{run.stderr}"
        for warning in ("NotGeoreferencedWarning", "NodataShadowWarning", "Warning:"):
            assert warning not in run.stderr, f"{name}: {run.stderr}"
