"""Non-modal log panel: what happened and what to do, never a traceback.

Messages also go through ``logging`` (the log file keeps details); a handler
relays WARNING+ records from any thread into the panel.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QWidget

log = logging.getLogger("roadseg.app")

LEVEL_COLORS = {"info": QColor(170, 170, 170), "warning": QColor(245, 166, 35), "error": QColor(234, 90, 80)}
MAX_ENTRIES = 1000


class LogPanel(QWidget):
    message_added = Signal(str, str)   # level, text

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setMinimumHeight(40)
        self.clear_button = QPushButton("Clear log")
        self.clear_button.clicked.connect(self.list.clear)
        # The button beside the list, not under it: in a 110-px dock at 1366x768 it was cut at the bottom.
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.clear_button, 0, Qt.AlignTop)

    def add(self, level: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        item = QListWidgetItem(f"{stamp}  {text}")
        item.setForeground(LEVEL_COLORS.get(level, LEVEL_COLORS["info"]))
        item.setToolTip(text)
        self.list.addItem(item)
        while self.list.count() > MAX_ENTRIES:
            self.list.takeItem(0)
        self.list.scrollToBottom()
        self.message_added.emit(level, text)

    def info(self, text: str) -> None:
        log.info(text)
        self.add("info", text)

    def warning(self, text: str) -> None:
        log.warning(text)
        self.add("warning", text)

    def error(self, text: str) -> None:
        log.error(text)
        self.add("error", text)

    def entries(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]


class _Relay(QObject):
    record = Signal(str, str)


class PanelLogHandler(logging.Handler):
    """Shows WARNING+ records from other modules (any thread) in the panel, first line only."""

    def __init__(self, panel: LogPanel):
        super().__init__(logging.WARNING)
        self._relay = _Relay()
        self._relay.record.connect(panel.add)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == log.name:
            return  # the panel's own messages are already shown
        try:
            text = record.getMessage().splitlines()[0]
        except Exception:  # noqa: BLE001 - a bad log call must not break the app
            return
        self._relay.record.emit("error" if record.levelno >= logging.ERROR else "warning", text)
