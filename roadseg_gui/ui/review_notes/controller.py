"""Approve, return and notes for the tile on screen, with core.review_state doing the deciding.

Approving writes the mask on screen into {split}/masks first (the reviewer may have edited it), so
core.decisions measures agreement between the annotator's accepted mask and the approved one.
"""

from __future__ import annotations

import logging
import sqlite3

from PySide6.QtCore import QObject, QPointF, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit

from roadseg_gui.core.review_state import RETURNED, decisions, get_record
from roadseg_gui.core.review_state.inbox import ReviewQueue, pin_note, review_queue
from trainer.errors import BadInputError

log = logging.getLogger(__name__)
FOCUS_ZOOM = 2.0


class TileReview(QObject):
    changed = Signal()          # the tile's record or the queue changed
    message = Signal(str)
    decided = Signal(str)       # stem: approved, returned, or accepted again after a return

    def __init__(self, window):
        super().__init__(window)
        self.window, self.editor = window, window.editor
        self.editor.review_notes = self          # the note tool finds it through its context
        self.notes: list = []                    # the notes of the tile on screen
        self.record = None
        self.current = -1                        # the note N showed last
        self.queue = ReviewQueue()
        self.note_box: QInputDialog | None = None   # open while a note is typed (tests find it)
        self._approving: str | None = None
        self.editor.tile_shown.connect(lambda _stem: self.reload())
        self.editor.accepted.connect(self._accepted)

    # ---- state -----------------------------------------------------------
    @property
    def workspace(self):
        return self.window.workspace

    def me(self) -> str:
        return self.workspace.settings.annotator_name()

    def reload(self) -> None:
        stem, workspace = self.editor.stem, self.workspace
        try:
            self.record = get_record(workspace.db, stem) if workspace is not None and stem else None
            self.queue = review_queue(workspace.db, self.me()) if workspace is not None else ReviewQueue()
            self.window.browser.show_review_states(self.queue.states)
        except sqlite3.Error as exc:
            log.warning("Could not read the review state: %s", exc)
            self.record = None
        self.notes = list(self.record.notes) if self.record is not None else []
        self.current = -1
        self.changed.emit()
        self.editor.canvas.update()

    # ---- decisions -------------------------------------------------------
    def approve(self) -> None:
        stem = self.editor.stem
        if not self._labeled(stem, "approved"):
            return
        record = get_record(self.workspace.db, stem)
        if record is not None and record.conflict:   # refused before the reviewer's edits are written
            self.window.log_panel.error(f"Cannot approve {stem}: its review is in conflict ({record.conflict}). "
                                        f"Resolve it with `roadseg review WORKSPACE --keep-mine {stem}` or "
                                        f"`--take-theirs {stem}`; your edits stay as a draft.")
            self.message.emit(f"{stem}: review conflict, see the Log.")
            return
        if not self._edited():   # as accepted: nothing to write, and no accept credited to the reviewer
            self._approved(stem)
            return
        self._approving = stem
        if not self.editor.accept():   # the reviewer's edits are saved first: they are what is approved
            self._approving = None

    def _edited(self) -> bool:
        """The mask on screen differs from the accepted file: edited now, or a draft kept from before."""
        stack = self.editor.undo.active
        return stack is None or not stack.isClean() or getattr(stack, "edited_at_start", True) \
            or self.editor.stem in self.editor.accepting

    def _accepted(self, stem: str, _split: str) -> None:
        if stem != self._approving:
            self._fixed(stem)
            return
        self._approving = None
        self._approved(stem)

    def _approved(self, stem: str) -> None:
        rec = self._decide(decisions.approve, stem)
        if rec is not None:
            agreement = "" if rec.iou is None else f" (agreement: IoU {rec.iou:.2f}, APLS {rec.apls:.2f})"
            self._done(f"Approved {stem}{agreement}.")

    def _fixed(self, stem: str) -> None:
        """A returned tile accepted again: it waits for review at once, not only after the next sync."""
        record = get_record(self.workspace.db, stem) if self.workspace is not None else None
        if record is not None and record.state == RETURNED and self._decide(decisions.accept, stem) is not None:
            self.window.log_panel.info(f"{stem} goes back to review (its notes stay); it is sent with the next sync.")
            self.decided.emit(stem)
            self.reload()

    def return_tile(self) -> None:
        stem = self.editor.stem
        if not self._labeled(stem, "returned"):
            return
        text = self.ask_note(f"Return {stem}", "What should the annotator fix?")
        if text is None:
            return
        x, y = self.view_centre()
        if self._decide(decisions.return_tile, stem, text, x, y) is not None:
            self._done(f"Returned {stem} to {self.record.annotator or 'its annotator'} with a note.")

    def pin_note_at(self, x: float, y: float) -> None:
        stem = self.editor.stem
        if not self._labeled(stem, "given a note"):
            return
        text = self.ask_note("Note", "Note at this point:")
        rec = self._decide(pin_note, stem, text, x, y) if text is not None else None
        if rec is not None:
            when = "it is sent with the next sync" if rec.state != "accepted" else \
                "it travels with your Approve (G) or Return (U)"
            self.message.emit(f"Note pinned on {stem}; {when}.")
            self.reload()

    def _labeled(self, stem, what: str) -> bool:
        record = self.workspace.tile(stem) if self.workspace is not None and stem else None
        if record is None or getattr(record, "split", None) not in ("train", "test"):
            self.message.emit(f"Only an accepted tile can be {what}; accept it first (Enter).")
            return False
        return True

    def _decide(self, decision, stem: str, *args):
        try:
            return decision(self.workspace.db, self.workspace.root, stem, self.me(), *args)
        except BadInputError as exc:
            self.window.log_panel.error(str(exc))
        except (OSError, sqlite3.Error) as exc:
            self.window.log_panel.error(f"Could not save the review of {stem}: {exc}. Nothing was changed.")
        return None

    def _done(self, text: str) -> None:
        self.decided.emit(self.editor.stem or "")
        self.window.log_panel.info(text + " It is sent with the next sync.")
        self.message.emit(text)
        self.reload()
        browser = self.window.browser
        if browser.status_filter.currentData() in ("to_review", "returned_to_me"):
            stem = self.editor.stem
            browser.refresh()
            if browser.current_stem() != stem or stem is None:
                browser.step(+1)

    def ask_note(self, title: str, label: str) -> str | None:
        box = QInputDialog(self.window)
        box.setWindowTitle(title)
        box.setLabelText(label)
        box.setTextEchoMode(QLineEdit.Normal)
        self.note_box = box
        try:
            ok = box.exec()
        finally:
            self.note_box = None
        text = box.textValue().strip()
        box.deleteLater()
        return text if ok and text else None

    # ---- the view ----------------------------------------------------------
    def view_centre(self) -> tuple[float, float]:
        canvas = self.editor.canvas
        point = canvas.widget_to_image(QPointF(canvas.width() / 2, canvas.height() / 2))
        height, width = self.editor.document.shape if self.editor.document is not None else (1, 1)
        return min(max(point.x(), 0.0), width - 1.0), min(max(point.y(), 0.0), height - 1.0)

    def show_note(self, index: int) -> None:
        if not 0 <= index < len(self.notes):
            return
        self.current = index
        note, canvas = self.notes[index], self.editor.canvas
        scale = max(canvas.scale, FOCUS_ZOOM)
        centre = QPointF(canvas.width() / 2, canvas.height() / 2)
        canvas.set_view(scale, centre - QPointF(note.x * scale, note.y * scale))
        self.message.emit(f"Note {index + 1} of {len(self.notes)} ({note.author}): {note.text}")
        self.changed.emit()
        canvas.update()
