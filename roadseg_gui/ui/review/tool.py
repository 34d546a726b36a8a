"""The review tool: a click selects the proposed road under it, a drag accepts every road above the
confidence inside the rectangle. Only this tool takes clicks for review, so the others keep theirs."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen

from ..tools import Tool

DRAG_PX = 5   # on screen: less than this is a click


class ReviewTool(Tool):
    name, label, shortcut = "review", "Review roads", "R"
    hint = ("Click a proposed road to select it. Y accepts, X rejects, Tab / Shift+Tab move on, "
            ", and . (or Shift+wheel) change its width. Drag a rectangle to accept every road above the "
            "confidence inside it.")

    def __init__(self, context, canvas):
        super().__init__(context, canvas)
        self._start: QPointF | None = None
        self._end: QPointF | None = None

    def review(self):
        return getattr(self.ctx, "review", None)

    def press(self, pos, event) -> None:
        if event.button() == Qt.LeftButton:
            self._start = self._end = pos

    def move(self, pos, event) -> None:
        super().move(pos, event)
        if self._start is not None:
            self._end = pos
            self.canvas.update()

    def release(self, pos, event) -> None:
        start, self._start, self._end = self._start, None, None
        review = self.review()
        if start is None or review is None:
            return
        moved = self.canvas.image_to_widget(pos) - self.canvas.image_to_widget(start)
        if abs(moved.x()) + abs(moved.y()) < DRAG_PX:
            review.select_at(pos.x(), pos.y())
        else:
            review.accept_in_area((start.x(), start.y(), pos.x(), pos.y()))
        self.canvas.update()

    def cancel(self) -> None:
        self._start = self._end = None

    def paint_preview(self, painter, canvas) -> None:
        if self._start is None or self._end is None:
            return
        pen = QPen(QColor(255, 255, 255, 230), 1.5, Qt.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(QRectF(self._start, self._end).normalized())
