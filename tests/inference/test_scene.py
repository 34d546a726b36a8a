"""Whole-scene GeoTIFF prediction: equals tiled prediction, keeps CRS/transform/nodata, COG, bad rasters."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from trainer.errors import BadInputError
from trainer.predict import Predictor, probability_to_uint8
from trainer.scene import predict_scene
from trainer.tiling import predict_tiled

CRS = "EPSG:32618"
TRANSFORM = from_origin(500000.0, 4000000.0, 0.5, 0.5)


def engine(batch: np.ndarray) -> np.ndarray:
    """Depends on the pixel and on its place in the window, so a wrong grid or blend shows."""
    _, h, w, _ = batch.shape
    place = np.linspace(0, 1, h)[:, None] * np.linspace(0, 1, w)[None, :]
    return (batch[..., 0] / 255.0 * 0.6 + 0.3 * place).astype(np.float32)


def write_scene(path, image: np.ndarray, nodata=0, dtype="uint8", **extra):
    with rasterio.open(path, "w", driver="GTiff", width=image.shape[1], height=image.shape[0], count=image.shape[2],
                       dtype=dtype, crs=CRS, transform=TRANSFORM, nodata=nodata, **extra) as dst:
        dst.write(np.moveaxis(image, -1, 0))
    return path


def test_scene_equals_tiled_prediction_and_keeps_georeferencing(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(1, 256, (300, 1100, 3), dtype=np.uint8)
    image[:40, :70] = 0  # a nodata corner
    src = write_scene(tmp_path / "scene.tif", image)
    result = predict_scene(src, tmp_path / "out", engine, tile=128, overlap=32, batch_size=3,
                           stripe_width=512)  # three stripes
    expected = probability_to_uint8(predict_tiled(image, engine, tile=128, overlap=32))
    with rasterio.open(result.probability) as prob, rasterio.open(result.mask) as mask:
        for out in (prob, mask):
            assert out.crs.to_epsg() == 32618 and out.transform == TRANSFORM
            assert (out.width, out.height) == (1100, 300) and out.profile["tiled"]
            assert out.nodata == 1  # the input's 0 is the mask's background class
            assert out.compression is not None
        p, m = prob.read(1), mask.read(1)
    nodata = np.zeros((300, 1100), bool)
    nodata[:40, :70] = True
    assert (p[nodata] == 1).all() and (m[nodata] == 1).all()
    assert (p[~nodata] != 1).all() and set(np.unique(m[~nodata])) <= {0, 255}
    ok = ~nodata & (expected != 1)
    np.testing.assert_array_equal(p[ok], expected[ok])
    np.testing.assert_array_equal(m[~nodata] == 255, (expected >= 127.5)[~nodata])
    assert 0 < result.uncertainty <= 1 and result.tiles > 0


def test_cog_and_16_bit_input(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(100, 4000, (200, 260, 3)).astype(np.uint16)
    src = write_scene(tmp_path / "u16.tif", image, nodata=None, dtype="uint16")
    result = predict_scene(src, tmp_path, engine, tile=64, overlap=16, cog=True, write_probability=False)
    assert result.probability is None
    with rasterio.open(result.mask) as out:
        assert out.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert out.nodata is None and out.crs.to_epsg() == 32618
        assert set(np.unique(out.read(1))) <= {0, 255}
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp.tif")]


def test_real_landsat_scene_keeps_crs_transform_and_nodata(tmp_path, shared_data, deeplab_model):
    path = os.path.join(shared_data, "landsat-rgb-byte", "RGB.byte.tif")
    if not os.path.exists(path):
        pytest.skip("RGB.byte.tif is not in ../shared/data")
    predictor = Predictor(deeplab_model, tile=256, overlap=32)
    result = predictor.predict_scene(path, tmp_path)
    with rasterio.open(path) as src, rasterio.open(result.mask) as out:
        assert out.crs == src.crs and out.transform == src.transform and out.shape == src.shape
        assert out.tags()["model_version"] == "calibrated"
        invalid = src.dataset_mask() == 0
        values = out.read(1)
    assert invalid.any() and (values[invalid] == out.nodata).all()
    assert (values[~invalid] != out.nodata).all()


def test_bad_rasters_are_clear_errors(tmp_path):
    good = write_scene(tmp_path / "good.tif", np.full((64, 64, 3), 9, np.uint8))
    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes(good.read_bytes()[:300])
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    five = write_scene(tmp_path / "five.tif", np.zeros((32, 32, 5), np.uint8))
    for bad, words in ((truncated, "truncated"), (empty, "empty"), (five, "5 bands"),
                       (tmp_path / "missing.tif", "not found")):
        with pytest.raises(BadInputError, match=words) as info:
            predict_scene(bad, tmp_path / "out", engine, tile=64, overlap=16)
        assert bad.name in str(info.value)
    result = predict_scene(five, tmp_path / "out", engine, tile=64, overlap=16, bands=(5, 3, 2))
    assert result.mask.exists()
