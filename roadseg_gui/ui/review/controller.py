"""Review of the tile being edited: its candidate roads, the selected one, accept, reject and bulk.

The predicted network (the heavy part) is made on a thread of its own once per tile and threshold
and kept for a few tiles; the candidate list is then updated around each edit in milliseconds, so
an accept or reject never waits for a graph.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from PySide6.QtCore import QObject, QPointF, QThreadPool, QTimer, Signal

from roadseg_gui.core.review.accept import accept_candidate, accept_many
from roadseg_gui.core.review.candidates import Candidate, CandidateList, ReviewSettings
from roadseg_gui.core.review.network import predicted_network
from roadseg_gui.core.review.rejections import forget_last_rejection, load_rejections, save_rejection

from ..workers import Failed, Succeeded, submit
from .layer import CandidateLayer

log = logging.getLogger(__name__)
KEEP_NETWORKS = 4
THRESHOLD_SETTLE_MS = 300


class RoadReview(QObject):
    changed = Signal()          # the list, the selection or a width changed
    message = Signal(str)       # a status-bar sentence

    def __init__(self, editor, canvas, parent=None):
        super().__init__(parent)
        self.editor, self.canvas = editor, canvas
        editor.review = self                       # the review tool finds it through its context
        self.candidates: CandidateList | None = None
        self.selected_key = None
        self.widths: dict = {}                     # candidate key -> width chosen before accepting
        self.issues: list = []                     # geometry issues of the roads accepted on this tile
        self.visible = True
        self.min_confidence = 0.8
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._networks: OrderedDict = OrderedDict()   # (stem, id(probability), threshold) -> network
        self._wanted = None
        self._document = None
        self.layer = CandidateLayer(self)
        canvas.decorations.append(self.layer)
        self._settle = QTimer(self, singleShot=True, interval=THRESHOLD_SETTLE_MS)
        self._settle.timeout.connect(self.refresh)
        editor.tile_shown.connect(self._tile_shown)

    # ---- what is reviewed -------------------------------------------------------
    def settings(self) -> ReviewSettings:
        labeling = getattr(getattr(self.editor.workspace, "settings", None), "labeling", None)
        return ReviewSettings.from_labeling(labeling, float(self.editor.road_width()))

    def _tile_shown(self, _stem: str) -> None:
        if self._document is not None:
            self._document.remove_listener(self._mask_changed)
        self._document = self.editor.document
        if self._document is not None:
            self._document.add_listener(self._mask_changed)
        self.candidates, self.selected_key, self.issues = None, None, []
        self.widths.clear()
        self.layer.clear()
        self.refresh()

    def threshold_changed(self) -> None:
        self._settle.start()

    def refresh(self) -> None:
        """(Re)make the tile's candidates: from the cached network, or a new one on the review thread."""
        probability, document, stem = self.editor.probability, self.editor.document, self.editor.stem
        if probability is None or document is None or probability.shape != document.shape:
            self._set_list(None)
            return
        if not self.visible:   # hidden: no graph is traced for nobody; showing them again traces it
            return
        t = self.editor.panel.threshold.threshold()
        key = (stem, id(probability), t)
        network = self._networks.get(key)
        if network is not None:
            self._use(key, network)
            return
        self._wanted = key
        submit(predicted_network, probability, t, self.editor.pixel_m, pool=self.pool, context=self,
               on_done=lambda outcome, k=key: self._made(k, outcome))

    @property
    def busy(self) -> bool:
        return self._wanted is not None

    def _made(self, key, outcome) -> None:
        if isinstance(outcome, Succeeded):
            self._networks[key] = outcome.value
            while len(self._networks) > KEEP_NETWORKS:
                self._networks.popitem(last=False)
            if key == self._wanted:
                self._use(key, outcome.value)
        elif isinstance(outcome, Failed):
            log.warning("The road proposals of %s could not be made: %s", key[0], outcome.sentence())
        if key == self._wanted:
            self._wanted = None

    def _use(self, key, network) -> None:
        stem, probability_id, t = key
        current = self.editor.probability
        if stem != self.editor.stem or current is None or id(current) != probability_id \
                or t != self.editor.panel.threshold.threshold() or self.editor.document is None:
            return
        rejected = []
        if self.editor.workspace is not None:
            try:
                rejected = load_rejections(self.editor.workspace.db, stem)
            except Exception as exc:  # noqa: BLE001 - a state DB problem must not stop review
                log.warning("Rejected roads of %s could not be read: %s", stem, exc)
        self._set_list(CandidateList(network, self.editor.document.mask, self.settings(), rejected))

    def _set_list(self, candidates: CandidateList | None) -> None:
        self.candidates = candidates
        if candidates is None or candidates.find(self.selected_key) is None:
            self.selected_key = candidates.items[0].key if candidates is not None and len(candidates) else None
        self.changed.emit()
        self.canvas.update()

    def _mask_changed(self, rect) -> None:
        if self.candidates is None or self.editor.document is None:
            return
        order = [c.key for c in self.candidates.items]
        mask = self.editor.document.mask
        self.candidates.update(mask, rect)
        h, w = mask.shape   # an issue whose road was undone or erased goes with it
        self.issues = [i for i in self.issues if mask[min(int(i.y), h - 1), min(int(i.x), w - 1)]]
        self._keep_selection(order)

    def _keep_selection(self, order: list) -> None:
        """The selected road is gone (accepted, rejected): select the one that followed it."""
        if self.candidates.find(self.selected_key) is None:
            present = {c.key for c in self.candidates.items}
            start = order.index(self.selected_key) if self.selected_key in order else 0
            following = [k for k in order[start:] + order[:start] if k in present]
            self.selected_key = following[0] if following else (self.candidates.items[0].key
                                                                 if len(self.candidates) else None)
        self.changed.emit()
        self.canvas.update()

    # ---- selection ------------------------------------------------------------------
    def selected(self) -> Candidate | None:
        return self.candidates.find(self.selected_key) if self.candidates is not None else None

    def width_of(self, candidate: Candidate) -> float:
        return self.widths.get(candidate.key, candidate.width_px)

    def step(self, direction: int) -> None:
        """Tab / Shift+Tab: the next or previous road, best first; the view follows it."""
        if not self.visible or self.candidates is None or not len(self.candidates):
            self.message.emit("No proposed roads on this tile." if self.visible else
                              "Proposed roads are hidden (V shows them).")
            return
        items = self.candidates.items
        keys = [c.key for c in items]
        index = keys.index(self.selected_key) if self.selected_key in keys else -direction
        self.select(items[(index + direction) % len(items)])

    def select(self, candidate: Candidate | None, follow: bool = True) -> None:
        self.selected_key = candidate.key if candidate is not None else None
        if candidate is not None:
            if follow:
                self._bring_into_view(candidate)
            self.message.emit(f"Road {self._position(candidate)}: {candidate.describe()}")
        self.changed.emit()
        self.canvas.update()

    def select_at(self, x: float, y: float) -> None:
        if not self.visible or self.candidates is None:
            return
        candidate = self.candidates.at(x, y, reach=max(3.0, 8 / self.canvas.scale))
        if candidate is None:
            self.message.emit("No proposed road under the click.")
            return
        self.select(candidate, follow=False)

    def _position(self, candidate) -> str:
        keys = [c.key for c in self.candidates.items]
        return f"{keys.index(candidate.key) + 1} of {len(keys)}"

    def _bring_into_view(self, candidate) -> None:
        x, y = candidate.middle
        where = self.canvas.image_to_widget(QPointF(x, y))
        margin = 40
        if margin <= where.x() <= self.canvas.width() - margin and margin <= where.y() <= self.canvas.height() - margin:
            return
        scale = self.canvas.scale
        centre = QPointF(self.canvas.width() / 2, self.canvas.height() / 2)
        self.canvas.set_view(scale, centre - QPointF(x * scale, y * scale))

    def change_width(self, steps: int) -> None:
        candidate = self.selected()
        if candidate is None:
            return
        width = self.settings().clamp(self.width_of(candidate) + steps)
        self.widths[candidate.key] = width
        self.message.emit(f"Width of the selected road: {width:.0f} px")
        self.changed.emit()
        self.canvas.update()

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        if visible:
            self.refresh()
        self.canvas.update()

    # ---- accept and reject -------------------------------------------------------------
    def accept_selected(self) -> None:
        candidate, document = self.selected(), self.editor.document
        if candidate is None or document is None or not self.visible:
            self.message.emit("No proposed road is selected.")
            return
        outcome = accept_candidate(document, candidate, self.settings(), self.width_of(candidate))
        self._accepted(outcome, "Accept proposed road")

    def accept_in_area(self, area=None) -> None:
        """Every road at least ``min_confidence`` confident inside ``area`` (x0, y0, x1, y1; None: the
        whole tile), as one undo step."""
        if self.candidates is None or self.editor.document is None:
            self.message.emit("This tile has no proposed roads.")
            return
        chosen = self.candidates.above(self.min_confidence, area)
        if not chosen:
            where = "in the rectangle" if area is not None else "on this tile"
            self.message.emit(f"No proposed road {where} is at least {self.min_confidence:.0%} confident.")
            return
        widths = {c.key: self.width_of(c) for c in chosen}
        outcome = accept_many(self.editor.document, chosen, self.settings(), widths)
        self._accepted(outcome, f"Accept {outcome.accepted} proposed roads")

    def _accepted(self, outcome, text: str) -> None:
        if outcome.edit is not None:
            self.editor.push(outcome.edit, text)
        self.issues += outcome.issues
        self.message.emit(outcome.message())
        self.changed.emit()
        self.canvas.update()

    def reject_selected(self) -> None:
        candidate = self.selected()
        if candidate is None or self.candidates is None or not self.visible:
            self.message.emit("No proposed road is selected.")
            return
        order = [c.key for c in self.candidates.items]
        line = self.candidates.reject(candidate)
        if self.editor.workspace is not None and self.editor.stem is not None:
            try:
                save_rejection(self.editor.workspace.db, self.editor.stem, line, self.width_of(candidate))
            except Exception as exc:  # noqa: BLE001 - hidden now; said that it will come back
                self.message.emit(f"Rejected, but not saved ({exc}): it shows again next time.")
        self._keep_selection(order)
        self.message.emit(f"Rejected the road ({len(self.candidates)} left).")

    def restore_rejected(self) -> None:
        """Bring back the tile's last rejected road."""
        if self.editor.workspace is None or self.editor.stem is None:
            return
        if forget_last_rejection(self.editor.workspace.db, self.editor.stem):
            self.refresh()
            self.message.emit("The last rejected road is proposed again.")
        else:
            self.message.emit("No rejected road on this tile.")
