"""The Review notes dock: the tile's review state and its notes; a click on a note shows it."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget


class NotesPanel(QWidget):
    def __init__(self, review, parent=None):
        super().__init__(parent)
        self.review = review
        self.state = QLabel("No tile")
        self.state.setWordWrap(True)
        self.queue = QLabel()
        self.queue.setWordWrap(True)
        self.notes = QListWidget()
        self.notes.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.state)
        layout.addWidget(self.notes, 1)
        layout.addWidget(self.queue)
        self.notes.currentRowChanged.connect(self._row_changed)
        review.changed.connect(self.show_state)

    def show_state(self) -> None:
        rec, review = self.review.record, self.review
        if rec is None:
            self.state.setText("Not in review yet." if review.editor.stem else "No tile")
        else:
            who = f" by {rec.reviewer}" if rec.reviewer else ""
            text = f"<b>{rec.state.capitalize()}</b>{who} · annotator {rec.annotator or 'unknown'}"
            if rec.iou is not None:
                text += f" · agreement IoU {rec.iou:.2f}, APLS {rec.apls:.2f}"
            if rec.conflict:
                text += f"<br>Conflict: {rec.conflict}"
            self.state.setText(text)
        rows = [f"{i + 1}. {n.text}  — {n.author}, {datetime.fromtimestamp(n.created_at):%d %b %H:%M}"
                for i, n in enumerate(review.notes)]
        if [self.notes.item(i).text() for i in range(self.notes.count())] != rows:
            self.notes.blockSignals(True)
            self.notes.clear()
            self.notes.addItems(rows)
            self.notes.blockSignals(False)
        if self.notes.currentRow() != review.current:
            self.notes.blockSignals(True)
            self.notes.setCurrentRow(review.current)
            self.notes.blockSignals(False)
        self.queue.setText(f"To review: {len(review.queue.to_review)} · "
                           f"returned to me: {len(review.queue.returned_to_me)}")

    def _row_changed(self, row: int) -> None:
        if row >= 0:
            self.review.show_note(row)
