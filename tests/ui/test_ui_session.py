"""Session behaviour: autosave on tile switch, overlays toggle, the no-model banner, quitting with a
failed save asks, predictions from a real model in the worker process, and the app entry point."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox
from ui_helpers import click, fixed_view

from roadseg_gui.core.workspace import Workspace


def test_switching_tiles_autosaves_at_once_and_coming_back_restores_the_edit(qtbot, window):
    first = window.editor.stem
    window.set_tool("brush")
    fixed_view(window.canvas)
    click(window.canvas, 40.5, 40.5)
    edited = window.editor.document.mask.copy()
    window.actions.next_tile.trigger()   # well before the 1 s debounce
    edit_file = window.workspace.edit_path(first)
    qtbot.waitUntil(edit_file.exists, timeout=15000)
    assert np.array_equal(Workspace.open(window.workspace.root).working_mask(first), edited)
    qtbot.waitUntil(lambda: window.workspace.tile(first).status == "edited", timeout=15000)
    window.actions.previous_tile.trigger()
    qtbot.waitUntil(lambda: window.editor.stem == first and window.editor.document is not None, timeout=15000)
    assert np.array_equal(window.editor.document.mask, edited)
    window.undo_action.trigger()  # the tile's undo history survived the round trip
    assert not window.editor.document.mask.any()


def test_space_toggles_the_overlays_and_the_banner_says_there_is_no_model(qtbot, window):
    assert window.banner.isVisible() and "No model is configured" in window.banner.label.text()
    assert window.banner.secondary.text() == "Train a model…"
    window.banner.secondary.click()  # panels not loaded (side_panels=False): says so instead of failing
    log_lines = [window.log_panel.list.item(i).text() for i in range(window.log_panel.list.count())]
    assert any("still loading" in line for line in log_lines)
    window.retrain_dock = window._dock("Retrain", QLabel("retrain"), Qt.RightDockWidgetArea)
    window.retrain_dock.hide()
    window.banner.secondary.click()  # the banner's Train button brings the Retrain panel forward
    assert window.retrain_dock.isVisible()
    assert not window.panel.use_prediction.isEnabled(), "nothing to use before a prediction exists"
    assert window.canvas.overlays_visible
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_Space)
    assert not window.canvas.overlays_visible and not window.actions.toggle_overlays.isChecked()
    qtbot.keyClick(window.canvas, Qt.Key_Space)
    assert window.canvas.overlays_visible


def test_quitting_when_a_save_failed_asks_and_can_be_cancelled(qtbot, window, monkeypatch):
    stem = window.editor.stem
    window.set_tool("brush")
    fixed_view(window.canvas)
    click(window.canvas, 20.5, 20.5)

    def disk_full(*_args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(type(window.workspace), "save_working_mask", disk_full)
    asked = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: asked.append(a[2]) or QMessageBox.Cancel)
    window.ask_on_quit = True
    assert not window.close(), "Cancel keeps the window open"
    assert asked and stem in asked[0] and "No space left" in asked[0]
    assert any("Free some disk space" in line for line in window.log_panel.entries())
    monkeypatch.undo()
    window.ask_on_quit = False
    assert window.close()
    assert Workspace.open(window.workspace.root).working_mask(stem)[20, 20]


@pytest.mark.slow
def test_a_real_model_predicts_the_tile_on_screen_in_the_worker_process(qtbot, workspace_root, tmp_path):
    torch = pytest.importorskip("torch")
    from ui_helpers import open_window

    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    torch.manual_seed(0)
    model_dir = save_model_dir(build_model("mobilenet_v3_large").eval(), ModelMeta(), tmp_path / "model")
    window = open_window(qtbot, workspace_root)
    try:
        stem = window.editor.stem
        with qtbot.waitSignal(window.prediction.prediction_ready, timeout=90000,
                              check_params_cb=lambda s, _p: s == stem):
            window.activate_model(str(model_dir))
        assert window.editor.probability is not None
        assert window.editor.probability.shape == window.editor.document.shape
        assert "Model" in window.status_model.text() and "CPU" in window.status_model.text()
        assert not window.banner.isVisible()
        assert window.workspace.tile(stem).model_version
        assert Workspace.open(workspace_root).settings.active_model == str(model_dir)
    finally:
        window.close()


def test_roadseg_gui_opens_the_given_workspace(qtbot, workspace_root, monkeypatch):
    from roadseg_gui import app
    from roadseg_gui.ui import menus

    monkeypatch.setattr(app, "_setup_logging", lambda: None)          # no log file in the user's home
    monkeypatch.setattr(menus, "embed_side_panels", lambda *a: None)  # their imports are slow (torch)
    _app, window = app.start([str(workspace_root)])                   # main() = start() + exec()
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.editor.document is not None, timeout=30000)
        assert window.workspace.root == workspace_root.resolve()
        assert window.windowTitle().endswith(workspace_root.name)
    finally:
        window.ask_on_quit = False
        window.close()


def test_roadseg_gui_without_a_workspace_opens_the_demo(qtbot, tmp_path, monkeypatch):
    from roadseg_gui import app
    from roadseg_gui.ui import menus

    demo = tmp_path / "demo"
    from ui_helpers import write_tiles
    write_tiles(demo, 2)
    monkeypatch.setattr(app, "_setup_logging", lambda: None)
    monkeypatch.setattr(menus, "embed_side_panels", lambda *a: None)
    monkeypatch.setattr(app, "demo_workspace", lambda: demo)
    _app, window = app.start([])
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.editor.document is not None, timeout=30000)
        assert window.workspace.root == demo.resolve()
    finally:
        window.ask_on_quit = False
        window.close()


def test_import_images_adds_tiles_and_the_workspace_goes_on_the_recent_list(qtbot, window, tmp_path,
                                                                            monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    from ui_helpers import write_tiles

    outside = tmp_path / "outside"
    write_tiles(outside, 2, seed=50)
    files = sorted(str(p) for p in (outside / "unlabeled").iterdir())
    (outside / "unlabeled" / "notes.txt").write_text("not an image")
    files.append(str(outside / "unlabeled" / "notes.txt"))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: (files, ""))
    before = window.browser.model.rowCount()
    window.actions.import_images.trigger()
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == before, timeout=1000)  # same stems: skipped
    qtbot.waitUntil(lambda: any("Import images" in e for e in window.log_panel.entries()), timeout=15000)
    log = "\n".join(window.log_panel.entries())
    assert "0 added" in log and "notes.txt" in log and "already in the workspace" in log

    renamed = tmp_path / "renamed"
    renamed.mkdir()
    for i, f in enumerate(files[:2]):
        (renamed / f"new_{i}.png").write_bytes(open(f, "rb").read())
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *a, **k: ([str(p) for p in sorted(renamed.iterdir())], ""))
    window.actions.import_images.trigger()
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == before + 2, timeout=15000)
    assert window.browser.model.row_of("new_0") >= 0
    recent = [a.text() for a in window.recent_menu.actions()]
    assert str(window.workspace.root) in recent


def test_road_width_is_also_shown_in_metres_for_a_georeferenced_tile(qtbot, tmp_path):
    import rasterio
    from rasterio.transform import from_origin
    from ui_helpers import open_window

    root = tmp_path / "geo"
    (root / "unlabeled").mkdir(parents=True)
    data = (np.random.default_rng(0).random((3, 64, 64)) * 255).astype(np.uint8)
    with rasterio.open(root / "unlabeled" / "chip.tif", "w", driver="GTiff", width=64, height=64, count=3,
                       dtype="uint8", crs="EPSG:32618", transform=from_origin(500000, 4000000, 0.5, 0.5)) as dst:
        dst.write(data)
    window = open_window(qtbot, root)
    try:
        window.panel.road_width.setValue(10)
        assert "5.0 m" in window.panel.ground_width.text() and "0.50 m per pixel" in window.panel.ground_width.text()
    finally:
        window.close()
