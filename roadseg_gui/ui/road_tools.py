"""Tools that draw roads the way roads are drawn: a road line that snaps to the prediction,
take a predicted road with one click, and connect two road ends.

The heavy parts are Qt-free (core.snapping, core.road_pick); the context's ``roads``
(ui.road_assist.RoadAssist) holds the per-tile cost map and the thresholded prediction.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QPainterPath, QPen, QPolygonF

from roadseg_gui.core.road_pick import nearest_road_end
from roadseg_gui.core.snapping import snapped_polyline

from .tools import PREVIEW_FILL, RoadLineTool, Tool, _cosmetic_pen, _erasing, _point

STRAIGHT = Qt.AltModifier     # held at a click: that segment is a straight line (S toggles it for every click,
                              # for desktops whose window manager takes Alt+click: openbox, Xfce, KDE)
TAKE = Qt.ControlModifier     # held at a click of the road line: take the predicted road there
HOVER_DELAY_MS = 80           # the preview to the cursor snaps once the mouse rests this long


def _held(event, modifier) -> bool:
    return bool(event.modifiers() & modifier)


def _straight(context, event) -> bool:
    """This click draws a straight segment: Straight segments (S) is on, or Alt is held."""
    return bool(getattr(context, "straight_segments", False)) or _held(event, STRAIGHT)


def _draw_road(painter, points: list[QPointF], width: float) -> None:
    if len(points) < 2:
        return
    painter.setPen(QPen(PREVIEW_FILL, width, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
    painter.setBrush(Qt.NoBrush)
    painter.drawPolyline(QPolygonF(points))
    painter.setPen(_cosmetic_pen(width=1.0, style=Qt.DashLine))
    painter.drawPolyline(QPolygonF(points))


class SnapRoadLineTool(RoadLineTool):
    """The road line (L): between clicks it follows the model's road probability."""

    hint = ("Click along the road (it follows the prediction; S or Alt+click: straight); Ctrl+click takes a "
            "road; Enter ends.")

    def __init__(self, context, canvas):
        super().__init__(context, canvas)
        self.straight: list[bool] = []
        self._line: list[tuple[float, float]] = []     # the snapped polyline through the clicks so far
        self._finishing: list[tuple[float, float]] = []
        self._hover_line: list[tuple[float, float]] = []   # snapped from the last click to the resting cursor
        self._hover_straight = False
        self._hover_timer = QTimer(singleShot=True, interval=HOVER_DELAY_MS)
        self._hover_timer.timeout.connect(self._snap_hover)

    def press(self, pos, event) -> None:
        if event.button() == Qt.LeftButton and _held(event, TAKE) and not self.points:
            self.ctx.roads.take_road(pos.x(), pos.y())
            return
        before = len(self.points)
        super().press(pos, event)
        if len(self.points) > before:
            self.straight.append(_straight(self.ctx, event))
            self._extend_line()
            self._hover_line = []

    def move(self, pos, event) -> None:
        super().move(pos, event)
        if self.points:
            self._hover_line = []          # straight while the mouse moves; snapped once it rests
            self._hover_straight = _straight(self.ctx, event)
            self._hover_timer.start()

    def _snap_hover(self) -> None:
        if not self.points or self.hover is None or self._hover_straight:
            return
        cost = self.ctx.roads.snap_cost()
        if cost is not None:
            self._hover_line = snapped_polyline(cost, [_point(self.points[-1]), _point(self.hover)],
                                                road_width=self.ctx.road_width())
            self.canvas.update()

    def _extend_line(self) -> None:
        """Snap only the new segment (a click costs one corridor, not the whole line again)."""
        if len(self.points) == 1:
            self._line = [_point(self.points[0])]
            return
        segment = snapped_polyline(self.ctx.roads.snap_cost(), [_point(p) for p in self.points[-2:]],
                                   [False, self.straight[-1]], self.ctx.road_width())
        self._line += segment[1:]

    def key_press(self, event) -> bool:
        if self.points and event.key() == Qt.Key_Backspace:
            self.straight.pop()
            self.points.pop()
            self._hover_line = []
            self._rebuild_line()
            self.canvas.update()
            return True
        return super().key_press(event)

    def _rebuild_line(self) -> None:
        self._line = snapped_polyline(self.ctx.roads.snap_cost(), [_point(p) for p in self.points],
                                      self.straight, self.ctx.road_width())

    def cancel(self) -> None:
        super().cancel()
        self._hover_timer.stop()
        self.straight, self._line, self._hover_line = [], [], []

    def finish(self) -> None:
        self._finishing = list(self._line)
        super().finish()

    def commit(self, document, points, value):
        line, self._finishing = self._finishing or points, []
        return document.road_line(line, self.ctx.road_width(), value)

    def paint_preview(self, painter, canvas) -> None:
        if not self.points:
            super().paint_preview(painter, canvas)   # the cursor outline
            return
        ahead = [QPointF(x, y) for x, y in self._hover_line[1:]] or ([self.hover] if self.hover is not None else [])
        _draw_road(painter, [QPointF(x, y) for x, y in self._line] + ahead, self.ctx.road_width())
        painter.setPen(_cosmetic_pen())
        for p in self.points:
            painter.drawEllipse(p, 2 / canvas.scale, 2 / canvas.scale)


