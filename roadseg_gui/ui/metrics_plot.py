"""A small per-epoch plot: loss on the left axis, test IoU and F1 (0..1) on the right, painted with QPainter.

PySide6-Essentials has no QtCharts, and four short polylines do not need it.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

# key, label, colour, right axis (0..1)?, dashed?
SERIES = (
    ("train_loss", "train loss", "#d62728", False, False),
    ("test_loss", "test loss", "#d62728", False, True),
    ("test_iou", "test IoU", "#1f77b4", True, False),
    ("test_f1", "test F1", "#2ca02c", True, False),
)


class MetricsPlot(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._epochs: list[dict] = []
        self.setMinimumSize(240, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Per-epoch loss (left axis) and test IoU / F1 (right axis, 0-1)")

    def sizeHint(self) -> QSize:
        return QSize(360, 200)

    def set_epochs(self, epochs: list[dict]) -> None:
        self._epochs = sorted(epochs, key=lambda e: e.get("epoch", 0))
        self.update()

    def add_epoch(self, epoch: dict) -> None:
        kept = [e for e in self._epochs if e.get("epoch") != epoch.get("epoch")]
        self.set_epochs(kept + [epoch])

    def clear(self) -> None:
        self.set_epochs([])

    def epochs(self) -> list[dict]:
        return list(self._epochs)

    def series(self, key: str) -> list[tuple[int, float]]:
        return [(e["epoch"], float(e[key])) for e in self._epochs if isinstance(e.get(key), (int, float))]

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        area = QRectF(self.rect()).adjusted(44, 10, -40, -34)
        text_pen = QPen(self.palette().text().color())
        painter.setPen(QPen(QColor("#999999")))
        painter.drawRect(area)
        if not self._epochs:
            painter.setPen(text_pen)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "metrics appear here after each epoch")
            painter.end()
            return
        first, last = self._epochs[0]["epoch"], self._epochs[-1]["epoch"]
        span = max(1, last - first)
        losses = [v for key, _, _, right, _ in SERIES if not right for _, v in self.series(key)]
        loss_max = max(losses) * 1.1 if losses and max(losses) > 0 else 1.0

        def point(epoch: int, value: float, right: bool) -> QPointF:
            top = 1.0 if right else loss_max
            x = area.left() + (epoch - first) / span * area.width() if last > first else area.center().x()
            y = area.bottom() - max(0.0, min(value / top, 1.0)) * area.height()
            return QPointF(x, y)

        painter.setPen(text_pen)
        painter.drawText(QRectF(0, area.top() - 6, 42, 14), Qt.AlignmentFlag.AlignRight, f"{loss_max:.2f}")
        painter.drawText(QRectF(0, area.bottom() - 8, 42, 14), Qt.AlignmentFlag.AlignRight, "0")
        painter.drawText(QRectF(area.right() + 4, area.top() - 6, 36, 14), Qt.AlignmentFlag.AlignLeft, "1.0")
        painter.drawText(QRectF(area.right() + 4, area.bottom() - 8, 36, 14), Qt.AlignmentFlag.AlignLeft, "0")
        painter.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), 14),
                         Qt.AlignmentFlag.AlignHCenter, f"epoch {first}-{last}" if last > first else f"epoch {first}")
        legend_x = area.left()
        for key, label, colour, right, dashed in SERIES:
            pen = QPen(QColor(colour), 2)
            if dashed:
                pen.setStyle(Qt.PenStyle.DashLine)
            points = [point(e, v, right) for e, v in self.series(key)]
            painter.setPen(pen)
            if len(points) > 1:
                painter.drawPolyline(QPolygonF(points))
            for p in points:
                painter.drawEllipse(p, 2.5, 2.5)
            painter.drawLine(QPointF(legend_x, area.bottom() + 24), QPointF(legend_x + 14, area.bottom() + 24))
            painter.setPen(text_pen)
            painter.drawText(QPointF(legend_x + 18, area.bottom() + 28), label)
            legend_x += 18 + painter.fontMetrics().horizontalAdvance(label) + 12
        painter.end()
