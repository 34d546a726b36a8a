"""Enter typed in a text or number field finishes the field; it never accepts the tile on screen."""

from __future__ import annotations

from PySide6.QtCore import Qt


def test_enter_in_the_annotator_field_saves_the_name_and_accepts_no_tile(window, qtbot):
    stem = window.editor.stem
    status = window.workspace.tile(stem).status
    window.throughput.dock.show()
    window.throughput.dock.raise_()
    field = window.throughput.panel.annotator
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=5000)
    field.selectAll()
    qtbot.keyClicks(field, "maria")
    qtbot.keyClick(field, Qt.Key_Return)
    qtbot.wait(300)   # an accept would be queued behind the saves
    assert window.workspace.settings.annotator == "maria"
    assert window.workspace.tile(stem).status == status and not window.editor.accepting


def test_enter_on_the_canvas_still_accepts(window, qtbot):
    stem = window.editor.stem
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_Return)
    qtbot.waitUntil(lambda: str(getattr(window.workspace.tile(stem).status, "value", "")) == "accepted",
                    timeout=10000)
