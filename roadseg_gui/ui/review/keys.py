"""The review keys, in a Review menu (so the menus and F1 list them) and bound once each.

RapiD accepts with A and deletes with D; here A and D move between tiles, so a proposed road is
accepted with Y (yes) and rejected with X (cross it out): single keys under the left hand, free in
this app, and no Shift+A/Shift+D that would leave the tile when Shift slips. Tab and Shift+Tab move
through the roads as RapiD's and JOSM's validators do; V shows or hides them; , and . (the < and >
keys) narrow and widen the selected road; Shift+Y accepts every road above the confidence.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from ..actions import _action


class ReviewActions:
    def __init__(self, window):
        a = _action
        self.show = a(window, "Show proposed &roads", ["V"], "Show or hide the model's roads not yet in the mask",
                      checkable=True)
        self.show.setChecked(True)
        self.next = a(window, "Next proposed road", [QKeySequence(Qt.Key_Tab)],
                      "Select the next proposed road (longest and most confident first)")
        self.previous = a(window, "Previous proposed road", ["Shift+Tab"])
        self.accept = a(window, "&Accept proposed road", ["Y"],
                        "Paint the selected road into the mask at its width, joined to the roads there")
        self.reject = a(window, "Re&ject proposed road", ["X"], "Hide the selected road on this tile for good")
        self.restore = a(window, "Propose the last rejected road again", ["Shift+X"])
        self.narrower = a(window, "Narrower proposed road", [","])
        self.wider = a(window, "Wider proposed road", ["."])
        self.accept_all = a(window, "Accept &all roads above the confidence", ["Shift+Y"],
                            "Accept every proposed road at least as confident as the Road review panel's "
                            "slider, as one undo step (drag a rectangle with Review roads for an area)")
        for action in self.all():
            if action in (self.next, self.previous):
                # Tab only while the canvas has focus: in the panels' forms it still moves between fields.
                action.setShortcutContext(Qt.WidgetShortcut)
                window.canvas.addAction(action)
            else:
                window.addAction(action)

    def all(self):
        return [self.show, self.next, self.previous, self.accept, self.reject, self.restore, self.narrower,
                self.wider, self.accept_all]

    def wire(self, review) -> None:
        self.show.toggled.connect(review.set_visible)
        self.next.triggered.connect(lambda: review.step(+1))
        self.previous.triggered.connect(lambda: review.step(-1))
        self.accept.triggered.connect(review.accept_selected)
        self.reject.triggered.connect(review.reject_selected)
        self.restore.triggered.connect(review.restore_rejected)
        self.narrower.triggered.connect(lambda: review.change_width(-1))
        self.wider.triggered.connect(lambda: review.change_width(+1))
        self.accept_all.triggered.connect(lambda: review.accept_in_area(None))

    def add_menu(self, window, tool_action=None) -> None:
        """A Review menu before Help."""
        bar = window.menuBar()
        help_menu = next((m for m in bar.actions() if m.text().replace("&", "") == "Help"), None)
        menu = window.menuBar().addMenu("&Review") if help_menu is None else None
        if menu is None:
            from PySide6.QtWidgets import QMenu

            menu = QMenu("&Review", bar)
            bar.insertMenu(help_menu, menu)
        if tool_action is not None:
            menu.addAction(tool_action)
        menu.addAction(self.show)
        menu.addSeparator()
        menu.addActions([self.next, self.previous, self.accept, self.reject, self.restore])
        menu.addSeparator()
        menu.addActions([self.narrower, self.wider, self.accept_all])
        window.review_menu = menu
