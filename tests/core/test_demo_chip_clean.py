"""The demo's SpaceNet chip vegas_r1_c1 no longer shows the "Text" caption burnt into the source scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from PIL import Image, ImageDraw

from roadseg_gui.core.demo_build import ATTRIBUTION, CAPTION_BOX, remove_caption

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def test_the_shipped_chip_has_no_black_letters_where_the_caption_was():
    with rasterio.open(DEMO / "unlabeled" / "vegas_r1_c1.tif") as src:
        rgb = src.read([1, 2, 3])
    x0, y0, x1, y1 = CAPTION_BOX[(1, 1)]
    near_black = (rgb[:, y0:y1, x0:x1].max(axis=0) <= 10).sum()
    assert near_black < 20, f"{near_black} near-black pixels: the caption is still there"
    assert (DEMO / "ATTRIBUTION.md").read_text("utf-8") == ATTRIBUTION
    assert "inpainting" in ATTRIBUTION


def test_remove_caption_fills_black_text_from_its_surroundings():
    image = Image.new("RGB", (120, 80), (90, 80, 70))
    ImageDraw.Draw(image).text((20, 25), "Text", fill=(0, 0, 0), font_size=28)
    rgb = np.moveaxis(np.asarray(image), -1, 0)
    assert (rgb.max(axis=0) <= 6).sum() > 50
    cleaned = remove_caption(rgb, (10, 15, 110, 70))
    assert (cleaned.max(axis=0) <= 30).sum() == 0
    assert np.abs(cleaned.astype(int) - [[[90]], [[80]], [[70]]]).max() <= 12
