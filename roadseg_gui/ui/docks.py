"""Docks whose content scrolls, so a tall panel (retrain form, model comparison) never makes the
window taller than a laptop screen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget


class DockScroll(QScrollArea):
    """Scrolls its panel vertically; horizontally the panel follows the dock's width."""

    def __init__(self, panel: QWidget):
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.setWidget(panel)

    def minimumSizeHint(self):
        # A QScrollArea reports its content's minimum; a dock should only need a strip of it.
        hint = super().minimumSizeHint()
        hint.setHeight(min(hint.height(), 80))
        hint.setWidth(min(hint.width(), 200))
        return hint


def make_dock(window, title: str, panel: QWidget, area, object_name: str | None = None) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(object_name or title.lower().replace(" ", "_"))
    set_panel(dock, panel)
    window.addDockWidget(area, dock)
    return dock


def set_panel(dock: QDockWidget, panel: QWidget) -> None:
    """Put ``panel`` in the dock inside a scroll area; a previous panel is deleted."""
    previous = dock.widget()
    dock.setWidget(DockScroll(panel))
    if previous is not None:
        previous.deleteLater()


def panel_of(dock: QDockWidget | None) -> QWidget | None:
    """The panel inside a dock made here (the widget inside its scroll area)."""
    if dock is None:
        return None
    holder = dock.widget()
    return holder.widget() if isinstance(holder, QScrollArea) else holder
