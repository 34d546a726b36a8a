"""The Stats panel: tiles per hour, km per hour and actions per km, today (this annotator) and for the
whole workspace (everyone), as ``roadseg stats`` prints them; and who is labeling."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGridLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from .review_quality import ReviewQualityTable

ROWS = (("tiles", "Tiles accepted"), ("hours", "Active time"), ("km", "Road accepted (km)"),
        ("actions", "Actions"), ("tiles_per_hour", "Tiles per hour"), ("km_per_hour", "km per hour"),
        ("actions_per_km", "Actions per km"))
COLUMNS = ("today", "workspace")


def _text(value) -> str:
    if value is None:
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.2f}"


class StatsPanel(QWidget):
    annotator_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.annotator = QLineEdit()
        self.annotator.setToolTip("Who is labeling: recorded with each tile's time and actions "
                                  "(the workspace's annotator setting; empty: your login)")
        self.annotator.editingFinished.connect(lambda: self.annotator_changed.emit(self.annotator.text().strip()))
        form = QFormLayout()
        form.addRow("Annotator", self.annotator)
        grid = QGridLayout()
        self.headers = {column: QLabel() for column in COLUMNS}
        for col, column in enumerate(COLUMNS, start=1):
            self.headers[column].setAlignment(Qt.AlignRight)
            grid.addWidget(self.headers[column], 0, col)
        self.cells: dict[tuple[str, str], QLabel] = {}
        for row, (key, label) in enumerate(ROWS, start=1):
            grid.addWidget(QLabel(label), row, 0)
            for col, column in enumerate(COLUMNS, start=1):
                cell = self.cells[(column, key)] = QLabel("–")
                cell.setAlignment(Qt.AlignRight)
                grid.addWidget(cell, row, col)
        self.note = QLabel("Active time: input in the window, idle gaps over 30 s cut. "
                           "An action: a click, a key or a stroke.")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #999;")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(grid)
        layout.addWidget(QLabel("Review quality per annotator"))
        self.review_quality = ReviewQualityTable()
        layout.addWidget(self.review_quality)
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.show_stats(None, None, "")

    def show_stats(self, today, workspace, annotator: str) -> None:
        """``today``/``workspace``: report.Summary (None: nothing recorded)."""
        self.headers["today"].setText(f"Today ({annotator})" if annotator else "Today")
        self.headers["workspace"].setText("Workspace (all)")
        for column, summary in (("today", today), ("workspace", workspace)):
            values = summary.values() if summary is not None else {}
            for key, _label in ROWS:
                self.cells[(column, key)].setText(_text(values.get(key)))
            if summary is not None:   # h:mm:ss, not "0.00" hours after a few minutes' work
                seconds = round(summary.active_s)
                self.cells[(column, "hours")].setText(f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}")
        if annotator and not self.annotator.hasFocus():
            self.annotator.setText(annotator)
