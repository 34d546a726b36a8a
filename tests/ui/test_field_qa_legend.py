"""Issue 19, item 7: the connectivity marks have a legend with counts by kind, the prediction's specks
are not marked, N centres the issue (and keeps it centred when the canvas changes size), and Q, which
shows or hides the marks, sits in the View menu."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from roadseg_gui.core.connectivity_qa import QASettings, check_mask, find_issues
from roadseg_gui.ui.tile_loader import prepare_prediction

SPECKS = ((18, 18), (18, 72), (72, 18), (72, 72))     # 3x3 dots, as a weak model's speckle


def _road() -> np.ndarray:
    mask = np.zeros((96, 96), bool)
    mask[40:50, :] = True          # crosses the tile: no issue of its own
    return mask


def _specks() -> np.ndarray:
    mask = np.zeros((96, 96), bool)
    for r, c in SPECKS:
        mask[r:r + 3, c:c + 3] = True
    return mask


def test_specks_of_the_prediction_are_counted_not_marked_and_a_dab_of_ones_own_still_is():
    settings = QASettings(road_width=10)
    predicted = _road() | _specks()
    assert len(find_issues(predicted, predicted, settings)) == len(SPECKS)   # each speck: a "fragment"
    result = check_mask(predicted, predicted, settings)
    assert result.issues == [] and result.specks == len(SPECKS)
    own = predicted.copy()
    own[75:78, 45:48] = True       # the same size, where the model sees no road
    result = check_mask(own, predicted, settings)
    assert [i.kind for i in result.issues] == ["short_fragment"] and result.specks == len(SPECKS)
    assert check_mask(predicted, None, settings).specks == 0        # no prediction: nothing is a speck


def _show(window, qtbot, mask, predicted=None) -> None:
    stem = window.editor.stem
    if predicted is not None:
        window.editor.set_prediction(stem, prepare_prediction((predicted * 255).astype(np.uint8), 0.5))
        qtbot.waitUntil(lambda: window.editor.probability is not None, timeout=10000)
    window.panel.road_width.setValue(10)
    window.editor.document.replace(mask)
    qtbot.waitUntil(lambda: not window.road_qa.busy, timeout=15000)


def test_the_legend_counts_by_kind_and_q_in_the_view_menu_hides_it_with_the_marks(qtbot, window):
    qa = window.road_qa
    predicted = _road() | _specks()
    mask = predicted.copy()
    mask[75:78, 45:48] = True                     # one short piece of one's own
    mask[20:30, 30:60] = True                     # and a road that ends twice inside the tile
    _show(window, qtbot, mask, predicted)
    qtbot.waitUntil(lambda: qa.specks == len(SPECKS), timeout=15000)
    kinds = {}
    for issue in qa.issues:
        kinds[issue.kind] = kinds.get(issue.kind, 0) + 1
    assert kinds and "short_fragment" in kinds
    assert qa.legend.isVisible() and qa.legend.counts() == kinds
    assert f"{len(SPECKS)} prediction specks not marked" in qa.legend.text()
    assert qa.legend.geometry().right() < window.canvas.width() and qa.legend.y() >= 0

    view = window.view_menu.actions()
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools").actions()
    assert window.actions.show_qa in view and window.actions.show_qa not in tools
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_Q)
    assert not qa.visible and not qa.legend.isVisible()
    qtbot.keyClick(window.canvas, Qt.Key_Q)
    assert qa.visible and qa.legend.isVisible()


def _centre_of_view(canvas) -> QPointF:
    return canvas.widget_to_image(QPointF(canvas.width() / 2, canvas.height() / 2))


def test_n_centres_the_issue_and_it_stays_centred_when_a_banner_changes_the_canvas_size(qtbot, window):
    qa = window.road_qa
    mask = np.zeros((96, 96), bool)
    mask[40:50, :60] = True                       # a road that stops in the middle of the tile
    _show(window, qtbot, mask)
    qtbot.waitUntil(lambda: len(qa.issues) == 1, timeout=15000)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_N)
    issue = qa.issues[qa.current]
    centre = _centre_of_view(window.canvas)
    assert math.dist((centre.x(), centre.y()), issue.centre) < 1
    height = window.canvas.height()
    if window.banner.isVisible():                 # e.g. "Loading model…" goes away
        window.banner.hide()
    else:
        window.banner.show_message("A message above the canvas", with_buttons=False)
    qtbot.waitUntil(lambda: window.canvas.height() != height, timeout=5000)
    QApplication.processEvents()
    qtbot.waitUntil(lambda: math.dist((_centre_of_view(window.canvas).x(), _centre_of_view(window.canvas).y()),
                                      issue.centre) < 1, timeout=3000)
