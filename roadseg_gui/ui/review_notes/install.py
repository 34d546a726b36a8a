"""Puts tile review into the main window: Approve (G) and Return (U) in the Review menu, the note tool's
marks, the Review notes dock, the queue filters' stems and counts, and N over notes and QA issues."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QToolBar

from .. import docks
from ..actions import _action
from roadseg_gui.core.review_state import RETURNED

from .controller import TileReview
from .overlay import NotesOverlay
from .panel import NotesPanel


class ReviewDecisionActions:
    """G: good, approve; U: back to the user. Both free of the labeling and road-review keys."""

    def __init__(self, window):
        self.approve = _action(window, "Appro&ve tile", ["G"],
                               "Approve this accepted tile (with your edits, if any): it may train models")
        self.return_ = _action(window, "Re&turn tile with a note…", ["U"],
                               "Send this tile back to its annotator with a note saying what to fix")
        for action in (self.approve, self.return_):
            window.addAction(action)

    def add_to_menu(self, window) -> None:
        menu = getattr(window, "review_menu", None) or window.menuBar().addMenu("&Review")
        menu.addSeparator()
        menu.addSection("Tile review")
        menu.addActions([self.approve, self.return_])
        note_tool = window.actions.tools.get("note")
        if note_tool is not None:
            menu.addAction(note_tool)
            toolbar = window.findChild(QToolBar, "tools_toolbar")
            if toolbar is not None:   # a ninth tool pushed Next (D) off a 1366-px toolbar; M and the menu have it
                toolbar.removeAction(note_tool)
        window.review_menu = menu


def _step_marks(review: TileReview, qa) -> None:
    """N: the tile's notes first, then its connectivity issues, round again."""
    notes = review.notes
    issues = len(qa.issues) if qa is not None else 0
    if not notes:
        if qa is not None:
            qa.next_issue()
        return
    position = review.current if review.current >= 0 else (len(notes) + qa.current if qa and qa.current >= 0
                                                          else -1)
    position = (position + 1) % (len(notes) + issues)
    if position < len(notes):
        if qa is not None:
            qa.current = -1
        review.show_note(position)
    else:
        review.current = -1
        review.changed.emit()
        qa.current = position - len(notes) - 1
        qa.next_issue()


def _bring_notes_forward(review: TileReview, dock) -> None:
    """A returned tile's notes are what its annotator opened it for: their list comes to the front
    (it shared its place with other docks' tabs and went unseen)."""
    if review.record is not None and review.record.state == RETURNED and review.notes \
            and dock.toggleViewAction().isChecked():   # open, perhaps behind another tab; never reopened
        dock.raise_()


def _review_stems(review: TileReview, kind: str) -> set[str]:
    review.reload()
    return review.queue.to_review if kind == "to_review" else review.queue.returned_to_me


def install_tile_review(window) -> TileReview:
    review = TileReview(window)
    keys = ReviewDecisionActions(window)
    keys.approve.triggered.connect(review.approve)
    keys.return_.triggered.connect(review.return_tile)
    keys.add_to_menu(window)
    review.overlay = NotesOverlay(review, window.canvas)
    panel = NotesPanel(review)
    dock = docks.make_dock(window, "Review notes", panel, Qt.RightDockWidgetArea, object_name="review_notes_dock",
                           beside=window.layers_dock)
    window.view_menu.addAction(dock.toggleViewAction())
    window.layers_dock.raise_()
    status = QLabel()
    status.setToolTip("Tiles others accepted that wait for your review, and your tiles a reviewer returned "
                      "(the tile list's filter shows them)")
    window.statusBar().addPermanentWidget(status)
    review.changed.connect(lambda: status.setText(f"To review {len(review.queue.to_review)} · "
                                                  f"returned to me {len(review.queue.returned_to_me)}"))
    review.message.connect(lambda text: window.statusBar().showMessage(text, 6000))
    window.browser.review_stems = lambda kind: _review_stems(review, kind)
    window.pairs_changed.changed.connect(review.reload)   # a sync or pull brought decisions
    throughput = getattr(window, "throughput", None)
    if throughput is not None:   # the Stats panel's review quality follows each decision
        review.decided.connect(lambda _stem: throughput.refresh())
        throughput.panel.annotator_changed.connect(lambda _name: review.reload())   # whose queue it is
    qa = getattr(window, "road_qa", None)
    next_mark = window.actions.next_issue
    if qa is not None:
        next_mark.triggered.disconnect(qa.next_issue)   # one key, one handler: N steps notes, then issues
    next_mark.triggered.connect(lambda: _step_marks(review, qa))
    next_mark.setText("&Next review note or connectivity issue")
    window.editor.tile_shown.connect(lambda _stem: _bring_notes_forward(review, dock))
    window.tile_review, window.tile_review_actions, window.review_notes_dock = review, keys, dock
    window.review_notes_panel = panel
    return review
