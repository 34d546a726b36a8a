"""Notes: M then one click pins a note with its line of text; a returned tile shows its notes as marks on the
canvas and in the Review notes list; N jumps between them, then on to the connectivity issues."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication
from review_ui_helpers import show, type_note
from ui_helpers import click, fixed_view

from roadseg_gui.core.review_state import RETURNED, get_record
from roadseg_gui.ui.review_notes.overlay import NOTE_COLOUR


def _pin(qtbot, window, x: float, y: float, text: str) -> None:
    type_note(qtbot, window, text)
    click(window.canvas, x, y)


def test_m_and_a_click_pin_notes_that_travel_with_the_return(window, qtbot):
    show(qtbot, window, "tile_000")
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_M)
    assert window.canvas.tool.name == "note"
    fixed_view(window.canvas)
    _pin(qtbot, window, 10.5, 12.5, "road missing here")
    _pin(qtbot, window, 70.5, 60.5, "this is a river")
    rec = get_record(window.workspace.db, "tile_000")
    assert [(n.x, n.y, n.text) for n in rec.notes] == [(10.5, 12.5, "road missing here"),
                                                       (70.5, 60.5, "this is a river")]
    assert rec.state == "accepted" and window.editor.document.mask is not None   # a note alone decides nothing
    type_note(qtbot, window, "see the two notes")
    window.activateWindow()   # back from the note boxes (offscreen does not hand activation back itself)
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_U)
    qtbot.waitUntil(lambda: get_record(window.workspace.db, "tile_000").state == RETURNED, timeout=10000)
    assert [n.text for n in get_record(window.workspace.db, "tile_000").notes] == [
        "road missing here", "this is a river", "see the two notes"]


def _returned_with_notes(root) -> None:
    from roadseg_gui.core.review_state import decisions, store
    from roadseg_gui.core.review_state.inbox import pin_note

    conn = store.connect(root)
    pin_note(conn, root, "tile_000", "carol", "gap at the junction", 20.5, 30.5)
    decisions.return_tile(conn, root, "tile_000", "carol", "close the gap", 70.5, 40.5)
    conn.close()


def test_a_returned_tile_shows_its_notes_as_marks_and_a_list_and_n_jumps_between_them(window, qtbot):
    _returned_with_notes(window.workspace.root)
    window.workspace.settings.annotator = "alice"
    combo = window.browser.status_filter
    combo.setCurrentIndex(combo.findData("returned_to_me"))
    assert window.browser.model.stems() == ["tile_000"]
    window.layers_dock.raise_()   # the notes' dock behind another tab, as at start
    panel = window.review_notes_panel
    QApplication.processEvents()
    assert panel.visibleRegion().isEmpty()   # a tab behind another is moved off screen, not hidden
    show(qtbot, window, "tile_000")
    qtbot.waitUntil(lambda: not panel.visibleRegion().isEmpty(), timeout=5000)   # a returned tile: notes in front
    qtbot.waitUntil(lambda: panel.notes.count() == 2, timeout=5000)
    assert "gap at the junction" in panel.notes.item(0).text() and "carol" in panel.notes.item(0).text()
    assert "Returned" in panel.state.text()
    fixed_view(window.canvas)
    pixels = window.canvas.grab().toImage()
    for x, y in ((20.5, 30.5), (70.5, 40.5)):
        at = window.canvas.image_to_widget(QPointF(x + 1.2, y + 1.2))   # inside the pin, off its number
        assert pixels.pixelColor(int(at.x()), int(at.y())) == NOTE_COLOUR
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_N)
    assert window.tile_review.current == 0 and panel.notes.currentRow() == 0
    centre = window.canvas.image_to_widget(QPointF(20.5, 30.5))
    assert abs(centre.x() - window.canvas.width() / 2) < 1 and abs(centre.y() - window.canvas.height() / 2) < 1
    assert "gap at the junction" in window.statusBar().currentMessage()
    qtbot.keyClick(window.canvas, Qt.Key_N)
    assert window.tile_review.current == 1
    centre = window.canvas.image_to_widget(QPointF(70.5, 40.5))
    assert abs(centre.x() - window.canvas.width() / 2) < 1
    qa = window.road_qa
    mask = np.zeros(window.editor.document.shape, bool)
    mask[40:50, :60] = True                       # a road that stops in the middle of the tile
    window.editor.document.replace(mask)
    qtbot.waitUntil(lambda: not qa.busy and bool(qa.issues), timeout=15000)
    qtbot.keyClick(window.canvas, Qt.Key_N)   # past the notes: the connectivity issues, then the notes again
    assert window.tile_review.current == -1 and qa.current == 0
    for _ in qa.issues:
        qtbot.keyClick(window.canvas, Qt.Key_N)
    assert window.tile_review.current == 0
    panel.notes.setCurrentRow(1)   # a click in the list shows that note
    assert window.tile_review.current == 1
