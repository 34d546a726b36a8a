"""Every Alt gesture has a key of its own: window managers (openbox, Xfce, KDE) take Alt+drag, so
Alt+click never reaches the app. S toggles straight segments for the road line and Connect; Alt stays as
a second way; both are in the Tools menu and F1, and no key is bound twice (issue 19, item 3)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from test_road_tools import WIDTH, most_curved_edge, spacenet, start  # noqa: F401 - spacenet is a fixture
from test_ui_shortcuts import _keys_by_action
from ui_helpers import click, double_click

from roadseg_gui.core.mask_edit import MaskDocument
from roadseg_gui.core.snapping import snapped_polyline
from roadseg_gui.ui import dialogs


def test_s_makes_road_line_and_connect_straight_without_alt(spacenet, qtbot):
    window, truth = spacenet
    pts = most_curved_edge(truth)
    clicks = [(c + 0.5, r + 0.5) for r, c in (pts[0], pts[-1])]
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_S)
    assert window.actions.straight_segments.isChecked() and "Straight segments on" in window.tool_hint.text()

    document = start(window, "road", np.zeros(truth.shape, bool))
    click(window.canvas, *clicks[0])                  # no modifier at all
    double_click(window.canvas, *clicks[1])
    straight = MaskDocument(truth.shape)
    straight.road_line(clicks + [clicks[-1]], WIDTH)
    assert np.array_equal(document.mask, straight.mask), "S on: the segment is straight"

    document = start(window, "connect", np.zeros(truth.shape, bool))
    click(window.canvas, *clicks[0])
    click(window.canvas, *clicks[1])
    joined = MaskDocument(truth.shape)
    joined.road_line([clicks[0], clicks[1]], WIDTH)
    assert np.array_equal(document.mask, joined.mask), "S on: Connect joins with a straight line"

    qtbot.keyClick(window.canvas, Qt.Key_S)             # off again: the line follows the prediction
    assert not window.actions.straight_segments.isChecked()
    document = start(window, "road", np.zeros(truth.shape, bool))
    click(window.canvas, *clicks[0])
    double_click(window.canvas, *clicks[1])
    assert (document.mask & truth).sum() > 1.25 * (straight.mask & truth).sum()
    snapped = MaskDocument(truth.shape)
    snapped.road_line(snapped_polyline(window.editor.roads.snap_cost(), clicks, [False, False], WIDTH), WIDTH)
    assert np.array_equal(document.mask, snapped.mask)


def test_straight_segments_is_in_the_tools_menu_and_f1_next_to_alt_and_no_key_is_bound_twice(window):
    action = window.actions.straight_segments
    tools_menu = next(m.menu() for m in window.menuBar().actions() if m.text() == "&Tools")
    assert action in tools_menu.actions()
    rows = dict((what, keys) for keys, what in dialogs.shortcut_rows(window))
    assert rows["Straight segments"] == "S"
    html = dialogs.shortcuts_html(window)
    assert "S, or Alt + click" in html
    duplicates = {key: names for key, names in _keys_by_action(window).items() if len(names) > 1}
    assert duplicates == {}
