"""The key to the connectivity marks, in the canvas's top-left corner: one line per kind with its
colour and count, and how many specks of the prediction were left unmarked."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from roadseg_gui.core.connectivity_qa import counts_by_kind

NAMES = {"gap": "gap", "prediction_continues": "prediction goes on", "short_fragment": "short piece",
         "dangling_end": "dangling end", "self_intersection": "road crosses itself", "spike": "spike",
         "short_piece": "short accepted piece"}


class QALegend(QLabel):
    def __init__(self, canvas, colours: dict):
        super().__init__(canvas)
        self._colours = colours
        self.setAttribute(Qt.WA_TransparentForMouseEvents)   # painting and clicks go to the canvas
        self.setTextFormat(Qt.RichText)
        self.setStyleSheet("QLabel { background: rgba(20, 20, 20, 190); color: #eee; border-radius: 4px;"
                           " padding: 3px 6px; }")
        self.move(6, 6)
        self._counts: dict[str, int] = {}
        self.hide()

    def show_counts(self, issues: list, specks: int, visible: bool) -> None:
        counts = self._counts = counts_by_kind(issues)
        lines = [f'<span style="color:{self._colours[kind].name()}">●</span> {html.escape(NAMES[kind])} {n}'
                 for kind, n in counts.items()]
        if specks:
            lines.append(f'<span style="color:#aaa">{specks} prediction speck{"s" if specks != 1 else ""} '
                         "not marked</span>")
        if counts:
            lines.append('<span style="color:#aaa">N next · Q hide</span>')
        self.setText("<br>".join(lines))
        self.adjustSize()
        self.setVisible(visible and bool(lines))

    def counts(self) -> dict[str, int]:
        """What the legend shows, by kind."""
        return dict(self._counts)
