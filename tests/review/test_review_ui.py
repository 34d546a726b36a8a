"""Road review in the window (issue 20), driven by real key, mouse and wheel events on a tile whose
prediction is hand-made: proposals drawn and hidden, Tab order, accept (one undo step, autosaved),
reject (kept over a relaunch), bulk accept, width change, conflation and the geometry checks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from review_data import probability, road_band
from ui_helpers import click, drag_to, open_window, press, release

from roadseg_gui.core.settings import WorkspaceSettings
from roadseg_gui.ui import dialogs
from roadseg_gui.ui.tile_loader import prepare_prediction

SHAPE = (128, 128)
STEM = "tile_000"
ROADS = [([(30, 6, 30, 121)], 7, 0.95),     # long and sure
         ([(90, 6, 90, 121)], 7, 0.9),
         ([(60, 20, 60, 60)], 7, 0.6)]      # short and unsure, on its own


pytestmark = pytest.mark.usefixtures("isolated_config")   # tests/conftest.py


def make_workspace(root, start="labeled"):
    (root / "unlabeled").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(60, 120, SHAPE + (3,), dtype=np.uint8)).save(root / "unlabeled" / f"{STEM}.png")
    settings = WorkspaceSettings()
    settings.labeling.review_start = start
    settings.save(root)
    return root


def reviewing(qtbot, root, roads=ROADS, mask=None):
    window = open_window(qtbot, root)
    if mask is not None:
        window.editor.document.replace(mask)
        window.editor.undo.active.clear()
    window.editor.set_prediction(STEM, prepare_prediction(probability(SHAPE, roads), 0.5))
    qtbot.waitUntil(lambda: window.review.candidates is not None, timeout=20000)
    QApplication.processEvents()        # pending resizes would refit the view afterwards
    window.canvas.set_view(1.5, QPointF(4, 4))   # the whole 128 px tile in the small test canvas
    window.canvas.setFocus()
    return window


@pytest.fixture
def window(qtbot, tmp_path):
    win = reviewing(qtbot, make_workspace(tmp_path / "ws"))
    yield win
    win.close()


def key(qtbot, window, k, modifiers=Qt.NoModifier):
    qtbot.keyClick(window.canvas, k, modifiers)


def lime_at(window, x, y) -> bool:
    image = window.canvas.grab().toImage()
    where = window.canvas.image_to_widget(QPointF(x, y))
    colour = image.pixelColor(int(where.x()), int(where.y()))
    return colour.green() > 200 and colour.red() < 200 and colour.blue() < 120


def row_of(candidate) -> float:
    return float(candidate.pts[:, 0].mean())


def test_proposals_are_drawn_tab_moves_through_them_best_first_and_v_hides_them(window, qtbot):
    review = window.review
    assert len(review.candidates) == 3
    assert [round(row_of(c)) for c in review.candidates.items[:2]] == [30, 90]
    assert review.selected() is review.candidates.items[0]
    assert lime_at(window, 60.5, 90.5)                  # an unselected road, in the layer's colour
    assert not lime_at(window, 60.5, 10.5)
    key(qtbot, window, Qt.Key_Tab)
    assert round(row_of(review.selected())) == 90
    key(qtbot, window, Qt.Key_Tab)
    assert review.selected().confidence < 0.7
    key(qtbot, window, Qt.Key_Backtab, Qt.ShiftModifier)    # what X11 sends for Shift+Tab
    assert round(row_of(review.selected())) == 90
    key(qtbot, window, Qt.Key_Tab, Qt.ShiftModifier)
    assert round(row_of(review.selected())) == 30
    key(qtbot, window, Qt.Key_Tab)
    key(qtbot, window, Qt.Key_V)
    assert not window.review_actions.show.isChecked() and not lime_at(window, 30.5, 60.5)
    key(qtbot, window, Qt.Key_V)
    assert lime_at(window, 30.5, 60.5)
    assert "3 proposed roads" in window.review_panel.summary.text()
    window.review_panel.start.setFocus()                 # in a panel, Tab moves the focus as usual
    qtbot.keyClick(window.review_panel.start, Qt.Key_Tab)
    assert round(row_of(review.selected())) == 90 and not window.review_panel.start.hasFocus()


def test_a_click_selects_only_with_the_review_tool(window, qtbot):
    review = window.review
    document = window.editor.document
    click(window.canvas, 60.5, 90.5)                    # the brush paints; nothing is selected
    assert round(row_of(review.selected())) == 30 and document.mask.any()
    window.editor.undo.active.undo()
    key(qtbot, window, Qt.Key_R)
    assert window.canvas.tool.name == "review"
    click(window.canvas, 60.5, 91.5)
    assert round(row_of(review.selected())) == 90
    assert not document.mask.any()


def test_y_accepts_as_one_undo_step_with_autosave_and_selects_the_next(window, qtbot):
    review, document = window.review, window.editor.document
    stack = window.editor.undo.active
    key(qtbot, window, Qt.Key_Y)
    assert document.mask[30, 60] and document.mask[30, 10] and not document.mask[90, 60]
    assert stack.count() == 1 and stack.undoText() == "Accept proposed road"
    assert len(review.candidates) == 2 and round(row_of(review.selected())) == 90
    qtbot.waitUntil(window.workspace.edit_path(STEM).exists, timeout=15000)   # autosaved
    saved = np.asarray(Image.open(window.workspace.edit_path(STEM)))
    assert (saved[30, 60] > 0).all()
    key(qtbot, window, Qt.Key_Z, Qt.ControlModifier)
    assert not document.mask.any() and len(review.candidates) == 3


def test_x_rejects_and_the_rejection_survives_a_relaunch(qtbot, tmp_path):
    root = make_workspace(tmp_path / "ws")
    window = reviewing(qtbot, root)
    key(qtbot, window, Qt.Key_X)
    assert len(window.review.candidates) == 2
    assert all(round(row_of(c)) != 30 for c in window.review.candidates.items)
    assert not window.editor.document.mask.any()
    window.close()
    window.workspace.close()
    again = reviewing(qtbot, root)
    try:
        assert len(again.review.candidates) == 2
        assert all(round(row_of(c)) != 30 for c in again.review.candidates.items)
        key(qtbot, again, Qt.Key_X, Qt.ShiftModifier)        # brought back
        assert len(again.review.candidates) == 3
    finally:
        again.close()


def test_bulk_accept_in_a_rectangle_and_on_the_whole_tile_with_the_confidence_slider(window, qtbot):
    review, document = window.review, window.editor.document
    window.review_panel.confidence.setValue(85)
    assert review.min_confidence == 0.85
    key(qtbot, window, Qt.Key_R)
    press(window.canvas, 2.5, 70.5)
    drag_to(window.canvas, 60.5, 100.5)
    drag_to(window.canvas, 125.5, 125.5)
    release(window.canvas, 125.5, 125.5)                 # the lower road and the unsure one's middle
    assert document.mask[90, 60] and not document.mask[30, 60] and not document.mask[60, 30]
    key(qtbot, window, Qt.Key_Z, Qt.ControlModifier)
    assert not document.mask.any()
    key(qtbot, window, Qt.Key_Y, Qt.ShiftModifier)
    assert document.mask[90, 60] and document.mask[30, 60] and not document.mask[60, 30]
    assert window.editor.undo.active.count() == 1
    assert len(review.candidates) == 1


def band_width(mask, col) -> int:
    return int(mask[:, col].sum())


def test_the_width_changes_with_keys_and_shift_wheel_before_accepting(window, qtbot):
    review = window.review
    measured = review.selected().width_px
    key(qtbot, window, Qt.Key_Period)
    key(qtbot, window, Qt.Key_Period)
    key(qtbot, window, Qt.Key_Comma)
    assert review.width_of(review.selected()) == measured + 1
    key(qtbot, window, Qt.Key_R)
    where = window.canvas.image_to_widget(QPointF(60, 60))
    for _ in range(2):
        event = QWheelEvent(where, window.canvas.mapToGlobal(where), QPoint(0, 0), QPoint(0, 120), Qt.NoButton,
                            Qt.ShiftModifier, Qt.NoScrollPhase, False)
        QApplication.sendEvent(window.canvas, event)
    assert review.width_of(review.selected()) == measured + 3
    scale = window.canvas.scale
    key(qtbot, window, Qt.Key_Y)
    assert window.canvas.scale == scale                   # Shift+wheel did not zoom
    assert band_width(window.editor.document.mask, 60) == pytest.approx(measured + 3, abs=1)


def test_conflation_in_the_window_joins_an_end_and_refuses_a_duplicate(qtbot, tmp_path):
    from scipy import ndimage

    labeled = road_band(SHAPE, [(0, 70, 127, 70), (20, 6, 20, 60)], 5)
    roads = [([(60, 6, 60, 60)], 7, 0.95),              # stops 8 px short of the labeled road at col 70
             ([(25, 6, 25, 60)], 5, 0.9)]               # runs along the labeled road at row 20
    window = reviewing(qtbot, make_workspace(tmp_path / "ws"), roads, labeled)
    try:
        document = window.editor.document
        joining = next(c for c in window.review.candidates.items if round(row_of(c)) == 60)
        window.review.select(joining)
        key(qtbot, window, Qt.Key_Y)
        pieces, _count = ndimage.label(document.mask, structure=np.ones((3, 3)))
        assert pieces[60, 30] == pieces[60, 70]             # no gap
        assert not (document.mask & ~labeled)[:, 73:].any()  # no overshoot
        assert "1 end joined" in window.statusBar().currentMessage()
        before = document.mask.copy()
        duplicate = next(c for c in window.review.candidates.items if round(row_of(c)) == 25)
        window.review.select(duplicate)
        key(qtbot, window, Qt.Key_Y)
        assert np.array_equal(document.mask, before)
        assert "already labeled" in window.statusBar().currentMessage()
        assert window.editor.undo.active.count() == 1
    finally:
        window.close()


def test_a_short_lone_road_is_accepted_and_marked_as_a_geometry_issue(window, qtbot):
    review = window.review
    window.panel.road_width.setValue(10)                 # QA's minimum fragment: 8 widths = 80 px
    short = next(c for c in review.candidates.items if c.confidence < 0.7)
    review.select(short)
    key(qtbot, window, Qt.Key_Y)
    assert window.editor.document.mask[60, 30]
    assert [i.kind for i in review.issues] == ["short_piece"]
    assert "geometry issue" in window.statusBar().currentMessage()
    issue = review.issues[0]
    assert abs(issue.x - 40.5) < 3 and abs(issue.y - 60.5) < 2
    assert "on its own" in window.review_panel.issues.text()
    qa = window.road_qa                                  # it joins the connectivity list and its legend
    qtbot.waitUntil(lambda: not qa.busy and "short_piece" in [i.kind for i in qa.issues], timeout=20000)
    assert qa.legend.counts().get("short_piece") == 1
    key(qtbot, window, Qt.Key_Z, Qt.ControlModifier)     # the road undone: its issue goes with it
    assert review.issues == [] and window.review_panel.issues.text() == ""
    qtbot.waitUntil(lambda: not qa.busy and "short_piece" not in [i.kind for i in qa.issues], timeout=20000)


def test_the_review_keys_are_in_the_menus_and_f1_and_the_start_flow_is_a_saved_setting(window, qtbot):
    rows = dict((what, keys) for keys, what in dialogs.shortcut_rows(window))
    assert rows["Accept proposed road"] == "Y" and rows["Reject proposed road"] == "X"
    assert rows["Next proposed road"] == "Tab" and rows["Review roads"] == "R"
    panel = window.review_panel
    assert panel.start.currentData() == "labeled"
    panel.start.setCurrentIndex(panel.start.findData("prediction"))
    assert WorkspaceSettings.load(window.workspace.root).labeling.review_start == "prediction"
    assert window.editor.start_from_prediction


def test_the_default_start_is_the_prediction_as_before(qtbot, tmp_path):
    window = reviewing(qtbot, make_workspace(tmp_path / "ws", start="prediction"))
    try:
        assert window.editor.document.mask[30, 60]          # the untouched tile became the prediction
        assert len(window.review.candidates) == 0
    finally:
        window.close()


@pytest.mark.parametrize("start", ["labeled", "prediction"])
def test_a_tile_with_a_stored_prediction_opens_as_the_start_flow_says(qtbot, tmp_path, start):
    from roadseg_gui.core.workspace import Workspace

    root = make_workspace(tmp_path / "ws", start=start)
    workspace = Workspace.open(root)
    workspace.save_prediction(STEM, probability(SHAPE, ROADS[:2]), 0.1, "test")
    workspace.close()
    window = open_window(qtbot, root)
    try:
        qtbot.waitUntil(lambda: window.review.candidates is not None, timeout=20000)
        mask = window.editor.document.mask
        if start == "labeled":
            assert not mask.any() and len(window.review.candidates) == 2
        else:
            assert mask[30, 60] and mask[90, 60] and len(window.review.candidates) == 0
    finally:
        window.close()


def test_hidden_proposals_trace_no_network_until_shown_again(window, qtbot):
    review = window.review
    key(qtbot, window, Qt.Key_V)
    window.editor.set_prediction(STEM, prepare_prediction(probability(SHAPE, ROADS[:1]), 0.5))
    assert not review.busy and len(review.candidates) == 3    # nothing traced for a hidden layer
    key(qtbot, window, Qt.Key_V)
    qtbot.waitUntil(lambda: not review.busy and len(review.candidates) == 1, timeout=20000)
