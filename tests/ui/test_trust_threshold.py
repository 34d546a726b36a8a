"""The Threshold slider moves the prediction's outline and what Take road copies, never the mask:
only the explicit "Use prediction as mask" replaces it (issue 19, item 2)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from ui_helpers import click, fixed_view, open_window

from roadseg_gui.core.workspace import Workspace


def gradient(shape) -> np.ndarray:
    h, w = shape
    return np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1))


def test_moving_the_threshold_after_a_stroke_keeps_the_edit_and_moves_only_the_outline(qtbot, workspace_root):
    workspace = Workspace.open(workspace_root)
    stem = workspace.tiles(order="name")[0].stem
    probability = gradient((96, 96))
    workspace.save_prediction(stem, probability, 0.9, "m")
    window = open_window(qtbot, workspace_root)
    try:
        editor = window.editor
        assert editor.stem == stem and editor.probability is not None
        window.set_tool("brush")
        window.panel.brush_size.setValue(6)
        fixed_view(window.canvas)
        click(window.canvas, 10.5, 10.5)   # road where the model sees none
        edited = editor.document.mask.copy()
        steps = editor.undo.active.count()
        outline_before = window.canvas._prediction.copy()

        slider = window.panel.threshold._slider
        slider.setFocus()
        qtbot.keyClick(slider, Qt.Key_PageUp)   # 50 -> 60, as a person would
        assert window.panel.threshold.value() == 60
        assert np.array_equal(editor.document.mask, edited), "the slider replaced the mask"
        assert editor.undo.active.count() == steps
        assert window.canvas._prediction != outline_before, "the outline follows the threshold"
        assert np.array_equal(editor.roads.predicted_mask(), probability >= 153)

        qtbot.mouseClick(window.panel.use_prediction, Qt.LeftButton)   # the explicit way
        assert np.array_equal(editor.document.mask, probability >= 153)
        assert editor.undo.active.undoText() == "Use prediction ≥ 0.60"
        window.undo_action.trigger()
        assert np.array_equal(editor.document.mask, edited)
    finally:
        window.close()
