"""After a return the annotator's Enter puts the tile back in review; the Stats panel shows review quality
per annotator (approved at first review, returned, mean agreement) as decisions are taken with the keys."""

from __future__ import annotations

from PySide6.QtCore import Qt
from review_ui_helpers import show, type_note
from ui_helpers import type_annotator

from roadseg_gui.core.review_state import ACCEPTED, APPROVED, RETURNED, get_record


def _return_with(qtbot, window, text: str) -> None:
    type_note(qtbot, window, text)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_U)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def _state(window, stem: str) -> str:
    return get_record(window.workspace.db, stem).state


def test_enter_on_a_returned_tile_sends_it_back_to_review_at_once(window, qtbot):
    show(qtbot, window, "tile_000")
    _return_with(qtbot, window, "widen the road")
    qtbot.waitUntil(lambda: _state(window, "tile_000") == RETURNED, timeout=10000)
    window.workspace.settings.annotator = "alice"   # alice at her desk
    window.tile_review.reload()
    assert window.tile_review.queue.returned_to_me == {"tile_000"}
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_Return)
    qtbot.waitUntil(lambda: _state(window, "tile_000") == ACCEPTED, timeout=10000)
    rec = get_record(window.workspace.db, "tile_000")
    assert rec.annotator == "alice" and rec.first_review is False and rec.notes[0].text == "widen the road"
    assert window.tile_review.queue.returned_to_me == set()


def test_the_stats_panel_shows_review_quality_per_annotator(window, qtbot):
    stats = window.throughput
    stats.dock.show()
    stats.dock.raise_()
    show(qtbot, window, "tile_000")
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_G)                 # approved at first review, as accepted
    qtbot.waitUntil(lambda: _state(window, "tile_000") == APPROVED, timeout=10000)
    show(qtbot, window, "tile_001")
    _return_with(qtbot, window, "missing the track")
    qtbot.waitUntil(lambda: _state(window, "tile_001") == RETURNED, timeout=10000)
    table = stats.panel.review_quality
    qtbot.waitUntil(lambda: table.rowCount() == 2 and table.item(0, 1).text() == "2", timeout=5000)
    alice = [table.item(0, c).text() for c in range(table.columnCount())]
    assert alice == ["alice", "2", "50 %", "1", "1.000", "1.000"]
    bob = [table.item(1, c).text() for c in range(table.columnCount())]
    assert bob[:4] == ["bob", "0", "–", "0"]


def test_a_name_typed_in_the_stats_panel_switches_whose_queue_is_counted(window, qtbot):
    from PySide6.QtWidgets import QLabel

    def counts() -> list[str]:
        return [w.text() for w in window.statusBar().findChildren(QLabel) if w.text().startswith("To review")]

    assert counts() == ["To review 2 · returned to me 0"]    # bob: alice's two tiles
    qtbot.keyClick(type_annotator(qtbot, window, "alice"), Qt.Key_Return)
    qtbot.waitUntil(lambda: counts() == ["To review 1 · returned to me 0"], timeout=5000)   # alice: bob's tile
