"""Each tool, driven by simulated mouse events on the canvas, changes exactly the expected pixels;
undo and redo restore them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from ui_helpers import click, double_click, drag_to, fixed_view, press, release

from roadseg_gui.core.mask_edit import MaskDocument


def disk(shape, cx, cy, r):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r + 1e-9


def start(window, tool, mask=None):
    window.set_tool(tool)
    fixed_view(window.canvas)
    if mask is not None:
        window.editor.document.replace(mask)
        window.editor.undo.active.clear()
    return window.editor.document


def undo(window):
    window.undo_action.trigger()


def redo(window):
    window.redo_action.trigger()


def test_brush_dab_paints_a_disk_of_the_brush_size_and_undo_redo(window):
    document = start(window, "brush", np.zeros((96, 96), bool))
    window.panel.brush_size.setValue(10)
    click(window.canvas, 20.5, 30.5)
    expected = disk(document.shape, 20.5, 30.5, 5)
    assert np.array_equal(document.mask, expected)
    undo(window)
    assert not document.mask.any()
    redo(window)
    assert np.array_equal(document.mask, expected)


def test_brush_drag_is_one_undo_step_covering_the_whole_stroke(window):
    document = start(window, "brush", np.zeros((96, 96), bool))
    window.panel.brush_size.setValue(6)
    press(window.canvas, 10.5, 10.5)
    for x in (20.5, 30.5, 40.5):
        drag_to(window.canvas, x, 10.5)
    release(window.canvas, 40.5, 10.5)
    expected = MaskDocument((96, 96))
    expected.stroke((10.5, 10.5), (40.5, 10.5), 3)
    assert np.array_equal(document.mask, expected.mask)
    assert document.mask[10, 10:41].all() and not document.mask[20:].any()
    assert window.editor.undo.active.count() == 1
    undo(window)
    assert not document.mask.any()


def test_eraser_and_shift_brush_clear_exactly_the_disk(window):
    full = np.ones((96, 96), bool)
    document = start(window, "eraser", full)
    window.panel.brush_size.setValue(8)
    click(window.canvas, 50.5, 50.5)
    assert np.array_equal(document.mask, ~disk(full.shape, 50.5, 50.5, 4))
    window.set_tool("brush")
    click(window.canvas, 20.5, 20.5, Qt.ShiftModifier)
    assert np.array_equal(document.mask, ~(disk(full.shape, 50.5, 50.5, 4) | disk(full.shape, 20.5, 20.5, 4)))
    undo(window)
    undo(window)
    assert document.mask.all()


def test_road_line_has_the_requested_width_and_ends_on_double_click(window):
    document = start(window, "road", np.zeros((96, 96), bool))
    window.panel.road_width.setValue(7)
    click(window.canvas, 10.5, 40.5)
    double_click(window.canvas, 70.5, 40.5)
    column = document.mask[:, 40]
    assert column.sum() == 7 and column[37:44].all()
    assert document.mask[40, 10:71].all()
    expected = MaskDocument((96, 96))
    expected.road_line([(10.5, 40.5), (70.5, 40.5)], 7)
    assert np.array_equal(document.mask, expected.mask)
    assert window.editor.undo.active.count() == 1
    undo(window)
    assert not document.mask.any()
    redo(window)
    assert np.array_equal(document.mask, expected.mask)


def test_road_line_even_width_enter_ends_and_shift_erases(qtbot, window):
    document = start(window, "road", np.zeros((96, 96), bool))
    window.panel.road_width.setValue(4)
    click(window.canvas, 50.2, 10.2)
    click(window.canvas, 50.2, 80.2)
    qtbot.keyClick(window.canvas, Qt.Key_Return)
    row = document.mask[45]
    assert row.sum() == 4 and row[48:52].all(), "a vertical road 4 px wide covers 4 columns"
    before = document.mask[:, 50].sum()
    click(window.canvas, 20.5, 45.5, Qt.ShiftModifier)
    click(window.canvas, 80.5, 45.5, Qt.ShiftModifier)
    qtbot.keyClick(window.canvas, Qt.Key_Return)
    assert document.mask[:, 50].sum() == before - 4, "the erasing line is 4 px wide too"
    assert not document.mask[45].any() and document.mask[10:40, 48:52].all()


def test_enter_while_drawing_a_line_does_not_accept_the_tile(qtbot, window):
    stem = window.editor.stem
    start(window, "road", np.zeros((96, 96), bool))
    click(window.canvas, 10.5, 10.5)
    qtbot.keyClick(window.canvas, Qt.Key_Return)
    assert window.editor.stem == stem


def test_polygon_fill_matches_the_document_operation(qtbot, window):
    document = start(window, "polygon", np.zeros((96, 96), bool))
    corners = [(10.5, 10.5), (60.5, 12.5), (50.5, 70.5), (15.5, 60.5)]
    for x, y in corners:
        click(window.canvas, x, y)
    qtbot.keyClick(window.canvas, Qt.Key_Enter)
    expected = MaskDocument((96, 96))
    expected.polygon(corners)
    assert expected.mask.sum() > 1500
    assert np.array_equal(document.mask, expected.mask)
    undo(window)
    assert not document.mask.any()


def test_flood_fill_fills_the_enclosed_area_only(window):
    ring = np.zeros((96, 96), bool)
    ring[20, 20:61] = ring[60, 20:61] = True
    ring[20:61, 20] = ring[20:61, 60] = True
    document = start(window, "fill", ring)
    click(window.canvas, 40.5, 40.5)
    expected = ring.copy()
    expected[21:60, 21:60] = True
    assert np.array_equal(document.mask, expected)
    click(window.canvas, 40.5, 40.5, Qt.ShiftModifier)  # Shift clears the region again
    assert np.array_equal(document.mask, np.zeros_like(ring))
    undo(window)
    assert np.array_equal(document.mask, expected)
    undo(window)
    assert np.array_equal(document.mask, ring)


def test_canvas_overlay_follows_the_mask_in_the_dirty_rect(window):
    start(window, "brush", np.zeros((96, 96), bool))
    window.panel.brush_size.setValue(4)
    click(window.canvas, 30.5, 30.5)
    overlay = window.canvas._mask_buffer
    assert np.array_equal(overlay != 0, window.editor.document.mask)


def test_clear_and_undo_history_of_at_least_100_steps(window):
    document = start(window, "brush", np.zeros((96, 96), bool))
    window.panel.brush_size.setValue(1)
    for i in range(120):
        click(window.canvas, (i % 90) + 0.5, (i // 90) * 5 + 0.5)
    assert document.mask.sum() == 120
    window.actions.clear_mask.trigger()
    assert not document.mask.any()
    for _ in range(101):
        undo(window)
    assert document.mask.sum() == 20
