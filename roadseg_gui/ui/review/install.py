"""Puts road review into the main window: the layer, the keys and menu, the panel, the wheel."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt

from .. import docks
from .controller import RoadReview
from .keys import ReviewActions
from .panel import ReviewPanel
from .tool import ReviewTool


class _WidthWheel(QObject):
    """Shift+wheel over the canvas changes the selected road's width while the review tool is active;
    the plain wheel still zooms."""

    def __init__(self, review, canvas):
        super().__init__(review)
        self.review, self.canvas = review, canvas

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Wheel or not isinstance(self.canvas.tool, ReviewTool):
            return False
        if not event.modifiers() & Qt.ShiftModifier:
            return False
        delta = event.angleDelta()
        steps = delta.y() or delta.x()        # some platforms turn Shift+wheel into a sideways scroll
        if steps:
            self.review.change_width(1 if steps > 0 else -1)
        return True


def install_review(window) -> RoadReview:
    review = RoadReview(window.editor, window.canvas, window)
    keys = ReviewActions(window)
    keys.wire(review)
    keys.add_menu(window, window.actions.tools.get("review"))
    panel = ReviewPanel()
    dock = docks.make_dock(window, "Road review", panel, Qt.RightDockWidgetArea, object_name="review_dock",
                           beside=window.layers_dock)
    window.view_menu.addAction(dock.toggleViewAction())
    window.layers_dock.raise_()
    window.review_actions, window.review_panel, window.review_dock = keys, panel, dock
    review.changed.connect(lambda: panel.show_state(review))
    review.message.connect(lambda text: window.statusBar().showMessage(text, 5000))
    panel.confidence.valueChanged.connect(lambda value: setattr(review, "min_confidence", value / 100))
    review.min_confidence = panel.confidence.value() / 100
    panel.accept_all.clicked.connect(lambda: review.accept_in_area(None))
    panel.start_changed.connect(lambda value: _save_start(window, value))
    window.editor.tile_shown.connect(lambda _stem: _show_start(window, panel))
    window.panel.threshold.threshold_changed.connect(lambda _t: review.threshold_changed())
    window.editor.prediction_shown.connect(lambda _stem: review.refresh())
    window.canvas.installEventFilter(_WidthWheel(review, window.canvas))
    road_qa = getattr(window, "road_qa", None)
    if road_qa is not None:   # accept checks join the connectivity list: marked, counted, N reaches them
        road_qa.extra_issues = lambda: review.issues
    return review


def _labeling(window):
    return getattr(getattr(window.workspace, "settings", None), "labeling", None)


def _show_start(window, panel) -> None:
    labeling = _labeling(window)
    start = getattr(labeling, "review_start", "prediction")
    panel.set_start(start)
    window.editor.start_from_prediction = start != "labeled"


def _save_start(window, value: str) -> None:
    labeling = _labeling(window)
    window.editor.start_from_prediction = value != "labeled"
    if labeling is None or labeling.review_start == value:
        return
    labeling.review_start = value
    window.workspace.save_settings()
    window.statusBar().showMessage("Tiles opened from now on start from " +
                                   ("what is labeled, with the prediction's roads proposed." if value == "labeled"
                                    else "the prediction."), 5000)
