"""Proposed roads drawn over the tile: lime lines with a dark casing (readable over bright and dark
imagery, and unlike the cyan mask, the magenta prediction and QA's orange, yellow and red marks). The
selected one is drawn at its real width, so a width change shows before it is accepted."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen

CANDIDATE = QColor(150, 255, 40)
CASING = QColor(0, 0, 0, 170)
SELECTED_BAND = QColor(150, 255, 40, 90)
SELECTED_LINE = QColor(255, 255, 255)


def _pen(color: QColor, width: float, cosmetic: bool = True) -> QPen:
    pen = QPen(color, width, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
    pen.setCosmetic(cosmetic)
    return pen


class CandidateLayer:
    """A canvas decoration: ``paint(painter, canvas)`` in image coordinates."""

    def __init__(self, review):
        self.review = review
        self._paths: dict = {}        # candidate key -> (QPainterPath, its bounds): centre lines do not change

    def clear(self) -> None:
        self._paths.clear()

    def path(self, candidate) -> QPainterPath:
        return self._path_and_bounds(candidate)[0]

    def _path_and_bounds(self, candidate):
        cached = self._paths.get(candidate.key)
        if cached is None or cached[0].elementCount() != len(candidate.pts):
            path = QPainterPath()
            rows, cols = candidate.pts[:, 0] + 0.5, candidate.pts[:, 1] + 0.5
            path.moveTo(QPointF(cols[0], rows[0]))
            for x, y in zip(cols[1:], rows[1:]):
                path.lineTo(QPointF(x, y))
            margin = candidate.width_px + 4
            cached = self._paths[candidate.key] = (path, path.boundingRect().adjusted(-margin, -margin, margin, margin))
        return cached

    @staticmethod
    def _exposed(painter, canvas) -> QRectF | None:
        """The part of the image being repainted (a brush hover repaints a few pixels, not every road)."""
        clip = painter.paintEngine().systemClip() if painter.paintEngine() is not None else None
        if clip is None or clip.isEmpty():
            return None
        inverse, ok = painter.transform().inverted()
        if not ok:
            return None
        pad = 12 / max(canvas.scale, 1e-6)   # cosmetic pens reach a few screen pixels past the line
        return inverse.mapRect(QRectF(clip.boundingRect())).adjusted(-pad, -pad, pad, pad)

    def paint(self, painter, canvas) -> None:
        review = self.review
        if not review.visible or review.candidates is None:
            return
        painter.setBrush(Qt.NoBrush)
        selected = review.selected()
        exposed = self._exposed(painter, canvas)
        items = [c for c in review.candidates.items
                 if exposed is None or self._path_and_bounds(c)[1].intersects(exposed)]
        for pen in (_pen(CASING, 5.0), _pen(CANDIDATE, 2.5)):
            painter.setPen(pen)
            for candidate in items:
                if candidate is not selected:
                    painter.drawPath(self.path(candidate))
        if selected is not None:
            path = self.path(selected)
            painter.setPen(_pen(SELECTED_BAND, review.width_of(selected), cosmetic=False))
            painter.drawPath(path)
            painter.setPen(_pen(CASING, 7.0))
            painter.drawPath(path)
            painter.setPen(_pen(SELECTED_LINE, 3.5))
            painter.drawPath(path)
