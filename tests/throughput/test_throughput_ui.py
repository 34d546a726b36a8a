"""Real keys and clicks on a tile, then Enter: the state DB holds the annotator's actions by tool, the
active seconds (an idle gap over 30 s cut), the accept and its road; the Stats panel and status bar show them."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar
from ui_helpers import click, drag_to, fixed_view, open_window, press, release, type_annotator

from roadseg_gui.core import statedb
from roadseg_gui.core.settings import WorkspaceSettings, os_login
from roadseg_gui.core.throughput import store


class Clock:
    """Monotonic seconds the test moves on; starts past every real reading the recorder may have seen."""

    def __init__(self):
        self.now = time.monotonic() + 1000.0

    def __call__(self) -> float:
        return self.now


def _records(root, stem):
    conn = statedb.connect(root)
    try:
        return [r for r in store.load_records(conn) if r.stem == stem]
    finally:
        conn.close()


def _stroke(canvas, y, x0, x1):
    press(canvas, x0 + 0.5, y + 0.5)
    for x in range(x0 + 10, x1 + 1, 10):
        drag_to(canvas, x + 0.5, y + 0.5)
    release(canvas, x1 + 0.5, y + 0.5)


def test_keys_clicks_and_accept_are_recorded_with_active_seconds_and_road(qtbot, workspace_root):
    window = open_window(qtbot, workspace_root)
    try:
        canvas, recorder = window.canvas, window.throughput.recorder
        clock = recorder.clock = Clock()
        fixed_view(canvas)
        stem = window.editor.stem
        annotator = os_login()
        assert window.throughput.status.text() == f"Annotator: {annotator}"

        click(canvas, 20.5, 60.5)                        # brush: 1
        qtbot.waitUntil(lambda: bool(_records(workspace_root, stem)), timeout=5000)   # written on the debounce
        assert _records(workspace_root, stem)[0].actions == {"brush": 1}
        clock.now += 2
        _stroke(canvas, 40, 10, 80)                      # a stroke is one action: brush 2
        clock.now += 1
        qtbot.keyClick(canvas, Qt.Key_E)                 # a key (with the brush in hand): brush 3
        assert canvas.tool.name == "eraser"
        clock.now += 2
        _stroke(canvas, 80, 10, 30)                      # eraser 1
        clock.now += 55
        qtbot.mouseMove(canvas)                          # back after 55 s: the gap is cut
        clock.now += 1
        qtbot.keyClick(canvas, Qt.Key_Return)            # accept, a key: eraser 2
        qtbot.waitUntil(lambda: any(r.accepted and r.road_m > 0 for r in _records(workspace_root, stem)),
                        timeout=15000)
        assert window.editor.stem != stem

        (record,) = _records(workspace_root, stem)
        assert record.annotator == annotator and record.day == store.today()
        assert record.actions == {"brush": 3, "eraser": 2}
        assert record.active_s == pytest.approx(2 + 1 + 2 + 1)
        assert record.accepted and record.road_measured == "assumed_gsd"
        assert 20 <= record.road_m <= 40                 # ~60 px of centre line at 0.5 m

        window.throughput.dock.raise_()
        qtbot.waitUntil(lambda: window.throughput.panel.cells[("today", "tiles")].text() == "1", timeout=5000)
        panel = window.throughput.panel
        assert panel.cells[("workspace", "actions")].text() == "5"
        assert panel.cells[("today", "hours")].text() == "0:00:06"
        assert panel.cells[("today", "tiles_per_hour")].text() == f"{1 / (6 / 3600):.2f}"
        assert panel.cells[("today", "actions_per_km")].text() == f"{5 / (record.road_m / 1000):.2f}"
    finally:
        window.close()


def test_the_annotator_set_in_the_stats_panel_is_saved_shown_and_recorded(qtbot, workspace_root):
    window = open_window(qtbot, workspace_root)
    try:
        field = type_annotator(qtbot, window, "maria")
        assert not window.throughput.recorder.activity.has_pending() or \
            not any(w.actions for w in window.throughput.recorder.activity.take().values()), "typing is no action"
        qtbot.keyClick(field, Qt.Key_Return)
        assert window.throughput.status.text() == "Annotator: maria"
        assert WorkspaceSettings.load(workspace_root).annotator == "maria"
        fixed_view(window.canvas)
        stem = window.editor.stem
        click(window.canvas, 30.5, 30.5)
        toolbar = window.findChild(QToolBar, "tools_toolbar")
        qtbot.mouseClick(toolbar.widgetForAction(window.actions.next_tile), Qt.LeftButton)   # a click: an action
        qtbot.waitUntil(lambda: window.editor.stem != stem, timeout=5000)
        window.close()                                   # quit writes what the debounce has not yet
        # Enter saved the name and accepted no tile (it used to reach Accept and move on); the seconds
        # spent typing stay with the previous name, with no action.
        records = {r.annotator: r for r in _records(workspace_root, stem)}
        assert set(records) <= {"maria", os_login()} and not any(r.accepted for r in records.values())
        assert records["maria"].actions == {"brush": 2}
        assert os_login() not in records or records[os_login()].actions == {}
    finally:
        window.close()
