"""Issue 19, item 8: start-up and the status bar. The window paints before the demo workspace is built,
the connectivity check of a tile does not queue behind start-up work on the shared pool, the toolbar
buttons stay put when Undo's text changes, and the zoom in the status bar follows every zoom."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QPoint, QThreadPool, Qt, QTimer
from PySide6.QtWidgets import QToolBar
from ui_helpers import click, fixed_view

from roadseg_gui.ui.workers import submit


def test_the_window_stays_live_while_the_demo_workspace_is_built(qtbot, tmp_path, monkeypatch):
    from roadseg_gui import app as app_module
    from roadseg_gui.core import demo
    from roadseg_gui.ui.main_window import MainWindow

    target = tmp_path / "data" / "demo"
    monkeypatch.setattr(demo, "default_demo_dir", lambda: target)
    gate, answered = threading.Event(), []
    real_demo = app_module.demo_workspace

    def demo_after_the_ui_answers():
        answered.append(gate.wait(10))     # set by a UI timer: only if the event loop runs meanwhile
        return real_demo()
    monkeypatch.setattr(app_module, "demo_workspace", demo_after_the_ui_answers)
    window = MainWindow(predict=False, side_panels=False)
    window.ask_on_quit = False
    qtbot.addWidget(window)
    window.show()
    QTimer.singleShot(50, gate.set)
    app_module.open_demo(window)
    assert not (target / ".roadseg").is_dir(), "the demo was built on the UI thread"
    assert window.statusBar().currentMessage() == "Preparing the demo workspace…"
    assert window.canvas.placeholder == "Preparing the demo workspace…"
    qtbot.waitUntil(lambda: window.workspace is not None and window.editor.document is not None, timeout=60000)
    assert answered == [True], "the event loop did not run while the demo was built"
    assert window.workspace.root.resolve() == target.resolve()
    window.close()


def test_the_connectivity_check_does_not_wait_for_a_busy_shared_pool(qtbot, window):
    gate = threading.Event()
    pool = QThreadPool.globalInstance()
    for _ in range(pool.maxThreadCount() + 2):   # e.g. importing the side panels, loading a model's libraries
        submit(gate.wait, 30)
    try:
        mask = np.zeros(window.editor.document.shape, bool)
        mask[40:50, :60] = True                  # a road that stops inside the tile
        window.editor.document.replace(mask)
        qtbot.waitUntil(lambda: len(window.road_qa.issues) == 1, timeout=10000)
        assert window.road_qa.count_label.text() == "1 connectivity issue"
    finally:
        gate.set()
        pool.waitForDone(5000)


def test_toolbar_buttons_stay_put_when_undo_names_the_step(qtbot, window):
    window.resize(1366, 728)                     # every button on the bar, none in its overflow menu
    qtbot.waitUntil(lambda: window.width() == 1366)
    toolbar = window.findChild(QToolBar, "tools_toolbar")
    undo = next(a for a in toolbar.actions() if a.iconText() == "Undo")
    accept = toolbar.widgetForAction(window.actions.accept)
    before = (toolbar.widgetForAction(undo).width(), accept.x())
    assert accept.isVisible() and accept.x() > 0
    window.set_tool("brush")
    fixed_view(window.canvas)
    click(window.canvas, 30.5, 30.5)
    qtbot.waitUntil(lambda: undo.isEnabled())
    qtbot.wait(100)                              # the bar lays itself out again on a posted event
    assert undo.text() != "Undo"                 # "Undo Brush …": the step is named, in the tooltip
    assert undo.text() in toolbar.widgetForAction(undo).toolTip()
    assert (toolbar.widgetForAction(undo).width(), accept.x()) == before


def test_the_zoom_in_the_status_bar_follows_a_zoom_by_key(qtbot, window):
    canvas = window.canvas
    moves = iter(range(10**6))

    def pointed() -> bool:   # moved again each poll: a move before the tile has loaded reports no pixel
        qtbot.mouseMove(canvas, canvas.rect().center() + QPoint(next(moves) % 2, 0))
        return window.status_cursor.text().startswith("x ")
    qtbot.waitUntil(pointed)
    window.canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key_Equal)          # Zoom in, without moving the mouse
    zoom = f"zoom {canvas.scale * 100:.0f}%"
    assert window.status_cursor.text().endswith(zoom), (window.status_cursor.text(), zoom)
    qtbot.keyClick(canvas, Qt.Key_Minus)
    qtbot.keyClick(canvas, Qt.Key_Minus)
    assert window.status_cursor.text().endswith(f"zoom {canvas.scale * 100:.0f}%")
    assert window.status_cursor.text().startswith("x ")   # the position stays beside it
