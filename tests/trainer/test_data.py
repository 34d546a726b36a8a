"""Pairing by stem, every image kind, mask binarisation, bad pairs reported once, joint augmentation."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import rasterio
import torch
from PIL import Image
from rasterio.transform import from_origin

from trainer.data import (IGNORE, EvalTiles, RoadDataset, Unreadable, batches_by_size, list_pairs,
                          resolve_splits, split_directory)
from trainer.errors import DataError
from trainer.model import IMAGENET_MEAN, IMAGENET_STD
from trainer.synthetic import make_tile, write_dataset


def _split(root, name="train"):
    (root / name / "images").mkdir(parents=True)
    (root / name / "masks").mkdir(parents=True)
    return root / name


def _mask_png(path, mask, channels=1, values=(0, 255)):
    array = np.where(mask, values[1], values[0]).astype(np.uint8)
    if channels == 3:
        array = np.repeat(array[:, :, None], 3, axis=2)
    Image.fromarray(array).save(path)


def _tif(path, bands: np.ndarray, crs=None):
    profile = dict(driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                   dtype=bands.dtype)
    if crs:
        profile.update(crs=crs, transform=from_origin(600000, 5000000, 0.5, 0.5))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)


def _unnormalize(image: torch.Tensor) -> np.ndarray:
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return ((image * std + mean) * 255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()


def test_every_image_kind_loads_as_rgb(tmp_path):
    split = _split(tmp_path)
    rgb, mask = make_tile(40, seed=1)
    gray = rgb[:, :, 1]
    Image.fromarray(rgb).save(split / "images" / "a_jpeg.jpg", quality=95)
    Image.fromarray(rgb).save(split / "images" / "b_png.png")
    Image.fromarray(gray).save(split / "images" / "c_gray.png")
    Image.fromarray(np.dstack([rgb, np.full(gray.shape, 128, np.uint8)])).save(split / "images" / "d_rgba.png")
    _tif(split / "images" / "e_uint16.tif", (np.moveaxis(rgb, 2, 0).astype(np.uint16) * 40 + 1000))
    _tif(split / "images" / "f_float.tif", np.moveaxis(rgb, 2, 0).astype(np.float32) / 255.0 - 0.2)
    _tif(split / "images" / "g_geotiff.tif", np.moveaxis(rgb, 2, 0).copy(), crs="EPSG:32633")
    for stem in ("a_jpeg", "b_png", "c_gray", "d_rgba", "e_uint16", "f_float", "g_geotiff"):
        _mask_png(split / "masks" / f"{stem}.png", mask)
    files = list_pairs(split)
    assert [p.stem for p in files.pairs] == ["a_jpeg", "b_png", "c_gray", "d_rgba", "e_uint16", "f_float",
                                             "g_geotiff"] and not files.skipped
    dataset = RoadDataset(files.pairs)
    for index, pair in enumerate(files.pairs):
        image, target = dataset[index]
        assert image.shape == (3, 40, 40) and image.dtype == torch.float32, pair.stem
        assert torch.equal(target, torch.from_numpy(mask.astype(np.uint8))), pair.stem
        pixels = _unnormalize(image)
        if pair.stem == "c_gray":
            assert (pixels[:, :, 0] == pixels[:, :, 2]).all() and np.array_equal(pixels[:, :, 0], gray)
        elif pair.stem in ("b_png", "d_rgba", "g_geotiff"):
            assert np.array_equal(pixels, rgb), pair.stem
        elif pair.stem in ("e_uint16", "f_float"):  # 2-98 % stretch spans the 8-bit range
            assert pixels.min() == 0 and pixels.max() == 255, pair.stem
            assert np.corrcoef(pixels[:, :, 0].ravel(), rgb[:, :, 0].ravel())[0, 1] > 0.95


@pytest.mark.parametrize("kind", ["rgb_0_255", "gray_0_1", "soft_edges", "gray_0_255"])
def test_mask_binarisation(tmp_path, kind):
    split = _split(tmp_path)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(split / "images" / "t.png")
    truth = np.zeros((8, 8), bool)
    truth[2:5, :] = True
    if kind == "rgb_0_255":
        _mask_png(split / "masks" / "t.png", truth, channels=3)
    elif kind == "gray_0_1":
        _mask_png(split / "masks" / "t.png", truth, values=(0, 1))
    elif kind == "soft_edges":  # road 237, antialiased edges 90 and 140
        array = np.where(truth, 237, 0).astype(np.uint8)
        array[1, :], array[5, :] = 90, 140
        Image.fromarray(array).save(split / "masks" / "t.png")
        truth[5, :] = True
    else:
        _mask_png(split / "masks" / "t.png", truth)
    _, target = RoadDataset(list_pairs(split).pairs)[0]
    assert torch.equal(target, torch.from_numpy(truth.astype(np.uint8)))


def test_bad_pairs_are_reported_once_and_skipped(tmp_path, caplog):
    split = _split(tmp_path)
    image, mask = make_tile(32, seed=2)
    for stem in ("good", "no_mask", "wrong_size", "garbage", "dup"):
        Image.fromarray(image).save(split / "images" / f"{stem}.jpg")
    Image.fromarray(image).save(split / "images" / "dup.png")
    (split / "images" / "garbage.jpg").write_bytes(b"not a jpeg at all")
    (split / "images" / "notes.txt").write_text("ignored")
    for stem in ("good", "garbage", "dup"):
        _mask_png(split / "masks" / f"{stem}.png", mask)
    _mask_png(split / "masks" / "wrong_size.png", np.zeros((16, 32), bool))
    with caplog.at_level(logging.WARNING, logger="trainer.data"):
        files = list_pairs(split, "train")
    assert [p.stem for p in files.pairs] == ["dup", "good"]
    reasons = dict(files.skipped)
    assert set(reasons) == {"dup.png", "no_mask.jpg", "wrong_size.jpg", "garbage.jpg"}
    assert "no mask" in reasons["no_mask.jpg"] and "32x32 but its mask is 32x16" in reasons["wrong_size.jpg"]
    assert "same stem" in reasons["dup.png"] and "not a readable image" in reasons["garbage.jpg"]
    messages = [r.getMessage() for r in caplog.records]
    for name in reasons:
        assert sum(name in m for m in messages) == 1, name


def test_truncated_image_found_at_load_time_is_skipped_once(tmp_path, caplog):
    split = _split(tmp_path)
    image, mask = make_tile(64, seed=3)
    for stem in ("a", "b"):
        Image.fromarray(image).save(split / "images" / f"{stem}.jpg", quality=95)
        _mask_png(split / "masks" / f"{stem}.png", mask)
    data = (split / "images" / "a.jpg").read_bytes()
    (split / "images" / "a.jpg").write_bytes(data[: len(data) // 3])  # header intact, pixels cut
    dataset = RoadDataset(list_pairs(split).pairs)
    with caplog.at_level(logging.WARNING, logger="trainer.data"):
        for _ in range(3):
            image_t, _ = dataset[0]  # falls through to b
    assert image_t.shape == (3, 64, 64)
    assert sum("a.jpg" in r.getMessage() for r in caplog.records) == 1


def test_eval_tiles_never_substitute_an_unreadable_tile(tmp_path):
    split = _split(tmp_path)
    for stem, size in (("a", (64, 64)), ("b", (64, 64)), ("c", (40, 72)), ("d", (64, 64))):
        image, mask = make_tile(size, seed=4)
        Image.fromarray(image).save(split / "images" / f"{stem}.jpg", quality=95)
        _mask_png(split / "masks" / f"{stem}.png", mask)
    data = (split / "images" / "a.jpg").read_bytes()
    (split / "images" / "a.jpg").write_bytes(data[: len(data) // 3])  # header intact, pixels cut
    tiles = EvalTiles(list_pairs(split).pairs)
    first = tiles[0]
    assert isinstance(first, Unreadable) and first.name == "a.jpg" and first.reason
    name, image, target = tiles[1]
    assert name == "b.jpg" and image.dtype == np.uint8 and image.shape == (64, 64, 3)
    assert target.dtype == np.uint8 and set(np.unique(target)) <= {0, 1}
    assert tiles[2][1].shape == (40, 72, 3)
    # batches hold one size only, so no tile is padded to a neighbour's size
    assert batches_by_size(tiles.pairs, range(4), 2) == [[0, 1], [3], [2]]
    assert batches_by_size(tiles.pairs, range(1, 4, 2), 8) == [[1, 3]]


def test_empty_split_and_missing_folders_stop_with_a_clear_message(tmp_path):
    split = _split(tmp_path)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(split / "images" / "x.png")
    with pytest.raises(DataError, match="no usable image/mask pair in the train split"):
        list_pairs(split, "train")
    with pytest.raises(DataError, match="no test/images"):
        split_directory(tmp_path, "test")
    with pytest.raises(DataError, match="no training data"):
        resolve_splits(None)


def test_layouts_root_and_separate_channels(tmp_path):
    write_dataset(tmp_path / "root", train=2, test=1, size=32)
    train, test = resolve_splits(tmp_path / "root")
    assert (len(train.pairs), len(test.pairs)) == (2, 1)
    train2, test2 = resolve_splits(train=tmp_path / "root" / "train", test=tmp_path / "root" / "test")
    assert [p.stem for p in train2.pairs] == [p.stem for p in train.pairs] and len(test2.pairs) == 1
    with pytest.raises(DataError, match="same folder"):
        resolve_splits(train=tmp_path / "root" / "train", test=tmp_path / "root" / "train")


def test_augmentation_is_joint_and_pads_small_tiles(tmp_path):
    split = _split(tmp_path)
    image = np.zeros((40, 50, 3), np.uint8)
    image[:, :10] = 255  # a white band exactly where the road is
    mask = np.zeros((40, 50), bool)
    mask[:, :10] = True
    Image.fromarray(image).save(split / "images" / "t.png")
    _mask_png(split / "masks" / "t.png", mask)
    torch.manual_seed(0)
    dataset = RoadDataset(list_pairs(split).pairs, image_size=64, augment=True)
    white = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    for _ in range(12):
        image_t, target = dataset[0]
        assert image_t.shape == (3, 64, 64) and target.shape == (64, 64)
        assert int((target == IGNORE).sum()) == 64 * 64 - 40 * 50  # padding is ignored, not background
        bright = (image_t * torch.tensor(IMAGENET_STD).view(3, 1, 1) + white).mean(0) > 0.6
        assert torch.equal(bright, target == 1)  # colour jitter is mild: roads stay where the mask says


@pytest.mark.parametrize("level", ["none", "flips", "strong"])
def test_every_augmentation_strength_keeps_image_and_mask_together(tmp_path, level):
    split = _split(tmp_path)
    image = np.zeros((80, 80, 3), np.uint8)
    image[30:50, :] = 255  # a white road exactly where the mask is
    mask = np.zeros((80, 80), bool)
    mask[30:50, :] = True
    Image.fromarray(image).save(split / "images" / "t.png")
    _mask_png(split / "masks" / "t.png", mask)
    torch.manual_seed(0)
    dataset = RoadDataset(list_pairs(split).pairs, image_size=64, augment=level)
    white = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    for _ in range(8):
        image_t, target = dataset[0]
        assert image_t.shape == (3, 64, 64) and target.shape == (64, 64)
        grey = (image_t * torch.tensor(IMAGENET_STD).view(3, 1, 1) + white).mean(0)
        bright = grey > (grey.max() + grey.min()) / 2  # colour jitter moves both; the road stays brighter
        inside = target != IGNORE
        # resampling (strong: any angle and scale) may blur the road's edge by a pixel, no more
        agree = (bright == (target == 1))[inside].float().mean()
        assert agree > (0.97 if level == "strong" else 0.999)
    with pytest.raises(DataError, match="augmentation strength"):
        RoadDataset([], augment="extreme")
