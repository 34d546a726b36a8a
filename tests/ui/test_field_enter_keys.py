"""Enter typed in a text or number field finishes the field; it never accepts the tile on screen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from ui_helpers import type_annotator


def test_enter_in_the_annotator_field_saves_the_name_and_accepts_no_tile(window, qtbot):
    stem = window.editor.stem
    status = window.workspace.tile(stem).status
    qtbot.keyClick(type_annotator(qtbot, window, "maria"), Qt.Key_Return)
    qtbot.wait(300)   # an accept would be queued behind the saves
    assert window.workspace.settings.annotator == "maria"
    assert window.workspace.tile(stem).status == status and not window.editor.accepting


def test_enter_on_the_canvas_still_accepts(window, qtbot):
    stem = window.editor.stem
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_Return)
    qtbot.waitUntil(lambda: str(getattr(window.workspace.tile(stem).status, "value", "")) == "accepted",
                    timeout=10000)
