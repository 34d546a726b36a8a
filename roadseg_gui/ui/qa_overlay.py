"""Connectivity QA while labeling: markers on the canvas with a legend of counts by kind, a count in
the status bar, a key that centres the next issue, and a one-press warning when a tile is accepted
with issues open.

The issues are found by core.connectivity_qa on a thread of its own, a moment after the mask stops
changing, so painting never waits for the road graph, and the check never queues behind start-up
work on the shared pool (importing the side panels, loading thumbnails). Each tile keeps its own
core.qa_incremental checker: after a stroke the road graph is traced again only on a window round it,
and a mask seen before (undo, a tile shown again) is answered from its cache; its latest results are
kept with the tile's state (core.qa_store), so a relaunch shows them without checking again.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QThreadPool, QTimer
from PySide6.QtGui import QColor, QKeySequence, QPen, QShortcut
from PySide6.QtWidgets import QLabel

from roadseg_gui.core.connectivity_qa import QASettings, summary
from roadseg_gui.core.qa_incremental import IncrementalQA
from roadseg_gui.core.qa_store import TileQAStore

from .banner import Banner
from .qa_legend import QALegend
from .workers import Failed, Succeeded, submit

log = logging.getLogger(__name__)

COLOURS = {"gap": QColor(255, 150, 0), "prediction_continues": QColor(255, 60, 200),
           "short_fragment": QColor(255, 230, 0), "dangling_end": QColor(255, 70, 70),
           # road review's checks of an accepted road (ui/review), listed with these
           "self_intersection": QColor(255, 120, 255), "spike": QColor(255, 120, 255),
           "short_piece": QColor(255, 120, 255)}
DEBOUNCE_MS = 400
CHECKERS_KEPT = 4   # tiles whose QA results are kept in memory
STATES_KEPT = 2     # of those, the tiles whose graph, skeleton and labels are kept (~120 MB for a 4096² tile)
FOCUS_ZOOM = 2.0   # next issue: zoom in to at least this, so the spot is visible


class RoadQA(QObject):
    def __init__(self, editor, canvas, parent=None):
        super().__init__(parent)
        self.editor, self.canvas = editor, canvas
        self.issues: list = []
        self.specks = 0                         # prediction specks left unmarked
        self.current = -1
        self.extra_issues = lambda: []          # issues found elsewhere (road review's accept checks) join these
        self._centred: tuple | None = None      # (issue, scale) while the view is still centred on it
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.visible = True
        self.open_on: dict[str, int] = {}       # stem -> open issues when last checked
        self.checkers: dict[str, IncrementalQA] = {}   # stem -> its incremental checker, newest last
        self.workspace = None                   # whose tiles the checkers are (set_workspace)
        self._document = None
        self._generation = 0
        self._delivered = 0
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.check)
        self.count_label = QLabel()
        self.count_label.setToolTip("Dangling ends, small gaps, short fragments and roads the prediction "
                                    "continues; N jumps to the next")
        self.banner = Banner("Dismiss (Esc)")
        self.banner.clicked.connect(self.dismiss_warning)
        self._dismiss_key: QShortcut | None = None
        editor.tile_shown.connect(self._tile_shown)
        editor.accepted.connect(self._accepted)
        canvas.decorations.append(self)
        self.legend = QALegend(canvas, COLOURS)
        canvas.installEventFilter(self)   # re-centre the issue when the canvas is resized

    def install(self, window) -> None:
        """Place the count, the warning and the Esc key in the window; wire the QA actions."""
        window.statusBar().addPermanentWidget(self.count_label)
        window.centralWidget().layout().insertWidget(1, self.banner)
        self._dismiss_key = QShortcut(QKeySequence(Qt.Key_Escape), window)
        self._dismiss_key.setEnabled(False)   # Esc is only taken while the warning shows
        self._dismiss_key.activated.connect(self.dismiss_warning)
        window.actions.next_issue.triggered.connect(self.next_issue)
        window.actions.show_qa.toggled.connect(self.set_visible)
        window.panel.road_width.valueChanged.connect(lambda _v: self._timer.start())  # sizes scale with it

    def set_workspace(self, workspace) -> None:
        """Bind to ``workspace``: its tiles' checkers and stores only. Tiles of two workspaces can share
        a name, so the old checkers (and a check still running for them) are let go."""
        self.workspace = workspace
        self._timer.stop()
        if self._document is not None:
            self._document.remove_listener(self._mask_changed)
            self._document = None
        self.checkers.clear()
        self.open_on.clear()
        self._generation += 1               # a result of the old workspace arriving now is not shown
        self._delivered = self._generation
        self.issues, self.current, self.specks, self._centred = [], -1, 0, None
        self.legend.show_counts([], 0, False)
        self.count_label.clear()
        self.canvas.update()

    # ---- finding issues ----------------------------------------------------
    def _tile_shown(self, _stem: str) -> None:
        if self._document is not None:
            self._document.remove_listener(self._mask_changed)
        self._document = self.editor.document
        if self._document is not None:
            self._document.add_listener(self._mask_changed)
        self.issues, self.current, self.specks, self._centred = [], -1, 0, None
        self.legend.show_counts([], 0, False)
        self.count_label.setText("Checking connectivity…")
        self.check()

    def _mask_changed(self, _rect) -> None:
        self._timer.start()

    def settings(self) -> QASettings:
        """The road width from the panel; gap and fragment sizes from the workspace's [labeling] settings."""
        labeling = getattr(getattr(self.editor.workspace, "settings", None), "labeling", None)
        return QASettings(road_width=float(self.editor.road_width()),
                          gap_widths=getattr(labeling, "qa_gap_widths", 4.0),
                          min_fragment_px=getattr(labeling, "qa_min_fragment_px", 0) or None,
                          min_speck_px=getattr(labeling, "qa_min_speck_px", 0) or None)

    def check(self) -> None:
        """Find the current tile's issues on a pool thread (the newest request wins)."""
        document = self.editor.document
        if document is None:
            return
        self._generation += 1
        generation, stem = self._generation, self.editor.stem
        predicted = self.editor.roads.predicted_mask()
        if predicted is not None and predicted.shape != document.shape:
            predicted = None
        submit(self.checker(stem).check, document.mask.copy(), predicted, self.settings(), context=self,
               pool=self.pool, on_done=lambda outcome: self._found(generation, stem, outcome))

    def checker(self, stem: str) -> IncrementalQA:
        checker = self.checkers.pop(stem, None) or IncrementalQA(store=self._store(stem))
        self.checkers[stem] = checker
        while len(self.checkers) > CHECKERS_KEPT:
            self.checkers.pop(next(iter(self.checkers)))
        for older in list(self.checkers.values())[:-STATES_KEPT]:
            # on the checks' own thread, never under a running check; its results stay
            self.pool.start(older.drop_state)
        return checker

    def _store(self, stem: str) -> TileQAStore | None:
        workspace = self.workspace
        if workspace is None:
            return None
        return TileQAStore(lambda: workspace.db, stem)    # called on the checking thread: its own connection

    @property
    def busy(self) -> bool:
        """A check is waiting for the mask to settle, or running."""
        return self._timer.isActive() or self._delivered != self._generation

    def _found(self, generation: int, stem: str, outcome) -> None:
        if generation != self._generation:
            return
        self._delivered = generation
        if not isinstance(outcome, Succeeded):
            if isinstance(outcome, Failed):
                log.warning("The connectivity check of %s failed: %s", stem, outcome.sentence())
                self.count_label.setText("Connectivity not checked")
            return
        self.issues, self.specks = outcome.value.issues + list(self.extra_issues()), outcome.value.specks
        self.current = min(self.current, len(self.issues) - 1)
        self.open_on[stem] = len(self.issues)
        self.count_label.setText(summary(self.issues))
        self.legend.show_counts(self.issues, self.specks, self.visible)
        self.canvas.update()

    # ---- navigation and accept ------------------------------------------------
    def next_issue(self) -> None:
        if not self.issues:
            self.count_label.setText(summary(self.issues))
            return
        self.current = (self.current + 1) % len(self.issues)
        issue = self.issues[self.current]
        self._centre_on(issue, max(self.canvas.scale, FOCUS_ZOOM))
        self.count_label.setText(f"{summary(self.issues)} · {self.current + 1}: {issue.text}")

    def _centre_on(self, issue, scale: float) -> None:
        x, y = issue.centre
        centre = QPointF(self.canvas.width() / 2, self.canvas.height() / 2)
        self.canvas.set_view(scale, centre - QPointF(x * scale, y * scale))
        self._centred = (issue, self.canvas.scale, self.canvas.image_to_widget(QPointF(x, y)))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        # A banner shown or hidden, a dock resized: the canvas changes size under the issue just centred.
        if event.type() == QEvent.Resize and self._centred is not None:
            issue, scale, where = self._centred
            still = self.canvas.scale == scale and self.canvas.image_to_widget(QPointF(*issue.centre)) == where
            if still and issue in self.issues:
                QTimer.singleShot(0, lambda: self._centre_on(issue, scale))
            else:
                self._centred = None       # the person zoomed or panned since
        return False

    def _accepted(self, stem: str, _split: str) -> None:
        count = self.open_on.get(stem, 0)
        if count:
            issues = f"{count} connectivity issue{'s' if count != 1 else ''}"
            self.banner.show_message(f"{stem} was accepted with {issues} open. That is allowed; "
                                     "go back to it to fix them.")
            if self._dismiss_key is not None:
                self._dismiss_key.setEnabled(True)

    def dismiss_warning(self) -> None:
        self.banner.hide()
        if self._dismiss_key is not None:
            self._dismiss_key.setEnabled(False)

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        self.legend.show_counts(self.issues, self.specks, visible)
        self.canvas.update()

    # ---- painting (called by the canvas in image coordinates) ---------------------
    def paint(self, painter, canvas) -> None:
        if not self.visible or not self.issues:
            return
        painter.setBrush(Qt.NoBrush)
        radius = max(11 / canvas.scale, 0.8 * self.editor.road_width())  # around the road, and visible zoomed out
        for index, issue in enumerate(self.issues):
            pen = QPen(COLOURS.get(issue.kind, QColor("white")), 4.0 if index == self.current else 2.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            r = radius * (1.6 if index == self.current else 1.0)
            if issue.x2 is not None:
                painter.drawLine(QPointF(issue.x, issue.y), QPointF(issue.x2, issue.y2))
            painter.drawEllipse(QPointF(*issue.centre), r, r)
