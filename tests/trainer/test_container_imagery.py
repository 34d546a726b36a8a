"""Local and SageMaker training see the same pairs, whatever imagery scene import wrote.

Scene import keeps a scene's dtype and band count, so chips can be 16-bit RGB or 8-band GeoTIFFs.
Pillow (all the training image has without trainer/requirements.txt) cannot decode those. The
container installs rasterio from requirements.txt; where rasterio is missing anyway (the Pillow-only
path, tested here by hiding rasterio), the run stops with a sentence naming it instead of training
on fewer pairs than local training would.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from trainer.data import list_pairs
from trainer.errors import BadInputError
from trainer.imageio import RasterioNeededError, image_size, read_image, write_mask_png
from trainer.jobs import sagemaker_backend

ROOT = Path(__file__).resolve().parents[2]


def _write_chip(path: Path, bands: int, dtype: str, size: int = 32) -> None:
    import rasterio
    from rasterio.transform import from_origin

    data = np.random.default_rng(bands).integers(0, 4000 if dtype == "uint16" else 255,
                                                 (bands, size, size)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=bands, dtype=dtype,
                           crs="EPSG:32611", transform=from_origin(500000, 4000000, 0.3, 0.3),
                           compress="deflate", tiled=False) as dst:
            dst.write(data)


@pytest.fixture
def chips(tmp_path):
    """A split with a JPEG pair, a 16-bit RGB GeoTIFF pair and an 8-band 16-bit GeoTIFF pair."""
    from PIL import Image

    split = tmp_path / "train"
    (split / "images").mkdir(parents=True)
    (split / "masks").mkdir()
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(split / "images" / "jpeg_chip.jpg")
    _write_chip(split / "images" / "rgb16_chip.tif", 3, "uint16")
    _write_chip(split / "images" / "eightband_chip.tif", 8, "uint16")
    for stem in ("jpeg_chip", "rgb16_chip", "eightband_chip"):
        write_mask_png(split / "masks" / f"{stem}.png", np.eye(32, dtype=bool))
    return split


@pytest.fixture
def without_rasterio(monkeypatch):
    """The Pillow-only path: `import rasterio` fails, as in an image without it."""
    for name in list(sys.modules):
        if name == "rasterio" or name.startswith("rasterio."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rasterio", None)


def test_with_rasterio_every_chip_is_a_pair(chips):
    found = list_pairs(chips, "train")
    assert sorted(p.stem for p in found.pairs) == ["eightband_chip", "jpeg_chip", "rgb16_chip"]
    assert found.skipped == []
    for pair in found.pairs:
        image = read_image(pair.image)
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8


def test_pillow_only_refuses_the_run_naming_rasterio_instead_of_dropping_pairs(chips, without_rasterio):
    with pytest.raises(ImportError):
        import rasterio  # noqa: F401
    with pytest.raises(RasterioNeededError) as caught:
        list_pairs(chips, "train")
    message = str(caught.value)
    assert "rasterio is not installed" in message and "trainer/requirements.txt" in message
    assert re.search(r"(eightband|rgb16)_chip\.tif: a (8|3)-band 16-bit TIFF", message)
    for name in ("rgb16_chip.tif", "eightband_chip.tif"):
        with pytest.raises(RasterioNeededError, match="band 16-bit TIFF"):
            read_image(chips / "images" / name)
        with pytest.raises(RasterioNeededError):
            image_size(chips / "images" / name)
    # an 8-bit image still reads without rasterio, and a corrupt one is still a skippable bad tile
    assert read_image(chips / "images" / "jpeg_chip.jpg").shape == (32, 32, 3)
    (chips / "images" / "broken.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(BadInputError) as bad:
        read_image(chips / "images" / "broken.tif")
    assert not isinstance(bad.value, RasterioNeededError)


def test_the_container_installs_the_same_rasterio_as_local_training(tmp_path):
    staged = sagemaker_backend.stage_source(tmp_path / "source")
    requirements = (staged / "trainer" / "requirements.txt").read_text("utf-8").splitlines()
    pinned = [line for line in requirements if line.startswith("rasterio")]
    local = [line for line in (ROOT / "constraints.txt").read_text("utf-8").splitlines()
             if line.startswith("rasterio==")]
    assert pinned == local and len(local) == 1
