"""The whole app fits a 1366×768 laptop screen with every panel populated: docks scroll instead of
pushing the window taller."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadseg_gui.core import retrain
from roadseg_gui.core.models import ModelRecord
from roadseg_gui.ui import docks
from roadseg_gui.ui.workers import Succeeded

pytest.importorskip("boto3")


def _populate(window) -> None:
    retrain_panel = docks.panel_of(window.retrain_dock)
    metrics = {"iou": 0.61, "f1": 0.75, "precision": 0.8, "recall": 0.7, "tiles": 4}
    comparison = retrain.Comparison("job-1", ModelRecord("v0002", Path("models/v0002")), metrics,
                                    "v0001", {**metrics, "iou": 0.55}, ["a note"])
    retrain_panel._on_brought_back(Succeeded(comparison))
    for i in range(30):
        retrain_panel.log_view.appendPlainText(f"epoch {i} loss 0.1 iou 0.5")
    sync_panel = docks.panel_of(window.sync_dock)
    sync_panel.summary.setText("uploaded 3 pairs, 2 unchanged, 1 conflict\n" * 5)
    for i in range(20):
        window.log_panel.info(f"a long log line number {i} " + "x" * 200)
    window.banner.show_message("No model is configured. " * 5)
    window.status_tile.setText("a_very_long_tile_name_" * 10)


def test_window_with_every_panel_populated_fits_1280x720(qtbot, full_window):
    window = full_window
    _populate(window)
    for dock in (window.retrain_dock, window.sync_dock):  # each shown in turn, as a user would
        dock.raise_()
        qtbot.wait(50)
        hint = window.minimumSizeHint()
        assert hint.width() <= 1280 and hint.height() <= 720, (dock.objectName(), hint)
    window.resize(1280, 720)
    qtbot.wait(50)
    assert window.height() <= 720 and window.width() <= 1280  # it does not grow back
    assert docks.panel_of(window.retrain_dock).choice.grid.count() > 0
    window.close()


def test_a_new_window_is_no_larger_than_the_screen_and_long_status_text_is_elided(qtbot):
    from roadseg_gui.ui.main_window import MainWindow

    window = MainWindow(predict=False, side_panels=False)
    qtbot.addWidget(window)
    free = window.screen().availableGeometry()
    assert window.width() <= free.width() and window.height() <= free.height()
    window.status_model.setText("Model 16fa4ad1792c (a long description of the model) · " + "CPU " * 60)
    assert window.statusBar().minimumSizeHint().width() < 1280
    assert window.status_model.toolTip().endswith("CPU ")
