"""Docks whose content scrolls, so a tall panel (retrain form, model comparison) never makes the
window taller than a laptop screen; the dock is never narrower than its panel, so nothing is cut
and no horizontal scrollbar appears. Spin boxes and combo boxes in a dock take the mouse wheel only
when focused: scrolling the panel must not silently change a learning rate."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QDockWidget, \
    QFrame, QScrollArea, QWidget


class WheelGuard(QObject):
    """An unfocused spin/combo box passes the wheel to the panel's scroll bar instead of changing."""

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Wheel or watched.hasFocus():
            return False
        area = watched.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None:
            QApplication.sendEvent(area.verticalScrollBar(), event)
        event.ignore()
        return True


_GUARD: WheelGuard | None = None


def guard_wheel(panel: QWidget) -> None:
    """Click or Tab into a spin/combo box to wheel it; over an unfocused one the wheel scrolls."""
    global _GUARD
    if _GUARD is None:
        _GUARD = WheelGuard(QApplication.instance())
    for box in [*panel.findChildren(QAbstractSpinBox), *panel.findChildren(QComboBox)]:
        box.setFocusPolicy(Qt.StrongFocus)
        box.removeEventFilter(_GUARD)
        box.installEventFilter(_GUARD)


class DockScroll(QScrollArea):
    """Scrolls its panel vertically; horizontally the dock is at least as wide as the panel needs."""

    def __init__(self, panel: QWidget):
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setWidget(panel)
        panel.installEventFilter(self)
        guard_wheel(panel)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        # The panel's minimum width grew (a comparison table, a long status) while its tab was behind
        # another: tell the dock, or the panel stays wider than the dock and is cut at its right edge.
        if watched is self.widget() and event.type() == QEvent.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)

    def minimumSizeHint(self):
        # A QScrollArea reports its content's minimum; a dock should only need a strip of its height,
        # but all of its width (a cut button or column is worse than a narrower canvas).
        hint = super().minimumSizeHint()
        panel = self.widget()
        width = panel.minimumSizeHint().width() if panel is not None else hint.width()
        hint.setHeight(min(hint.height(), 80))
        hint.setWidth(width + self.verticalScrollBar().sizeHint().width())
        return hint


def make_dock(window, title: str, panel: QWidget, area, object_name: str | None = None,
              beside: QDockWidget | None = None) -> QDockWidget:
    """A dock where the last session left it (a dock made after ``restoreState``), else in ``area``,
    tabbed with ``beside`` if given."""
    dock = QDockWidget(title, window)
    dock.setObjectName(object_name or title.lower().replace(" ", "_"))
    set_panel(dock, panel)
    if not window.restoreDockWidget(dock):   # (called after addDockWidget, it hides the dock)
        window.addDockWidget(area, dock)
        if beside is not None:
            window.tabifyDockWidget(beside, dock)
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
