"""One signal for "the labeled pairs changed" (a tile accepted, a sync done), so the S3 panel's
"pairs to sync" and the Retrain panel's train/test counts follow the workspace without a click."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal


class PairsChanged(QObject):
    changed = Signal()

    def __init__(self, parent=None, delay_ms: int = 300):
        super().__init__(parent)
        # Coalesced: accepting ten tiles quickly recounts once, not ten times.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.changed)

    def notify(self) -> None:
        self._timer.start()


def bind_side_panel(events: PairsChanged, panel) -> None:
    """Recount a side panel whenever the pairs change; a panel that changes them reports it back."""
    recount = getattr(panel, "refresh_summary", None) or getattr(panel, "refresh", None)
    if recount is not None:
        events.changed.connect(recount)
    finished = getattr(panel, "sync_finished", None)
    if finished is not None:
        finished.connect(lambda _report: events.notify())
