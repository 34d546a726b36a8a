"""Road review's keys and button count as actions of their own tool, "review", in the throughput
records (whatever tool is in hand), and the road accepted with them is still measured at the tile's accept."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication
from review_data import probability
from ui_helpers import click, open_window

from roadseg_gui.core import statedb
from roadseg_gui.core.settings import WorkspaceSettings
from roadseg_gui.core.throughput import store
from roadseg_gui.ui.tile_loader import prepare_prediction

SHAPE = (128, 128)
STEM = "tile_000"
ROADS = [([(30, 6, 30, 121)], 7, 0.95), ([(90, 6, 90, 121)], 7, 0.9), ([(60, 20, 60, 60)], 7, 0.6)]


pytestmark = pytest.mark.usefixtures("isolated_config")   # tests/conftest.py


@pytest.fixture
def window(qtbot, tmp_path):
    root = tmp_path / "ws"
    (root / "unlabeled").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(60, 120, SHAPE + (3,), dtype=np.uint8)).save(root / "unlabeled" / f"{STEM}.png")
    settings = WorkspaceSettings()
    settings.labeling.review_start = "labeled"
    settings.save(root)
    win = open_window(qtbot, root)
    win.editor.set_prediction(STEM, prepare_prediction(probability(SHAPE, ROADS), 0.5))
    qtbot.waitUntil(lambda: win.review.candidates is not None, timeout=20000)
    QApplication.processEvents()
    win.canvas.set_view(1.5, QPointF(4, 4))
    win.canvas.setFocus()
    yield win
    win.close()


def actions_of(window, stem):
    window.throughput.flush()
    conn = statedb.connect(window.workspace.root)
    try:
        records = [r for r in store.load_records(conn) if r.stem == stem]
    finally:
        conn.close()
    return records


def test_review_keys_count_as_review_actions_and_the_accepted_road_is_measured(window, qtbot):
    canvas, review = window.canvas, window.review
    assert canvas.tool.name == "brush"
    click(canvas, 110.5, 110.5)                       # a brush dab: brush 1
    qtbot.keyClick(canvas, Qt.Key_Y)                  # accept the longest road: review 1
    qtbot.keyClick(canvas, Qt.Key_X)                  # reject the next: review 2
    assert len(review.candidates) == 1
    qtbot.keyClick(canvas, Qt.Key_X, Qt.ShiftModifier)     # propose it again: review 3
    assert len(review.candidates) == 2
    qtbot.keyClick(canvas, Qt.Key_Tab)                # the next road: review 4
    qtbot.keyClick(canvas, Qt.Key_E)                  # a tool key is the tool in hand's: brush 2
    assert canvas.tool.name == "eraser"
    assert actions_of(window, STEM)[0].actions == {"brush": 2, "review": 4}
    window.review_panel.confidence.setValue(50)
    window.review_dock.raise_()
    qtbot.mouseClick(window.review_panel.accept_all, Qt.LeftButton)   # bulk accept, a button: review 5
    assert len(review.candidates) == 0
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key_Y, Qt.ShiftModifier)    # bulk accept with nothing left, still a key: review 6
    assert actions_of(window, STEM)[0].actions == {"brush": 2, "review": 6}
    qtbot.keyClick(canvas, Qt.Key_Return)             # accept the tile, with the eraser in hand
    qtbot.waitUntil(lambda: any(r.accepted and r.road_m > 0 for r in actions_of(window, STEM)), timeout=15000)
    (record,) = actions_of(window, STEM)
    assert record.actions == {"brush": 2, "review": 6, "eraser": 1}
    # the three roads, ~115 + 115 + 40 px of centre line, at the assumed 0.5 m per pixel
    assert record.road_measured == "assumed_gsd" and 120 <= record.road_m <= 150
