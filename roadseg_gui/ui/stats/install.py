"""Puts throughput into the main window: the recorder, the annotator in the status bar, the Stats dock."""

from __future__ import annotations

import logging
import sqlite3

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from roadseg_gui.core.settings import os_login
from roadseg_gui.core.review_state import quality, store as review_store
from roadseg_gui.core.throughput import report, store

from .. import docks
from .panel import StatsPanel
from .recorder import ThroughputRecorder

log = logging.getLogger(__name__)


class Throughput:
    """The recorder and what shows it; the main window calls set_workspace and flush (quit)."""

    def __init__(self, window):
        self.window = window
        self.recorder = ThroughputRecorder(window)
        self.status = QLabel(f"Annotator: {os_login()}")
        self.status.setToolTip("Who is labeling (the Stats panel changes it)")
        window.statusBar().addPermanentWidget(self.status)
        self.panel = StatsPanel()
        self.dock = docks.make_dock(window, "Stats", self.panel, Qt.RightDockWidgetArea, object_name="stats_dock",
                                    beside=window.layers_dock)
        window.view_menu.addAction(self.dock.toggleViewAction())
        window.layers_dock.raise_()
        window.editor.tile_shown.connect(self.recorder.tile_shown)
        window.editor.accepted.connect(self.recorder.tile_accepted)
        self.recorder.recorded.connect(self.refresh)
        self.dock.visibilityChanged.connect(lambda visible: visible and self.refresh())
        self.panel.annotator_changed.connect(self.set_annotator)

    def set_workspace(self, workspace) -> None:
        self.recorder.set_workspace(workspace)
        self.refresh()

    def flush(self) -> None:
        self.recorder.flush()

    def set_annotator(self, name: str) -> None:
        """Work so far stays with the previous name; the setting is saved in the workspace."""
        workspace = self.recorder.workspace
        if workspace is None or name == workspace.settings.annotator.strip():
            return
        self.recorder.flush()
        workspace.settings.annotator = name
        try:
            workspace.save_settings()
        except OSError as exc:
            log.warning("Could not save the annotator name in %s: %s", workspace.root, exc)
        self.refresh()

    def refresh(self) -> None:
        annotator = self.recorder.annotator()
        self.status.setText(f"Annotator: {annotator}")
        workspace = self.recorder.workspace
        if workspace is None or not self.dock.isVisible():
            self.panel.show_stats(None, None, annotator)
            return
        try:
            records = store.load_records(workspace.db)
            self.panel.review_quality.show_rows(quality.by_annotator(review_store.all_records(workspace.db)))
        except sqlite3.Error as exc:
            log.warning("Could not read the stats: %s", exc)
            return
        day = store.today()
        mine_today = [r for r in records if r.day == day and r.annotator == annotator]
        self.panel.show_stats(report.total(mine_today, "today") if mine_today else None,
                              report.total(records, "workspace") if records else None, annotator)


def install_throughput(window) -> Throughput:
    return Throughput(window)
