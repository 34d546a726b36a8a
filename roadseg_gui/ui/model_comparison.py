"""The new model beside the current one on the workspace's test pairs, what the corrections bought, and the
choice: Activate new model / Keep current / Roll back. One piece of state, the comparison on show.
Activating a model that is worse on every metric asks first (``confirm_box``; Esc or Cancel keeps the current).

Activation and rollback are settings writes, done at once; ``switched(record)`` then tells the panel which
model the app should now predict with, and ``message(text)`` says what happened or why it could not."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, \
    QWidget

from roadseg_gui.core import retrain

from .workers import failure_from


class ModelComparisonBox(QWidget):
    switched = Signal(object)  # the ModelRecord now active
    message = Signal(str)

    def __init__(self, root: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.root = root
        self.comparison: retrain.Comparison | None = None
        self.confirm_box: QMessageBox | None = None  # open while a worse model's activation waits for a yes
        group = QGroupBox("New model vs current (this workspace's test pairs)")
        self.grid = QGridLayout(group)
        self.activate_button = QPushButton("Activate new model")
        self.keep_button = QPushButton("Keep current")
        self.rollback_button = QPushButton("Roll back")
        self.activate_button.clicked.connect(self.activate_new)
        self.keep_button.clicked.connect(self.keep_current)
        self.rollback_button.clicked.connect(self.roll_back)
        self.rollback_button.setEnabled(False)  # until the registry shows an earlier model
        choice = QHBoxLayout()
        for button in (self.activate_button, self.keep_button, self.rollback_button):
            choice.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(group)
        layout.addLayout(choice)
        self.clear()

    def set_previous(self, previous) -> None:
        """The model a rollback would return to (None: there is none, Roll back stays disabled)."""
        self.rollback_button.setEnabled(previous is not None)
        self.rollback_button.setToolTip(f"Predict with {previous.version} again, the model active before this one"
                                        if previous else "There is no earlier model to go back to")

    def show_comparison(self, comparison: retrain.Comparison) -> None:
        self.clear()
        self.comparison = comparison
        grid = self.grid
        for col, text in enumerate(("", f"new {comparison.new.version}",
                                    f"current {comparison.current_version or '(none)'}", "change")):
            grid.addWidget(QLabel(f"<b>{text}</b>"), 0, col)
        for row, (key, new, current) in enumerate(comparison.rows(), start=1):
            delta = "" if new is None or current is None else f"{new - current:+.4f}"
            for col, text in enumerate((key, _fmt(new), _fmt(current), delta)):
                grid.addWidget(QLabel(text), row, col)
        for row, (label, value) in enumerate(comparison.payoff_rows(), start=len(comparison.rows()) + 1):
            grid.addWidget(QLabel(label), row, 0, 1, 3)  # what the corrections bought
            grid.addWidget(QLabel(value), row, 3)
        for note in comparison.notes:  # e.g. the retrain returned the model it started from
            label = QLabel(note)
            label.setWordWrap(True)
            grid.addWidget(label, grid.rowCount(), 0, 1, 4)
        self._choosing(True)

    def clear(self) -> None:
        self.comparison = None
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self._choosing(False)

    def activate_new(self) -> None:
        if self.comparison is None:
            return
        if self.comparison.worse_everywhere:
            self._ask_to_activate_worse(self.comparison)
            return
        self._guarded("activate", retrain.activate, self.root, self.comparison.new.version)

    def _ask_to_activate_worse(self, comparison: retrain.Comparison) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Activate a worse model?",
                          comparison.worse_sentence() + " Activate it anyway?", parent=self)
        box.setObjectName("confirmWorseModel")
        activate = box.addButton("Activate anyway", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.finished.connect(lambda _: self._on_confirmed(box, box.clickedButton() is activate, comparison))
        self.confirm_box = box
        box.open()  # window-modal, without a nested event loop

    def _on_confirmed(self, box: QMessageBox, yes: bool, comparison: retrain.Comparison) -> None:
        self.confirm_box = None
        box.deleteLater()
        if not yes:
            self.message.emit(f"kept the current model; {comparison.new.version} was not activated")
        elif comparison is self.comparison:
            self._guarded("activate", retrain.activate, self.root, comparison.new.version)

    def keep_current(self) -> None:
        self._choosing(False)
        self.message.emit("kept the current model; the new one stays in the model list")

    def roll_back(self) -> None:
        self._guarded("roll back", retrain.rollback, self.root)

    def _choosing(self, enabled: bool) -> None:
        self.activate_button.setEnabled(enabled)
        self.keep_button.setEnabled(enabled)

    def _guarded(self, verb: str, fn, *args) -> None:
        try:
            record = fn(*args)
        except Exception as exc:  # noqa: BLE001 - shown, never raised into Qt
            self.message.emit(f"cannot {verb}: {failure_from(exc).sentence()}")
            return
        self._choosing(False)
        self.message.emit(f"active model: {record.version}")
        self.switched.emit(record)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"
