"""Issue 19, item 5: the Retrain panel fits a 1366x768 window (no horizontal scrollbar, nothing cut),
the mouse wheel over an unfocused spin box scrolls the panel instead of changing the value, and dock
widths come back at the next launch."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from roadseg_gui.core import retrain
from roadseg_gui.core.models import ModelRecord
from roadseg_gui.ui import docks

pytest.importorskip("boto3")


def _laptop(window) -> None:
    window.resize(1366, 768 - 40)     # the screen less a title bar
    window.show_retrain_panel()
    QApplication.processEvents()


def _comparison() -> retrain.Comparison:
    metrics = {"iou": 0.6612, "f1": 0.7801, "precision": 0.8012, "recall": 0.7655, "apls": 0.5123,
               "cldice": 0.7012, "tiles": 12}
    worse = {key: value - 0.05 for key, value in metrics.items() if key != "tiles"}
    return retrain.Comparison("roadseg-local-20261207-031500", ModelRecord("v0012", Path("m")), worse,
                              current_version="v0011", current_metrics=metrics, corrected_tiles=14)


def _right_edge_in(widget, viewport) -> int:
    return widget.mapTo(viewport, QPoint(widget.width(), 0)).x()


def test_the_retrain_panel_fits_a_1366_window_with_nothing_cut(qtbot, full_window):
    panel = docks.panel_of(full_window.retrain_dock)
    full_window.resize(1366, 768 - 40)
    qtbot.wait(100)
    # as in use: the job ends while another tab is in front, and the comparison and a long status arrive
    panel.choice.show_comparison(_comparison())
    panel.status_label.setText("roadseg-predict-20261207-031500 [sagemaker]: Completed - outputs in "
                               "s3://a-rather-long-bucket-name/team/scene-predictions/roadseg-predict-20261207/")
    qtbot.wait(100)
    _laptop(full_window)
    scroll = full_window.retrain_dock.widget()
    qtbot.waitUntil(lambda: scroll.viewport().width() > 0 and full_window.retrain_dock.isVisible())
    qtbot.wait(100)
    viewport = scroll.viewport()
    assert not scroll.horizontalScrollBar().isVisible()
    assert panel.width() <= viewport.width()
    change = [w for w in panel.choice.findChildren(QLabel) if "change" in w.text()]
    assert change, "the comparison shows a 'change' column"
    for widget in (panel.refresh_button, panel.form.minutes, panel.review_button, panel.choice.rollback_button,
                   panel.choice.activate_button, panel.status_label, panel.show_button, change[0]):
        assert widget.isVisible()
        assert _right_edge_in(widget, viewport) <= viewport.width(), widget
        assert widget.width() >= widget.minimumSizeHint().width(), widget
    assert full_window.canvas.width() >= 500   # the canvas keeps most of the window


def _wheel(widget, notches: int = -1) -> None:
    """What Qt delivers for one wheel notch over the middle of ``widget``."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_the_panel_over_an_unfocused_spin_box_and_changes_it_only_when_focused(
        qtbot, full_window):
    panel = docks.panel_of(full_window.retrain_dock)
    _laptop(full_window)
    scroll = full_window.retrain_dock.widget()
    lr = panel.form.lr
    scroll.ensureWidgetVisible(lr)
    QApplication.processEvents()
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0, "at 768 px the panel scrolls"
    bar.setValue(bar.minimum() + (bar.maximum() - bar.minimum()) // 3)
    scroll.ensureWidgetVisible(lr)
    QApplication.processEvents()
    before, position = lr.value(), bar.value()
    full_window.canvas.setFocus()
    _wheel(lr, notches=+1)   # (the line edit under the pointer ignores the wheel; Qt passes it to the box)
    QApplication.processEvents()
    assert lr.value() == before, "the wheel changed an unfocused learning rate"
    assert bar.value() != position, ("the panel did not scroll", bar.minimum(), bar.maximum())
    for combo in (panel.form.backbone, panel.form.backend):
        text = combo.currentText()
        _wheel(combo)
        assert combo.currentText() == text

    scroll.ensureWidgetVisible(lr)
    QApplication.processEvents()
    qtbot.mouseClick(lr.lineEdit(), Qt.LeftButton)
    qtbot.waitUntil(lr.hasFocus)
    _wheel(lr, notches=+1)
    assert lr.value() > before


def test_dock_widths_come_back_at_the_next_launch(qtbot, workspace_root):
    from ui_helpers import open_window

    first = open_window(qtbot, workspace_root)
    first.resizeDocks([first.layers_dock], [420], Qt.Horizontal)
    QApplication.processEvents()
    width = first.layers_dock.width()
    assert width >= 370, width   # wider than the 340 px a first launch gives it
    first.close()

    second = open_window(qtbot, workspace_root)
    QApplication.processEvents()
    try:
        assert abs(second.layers_dock.width() - width) <= 4, (second.layers_dock.width(), width)
    finally:
        second.close()


def _window_with_side_panels(qtbot, root):
    from roadseg_gui.core.workspace import Workspace
    from roadseg_gui.ui.main_window import MainWindow

    window = MainWindow(predict=False, side_panels=True)
    window.ask_on_quit = False
    qtbot.addWidget(window)
    window.resize(1300, 720)
    window.show()
    window.set_workspace(Workspace.open(root))
    qtbot.waitUntil(lambda: window.retrain_dock is not None and window.sync_dock is not None, timeout=60000)
    QApplication.processEvents()
    return window


def test_the_side_docks_come_back_where_and_as_wide_as_they_were(qtbot, workspace_root):
    first = _window_with_side_panels(qtbot, workspace_root)
    for dock in (first.retrain_dock, first.sync_dock):   # a first launch shows them, tabbed
        assert not dock.isHidden() and dock in first.tabifiedDockWidgets(first.layers_dock)
    first.show_retrain_panel()
    first.resizeDocks([first.retrain_dock], [520], Qt.Horizontal)
    QApplication.processEvents()
    width = first.retrain_dock.width()
    assert width >= 480, width
    first.close()

    second = _window_with_side_panels(qtbot, workspace_root)
    try:
        assert not second.retrain_dock.isHidden()
        assert second.retrain_dock in second.tabifiedDockWidgets(second.layers_dock)
        assert abs(second.layers_dock.width() - width) <= 4, (second.layers_dock.width(), width)
    finally:
        second.close()


def test_the_log_dock_shows_its_clear_button_whole_at_1366(qtbot, window):
    window.resize(1366, 768 - 40)
    qtbot.wait(100)
    scroll = window.log_dock.widget()
    button = docks.panel_of(window.log_dock).findChild(QPushButton)
    bottom = button.mapTo(scroll.viewport(), QPoint(0, button.height())).y()
    assert button.isVisible() and bottom <= scroll.viewport().height()
    assert not scroll.verticalScrollBar().isVisible()
