"""A tile's starting mask does not depend on whether its prediction came before or after the tile was
loaded in the background, and accepting an empty mask where the model sees road asks first, with Esc
to cancel (issue 19, item 1)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from prediction_feed import attach, road_probability
from ui_helpers import open_window

from roadseg_gui.core.workspace import Workspace
from trainer.imageio import read_mask


def _press_in_dialog(qtbot, window, key, seen: list) -> None:
    """Answer the empty-mask question with a key, once it is up (it runs modally inside Enter)."""
    def answer():
        box = getattr(window, "empty_accept_box", None)
        if box is None or not box.isVisible():
            QTimer.singleShot(20, answer)
            return
        seen.append(box.text())
        qtbot.keyClick(box, key)
    QTimer.singleShot(0, answer)


def _accepted_mask(root, stem):
    for split in ("train", "test"):
        path = root / split / "masks" / f"{stem}.png"
        if path.exists():
            return read_mask(path)
    return None


def test_tiles_loaded_in_the_background_start_from_their_prediction_and_empty_accepts_ask(qtbot, workspace_root):
    window = open_window(qtbot, workspace_root)
    try:
        editor, loader = window.editor, window.editor.loader
        stems = [window.browser.model.record(r).stem for r in range(4)]
        assert editor.stem == stems[0]
        feed = attach(window)
        # The next two tiles are decoded ahead, before the model has predicted them.
        qtbot.waitUntil(lambda: all(loader.cached(s) is not None for s in stems[1:3]), timeout=15000)
        assert loader.cached(stems[1]).probability is None
        # Predictions arrive: two for tiles already loaded in the background, one for a tile not loaded yet.
        probabilities = {s: road_probability(i) for i, s in enumerate(stems)}
        for stem in stems[1:]:
            feed.deliver(stem, probabilities[stem])
        qtbot.waitUntil(lambda: all(loader.cached(s).probability is not None for s in stems[1:3]), timeout=15000)

        window.canvas.setFocus()
        for stem in stems[1:]:
            qtbot.keyClick(window.canvas, Qt.Key_D)
            qtbot.waitUntil(lambda s=stem: editor.stem == s and editor._tile is not None
                            and editor._tile.stem == s, timeout=15000)
            expected = probabilities[stem] >= 128
            assert np.array_equal(editor.document.mask, expected), f"{stem} did not start from its prediction"
            assert np.array_equal(window.canvas.mask_buffer != 0, expected), "the overlay shows another mask"
            assert editor.undo.active.count() == 0
        # Back to the second tile: Enter accepts its (predicted) mask without a question.
        qtbot.keyClick(window.canvas, Qt.Key_A)
        qtbot.keyClick(window.canvas, Qt.Key_A)
        qtbot.waitUntil(lambda: editor._tile is not None and editor._tile.stem == stems[1], timeout=15000)
        qtbot.keyClick(window.canvas, Qt.Key_Return)
        qtbot.waitUntil(lambda: window.workspace.tile(stems[1]).status == "accepted", timeout=15000)
        assert _accepted_mask(workspace_root, stems[1]).sum() == (probabilities[stems[1]] >= 128).sum() > 0

        # The next tile, cleared: Enter asks, and Esc cancels.
        qtbot.waitUntil(lambda: editor._tile is not None and editor._tile.stem == stems[2], timeout=15000)
        window.canvas.setFocus()
        qtbot.keyClick(window.canvas, Qt.Key_Backspace, Qt.ControlModifier)
        assert not editor.document.mask.any()
        seen: list[str] = []
        _press_in_dialog(qtbot, window, Qt.Key_Escape, seen)
        qtbot.keyClick(window.canvas, Qt.Key_Return)
        assert seen and "Accept an empty mask?" in seen[0]
        qtbot.wait(200)
        assert editor.stem == stems[2] and Workspace.open(workspace_root).tile(stems[2]).status != "accepted"
        assert _accepted_mask(workspace_root, stems[2]) is None

        # Asked again, and confirmed: the empty mask is filed, as the person chose.
        def confirm():
            box = getattr(window, "empty_accept_box", None)
            if box is None or not box.isVisible():
                QTimer.singleShot(20, confirm)
                return
            asked.append(True)
            [button] = [b for b in box.buttons() if b.text() == "Accept empty mask"]
            qtbot.mouseClick(button, Qt.LeftButton)
        asked: list[bool] = []
        QTimer.singleShot(0, confirm)
        window.activateWindow()   # the offscreen platform does not hand activation back after a dialog
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        window.canvas.setFocus()
        qtbot.keyClick(window.canvas, Qt.Key_Return)
        assert asked
        qtbot.waitUntil(lambda: window.workspace.tile(stems[2]).status == "accepted", timeout=15000)
        assert _accepted_mask(workspace_root, stems[2]).sum() == 0
    finally:
        window.close()


def test_an_empty_mask_on_a_tile_without_road_in_the_prediction_is_accepted_without_asking(qtbot, workspace_root):
    workspace = Workspace.open(workspace_root)
    stem = workspace.tiles(order="name")[0].stem
    workspace.save_prediction(stem, np.full((96, 96), 5, np.uint8), 0.9, "m")
    window = open_window(qtbot, workspace_root)
    try:
        assert window.editor.stem == stem and not window.editor.document.mask.any()
        window.canvas.setFocus()
        qtbot.keyClick(window.canvas, Qt.Key_Return)
        assert getattr(window, "empty_accept_box", None) is None
        qtbot.waitUntil(lambda: window.workspace.tile(stem).status == "accepted", timeout=15000)
    finally:
        window.close()


def test_a_tile_decoded_ahead_starts_at_the_threshold_in_force_when_it_is_opened(qtbot, workspace_root):
    workspace = Workspace.open(workspace_root)
    gradient = np.tile(np.linspace(0, 255, 96).astype(np.uint8), (96, 1))
    for record in workspace.tiles(order="name"):
        workspace.save_prediction(record.stem, gradient, 0.5, "m")
    window = open_window(qtbot, workspace_root)
    try:
        editor, loader = window.editor, window.editor.loader
        assert editor.stem == "tile_000"
        qtbot.waitUntil(lambda: loader.cached("tile_001") is not None, timeout=15000)   # made at 0.50
        assert np.array_equal(editor.document.mask, gradient >= 128)
        slider = window.panel.threshold._slider
        slider.setFocus()
        qtbot.keyClick(slider, Qt.Key_PageUp)                          # 0.60: the tile on screen keeps its mask
        assert np.array_equal(editor.document.mask, gradient >= 128)
        window.canvas.setFocus()
        qtbot.keyClick(window.canvas, Qt.Key_D)
        qtbot.waitUntil(lambda: editor._tile is not None and editor._tile.stem == "tile_001", timeout=15000)
        assert np.array_equal(editor.document.mask, gradient >= 153), "as if it had been read just now"
        assert np.array_equal(window.canvas.mask_buffer != 0, gradient >= 153)
    finally:
        window.close()
