"""Approve (G) and Return (U) with real keys; the queue filters of the tile browser; the menus and F1."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel
from review_ui_helpers import show, type_note
from ui_helpers import click, fixed_view

from roadseg_gui.core.review_state import APPROVED, RETURNED, get_record
from roadseg_gui.core.throughput.store import load_records as work_records
from roadseg_gui.ui import dialogs


def _filter(window, value: str) -> None:
    combo = window.browser.status_filter
    combo.setCurrentIndex(combo.findData(value))


def _listed(window) -> list[str]:
    return window.browser.model.stems()


def _record(window, stem):
    return get_record(window.workspace.db, stem)


def test_to_review_lists_tiles_others_accepted_and_the_status_bar_counts(window, qtbot):
    _filter(window, "to_review")
    assert sorted(_listed(window)) == ["tile_000", "tile_001"]   # not bob's own tile_002, not unlabeled
    qtbot.waitUntil(lambda: "To review 2 · returned to me 0" in
                    [w.text() for w in window.statusBar().findChildren(QLabel)], timeout=5000)
    _filter(window, "returned_to_me")
    assert _listed(window) == []


def test_g_approves_with_agreement_and_the_tile_leaves_the_queue(window, qtbot):
    _filter(window, "to_review")
    show(qtbot, window, "tile_000")
    mask_file = window.workspace.root / "train" / "masks" / "tile_000.png"
    written = mask_file.stat().st_mtime_ns
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_G)
    qtbot.waitUntil(lambda: (_record(window, "tile_000") or None) is not None
                    and _record(window, "tile_000").state == APPROVED, timeout=10000)
    rec = _record(window, "tile_000")
    assert rec.reviewer == "bob" and rec.annotator == "alice"
    assert rec.iou == 1.0 and rec.apls == 1.0   # approved as accepted
    assert mask_file.stat().st_mtime_ns == written   # not written again, nor accepted in the reviewer's name
    window.throughput.flush()
    assert [r for r in work_records(window.workspace.db) if r.stem == "tile_000" and r.accepted] == []
    qtbot.waitUntil(lambda: "tile_000" not in _listed(window), timeout=5000)
    assert _listed(window) == ["tile_001"]
    window.browser.status_filter.setCurrentIndex(0)   # all statuses: the list says which tiles are in review, and how far
    model = window.browser.model
    tips = {stem: model.data(model.index(model.row_of(stem)), Qt.ToolTipRole) for stem in _listed(window)}
    assert "review: approved" in tips["tile_000"] and "review: accepted" in tips["tile_001"]
    assert "review" not in tips["tile_009"]


def test_an_edit_before_g_records_the_agreement_of_accepted_and_approved(window, qtbot):
    show(qtbot, window, "tile_001")
    accepted = window.editor.document.mask.copy()
    window.set_tool("brush")
    fixed_view(window.canvas)
    window.panel.brush_size.setValue(20)
    for x in (20.5, 50.5, 80.5):           # a wide stroke of road where alice had less
        click(window.canvas, x, 48.5)
    assert window.editor.document.mask.sum() > accepted.sum()
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_G)
    qtbot.waitUntil(lambda: _record(window, "tile_001").state == APPROVED, timeout=10000)
    rec = _record(window, "tile_001")
    edited = window.editor.document.mask
    expected = (accepted & edited).sum() / (accepted | edited).sum()
    assert rec.iou is not None and abs(rec.iou - expected) < 1e-6 and rec.iou < 1.0
    assert rec.apls is not None and 0.0 <= rec.apls <= 1.0


def test_u_returns_with_the_note_typed_and_alice_finds_it_returned_to_her(window, qtbot):
    show(qtbot, window, "tile_000")
    window.canvas.setFocus()
    type_note(qtbot, window, "the road at the top is missing")
    qtbot.keyClick(window.canvas, Qt.Key_U)
    qtbot.waitUntil(lambda: _record(window, "tile_000").state == RETURNED, timeout=10000)
    rec = _record(window, "tile_000")
    assert [n.text for n in rec.notes] == ["the road at the top is missing"] and rec.notes[0].author == "bob"
    assert rec.first_review is False
    window.workspace.settings.annotator = "alice"
    _filter(window, "returned_to_me")
    assert _listed(window) == ["tile_000"]


def test_return_cancelled_with_esc_changes_nothing(window, qtbot):
    show(qtbot, window, "tile_000")
    QTimer.singleShot(0, lambda: _esc(qtbot, window))
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_U)
    assert _record(window, "tile_000").state == "accepted" and _record(window, "tile_000").notes == []


def _esc(qtbot, window):
    box = window.tile_review.note_box
    if box is None:
        QTimer.singleShot(20, lambda: _esc(qtbot, window))
        return
    qtbot.keyClick(box, Qt.Key_Escape)


def test_g_on_an_unlabeled_tile_does_not_accept_it(window, qtbot):
    window.browser.select("tile_009")
    qtbot.waitUntil(lambda: window.editor.stem == "tile_009" and window.editor.document is not None, timeout=15000)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_G)
    QApplication.processEvents()
    assert window.workspace.tile("tile_009").split is None and not (window.workspace.root / "train" / "masks"
                                                                    / "tile_009.png").exists()
    assert _record(window, "tile_009") is None
    assert "accept it first" in window.statusBar().currentMessage()


def test_approve_and_return_are_in_the_review_menu_and_f1(window):
    texts = [a.text().replace("&", "") for a in window.review_menu.actions()]
    assert "Approve tile" in texts and "Return tile with a note…" in texts and "Review note" in texts
    rows = dict((what, keys) for keys, what in dialogs.shortcut_rows(window))
    assert rows["Approve tile"] == "G" and rows["Return tile with a note"] == "U" and rows["Review note"] == "M"
    assert "Next review note or connectivity issue" in rows
    assert "Review note (M)" in dialogs.shortcuts_html(window)   # the click that pins a note, in F1 too


def test_the_toolbar_still_shows_next_at_a_laptops_width(window, qtbot):
    from PySide6.QtWidgets import QToolBar

    window.resize(1366, 740)
    qtbot.waitUntil(lambda: window.width() == 1366, timeout=5000)
    toolbar = window.findChild(QToolBar, "tools_toolbar")
    button = toolbar.widgetForAction(window.actions.next_tile)
    assert button is not None and button.isVisible() and button.geometry().right() <= toolbar.width()
    assert window.actions.tools["note"] not in toolbar.actions()


def test_g_on_a_tile_in_review_conflict_writes_nothing_and_says_how_to_resolve(window, qtbot):
    from roadseg_gui.core.review_state.store import save_record

    rec = _record(window, "tile_001")
    rec.conflict = "carol returned it on S3 meanwhile"
    save_record(window.workspace.db, rec)
    show(qtbot, window, "tile_001")
    mask_file = window.workspace.root / "train" / "masks" / "tile_001.png"
    written = mask_file.read_bytes()
    window.set_tool("brush")
    fixed_view(window.canvas)
    click(window.canvas, 40.5, 40.5)               # an edit that approving would write
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_G)
    qtbot.waitUntil(lambda: not window.editor.accepting, timeout=10000)
    window.editor.autosaver.flush_now()   # a write G had queued would be done now
    assert mask_file.read_bytes() == written and _record(window, "tile_001").state == "accepted"
    log = window.log_panel.list
    assert any("--keep-mine tile_001" in log.item(i).text() for i in range(log.count()))
