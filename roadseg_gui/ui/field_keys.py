"""Enter in a text or number field (the annotator name, a spin box of a form) finishes that field.

Enter is also the window-wide Accept key, and a QLineEdit does not claim Return against a shortcut,
so typing a name and pressing Enter accepted the tile on screen instead of saving the name.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit

ENTER = (Qt.Key_Return, Qt.Key_Enter)


class FieldsKeepEnter(QObject):
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.ShortcutOverride and event.key() in ENTER \
                and isinstance(watched, (QLineEdit, QAbstractSpinBox)):
            event.accept()   # the key goes to the field as a key press, not to the Accept action
        return False


def keep_enter_in_fields(window) -> FieldsKeepEnter:
    keeper = FieldsKeepEnter(window)   # a child of the window: Qt drops the filter when it is deleted
    QApplication.instance().installEventFilter(keeper)
    return keeper
