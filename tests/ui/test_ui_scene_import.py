"""Import scene from the GUI: chip size and overlap, chips with shifted transforms, ETA, cancel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QPushButton

from roadseg_gui.ui.workers import Cancelled, Succeeded

rasterio = pytest.importorskip("rasterio")


def _scene(path, width, height, pixel=0.5):
    from rasterio.transform import from_origin

    rng = np.random.default_rng(3)
    data = rng.integers(0, 255, (3, height, width), dtype=np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8",
                       crs="EPSG:32611", transform=from_origin(500000.0, 4000000.0, pixel, pixel)) as dst:
        dst.write(data)
    return data


def _run(qtbot, window, scene, chip, overlap):
    from roadseg_gui.ui.scene_import_dialog import run_scene_import

    outcomes = []
    dialog, cancel = run_scene_import(window, scene, chip=chip, overlap=overlap, on_finished=outcomes.append)
    return dialog, cancel, outcomes


def test_options_dialog_defaults_and_overlap_limit(qtbot):
    from roadseg_gui.ui.scene_import_dialog import SceneImportOptions

    options = SceneImportOptions(None, "scene.tif")
    qtbot.addWidget(options)
    assert options.values() == (512, 0)
    options.chip.setValue(128)
    options.overlap.setValue(500)  # clamped: an overlap must be smaller than the chip
    assert options.values() == (128, 127)


def test_eta_text():
    from roadseg_gui.ui.scene_import_dialog import eta_text

    assert eta_text(3, 12, 6.0) == "3 of 12 chips, about 18 s left"
    assert eta_text(12, 12, 30.0) == "12 of 12 chips"
    assert eta_text(0, 12, 0.0) == "0 of 12 chips, estimating time left…"


def test_import_scene_cuts_georeferenced_chips_into_unlabeled(qtbot, window, tmp_path):
    scene = tmp_path / "scene.tif"
    data = _scene(scene, 300, 200)
    dialog, _, outcomes = _run(qtbot, window, scene, chip=128, overlap=32)
    qtbot.waitUntil(lambda: bool(outcomes), timeout=20000)
    assert isinstance(outcomes[0], Succeeded)
    # columns start at 0, 96 and 172 (the last flush with the edge); rows at 0 and 72
    expected = {f"scene_r{r:03d}_c{c:03d}": (x, y) for r, y in enumerate((0, 72)) for c, x in enumerate((0, 96, 172))}
    unlabeled = window.workspace.root / "unlabeled"
    assert {p.stem for p in unlabeled.glob("scene_*.tif")} == set(expected)
    for stem, (x, y) in expected.items():
        with rasterio.open(unlabeled / f"{stem}.tif") as chip:
            assert (chip.width, chip.height) == (128, 128)
            assert chip.crs.to_epsg() == 32611
            assert chip.transform.c == pytest.approx(500000.0 + x * 0.5)
            assert chip.transform.f == pytest.approx(4000000.0 - y * 0.5)
            assert np.array_equal(chip.read(), data[:, y:y + 128, x:x + 128])
    assert dialog.labelText() == "6 of 6 chips"
    assert set(expected) <= set(window.browser.model.stems())
    assert any("6 chips written" in e and "32 px overlap" in e for e in window.log_panel.entries())


def test_import_scene_cancel_keeps_the_chips_so_far(qtbot, window, tmp_path):
    scene = tmp_path / "big.tif"
    _scene(scene, 1024, 1024)
    dialog, _, outcomes = _run(qtbot, window, scene, chip=64, overlap=0)
    dialog.findChild(QPushButton).click()  # the dialog's Cancel button
    qtbot.waitUntil(lambda: bool(outcomes), timeout=20000)
    assert isinstance(outcomes[0], Cancelled)
    written = list((window.workspace.root / "unlabeled").glob("big_*.tif"))
    assert len(written) < 256
    assert any("cancelled" in e for e in window.log_panel.entries())
