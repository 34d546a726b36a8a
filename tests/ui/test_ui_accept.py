"""Use prediction at the slider's threshold makes the mask; Enter accepts it into the right split."""

from __future__ import annotations

import numpy as np
from ui_helpers import open_window
from PySide6.QtCore import Qt

from roadseg_gui.core.workspace import Workspace, split_for
from trainer.imageio import read_mask


def gradient(shape) -> np.ndarray:
    h, w = shape
    return np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1))


def test_threshold_then_use_prediction_then_enter_writes_the_mask_png_in_the_stems_split(qtbot, workspace_root):
    workspace = Workspace.open(workspace_root)
    stems = [t.stem for t in workspace.tiles(order="name")]
    probability = gradient((96, 96))
    workspace.save_prediction(stems[0], probability, 0.9, "test-model")  # most uncertain: shown first
    window = open_window(qtbot, workspace_root)
    try:
        assert window.editor.stem == stems[0]
        assert window.editor.probability is not None
        window.panel.threshold.setValue(70)
        assert np.array_equal(window.editor.document.mask, probability >= 128), "the slider alone keeps the mask"
        window.actions.use_prediction.trigger()
        expected = probability >= int(np.ceil(0.70 * 255))
        assert np.array_equal(window.editor.document.mask, expected)
        window.editor.undo.active.undo()
        assert np.array_equal(window.editor.document.mask, probability >= 128)
        window.editor.undo.active.redo()

        qtbot.keyClick(window.canvas, Qt.Key_Return)
        split = split_for(stems[0], workspace.settings.labeling.test_fraction)
        mask_file = workspace_root / split / "masks" / f"{stems[0]}.png"
        qtbot.waitUntil(lambda: workspace.tile(stems[0]).status == "accepted", timeout=15000)
        assert np.array_equal(read_mask(mask_file), expected)
        assert (workspace_root / split / "images" / f"{stems[0]}.png").exists()
        assert not (workspace_root / "unlabeled" / f"{stems[0]}.png").exists()
        assert window.editor.stem == stems[1], "Enter moves on to the next tile in the list's order"
    finally:
        window.close()


def test_use_prediction_and_clear_are_undoable(qtbot, workspace_root):
    workspace = Workspace.open(workspace_root)
    stem = workspace.tiles(order="name")[0].stem
    workspace.save_prediction(stem, gradient((96, 96)), 0.9, "m")
    window = open_window(qtbot, workspace_root)
    try:
        document = window.editor.document
        window.actions.clear_mask.trigger()
        assert not document.mask.any()
        window.actions.use_prediction.trigger()
        assert np.array_equal(document.mask, gradient((96, 96)) >= 128)
        window.undo_action.trigger()
        assert not document.mask.any()
    finally:
        window.close()
