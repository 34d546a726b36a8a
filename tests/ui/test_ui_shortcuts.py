"""Every key belongs to exactly one action, redo works from the keyboard, and F1 lists every key."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from ui_helpers import click, fixed_view

from roadseg_gui.ui import dialogs


def _keys_by_action(window) -> dict[str, list[str]]:
    """Each key (as the platform writes it) -> the actions it is bound to, counting an action that
    holds the same key twice twice: Qt calls both 'ambiguous' and runs neither."""
    bound = defaultdict(list)
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            if not key.isEmpty():
                bound[key.toString(QKeySequence.PortableText)].append(action.text() or action.objectName())
    return bound


def test_no_key_is_bound_to_two_actions(window):
    duplicates = {key: names for key, names in _keys_by_action(window).items() if len(names) > 1}
    assert duplicates == {}


def test_standard_keys_of_this_platform_do_not_collide_with_explicit_keys(window):
    """A StandardKey expands per platform (Redo is Ctrl+Shift+Z on X11, Ctrl+Y on Windows); none of
    its expansions may land on a key another action holds."""
    bound = _keys_by_action(window)
    undo_keys = {k.toString(QKeySequence.PortableText) for k in window.undo_action.shortcuts()}
    redo_keys = {k.toString(QKeySequence.PortableText) for k in window.redo_action.shortcuts()}
    assert "Ctrl+Z" in undo_keys and "Ctrl+Shift+Z" in redo_keys
    for standard, owner in ((QKeySequence.Undo, undo_keys), (QKeySequence.Redo, redo_keys)):
        for key in QKeySequence.keyBindings(standard):
            text = key.toString(QKeySequence.PortableText)
            others = [name for name in bound.get(text, []) if text not in owner]
            assert others == [], f"{text} ({standard}) is also bound to {others}"


def _paint_one_dab(window) -> np.ndarray:
    window.set_tool("brush")
    fixed_view(window.canvas)
    window.editor.document.replace(np.zeros(window.editor.document.shape, bool))
    window.editor.undo.active.clear()
    window.panel.brush_size.setValue(8)
    click(window.canvas, 30.5, 30.5)
    painted = window.editor.document.mask.copy()
    assert painted.any()
    return painted


def test_redo_with_the_keyboard(window, qtbot):
    painted = _paint_one_dab(window)
    document = window.editor.document
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert not document.mask.any()
    qtbot.keyClick(window.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert np.array_equal(document.mask, painted)
    qtbot.keyClick(window.canvas, Qt.Key_Z, Qt.ControlModifier)
    qtbot.keyClick(window.canvas, Qt.Key_Y, Qt.ControlModifier)
    assert np.array_equal(document.mask, painted)


def test_f1_lists_every_menu_shortcut_including_h(window):
    rows = dict((what, keys) for keys, what in dialogs.shortcut_rows(window))
    assert rows["Show prediction"] == "H"
    assert "Ctrl+Shift+Z" in rows["Redo"]
    html = dialogs.shortcuts_html(window)
    for action in window.actions.all() + [window.undo_action, window.redo_action]:
        for key in action.shortcuts():
            assert key.toString(QKeySequence.NativeText) in html, action.text()


def test_f1_opens_a_list_that_fits_a_laptop_screen(qtbot, window):
    window.actions.shortcuts_help.trigger()
    box = window.shortcuts_box
    assert box.isVisible() and "Redo" in box.text.toPlainText()
    assert box.height() <= 700 and box.minimumSizeHint().height() <= 700
    window.actions.shortcuts_help.trigger()  # again: the same box, not a second one
    assert window.shortcuts_box is box
