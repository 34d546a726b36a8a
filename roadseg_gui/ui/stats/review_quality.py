"""Review quality per annotator in the Stats panel, as ``roadseg stats`` prints it: tiles approved at
first review, returned tiles, and mean agreement with the reviewer (road IoU, APLS)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

HEADERS = ("Annotator", "Reviewed", "Approved 1st", "Returned", "IoU", "APLS")


def _cell(text: str, right: bool = True) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if right:
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return item


def _num(value, spec: str, suffix: str = "") -> str:
    return "–" if value is None else format(value, spec) + suffix


class ReviewQualityTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.NoSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setToolTip("Per annotator: tiles a reviewer decided, approved at first review (%), returned at "
                        "least once, and mean agreement of the accepted mask with the approved one")
        self.setMaximumHeight(140)

    def show_rows(self, rows) -> None:
        """``rows``: core.review_state.quality.AnnotatorQuality, one per annotator."""
        self.setRowCount(len(rows))
        for r, q in enumerate(rows):
            for c, item in enumerate((_cell(q.annotator, right=False), _cell(str(q.reviewed)),
                                      _cell(_num(q.approved_first_pct, ".0f", " %")), _cell(str(q.returned)),
                                      _cell(_num(q.mean_iou, ".3f")), _cell(_num(q.mean_apls, ".3f")))):
                self.setItem(r, c, item)
