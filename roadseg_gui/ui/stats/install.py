"""Puts throughput into the main window: the recorder, the annotator in the status bar, the Stats dock."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from roadseg_gui.core.settings import os_login

from .recorder import ThroughputRecorder


class Throughput:
    """The recorder and what shows it; the main window calls set_workspace and flush (quit)."""

    def __init__(self, window):
        self.window = window
        self.recorder = ThroughputRecorder(window)
        self.status = QLabel(f"Annotator: {os_login()}")
        self.status.setToolTip("Who is labeling (the Stats panel changes it)")
        window.statusBar().addPermanentWidget(self.status)
        window.editor.tile_shown.connect(self.recorder.tile_shown)
        window.editor.accepted.connect(self.recorder.tile_accepted)
        self.recorder.recorded.connect(self.refresh)

    def set_workspace(self, workspace) -> None:
        self.recorder.set_workspace(workspace)
        self.refresh()

    def flush(self) -> None:
        self.recorder.flush()

    def refresh(self) -> None:
        self.status.setText(f"Annotator: {self.recorder.annotator()}")


def install_throughput(window) -> Throughput:
    return Throughput(window)
