"""What the field tests of the CLI share: the real `roadseg` as a process, an untrained model, GeoTIFFs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parents[2]


def roadseg(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    return save_model_dir(build_model("mobilenet_v3_large"), ModelMeta(), tmp_path_factory.mktemp("m") / "model")


def geotiff(path: Path, values: np.ndarray, **extra) -> Path:
    bands = values[None] if values.ndim == 2 else values
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                       dtype="uint8", crs="EPSG:32633", transform=from_origin(300000, 5000000, 0.5, 0.5),
                       **extra) as dst:
        dst.write(bands)
    return path
