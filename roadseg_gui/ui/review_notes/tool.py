"""The Note tool: one click pins a note with a line of text at that point of the tile."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ..tools import Tool


class NoteTool(Tool):
    name, label, shortcut = "note", "Review note", "M"
    hint = ("Click the tile to pin a note there (one line of text); it is sent with your Approve (G) or "
            "Return (U). N jumps between notes.")

    def release(self, pos, event) -> None:
        review = getattr(self.ctx, "review_notes", None)
        if event.button() == Qt.LeftButton and review is not None and self.ctx.document is not None:
            height, width = self.ctx.document.shape
            if 0 <= pos.x() < width and 0 <= pos.y() < height:
                review.pin_note_at(pos.x(), pos.y())
