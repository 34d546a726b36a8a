"""Thumbnail cache: made on demand, keyed by file identity, errors become tile status."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from roadseg_gui.core.statedb import TileStatus
from roadseg_gui.core.thumbnails import ThumbnailCache, make_thumbnail, thumbnail
from roadseg_gui.core.workspace import Workspace
from trainer.errors import BadInputError


def test_jpeg_thumbnail_is_small_cached_and_refreshed_on_change(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    image = ws.root / "unlabeled" / "big.jpg"
    Image.new("RGB", (1024, 512), (200, 10, 10)).save(image)
    ws.scan()
    assert ws.thumbnails.cached(image) is None
    path = ws.thumbnail("big")
    assert path.parent == ws.root / ".roadseg" / "thumbs"
    with Image.open(path) as im:
        assert im.size == (128, 64)
        assert abs(int(np.asarray(im)[30, 60, 0]) - 200) < 10
    assert ws.thumbnails.cached(image) == path
    small = thumbnail(ws, "big", 96)  # another size: its own cache entry, returned as pixels
    assert small.shape == (48, 96, 3) and small.dtype == np.uint8
    mtime = path.stat().st_mtime_ns
    assert ws.thumbnail("big") == path and path.stat().st_mtime_ns == mtime  # not made twice
    Image.new("RGB", (1024, 512), (0, 0, 200)).save(image)
    os.utime(image, ns=(mtime + 10**9, mtime + 10**9))
    assert ws.thumbnail("big") != path
    ws.accept("big", np.zeros((512, 1024), bool))  # the move keeps name and mtime: same thumbnail
    assert ws.thumbnails.cached(ws.image_path("big")) is not None


def test_16bit_geotiff_with_nodata(tmp_path):
    path = tmp_path / "scene.tif"
    data = np.full((3, 300, 600), 1000, np.uint16)
    data[:, :, 300:] = 3000
    data[:, :, :30] = 0
    with rasterio.open(path, "w", driver="GTiff", width=600, height=300, count=3, dtype="uint16", nodata=0,
                       crs="EPSG:32611", transform=from_origin(500000, 4000000, 1, 1)) as dst:
        dst.write(data)
    rgb = make_thumbnail(path, 100)
    assert rgb.shape == (50, 100, 3) and rgb.dtype == np.uint8
    assert rgb[25, 80, 0] > rgb[25, 20, 0] and rgb[25, 1, 0] == 0


def test_corrupt_and_empty_files_mark_the_tile(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    (ws.root / "unlabeled" / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    (ws.root / "unlabeled" / "bad.tif").write_bytes(b"II*\x00nonsense")
    ws.scan()
    for stem, make in (("cut", ws.thumbnail), ("bad", lambda s: thumbnail(ws, s, 96))):
        with pytest.raises(BadInputError):
            make(stem)
        assert ws.tile(stem).status == TileStatus.ERROR and ws.tile(stem).error
    with pytest.raises(BadInputError):
        ThumbnailCache(ws.root).get(ws.root / "unlabeled" / "missing.jpg")
    assert list((ws.root / ".roadseg" / "thumbs").iterdir()) == []
