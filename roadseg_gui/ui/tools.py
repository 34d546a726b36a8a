"""Editing tools: each turns mouse events (image coordinates) into MaskDocument operations.

Holding Shift makes any tool erase. The context (the editor) provides the
current ``document``, ``brush_size()``, ``road_width()`` and ``push(edit, text)``
onto the tile's undo stack.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF

PREVIEW = QColor(255, 255, 255, 220)
PREVIEW_FILL = QColor(0, 230, 255, 90)


def _point(pos: QPointF) -> tuple[float, float]:
    return pos.x(), pos.y()


def _erasing(event) -> bool:
    return bool(event.modifiers() & Qt.ShiftModifier)


def _cosmetic_pen(color: QColor = PREVIEW, width: float = 1.5, style=Qt.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)  # constant on-screen width at any zoom
    return pen


class Tool:
    name = "tool"
    label = "Tool"
    shortcut = ""
    hint = ""

    def __init__(self, context, canvas):
        self.ctx = context
        self.canvas = canvas
        self.hover: QPointF | None = None

    def press(self, pos: QPointF, event) -> None: ...
    def release(self, pos: QPointF, event) -> None: ...
    def double_click(self, pos: QPointF, event) -> None: ...

    def move(self, pos: QPointF, event) -> None:
        self._repaint_hover(pos)

    def key_press(self, event) -> bool:
        return False

    def wants_key(self, event) -> bool:
        return False

    def cancel(self) -> None:
        pass

    def paint_preview(self, painter: QPainter, canvas) -> None: ...

    def hover_radius(self) -> float:
        return 0.0

    def _repaint_hover(self, pos: QPointF | None) -> None:
        # Repaint the old and the new cursor outline only, not the whole (maybe 4096²) tile.
        r = self.hover_radius() + 2
        for p in (self.hover, pos):
            if p is not None:
                self.canvas.update_image_rect(p.x() - r, p.y() - r, p.x() + r, p.y() + r)
        self.hover = pos


class BrushTool(Tool):
    name, label, shortcut = "brush", "Brush", "B"
    hint = "Drag to paint road. Shift erases. [ and ] change the size."
    value = True

    def __init__(self, context, canvas):
        super().__init__(context, canvas)
        self._last: QPointF | None = None
        self._erase = False

    def hover_radius(self) -> float:
        return self.ctx.brush_size() / 2

    def press(self, pos, event) -> None:
        document = self.ctx.document
        if event.button() != Qt.LeftButton or document is None:
            return
        self._erase = _erasing(event)
        document.begin_group()
        document.dab(_point(pos), self.hover_radius(), self._paint_value())
        self._last = pos

    def move(self, pos, event) -> None:
        super().move(pos, event)
        document = self.ctx.document
        if self._last is not None and document is not None:
            document.stroke(_point(self._last), _point(pos), self.hover_radius(), self._paint_value())
            self._last = pos

    def release(self, pos, event) -> None:
        document = self.ctx.document
        if self._last is None or document is None:
            return
        self._last = None
        self.ctx.push(document.end_group(), self.label if not self._erase else "Erase")

    def cancel(self) -> None:
        if self._last is not None and self.ctx.document is not None:
            self.ctx.push(self.ctx.document.end_group(), self.label)
        self._last = None

    def _paint_value(self) -> bool:
        return self.value != self._erase

    def paint_preview(self, painter, canvas) -> None:
        if self.hover is None:
            return
        r = self.hover_radius()
        painter.setPen(_cosmetic_pen())
        painter.setBrush(Qt.NoBrush)
        painter.drawEllipse(self.hover, r, r)


class EraserTool(BrushTool):
    name, label, shortcut = "eraser", "Eraser", "E"
    hint = "Drag to erase road. [ and ] change the size."
    value = False


class _PointsTool(Tool):
    """Click to add points; double-click or Enter finishes; Escape cancels; Backspace undoes a point."""

    def __init__(self, context, canvas):
        super().__init__(context, canvas)
        self.points: list[QPointF] = []
        self._erase = False

    def press(self, pos, event) -> None:
        if event.button() != Qt.LeftButton or self.ctx.document is None:
            return
        self._erase = self._erase or _erasing(event)
        self.points.append(pos)
        self.canvas.update()

    def move(self, pos, event) -> None:
        self.hover = pos
        if self.points:
            self.canvas.update()
        else:
            super().move(pos, event)

    def double_click(self, pos, event) -> None:
        self._erase = self._erase or _erasing(event)
        self.finish()

    def wants_key(self, event) -> bool:
        return bool(self.points) and event.key() in (Qt.Key_Return, Qt.Key_Enter, Qt.Key_Escape,
                                                     Qt.Key_Backspace)

    def key_press(self, event) -> bool:
        if not self.wants_key(event):
            return False
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self._erase = self._erase or _erasing(event)
            self.finish()
        elif event.key() == Qt.Key_Backspace:
            self.points.pop()
        else:
            self.cancel()
        self.canvas.update()
        return True

    def cancel(self) -> None:
        self.points = []
        self._erase = False
        self.canvas.update()

    def finish(self) -> None:
        points, erase = [_point(p) for p in self.points], self._erase
        self.cancel()
        document = self.ctx.document
        if document is not None and points:
            self.ctx.push(self.commit(document, points, not erase), self.label if not erase else f"Erase {self.label}")

    def commit(self, document, points, value):
        raise NotImplementedError


class RoadLineTool(_PointsTool):
    name, label, shortcut = "road", "Road line", "L"
    hint = "Click points along the road; double-click or Enter ends it; Shift erases; Esc cancels."

    def hover_radius(self) -> float:
        return self.ctx.road_width() / 2

    def commit(self, document, points, value):
        return document.road_line(points, self.ctx.road_width(), value)

    def paint_preview(self, painter, canvas) -> None:
        path_points = self.points + ([self.hover] if self.hover is not None else [])
        if not path_points:
            return
        width = self.ctx.road_width()
        pen = QPen(PREVIEW_FILL, width, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        if len(path_points) == 1:
            painter.drawPoint(path_points[0])
        else:
            painter.drawPolyline(QPolygonF(path_points))
            painter.setPen(_cosmetic_pen(width=1.0, style=Qt.DashLine))
            painter.drawPolyline(QPolygonF(path_points))
        painter.setPen(_cosmetic_pen())
        for p in self.points:
            painter.drawEllipse(p, 2 / canvas.scale, 2 / canvas.scale)


class PolygonTool(_PointsTool):
    name, label, shortcut = "polygon", "Polygon fill", "P"
    hint = "Click the corners; double-click or Enter fills the polygon; Shift erases; Esc cancels."

    def commit(self, document, points, value):
        return document.polygon(points, value)

    def paint_preview(self, painter, canvas) -> None:
        path_points = self.points + ([self.hover] if self.hover is not None and self.points else [])
        if not path_points:
            return
        painter.setPen(_cosmetic_pen())
        painter.setBrush(QBrush(PREVIEW_FILL))
        painter.drawPolygon(QPolygonF(path_points))


class FillTool(Tool):
    name, label, shortcut = "fill", "Flood fill", "F"
    hint = "Click inside an enclosed area to fill it with road; Shift+click clears an area."

    def press(self, pos, event) -> None:
        document = self.ctx.document
        if event.button() != Qt.LeftButton or document is None:
            return
        erase = _erasing(event)
        self.ctx.push(document.flood_fill(_point(pos), not erase), "Fill" if not erase else "Clear area")

    def paint_preview(self, painter, canvas) -> None:
        if self.hover is None:
            return
        path = QPainterPath()
        s = 6 / canvas.scale
        path.moveTo(self.hover.x() - s, self.hover.y())
        path.lineTo(self.hover.x() + s, self.hover.y())
        path.moveTo(self.hover.x(), self.hover.y() - s)
        path.lineTo(self.hover.x(), self.hover.y() + s)
        painter.setPen(_cosmetic_pen())
        painter.drawPath(path)

    def hover_radius(self) -> float:
        return 8 / max(self.canvas.scale, 1e-3)


TOOL_CLASSES = (BrushTool, EraserTool, RoadLineTool, PolygonTool, FillTool)
