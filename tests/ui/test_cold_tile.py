"""A tile that was not decoded ahead shows its overview first, then its full resolution; both
neighbours in the browser's order are decoded ahead."""

import threading

import numpy as np
from PIL import Image

import roadseg_gui.ui.tile_loader as tile_loader
from ui_helpers import open_window

SIZE = 1536          # bigger than the overview (PREVIEW_PX), so a cold switch shows one
COLOURS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]


def big_tiles(root) -> list[str]:
    (root / "unlabeled").mkdir(parents=True)
    stems = []
    for i, colour in enumerate(COLOURS):
        stem = f"tile_{i:03d}"
        Image.fromarray(np.full((SIZE, SIZE, 3), colour, np.uint8)).save(root / "unlabeled" / f"{stem}.jpg")
        stems.append(stem)
    return stems


def test_a_cold_tile_shows_its_overview_before_its_full_resolution(qtbot, tmp_path, monkeypatch):
    stems = big_tiles(tmp_path / "ws")
    window = open_window(qtbot, tmp_path / "ws")
    editor, canvas, loader = window.editor, window.canvas, window.editor.loader
    qtbot.waitUntil(lambda: not loader._inflight, timeout=30000)   # the opening prefetches are done
    loader._cache.clear()                                           # nothing decoded ahead: a cold tile
    release = threading.Event()
    full_load = tile_loader.load_tile

    def slow_load(workspace, stem, *args):
        if stem == stems[2]:
            release.wait(30)             # the full resolution is held back until the overview is checked
        return full_load(workspace, stem, *args)

    monkeypatch.setattr(tile_loader, "load_tile", slow_load)
    try:
        window.browser.select(stems[2])
        qtbot.waitUntil(lambda: canvas.previewing, timeout=10000)
        assert editor.stem == stems[2] and editor.document is not None and editor._tile.stem != stems[2]
        assert canvas.image_size == (SIZE, SIZE)          # laid out at the tile's full size
        shot = canvas.grab().toImage()
        centre = shot.pixelColor(shot.width() // 2, shot.height() // 2)
        assert abs(centre.red() - 40) < 20 and abs(centre.blue() - 200) < 20   # the tile's overview, painted
    finally:
        release.set()
    qtbot.waitUntil(lambda: editor._tile is not None and editor._tile.stem == stems[2], timeout=30000)
    assert not canvas.previewing and editor.document.shape == (SIZE, SIZE)
    window.close()


def test_both_neighbours_are_decoded_ahead(qtbot, tmp_path):
    stems = big_tiles(tmp_path / "ws")
    window = open_window(qtbot, tmp_path / "ws")
    loader = window.editor.loader
    qtbot.waitUntil(lambda: not loader._inflight, timeout=30000)
    loader._cache.clear()
    window.browser.select(stems[2])
    qtbot.waitUntil(lambda: window.editor._tile is not None and window.editor._tile.stem == stems[2],
                    timeout=30000)
    qtbot.waitUntil(lambda: loader.cached(stems[1]) is not None and loader.cached(stems[3]) is not None,
                    timeout=30000)      # the one before and the one after, in the browser's order
    window.close()


def test_the_overview_of_a_big_geotiff_and_none_for_a_small_image(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    from roadseg_gui.core.thumbnails import overview

    path = tmp_path / "scene.tif"
    data = np.zeros((3, 1200, 1600), np.uint8)
    data[0] = 220                                      # red everywhere
    with rasterio.open(path, "w", driver="GTiff", width=1600, height=1200, count=3, dtype="uint8",
                       crs="EPSG:32633", transform=from_origin(500000, 4000000, 0.5, 0.5), tiled=True) as dst:
        dst.write(data)
    rgb, shape = overview(path, 512)
    assert shape == (1200, 1600) and max(rgb.shape[:2]) <= 512 and rgb[..., 0].mean() > 200
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((300, 300, 3), np.uint8)).save(small)
    assert overview(small, 512) is None                # its full decode is as quick: no overview
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    assert overview(tmp_path / "broken.jpg", 512) is None   # the full load says what is wrong
