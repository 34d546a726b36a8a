"""Undo for mask edits: QUndoCommands over MaskEdit sparse diffs, one stack per tile.

Tools apply an edit to the MaskDocument as the person paints (so the canvas
follows the mouse), then push it here; the first ``redo()`` is therefore a no-op.
A brush stroke's dabs are merged by MaskDocument.begin_group/end_group, so one
Ctrl+Z undoes the whole stroke.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

UNDO_LIMIT = 200


class MaskEditCommand(QUndoCommand):
    def __init__(self, document, edit, text: str):
        super().__init__(text)
        self.document = document
        self.edit = edit
        self._applied = True  # the tool already applied it

    def redo(self) -> None:
        if not self._applied:
            self.document.apply(self.edit)
        self._applied = False

    def undo(self) -> None:
        self.document.revert(self.edit)


class TileUndoStacks:
    """A QUndoStack per tile, all in one QUndoGroup so Edit > Undo follows the active tile."""

    def __init__(self, parent=None, keep_tiles: int = 50):
        self.group = QUndoGroup(parent)
        self._stacks: dict[str, QUndoStack] = {}
        self._keep = keep_tiles

    def stack_for(self, stem: str, document=None) -> QUndoStack:
        stack = self._stacks.get(stem)
        if stack is not None and document is not None and getattr(stack, "_document", None) is not document:
            # A fresh document for this tile (reloaded from disk): old diffs no longer apply.
            self._drop(stem)
            stack = None
        if stack is None:
            stack = QUndoStack(self.group)
            stack.setUndoLimit(UNDO_LIMIT)
            stack._document = document  # noqa: SLF001
            self._stacks[stem] = stack
            self._trim()
        return stack

    def activate(self, stem: str, document) -> QUndoStack:
        stack = self.stack_for(stem, document)
        self.group.setActiveStack(stack)
        return stack

    @property
    def active(self) -> QUndoStack | None:
        return self.group.activeStack()

    def push(self, document, edit, text: str) -> None:
        stack = self.active
        if stack is None or edit is None:
            return
        stack.push(MaskEditCommand(document, edit, text))

    def _drop(self, stem: str) -> None:
        stack = self._stacks.pop(stem)
        self.group.removeStack(stack)
        stack.deleteLater()

    def _trim(self) -> None:
        # Undo history of long-gone tiles is dropped to bound memory; their masks are saved.
        active = self.group.activeStack()
        while len(self._stacks) > self._keep:
            oldest = next(s for s, st in self._stacks.items() if st is not active)
            self._drop(oldest)

