"""Helpers for the Qt tests: synthetic tiles, opening the window, mouse input in image coordinates."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from trainer.synthetic import make_tile

SCALE, OFFSET = 4.0, QPointF(8, 8)


def fixed_view(canvas) -> None:
    """An exact integer view: widget = 8 + 4 * image, so (x.5, y.5) maps to whole widget pixels."""
    QApplication.processEvents()  # pending resizes would refit the view afterwards
    canvas.set_view(SCALE, OFFSET)


def _send(canvas, kind, x, y, button=Qt.NoButton, buttons=Qt.NoButton, modifiers=Qt.NoModifier):
    pos = canvas.image_to_widget(QPointF(x, y))
    event = QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons, modifiers)
    QApplication.sendEvent(canvas, event)


def press(canvas, x, y, modifiers=Qt.NoModifier, button=Qt.LeftButton):
    _send(canvas, QEvent.MouseButtonPress, x, y, button, button, modifiers)


def release(canvas, x, y, modifiers=Qt.NoModifier, button=Qt.LeftButton):
    _send(canvas, QEvent.MouseButtonRelease, x, y, button, Qt.NoButton, modifiers)


def drag_to(canvas, x, y, modifiers=Qt.NoModifier):
    _send(canvas, QEvent.MouseMove, x, y, Qt.NoButton, Qt.LeftButton, modifiers)


def click(canvas, x, y, modifiers=Qt.NoModifier):
    press(canvas, x, y, modifiers)
    release(canvas, x, y, modifiers)


def double_click(canvas, x, y, modifiers=Qt.NoModifier):
    """What Qt sends for a double-click: press, release, double-click, release."""
    click(canvas, x, y, modifiers)
    _send(canvas, QEvent.MouseButtonDblClick, x, y, Qt.LeftButton, Qt.LeftButton, modifiers)
    release(canvas, x, y, modifiers)


def write_tiles(root: Path, count: int, size: int = 96, seed: int = 0) -> list[str]:
    (root / "unlabeled").mkdir(parents=True, exist_ok=True)
    stems = []
    for i in range(count):
        image, _ = make_tile(size, seed=seed + i)
        stem = f"tile_{i:03d}"
        Image.fromarray(image).save(root / "unlabeled" / f"{stem}.png")
        stems.append(stem)
    return stems


def open_window(qtbot, root: Path, wait_for_tile: bool = True):
    from roadseg_gui.core.workspace import Workspace
    from roadseg_gui.ui.main_window import MainWindow

    window = MainWindow(side_panels=False)
    window.ask_on_quit = False
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()  # shortcuts (Enter, arrows) go to the active window only
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.set_workspace(Workspace.open(root))
    if wait_for_tile:
        qtbot.waitUntil(lambda: window.editor.document is not None, timeout=15000)
    return window


def type_annotator(qtbot, window, name: str):
    """Type ``name`` over the Stats dock's annotator field, key by key as a person would (no Enter yet);
    returns the field."""
    window.throughput.dock.show()
    window.throughput.dock.raise_()
    field = window.throughput.panel.annotator
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=5000)
    field.selectAll()
    qtbot.keyClicks(field, name)
    return field
