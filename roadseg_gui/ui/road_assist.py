"""What the road tools need from the tile being edited: the snapping cost map (made once per
prediction and road width, ahead of the first click, on a pool thread), the predicted mask at the
current threshold, and 'take the predicted road under this click' as one undo step."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from roadseg_gui.core.mask_edit import threshold
from roadseg_gui.core.road_pick import predicted_road_at
from roadseg_gui.core.snapping import SnapCost

from .workers import Succeeded, submit


class RoadAssist(QObject):
    message = Signal(str)    # a short status-bar sentence (e.g. why a click did nothing)

    def __init__(self, editor):
        super().__init__(editor)
        self.editor = editor
        self._cost: SnapCost | None = None
        self._cost_of: np.ndarray | None = None       # the probability array the cost was made from
        self._pending: tuple[int, int] | None = None   # (id of the probability, road width) being made
        self._predicted: tuple[np.ndarray, float, np.ndarray] | None = None

    def snap_cost(self) -> SnapCost | None:
        """The cost map of the current prediction (made now if the pool has not finished it); None
        without a prediction."""
        probability = self.editor.probability
        if probability is None or self.editor.document is None:
            return None
        if probability.shape != self.editor.document.shape:
            return None
        width = self.editor.road_width()
        if self._cost_of is not probability or self._cost.road_width != width:
            self._cost, self._cost_of = SnapCost(probability, width), probability
        return self._cost

    def prepare(self) -> None:
        """Make the cost map on a pool thread, so the first click on a big tile does not wait."""
        probability, width = self.editor.probability, self.editor.road_width()
        if probability is None or (probability is self._cost_of and self._cost.road_width == width):
            return
        if self._pending == (id(probability), width):
            return
        self._pending = (id(probability), width)
        submit(SnapCost, probability, width, context=self,
               on_done=lambda outcome, p=probability: self._prepared(p, outcome))

    def _prepared(self, probability: np.ndarray, outcome) -> None:
        self._pending = None
        if isinstance(outcome, Succeeded) and self.editor.probability is probability \
                and outcome.value.road_width == self.editor.road_width():
            self._cost, self._cost_of = outcome.value, probability

    def predicted_mask(self) -> np.ndarray | None:
        """The prediction at the panel's threshold (cached until either changes)."""
        probability = self.editor.probability
        if probability is None:
            return None
        t = self.editor.panel.threshold.threshold()
        if self._predicted is None or self._predicted[0] is not probability or self._predicted[1] != t:
            self._predicted = (probability, t, threshold(probability, t))
        return self._predicted[2]

    def take_road(self, x: float, y: float) -> bool:
        """Copy the connected predicted road under (x, y) into the mask, as one undo step."""
        document, predicted = self.editor.document, self.predicted_mask()
        if document is None:
            return False
        if predicted is None or predicted.shape != document.shape:
            self.message.emit("This tile has no prediction to take a road from.")
            return False
        road = predicted_road_at(predicted, (x, y), reach=max(3.0, self.editor.road_width() / 2))
        if road is None:
            self.message.emit("No predicted road under the click (at the current threshold).")
            return False
        edit = document.replace(document.mask | road)
        if edit is None:
            self.message.emit("That predicted road is already in the mask.")
            return False
        self.editor.push(edit, "Take predicted road")
        self.message.emit(f"Took a predicted road of {edit.changed_pixels} new pixels.")
        return True
