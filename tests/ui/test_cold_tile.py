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
