"""Decompression bombs are refused before decoding; masks are read from channel 0, not luminance."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from roadseg_gui.core.thumbnails import make_thumbnail
from trainer import imageio
from trainer.errors import BadInputError


@pytest.fixture
def small_cap(monkeypatch):
    # A 2,000 x 2,000 PNG is "too big" under a 1 MP cap: the same code path as a real bomb, in milliseconds.
    monkeypatch.setattr(imageio, "MAX_IMAGE_PIXELS", 1_000_000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)


def _blank_png(path, side):
    Image.new("L", (side, side)).save(path)
    return path


@pytest.mark.parametrize("reader", [imageio.read_image, imageio.read_mask, make_thumbnail])
def test_oversized_image_is_refused_with_a_sentence(tmp_path, small_cap, reader):
    path = _blank_png(tmp_path / "bomb.png", 2_000)
    with pytest.raises(BadInputError) as err:
        reader(path)
    assert "MP limit" in str(err.value) or "decompression bomb" in str(err.value)
    assert "import-scene" in str(err.value)


def test_pil_guard_beyond_twice_the_cap_also_becomes_a_sentence(tmp_path, small_cap):
    path = _blank_png(tmp_path / "huge.png", 1_500)  # 2.25 MP: PIL itself raises DecompressionBombError
    with pytest.raises(BadInputError, match="limit"):
        imageio.image_size(path)


def test_jpeg_thumbnail_of_a_large_tile_decodes_at_reduced_scale(tmp_path, small_cap):
    path = tmp_path / "large.jpg"
    Image.new("RGB", (1_100, 1_100), (10, 200, 30)).save(path)  # 1.21 MP: over the cap; its 1/8 draft is not
    thumb = make_thumbnail(path, 128)
    assert thumb.shape == (128, 128, 3)


@pytest.mark.parametrize("mode", ["RGBA", "P", "RGB"])
def test_red_roads_in_colour_masks_are_read_from_channel_0(tmp_path, mode):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[2:4, :, 0] = 255  # red road: channel 0 = 255, luminance only 76
    image = Image.fromarray(rgb).convert(mode)
    path = tmp_path / f"mask_{mode}.png"
    image.save(path)
    mask = imageio.read_mask(path)
    assert mask.sum() == 16 and mask[2:4].all()


def test_zero_one_masks_and_soft_edges():
    assert imageio.binarize_mask(np.array([[0, 1, 1]], np.uint8)).tolist() == [[False, True, True]]
    assert imageio.binarize_mask(np.array([[0, 127, 128, 237]], np.uint8)).tolist() == [[False, False, True, True]]


def test_bomb_message_says_how_big_the_image_is(tmp_path, small_cap):
    path = _blank_png(tmp_path / "huge.png", 1_500)
    with pytest.raises(BadInputError, match=r"image is 2 MP, over the 1 MP limit"):
        imageio.read_image(path)
