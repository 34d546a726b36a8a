"""Review notes as marks on the tile: a numbered pin at each note, the one N showed drawn larger."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPen

NOTE_COLOUR = QColor(80, 200, 255)
PIN_PX = 10   # on screen, at any zoom


class NotesOverlay:
    """Painted by the canvas (``canvas.decorations``) in image coordinates."""

    def __init__(self, review, canvas):
        self.review = review
        self.visible = True
        canvas.decorations.append(self)

    def paint(self, painter, canvas) -> None:
        if not self.visible or not self.review.notes:
            return
        font = QFont(painter.font())
        font.setPointSizeF(max(1.0, 9.0 / canvas.scale))
        font.setBold(True)
        painter.setFont(font)
        for index, note in enumerate(self.review.notes):
            current = index == self.review.current
            r = PIN_PX * (1.5 if current else 1.0) / canvas.scale
            pen = QPen(QColor("white"), 3.0 if current else 2.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(NOTE_COLOUR)
            centre = QPointF(note.x, note.y)
            painter.drawEllipse(centre, r, r)
            painter.setPen(QColor("black"))
            painter.drawText(QRectF(note.x - r, note.y - r, 2 * r, 2 * r), Qt.AlignCenter, str(index + 1))
