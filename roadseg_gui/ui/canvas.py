"""The tile canvas: image, prediction heatmap and editable mask, with zoom and pan.

Layers are QImages over numpy buffers. A mask change rewrites only its dirty
rectangle of the overlay buffer and repaints only that part of the widget, so a
4096 x 4096 tile stays smooth. Mouse events go to the active tool in image
coordinates; ``image_to_widget``/``widget_to_image`` map between the two.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from . import layers

ZOOM_MIN, ZOOM_MAX = 0.02, 64.0


class TileCanvas(QWidget):
    cursor_moved = Signal(int, int)      # image pixel under the mouse
    zoom_changed = Signal(float)
    space_tapped = Signal()              # Space pressed and released without panning

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.Window, QColor(38, 38, 42))
        self.setPalette(palette)
        self.setMinimumSize(200, 200)
        self.tool = None
        self.decorations: list = []      # objects with paint(painter, canvas), drawn over the mask
        self._image: QImage | None = None
        self._prediction: QImage | None = None
        self._mask_buffer: np.ndarray | None = None
        self._mask_image: QImage | None = None
        self._outline_buffer: np.ndarray | None = None   # the mask as a cyan outline (over a heatmap)
        self._outline_image: QImage | None = None
        self.mask_as_outline = False
        self._scale = 1.0
        self._offset = QPointF(0, 0)
        self._fitted = True   # the view follows the widget's size until the person zooms or pans
        self._pan_from: QPointF | None = None
        self._space_down = False
        self._space_used_for_pan = False
        self.overlays_visible = True
        self.prediction_visible = True
        self.prediction_on_top = False
        self.opacity = 0.6
        self.placeholder = "Open a workspace to start labeling."
        self._preview: QImage | None = None   # a cold tile's overview, stretched to its full size
        self._preview_size = (0, 0)           # (width, height) of the tile it stands in for

    # ---- content -------------------------------------------------------
    def set_tile(self, image: QImage | None, prediction: QImage | None = None,
                 mask: np.ndarray | None = None, fit: bool = True, overlay: np.ndarray | None = None) -> None:
        """``overlay``: the mask's ARGB buffer if already made (on a pool thread); it is used, not copied."""
        self._image = image
        self._preview = None
        self._prediction = prediction
        if overlay is not None:
            self._mask_buffer, self._mask_image = overlay, layers.wrap_argb(overlay)
            self._remake_outline(mask if mask is not None else overlay != 0)
        elif mask is not None:
            self.set_mask(mask, repaint=False)
        else:
            self._mask_buffer, self._mask_image = None, None
            self._remake_outline(None)
        if fit:
            self.fit_to_window()
        self.update()

    def set_preview(self, image: QImage, width: int, height: int) -> None:
        """Show a tile's overview at the tile's full size until ``set_tile`` brings the tile (nothing
        to edit meanwhile: tools need ``set_tile``'s image)."""
        self.set_tile(None, fit=False)
        self._preview, self._preview_size = image, (int(width), int(height))
        self.fit_to_window()
        self.update()

    @property
    def previewing(self) -> bool:
        return self._image is None and self._preview is not None

    def set_prediction(self, prediction: QImage | None, on_top: bool = False) -> None:
        """``on_top``: drawn over the mask (an outline); otherwise under it (a heatmap)."""
        self._prediction = prediction
        self.prediction_on_top = on_top
        self.update()

    def set_mask(self, mask: np.ndarray, repaint: bool = True) -> None:
        self._mask_buffer = layers.mask_to_argb(mask)
        self._mask_image = layers.wrap_argb(self._mask_buffer)
        self._remake_outline(mask)
        if repaint:
            self.update()

    def set_mask_as_outline(self, outline: bool) -> None:
        """Draw the mask as an opaque outline over the prediction (heatmap mode) instead of a fill."""
        if outline == self.mask_as_outline:
            return
        self.mask_as_outline = outline
        self._remake_outline(self._mask_buffer != 0 if self._mask_buffer is not None else None)
        self.update()

    def _remake_outline(self, mask: np.ndarray | None) -> None:
        if not self.mask_as_outline or mask is None:
            self._outline_buffer = self._outline_image = None
            return
        self._outline_buffer = layers.mask_outline_argb(mask)
        self._outline_image = layers.wrap_argb(self._outline_buffer)

    def mask_changed(self, mask: np.ndarray, rect: tuple[int, int, int, int]) -> None:
        """Rewrite the overlay in ``rect`` = (x, y, w, h) and repaint just that part of the widget."""
        if self._mask_buffer is None or self._mask_buffer.shape != mask.shape:
            self.set_mask(mask)
            return
        x0, y0, w, h = rect
        layers.paint_mask_region(self._mask_buffer, mask, y0, x0, y0 + h, x0 + w)
        if self._outline_buffer is not None:
            layers.paint_mask_outline_region(self._outline_buffer, mask, y0, x0, y0 + h, x0 + w)
            x0, y0, w, h = x0 - 2, y0 - 2, w + 4, h + 4   # the outline may move just outside the box
        self.update(self._widget_rect(x0, y0, x0 + w, y0 + h))

    @property
    def mask_buffer(self) -> np.ndarray | None:
        return self._mask_buffer

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) of the tile (or of the tile its overview stands in for), (0, 0) when none."""
        if self._image is None:
            return self._preview_size if self._preview is not None else (0, 0)
        return self._image.width(), self._image.height()

    # ---- view ----------------------------------------------------------
    @property
    def scale(self) -> float:
        return self._scale

    def fit_to_window(self) -> None:
        width, height = self.image_size
        if not width:
            return
        margin = 8
        self._scale = max(ZOOM_MIN, min((self.width() - 2 * margin) / width,
                                        (self.height() - 2 * margin) / height, ZOOM_MAX))
        self._offset = QPointF((self.width() - width * self._scale) / 2,
                               (self.height() - height * self._scale) / 2)
        self._fitted = True
        self.zoom_changed.emit(self._scale)
        self.update()

    def set_view(self, scale: float, offset: QPointF) -> None:
        """Widget position = offset + scale * image position."""
        self._scale = max(ZOOM_MIN, min(scale, ZOOM_MAX))
        self._offset = QPointF(offset)
        self._fitted = False
        self.zoom_changed.emit(self._scale)
        self.update()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        before = self.widget_to_image(anchor)
        self._scale = max(ZOOM_MIN, min(self._scale * factor, ZOOM_MAX))
        self._offset = anchor - before * self._scale
        self._fitted = False
        self.zoom_changed.emit(self._scale)
        self.update()

    def image_to_widget(self, point: QPointF) -> QPointF:
        return self._offset + QPointF(point.x() * self._scale, point.y() * self._scale)

    def widget_to_image(self, point: QPointF) -> QPointF:
        delta = point - self._offset
        return QPointF(delta.x() / self._scale, delta.y() / self._scale)

    def _widget_rect(self, x0: float, y0: float, x1: float, y1: float) -> QRect:
        top_left = self.image_to_widget(QPointF(x0, y0))
        bottom_right = self.image_to_widget(QPointF(x1, y1))
        return QRectF(top_left, bottom_right).toAlignedRect().adjusted(-2, -2, 2, 2)

    def update_image_rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.update(self._widget_rect(x0, y0, x1, y1))

    def set_overlays_visible(self, visible: bool) -> None:
        self.overlays_visible = visible
        self.update()

    def set_prediction_visible(self, visible: bool) -> None:
        self.prediction_visible = visible
        self.update()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = opacity
        self.update()

    # ---- painting --------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        if self.previewing:
            painter.translate(self._offset)
            painter.scale(self._scale, self._scale)
            painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
            painter.drawImage(QRectF(0, 0, *self._preview_size), self._preview)
            return
        if self._image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.placeholder)
            return
        # Only the exposed part of the image is sampled, whatever the tile size.
        exposed = QRectF(self.widget_to_image(QPointF(event.rect().topLeft())),
                         self.widget_to_image(QPointF(event.rect().bottomRight()) + QPointF(1, 1)))
        source = exposed.adjusted(-1, -1, 1, 1).toAlignedRect().intersected(self._image.rect())
        if source.isEmpty():
            return
        painter.translate(self._offset)
        painter.scale(self._scale, self._scale)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, self._scale < 1.0 and source.width() < 2048)
        painter.drawImage(QRectF(source), self._image, QRectF(source))
        if self.overlays_visible:
            painter.setRenderHint(QPainter.SmoothPixmapTransform, False)
            prediction = self._prediction if self.prediction_visible else None
            if prediction is not None and not self.prediction_on_top:
                painter.setOpacity(self.opacity * 0.8)
                painter.drawImage(QRectF(source), prediction, QRectF(source))
            if self._outline_image is not None and prediction is not None and not self.prediction_on_top:
                painter.setOpacity(1.0)   # an opaque line: it must not blend with the heat under it
                painter.drawImage(QRectF(source), self._outline_image, QRectF(source))
            elif self._mask_image is not None:
                painter.setOpacity(self.opacity)
                painter.drawImage(QRectF(source), self._mask_image, QRectF(source))
            if prediction is not None and self.prediction_on_top:
                painter.setOpacity(min(1.0, self.opacity + 0.4))
                painter.drawImage(QRectF(source), prediction, QRectF(source))
            painter.setOpacity(1.0)
            for decoration in self.decorations:
                decoration.paint(painter, self)
        if self.tool is not None:
            self.tool.paint_preview(painter, self)

    # ---- input ---------------------------------------------------------
    def _image_pos(self, event) -> QPointF:
        return self.widget_to_image(event.position())

    def mousePressEvent(self, event) -> None:
        self.setFocus()
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space_down):
            self._pan_from = event.position()
            self._space_used_for_pan = self._space_down
            self.setCursor(Qt.ClosedHandCursor)
            return
        if self.tool is not None and self._image is not None:
            self.tool.press(self._image_pos(event), event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            self._offset += event.position() - self._pan_from
            self._fitted = False
            self._pan_from = event.position()
            self.update()
            return
        pos = self._image_pos(event)
        self.cursor_moved.emit(int(pos.x()), int(pos.y()))
        if self.tool is not None and self._image is not None:
            self.tool.move(pos, event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.unsetCursor()
            return
        if self.tool is not None and self._image is not None:
            self.tool.release(self._image_pos(event), event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.tool is not None and self._image is not None and event.button() == Qt.LeftButton:
            self.tool.double_click(self._image_pos(event), event)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25 ** steps, event.position())

    def event(self, event) -> bool:
        # Space is also a menu shortcut; while the canvas has focus it handles Space itself
        # so that Space-drag can pan.
        if event.type() == QEvent.ShortcutOverride and event.key() in (Qt.Key_Space, Qt.Key_Return,
                                                                      Qt.Key_Enter, Qt.Key_Escape):
            if event.key() == Qt.Key_Space or (self.tool is not None and self.tool.wants_key(event)):
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self._space_used_for_pan = False
            return
        if self.tool is not None and self.tool.key_press(event):
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            if not self._space_used_for_pan:
                self.space_tapped.emit()  # the window toggles the overlays, as in napari
            return
        super().keyReleaseEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # Docks resized or the window maximised: a fitted tile stays fitted (a zoomed one stays put).
        if self._image is not None and (self._fitted or event.oldSize().width() <= 0):
            self.fit_to_window()
