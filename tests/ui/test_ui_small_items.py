"""Small UI items: file dialogs start in the workspace or the last folder, the brush size in metres,
undoing every edit un-edits the tile, and the tile is re-fitted when the docks change size."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QFileDialog
from ui_helpers import click, fixed_view

from roadseg_gui.core.workspace import Workspace


def test_file_dialogs_open_in_the_workspace_then_in_the_last_folder_used(qtbot, window, tmp_path, monkeypatch):
    asked = []
    picked = tmp_path / "elsewhere" / "model.pth"
    picked.parent.mkdir()

    def fake_open(_parent, _title, folder, _filter=""):
        asked.append(folder)
        return "", ""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_open)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a: (asked.append(a[2]), ([], ""))[1])
    window.actions.open_model.trigger()
    window.actions.import_images.trigger()
    assert asked == [str(window.workspace.root)] * 2
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: (asked.append(a[2]), (str(picked), ""))[1])
    monkeypatch.setattr(window, "activate_model", lambda path: None)
    window.actions.open_model.trigger()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_open)
    window.actions.open_model.trigger()
    assert asked[-1] == str(picked.parent)


def test_brush_size_is_also_shown_in_metres_for_a_georeferenced_tile(qtbot, window):
    window.panel.set_pixel_size(0.3)
    window.panel.brush_size.setValue(20)
    assert window.panel.ground_brush.isVisible() and "6.0 m" in window.panel.ground_brush.text()
    window.panel.set_pixel_size(None)
    assert not window.panel.ground_brush.isVisible()


def test_undoing_every_edit_returns_the_tile_to_its_earlier_status(qtbot, window):
    stem = window.editor.stem
    assert window.workspace.tile(stem).status == "new"
    window.set_tool("brush")
    fixed_view(window.canvas)
    click(window.canvas, 20.5, 20.5)
    click(window.canvas, 50.5, 50.5)
    assert window.editor.autosaver.flush_now()
    assert Workspace.open(window.workspace.root).tile(stem).status == "edited"
    window.undo_action.trigger()
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: Workspace.open(window.workspace.root).tile(stem).status == "new", timeout=10000)
    assert not window.workspace.edit_path(stem).exists()
    qtbot.waitUntil(lambda: window.browser.model.record(window.browser.model.row_of(stem)).status == "new",
                    timeout=5000)
    window.redo_action.trigger()       # redone: edited again
    assert window.editor.autosaver.flush_now()
    assert Workspace.open(window.workspace.root).tile(stem).status == "edited"
    assert Workspace.open(window.workspace.root).working_mask(stem)[20, 20]


def test_a_tile_with_an_earlier_autosave_stays_edited_when_this_session_is_undone(qtbot, workspace_root):
    from ui_helpers import open_window

    workspace = Workspace.open(workspace_root)
    stem = workspace.tiles()[0].stem
    earlier = np.zeros(workspace.image_size(stem), bool)
    earlier[5:10, 5:10] = True
    workspace.save_working_mask(stem, earlier)
    window = open_window(qtbot, workspace_root)
    try:
        window.browser.select(stem)
        qtbot.waitUntil(lambda: window.editor.stem == stem and window.editor.document is not None, timeout=15000)
        window.set_tool("brush")
        fixed_view(window.canvas)
        click(window.canvas, 40.5, 40.5)
        window.undo_action.trigger()
        assert window.editor.autosaver.flush_now()
        qtbot.wait(200)
        assert Workspace.open(workspace_root).tile(stem).status == "edited"
        assert np.array_equal(Workspace.open(workspace_root).working_mask(stem), earlier)
    finally:
        window.close()


def test_the_tile_is_refitted_when_the_docks_change_size(qtbot, window):
    canvas = window.canvas
    canvas.fit_to_window()
    width_before = canvas.width()
    window.resizeDocks([window.browser_dock], [window.browser_dock.width() + 80], Qt.Horizontal)
    qtbot.waitUntil(lambda: canvas.width() != width_before, timeout=15000)
    width, height = canvas.image_size
    top_left = canvas.image_to_widget(QPointF(0, 0))
    assert abs(top_left.x() - (canvas.width() - width * canvas.scale) / 2) < 1  # centred in the new size
    assert abs(top_left.y() - (canvas.height() - height * canvas.scale) / 2) < 1
    assert width * canvas.scale <= canvas.width() and height * canvas.scale <= canvas.height()
    canvas.zoom_by(2.0)                 # zoomed by hand: a dock change keeps the person's view
    zoomed, width_before = canvas.scale, canvas.width()
    window.resizeDocks([window.browser_dock], [window.browser_dock.width() - 60], Qt.Horizontal)
    qtbot.waitUntil(lambda: canvas.width() != width_before, timeout=15000)
    assert canvas.scale == zoomed