class TakeRoadTool(Tool):
    name, label, shortcut = "take", "Take predicted road", "T"
    hint = "Click a predicted road to copy it, as far as it is connected, into the mask."

    def press(self, pos, event) -> None:
        if event.button() == Qt.LeftButton and self.ctx.document is not None:
            self.ctx.roads.take_road(pos.x(), pos.y())

    def hover_radius(self) -> float:
        return 8 / max(self.canvas.scale, 1e-3)

    def paint_preview(self, painter, canvas) -> None:
        if self.hover is None:
            return
        s = 6 / canvas.scale
        path = QPainterPath()
        path.addEllipse(self.hover, s, s)
        painter.setPen(_cosmetic_pen())
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(path)


class ConnectTool(Tool):
    name, label, shortcut = "connect", "Connect roads", "C"
    hint = "Click two road ends to join them at the road width (S or Alt+click: straight); Esc cancels."

    def __init__(self, context, canvas):
        super().__init__(context, canvas)
        self.first: tuple[float, float] | None = None

    def _reach(self) -> float:
        return max(2.0 * self.ctx.road_width(), 16 / max(self.canvas.scale, 1e-3))

    def _end_near(self, pos: QPointF) -> tuple[float, float]:
        """The road end nearest the click (within reach), else the click itself."""
        end = nearest_road_end(self.ctx.document.mask, _point(pos), self._reach())
        return end if end is not None else _point(pos)

    def press(self, pos, event) -> None:
        document = self.ctx.document
        if event.button() != Qt.LeftButton or document is None:
            return
        point = self._end_near(pos)
        if self.first is None:
            self.first = point
            self.canvas.update()
            return
        first, self.first = self.first, None
        line = snapped_polyline(self.ctx.roads.snap_cost(), [first, point], [False, _straight(self.ctx, event)],
                                self.ctx.road_width())
        erase = _erasing(event)
        self.ctx.push(document.road_line(line, self.ctx.road_width(), not erase),
                      "Connect roads" if not erase else "Erase connection")
        self.canvas.update()

    def move(self, pos, event) -> None:
        self.hover = pos
        if self.first is not None:
            self.canvas.update()
        else:
            super().move(pos, event)

    def wants_key(self, event) -> bool:
        return self.first is not None and event.key() == Qt.Key_Escape

    def key_press(self, event) -> bool:
        if not self.wants_key(event):
            return False
        self.cancel()
        return True

    def cancel(self) -> None:
        self.first = None
        self.canvas.update()

    def hover_radius(self) -> float:
        return self._reach()

    def paint_preview(self, painter, canvas) -> None:
        if self.first is not None:
            first = QPointF(*self.first)
            if self.hover is not None:
                _draw_road(painter, [first, self.hover], self.ctx.road_width())
            painter.setPen(_cosmetic_pen(width=2.0))
            painter.drawEllipse(first, 5 / canvas.scale, 5 / canvas.scale)
        elif self.hover is not None:
            painter.setPen(_cosmetic_pen())
            painter.setBrush(Qt.NoBrush)
            painter.drawEllipse(self.hover, self._reach(), self._reach())
