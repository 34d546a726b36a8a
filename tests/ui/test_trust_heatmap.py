"""In heatmap mode the mask and the heat never blend into a colour of neither legend entry: the mask is
an opaque cyan outline over the heat, and the legend says so (issue 19, item 11)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from ui_helpers import fixed_view, open_window

from roadseg_gui.core.workspace import Workspace
from roadseg_gui.ui.layers import MASK_RGBA


def _colour(canvas, x: int, y: int) -> QColor:
    point = canvas.image_to_widget(QPointF(x + 0.5, y + 0.5)).toPoint()
    return canvas.grab().toImage().pixelColor(point)


def test_heatmap_mode_keeps_mask_and_heat_colours_apart(qtbot, workspace_root):
    workspace = Workspace.open(workspace_root)
    stem = workspace.tiles(order="name")[0].stem
    probability = np.zeros((96, 96), np.uint8)
    probability[30:60, 20:70] = 230                 # the model sees a wide road
    workspace.save_prediction(stem, probability, 0.9, "m")
    window = open_window(qtbot, workspace_root)
    try:
        editor, canvas = window.editor, window.canvas
        assert editor.document.mask[45, 45]          # the starting mask is the prediction
        combo = window.panel.prediction_style
        combo.setFocus()
        qtbot.keyClick(combo, Qt.Key_Down)           # "as probability heatmap"
        assert combo.currentData() == "heatmap"
        assert "probability" in window.panel.legend.text() and "outline" in window.panel.legend.text()
        fixed_view(canvas)

        inside = _colour(canvas, 45, 45)             # deep inside mask and heat
        edge = _colour(canvas, 20, 45)               # the mask's left edge
        editor.document.replace(np.zeros((96, 96), bool))
        heat_only = _colour(canvas, 45, 45)
        assert inside == heat_only, "inside the mask the heat shows as the legend's heat colour, unblended"
        cyan = QColor(*MASK_RGBA[:3])
        assert abs(edge.red() - cyan.red()) + abs(edge.green() - cyan.green()) + abs(edge.blue() - cyan.blue()) < 12

        editor.document.replace(probability > 0)     # edits redraw the outline where they happen
        assert _colour(canvas, 45, 45) == heat_only
        qtbot.keyClick(combo, Qt.Key_Up)             # back to the outline style: the mask is a fill again
        assert combo.currentData() == "outline"
        assert _colour(canvas, 45, 45) != heat_only
        assert "as an outline" not in window.panel.legend.text()
    finally:
        window.close()


def test_redrawing_the_outline_of_an_edited_box_matches_the_whole_outline():
    from roadseg_gui.ui.layers import mask_outline_argb, paint_mask_outline_region

    rng = np.random.default_rng(0)
    mask = rng.random((80, 90)) > 0.6
    buffer = mask_outline_argb(mask)
    for y0, x0, y1, x1 in ((10, 10, 30, 40), (0, 0, 5, 90), (70, 60, 80, 90)):
        mask[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) > 0.3
        paint_mask_outline_region(buffer, mask, y0, x0, y1, x1)
        assert np.array_equal(buffer, mask_outline_argb(mask))
