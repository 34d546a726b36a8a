"""A plain-language banner above the canvas (e.g. "No model is configured") with up to two action buttons."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


class Banner(QFrame):
    clicked = Signal()
    secondary_clicked = Signal()

    def __init__(self, button_text: str, secondary_text: str = "", parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet("#banner { background: #5a4a1a; border-radius: 4px; } "
                           "#banner QLabel { color: #ffe9a8; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton(button_text)
        self.button.clicked.connect(self.clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.secondary = QPushButton(secondary_text)
        self.secondary.clicked.connect(self.secondary_clicked)
        self.secondary.setVisible(bool(secondary_text))
        layout.addWidget(self.secondary)
        self.hide()

    def show_message(self, text: str, with_buttons: bool = True) -> None:
        """``with_buttons=False`` for a passing state ("Loading model…") that needs no choice."""
        self.label.setText(text)
        self.button.setVisible(with_buttons)
        self.secondary.setVisible(with_buttons and bool(self.secondary.text()))
        self.show()
