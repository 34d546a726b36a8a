"""The Road review panel: how many roads are proposed, the selected one, the bulk-accept confidence
(a slider shown as a number) and where an untouched tile starts ([labeling] review_start)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..panels import LabeledSlider

START_CHOICES = (("prediction", "the prediction"),
                 ("labeled", "what is labeled"))


class ReviewPanel(QWidget):
    start_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("No proposed roads")
        self.summary.setWordWrap(True)
        self.selected = QLabel("")
        self.selected.setWordWrap(True)
        self.issues = QLabel("")
        self.issues.setWordWrap(True)
        self.issues.setStyleSheet("color: #ff78ff;")
        self.confidence = LabeledSlider(0, 100, 80, "Bulk accept takes the roads at least this confident (%)")
        self.accept_all = QPushButton("Accept all above it")
        self.accept_all.setToolTip("Accept every proposed road of this tile at least this confident, as one undo "
                                   "step (Shift+Y); drag a rectangle with Review roads (R) for an area")
        self.start = QComboBox()
        for value, text in START_CHOICES:
            self.start.addItem(text, value)
        self.start.setToolTip("What an untouched tile's mask starts as when it is opened ([labeling] review_start). "
                              "Review starts from what is labeled and proposes the prediction's roads.")
        self.start.currentIndexChanged.connect(lambda _i: self.start_changed.emit(self.start.currentData()))
        self.keys = QLabel("Y accept · X reject · Tab next · , . width · V show · R click, drag")
        self.keys.setStyleSheet("color: #999;")
        self.keys.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Confidence", self.confidence)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.selected)
        layout.addWidget(self.issues)
        layout.addLayout(form)
        layout.addWidget(self.accept_all)
        layout.addWidget(self.keys)
        layout.addWidget(QLabel("An untouched tile starts as"))   # narrow: the dock shares the laptop's width
        layout.addWidget(self.start)
        layout.addStretch(1)

    def set_start(self, value: str) -> None:
        index = self.start.findData(value)
        self.start.blockSignals(True)
        self.start.setCurrentIndex(max(0, index))
        self.start.blockSignals(False)

    def show_state(self, review) -> None:
        candidates = review.candidates
        if candidates is None:
            self.summary.setText("Proposing roads…" if review.busy else "No prediction: no proposed roads")
        else:
            count = len(candidates)
            self.summary.setText(f"{count} proposed road{'s' if count != 1 else ''}" if count else
                                 "Every predicted road is labeled or rejected")
        selected = review.selected()
        self.selected.setText("" if selected is None else
                              f"Selected: {selected.length:.0f} {selected.units}, {selected.confidence:.0%} confident, "
                              f"{review.width_of(selected):.0f} px wide")
        shown = review.issues[:5]
        self.issues.setText("<br>".join(f"{i.text} at x {i.x:.0f}, y {i.y:.0f}" for i in shown)
                            + (f"<br>and {len(review.issues) - 5} more" if len(review.issues) > 5 else ""))
