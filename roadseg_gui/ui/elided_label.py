"""A one-line label that elides its text ("Model 16fa… · CPU (no CU…") instead of widening the
status bar past the screen; the whole text is in its tooltip."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", max_width: int = 480, parent=None):
        super().__init__(text, parent)
        self._max_width = max_width
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        self.setToolTip(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setToolTip(text)
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(min(hint.width(), self._max_width), hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(min(80, super().minimumSizeHint().width()), super().minimumSizeHint().height())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        shown = self.fontMetrics().elidedText(self.text(), Qt.ElideRight, self.width())
        painter.drawText(self.rect(), Qt.AlignVCenter | Qt.AlignLeft, shown)


class WrapAnywhereLabel(QLabel):
    """A word-wrapped label that may also break inside long words (an S3 URI, a job name), so a
    narrow dock never has to grow, or cut the text, to fit one. ``text()`` gives the text as set."""

    BREAK_AFTER = "/_-.:="
    LONG = 24

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self._plain = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._plain = text
        super().setText(" ".join(_breakable(word, self.BREAK_AFTER, self.LONG) for word in text.split(" ")))

    def text(self) -> str:
        return self._plain


def _breakable(word: str, after: str, long: int) -> str:
    """A zero-width space after separators, and every ``long`` characters, in a word that long."""
    if len(word) < long:
        return word
    out, run = [], 0
    for char in word:
        out.append(char)
        run += 1
        if char in after or run >= long:
            out.append("\u200b")
            run = 0
    return "".join(out)
