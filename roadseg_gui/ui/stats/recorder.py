"""Counts the annotator's input in the main window as active time and actions, per tile.

An application event filter (the keys go to whichever widget has focus, and a key bound to a menu
action never reaches the canvas as a key press): any mouse or key input on a widget of the window is
activity; a mouse press on the canvas (a click, or the start of a stroke), on a button or in the tile
list, and a key press (its ShortcutOverride, sent once to the focus widget before any shortcut runs)
are one action each, of the tool in hand. Keys and buttons credited to a tool of their own (road
review's Y, X, Shift+Y..., whatever tool is in hand) count for that tool. Written to the state DB on
autosave's debounce, on tile switch, accept and quit.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QAbstractSpinBox, QApplication, QLineEdit, \
    QPlainTextEdit, QTextEdit, QWidget

from roadseg_gui.core.settings import os_login
from roadseg_gui.core.throughput import store
from roadseg_gui.core.throughput.accepted import measure_accepted
from roadseg_gui.core.throughput.activity import ActivityLog

from ..autosave import DEBOUNCE_MS
from ..workers import Failed, submit

log = logging.getLogger(__name__)
ACTIVITY = frozenset({QEvent.MouseButtonPress, QEvent.MouseButtonRelease, QEvent.MouseButtonDblClick,
                      QEvent.MouseMove, QEvent.Wheel, QEvent.KeyPress, QEvent.ShortcutOverride})
TEXT_FIELDS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)
MODIFIER_KEYS = frozenset({Qt.Key_Shift, Qt.Key_Control, Qt.Key_Alt, Qt.Key_Meta, Qt.Key_AltGr, Qt.Key_CapsLock})


class ThroughputRecorder(QObject):
    recorded = Signal()   # records were written: the Stats panel shows them again

    def __init__(self, window, clock=time.monotonic):
        super().__init__(window)
        self.window, self.canvas, self.clock = window, window.canvas, clock
        self.activity = ActivityLog()
        self.workspace = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)   # not restarted by later input: a flush at most ~1 s after it
        self._timer.timeout.connect(self.flush)
        self._credited_actions: list[tuple[str, object]] = []   # (tool, QAction) whose keys count for that tool
        self._credited_widgets: dict = {}                       # a button -> the tool its clicks count for
        QApplication.instance().installEventFilter(self)   # Qt drops a deleted filter by itself

    def annotator(self) -> str:
        return self.workspace.settings.annotator_name() if self.workspace is not None else os_login()

    # ---- what the window tells it ---------------------------------------
    def set_workspace(self, workspace) -> None:
        self.flush()
        self.workspace = workspace
        self.activity.switch(None)

    def tile_shown(self, stem: str) -> None:
        self.flush()
        self.activity.switch(stem)

    def tile_accepted(self, stem: str, _split: str = "") -> None:
        """Mark the record accepted now; measure its road on a pool thread."""
        self.flush()
        if self.workspace is None:
            return
        annotator, day, workspace = self.annotator(), store.today(), self.workspace
        try:
            store.record_accept(workspace.db, stem, annotator, day, None)
        except sqlite3.Error as exc:
            log.warning("Could not record the accept of %s for the stats: %s", stem, exc)
            return
        submit(measure_accepted, workspace, stem, annotator, day, context=self,
               on_done=lambda outcome: self._measured(stem, outcome))

    def _measured(self, stem: str, outcome) -> None:
        if isinstance(outcome, Failed):
            log.warning("Could not measure the road of %s for the stats: %s", stem, outcome.sentence())
        self.recorded.emit()

    def credit(self, tool: str, actions=(), widgets=()) -> None:
        """Count the keys of ``actions`` and the clicks on ``widgets`` as actions of ``tool``."""
        self._credited_actions += [(tool, action) for action in actions]
        self._credited_widgets.update((widget, tool) for widget in widgets)

    # ---- input ------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind not in ACTIVITY or not isinstance(watched, QWidget) or watched.window() is not self.window:
            return False
        now = self.clock()
        if kind == QEvent.MouseButtonPress and self._acting_press(watched):
            self.activity.action(self._credited_widgets.get(watched) or self._tool(), now)
        elif kind == QEvent.ShortcutOverride and self._new_key(watched, event):
            self.activity.action(self._key_tool(watched, event), now)
        else:
            self.activity.input(now)
        if not self._timer.isActive() and self.activity.has_pending():
            self._timer.start()
        return False

    def _acting_press(self, watched) -> bool:
        # The canvas (a click, a stroke's start), a button (Accept, Next, a tool) or the tile list; not a
        # scroll bar or a dock being moved. Each accepts the press, so it is not handed on to a parent.
        return (watched is self.canvas or isinstance(watched, QAbstractButton)
                or isinstance(watched.parentWidget(), QAbstractItemView))

    @staticmethod
    def _new_key(watched, event) -> bool:
        # Qt hands an unaccepted key event on to the parents: count it at the focus widget only.
        # Typing a name or a number in a field is activity, not labeling.
        focus = QApplication.focusWidget()
        return (not event.isAutoRepeat() and event.key() not in MODIFIER_KEYS
                and (watched is focus or focus is None) and not isinstance(focus, TEXT_FIELDS))

    def _tool(self) -> str:
        return getattr(self.canvas.tool, "name", "none")

    def _key_tool(self, watched, event) -> str:
        """The tool a credited action bound to this key counts for (where the key reaches it), else the
        tool in hand."""
        pressed = [QKeySequence(event.keyCombination())]
        if event.key() == Qt.Key_Backtab:      # what X11 sends for Shift+Tab
            pressed.append(QKeySequence(Qt.ShiftModifier | Qt.Key_Tab))
        for tool, action in self._credited_actions:
            if not action.isEnabled() or (action.shortcutContext() == Qt.WidgetShortcut
                                          and watched not in action.associatedObjects()):
                continue
            if any(shortcut.matches(key) == QKeySequence.ExactMatch
                   for shortcut in action.shortcuts() for key in pressed):
                return tool
        return self._tool()

    # ---- writing ------------------------------------------------------------
    def flush(self) -> None:
        """Write what was done since the last flush; kept in memory and retried if the write fails."""
        self._timer.stop()
        if self.workspace is None:
            self.activity.take()
            return
        work = self.activity.take()
        if not work:
            return
        try:
            store.add_work(self.workspace.db, self.annotator(), store.today(), work)
        except sqlite3.Error as exc:
            self.activity.put_back(work)
            self._timer.start()
            log.warning("Could not record throughput (kept, retried): %s", exc)
            return
        self.recorded.emit()
