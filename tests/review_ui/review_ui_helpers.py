"""What the review UI tests share: opening a tile as a reviewer does, and typing a note into its box."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLineEdit


def type_note(qtbot, window, text: str) -> None:
    """Type into the note box as a person would, once it opens, and press Enter."""
    def type_it():
        box = window.tile_review.note_box
        if box is None:
            QTimer.singleShot(20, type_it)
            return
        field = box.findChild(QLineEdit)
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key_Return)
    QTimer.singleShot(0, type_it)


def show(qtbot, window, stem: str) -> None:
    """Select ``stem`` in the browser and wait until its tile, mask and review record are on screen."""
    window.browser.select(stem)
    qtbot.waitUntil(lambda: window.editor.stem == stem and window.editor.document is not None
                    and window.tile_review.record is not None and window.tile_review.record.stem == stem,
                    timeout=15000)
