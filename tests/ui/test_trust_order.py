"""Order and "next": "Most uncertain first" re-sorts as predictions arrive, keeping the tile on screen
selected, and Enter moves on to the next tile still to do, not one already accepted (issue 19, item 6)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from prediction_feed import attach, road_probability
from ui_helpers import open_window

from roadseg_gui.core.workspace import Workspace


def test_most_uncertain_first_re_sorts_as_predictions_arrive(qtbot, workspace_root):
    window = open_window(qtbot, workspace_root)
    try:
        browser = window.browser
        assert browser.sort_order.currentData() == "uncertainty"
        assert browser.model.stems() == ["tile_000", "tile_001", "tile_002", "tile_003"]
        assert window.editor.stem == "tile_000"
        feed = attach(window)
        for i, uncertainty in ((0, 0.2), (2, 0.4), (3, 0.9)):
            feed.deliver(f"tile_{i:03d}", road_probability(i), uncertainty)
        qtbot.waitUntil(lambda: browser.model.stems()[0] == "tile_003", timeout=15000)
        assert browser.model.stems() == ["tile_003", "tile_002", "tile_000", "tile_001"]
        assert browser.current_stem() == "tile_000" == window.editor.stem, "the tile on screen stays selected"
        window.canvas.setFocus()
        qtbot.keyClick(window.canvas, Qt.Key_D)   # next in the live order
        qtbot.waitUntil(lambda: window.editor.stem == "tile_001", timeout=15000)
    finally:
        window.close()


def test_enter_moves_to_the_next_tile_still_to_do_skipping_accepted_ones(qtbot, workspace_root):
    workspace = Workspace.open(workspace_root)
    workspace.accept("tile_001", np.ones((96, 96), bool))   # done in an earlier session
    window = open_window(qtbot, workspace_root)
    try:
        assert window.browser.model.stems()[:3] == ["tile_000", "tile_001", "tile_002"]
        assert window.editor.stem == "tile_000"
        window.canvas.setFocus()
        qtbot.keyClick(window.canvas, Qt.Key_Return)
        qtbot.waitUntil(lambda: window.editor.stem == "tile_002", timeout=15000)
        window.browser.select("tile_003")   # at once: tile_000's accept may still be on its way to disk
        qtbot.waitUntil(lambda: window.editor.stem == "tile_003" and window.editor._tile is not None, timeout=15000)
        window.canvas.setFocus()
        qtbot.keyClick(window.canvas, Qt.Key_Return)   # wraps round to the one left: tile_002
        qtbot.waitUntil(lambda: window.editor.stem == "tile_002", timeout=15000)
    finally:
        window.close()


def test_a_session_starts_on_the_first_tile_still_to_do(qtbot, workspace_root):
    workspace = Workspace.open(workspace_root)
    for stem in ("tile_000", "tile_001"):
        workspace.accept(stem, np.ones((96, 96), bool))
    window = open_window(qtbot, workspace_root)
    try:
        assert window.browser.model.stems()[0] == "tile_000"
        assert window.editor.stem == "tile_002"
    finally:
        window.close()
