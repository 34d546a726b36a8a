"""Small control widgets, each bound to one value: opacity, threshold, brush size, road width."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from superqt import QLabeledSlider

BRUSH_MIN, BRUSH_MAX = 1, 200


class LabeledSlider(QLabeledSlider):
    """A horizontal QLabeledSlider with a range and a starting value."""

    def __init__(self, minimum: int, maximum: int, value: int, tooltip: str, parent=None):
        super().__init__(Qt.Horizontal, parent)
        self.setRange(minimum, maximum)
        self.setValue(value)
        self.setToolTip(tooltip)


class OpacitySlider(LabeledSlider):
    """Overlay opacity in percent; emits a 0..1 fraction."""

    opacity_changed = Signal(float)

    def __init__(self, opacity: float = 0.5, parent=None):
        super().__init__(0, 100, round(opacity * 100), "How opaque the mask and prediction overlays are (%)",
                         parent)
        self.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100.0))


class ThresholdSlider(LabeledSlider):
    """Probability threshold in percent that turns the prediction into the mask."""

    threshold_changed = Signal(float)

    def __init__(self, threshold: float = 0.5, parent=None):
        super().__init__(1, 99, round(threshold * 100),
                         "Pixels whose road probability is at least this (%) become road in the mask", parent)
        self.setTracking(False)  # re-thresholding a 4096² tile on every pixel of a drag is wasteful
        self.valueChanged.connect(lambda v: self.threshold_changed.emit(v / 100.0))

    def threshold(self) -> float:
        return self.value() / 100.0


class BrushSizeSlider(LabeledSlider):
    """Brush and eraser diameter in image pixels; ``[`` and ``]`` step it."""

    def __init__(self, size: int = 12, parent=None):
        super().__init__(BRUSH_MIN, BRUSH_MAX, size, "Brush/eraser diameter in image pixels  ([ and ])",
                         parent)

    def step(self, direction: int) -> None:
        # Multiplicative steps: fine control when small, quick when large.
        size = self.value()
        new = max(size + direction, round(size * 1.25)) if direction > 0 else min(size - 1, round(size / 1.25))
        self.setValue(max(BRUSH_MIN, min(BRUSH_MAX, new)))


class RoadWidthSlider(LabeledSlider):
    """Width of the road-line tool in image pixels."""

    def __init__(self, width: int = 10, parent=None):
        super().__init__(1, 100, width, "Road line width in image pixels", parent)


class GroundWidthLabel(QLabel):
    """A slider's pixel size on the ground ("≈ 3.0 m") for georeferenced tiles; hidden otherwise."""

    def __init__(self, width_slider, parent=None):
        super().__init__(parent)
        self.setStyleSheet("color: #888;")
        self._slider = width_slider
        self._pixel_m: float | None = None
        width_slider.valueChanged.connect(lambda _v: self._update())

    def set_pixel_size(self, pixel_m: float | None) -> None:
        self._pixel_m = pixel_m
        self._update()

    def _update(self) -> None:
        self.setVisible(self._pixel_m is not None)
        if self._pixel_m is None:
            self.setText("")
            return
        metres = self._slider.value() * self._pixel_m
        self.setText(f"≈ {metres:.1f} m on the ground ({self._pixel_m:.2f} m per pixel)")


class LayerPanel(QWidget):
    """The controls of the right-hand dock: overlays, threshold, sizes, prediction actions."""

    def __init__(self, labeling, parent=None):
        super().__init__(parent)
        self.show_prediction = QCheckBox("Show prediction")
        self.show_prediction.setChecked(True)
        self.prediction_style = QComboBox()
        self.prediction_style.addItem("as outline at the threshold", "outline")
        self.prediction_style.addItem("as probability heatmap", "heatmap")
        self.prediction_style.setToolTip("How the model's prediction is drawn under your mask")
        self.opacity = OpacitySlider(labeling.overlay_opacity)
        self.threshold = ThresholdSlider(0.5)
        self.brush_size = BrushSizeSlider(labeling.brush_size)
        self.road_width = RoadWidthSlider(labeling.road_width_px)
        self.ground_width = GroundWidthLabel(self.road_width)
        self.ground_brush = GroundWidthLabel(self.brush_size)
        self.set_pixel_size(None)
        self.use_prediction = QPushButton("Use prediction as mask")
        self.use_prediction.setToolTip("Replace the mask with the prediction at the threshold (undoable)")
        self.legend = QLabel("<span style='color:#00e6ff'>&#9632;</span> your mask (editable)<br>"
                             "<span style='color:#ff3cc8'>&#9632;</span> model prediction")
        form = QFormLayout()
        form.addRow("Opacity", self.opacity)
        form.addRow("Threshold", self.threshold)
        form.addRow("Brush size", self.brush_size)
        form.addRow("", self.ground_brush)
        form.addRow("Road width", self.road_width)
        form.addRow("", self.ground_width)
        layout = QVBoxLayout(self)
        layout.addWidget(self.legend)
        layout.addWidget(self.show_prediction)
        layout.addWidget(self.prediction_style)
        layout.addLayout(form)
        layout.addWidget(self.use_prediction)
        layout.addStretch(1)

    def set_pixel_size(self, pixel_m: float | None) -> None:
        """The tile's ground size of a pixel (None: not georeferenced), for the metre read-outs."""
        self.ground_width.set_pixel_size(pixel_m)
        self.ground_brush.set_pixel_size(pixel_m)
