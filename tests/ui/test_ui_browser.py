"""Tile browser: filters, sort order, counts, keyboard navigation, corrupt tiles, 10,000 tiles."""

from __future__ import annotations

import os
import shutil

import numpy as np
from statement_counter import count_statements
from ui_helpers import open_window, write_tiles
from PySide6.QtCore import Qt

from roadseg_gui.core.workspace import Workspace


def visible_stems(window) -> list[str]:
    return window.browser.model.stems()


def choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def test_filter_sort_counts_and_keyboard_navigation(qtbot, tmp_path):
    root = tmp_path / "ws"
    stems = write_tiles(root, 5)
    workspace = Workspace.open(root)
    for stem, u in zip(stems, (0.1, 0.5, 0.3, 0.9, 0.2)):
        workspace.save_prediction(stem, np.zeros((96, 96), np.uint8), u, "m")
    workspace.accept(stems[4], np.zeros((96, 96), bool))
    window = open_window(qtbot, root)
    try:
        browser = window.browser
        assert visible_stems(window) == [stems[i] for i in (3, 1, 2, 4, 0)], "most uncertain first"
        choose(browser.sort_order, "name")
        assert visible_stems(window) == stems
        choose(browser.status_filter, "accepted")
        assert visible_stems(window) == [stems[4]]
        choose(browser.status_filter, "predicted")
        assert visible_stems(window) == stems[:4]
        choose(browser.status_filter, None)
        choose(browser.split_filter, "unlabeled")
        assert visible_stems(window) == stems[:4]
        assert "5 tiles" in browser.counts_label.text() and "accepted 1" in browser.counts_label.text()
        choose(browser.split_filter, None)

        browser.select(stems[0])
        qtbot.waitUntil(lambda: window.editor.stem == stems[0] and window.editor.document is not None, timeout=15000)
        window.canvas.setFocus()
        for key, expected in ((Qt.Key_Right, 1), (Qt.Key_D, 2), (Qt.Key_Left, 1), (Qt.Key_A, 0)):
            qtbot.keyClick(window.canvas, key)
            assert window.editor.stem == stems[expected]
        browser.view.setFocus()
        qtbot.keyClick(browser.view, Qt.Key_Down)
        assert window.editor.stem == stems[1]
    finally:
        window.close()


def test_a_corrupt_tile_gets_an_error_badge_and_the_app_goes_on(qtbot, tmp_path):
    root = tmp_path / "ws"
    stems = write_tiles(root, 2)
    (root / "unlabeled" / "aaa_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (root / "unlabeled" / "aab_empty.jpg").write_bytes(b"")
    window = open_window(qtbot, root, wait_for_tile=False)
    try:
        assert window.editor.stem == "aaa_broken", "not known to be broken until read: first by name"
        window.browser.select("aaa_broken")
        model = window.browser.model

        def reason():
            return model.error_reason(model.record(model.row_of("aaa_broken"))) or ""
        qtbot.waitUntil(lambda: "not a readable image" in reason(), timeout=15000)
        assert window.workspace.tile("aaa_broken").status == "error"
        assert window.editor.document is None
        empty = model.record(model.row_of("aab_empty"))
        assert "empty" in model.error_reason(empty)
        qtbot.waitUntil(lambda: any("aaa_broken" in e for e in window.log_panel.entries()), timeout=15000)
        messages = "\n".join(window.log_panel.entries())
        assert "re-export" in messages and "Traceback" not in messages
        window.browser.select(stems[0])
        qtbot.waitUntil(lambda: window.editor.stem == stems[0] and window.editor.document is not None, timeout=15000)
    finally:
        window.close()


def test_ten_thousand_tiles_open_without_reading_every_image(qtbot, tmp_path, monkeypatch):
    root = tmp_path / "big"
    write_tiles(root, 1)
    source = root / "unlabeled" / "tile_000.png"
    for i in range(1, 10_000):
        target = root / "unlabeled" / f"tile_{i:05d}.png"
        try:
            os.link(source, target)  # hard links: 10,000 distinct files in a fraction of the time
        except OSError:
            shutil.copyfile(source, target)
    reads = []
    original = Workspace.read_image
    monkeypatch.setattr(Workspace, "read_image", lambda self, stem: reads.append(stem) or original(self, stem))
    connections = count_statements(monkeypatch)
    window = open_window(qtbot, root)
    try:
        assert window.browser.model.rowCount() == 10_000
        qtbot.wait(300)  # let the visible thumbnails load
        assert 1 <= len(reads) < 100, f"{len(reads)} images read"
        # no wall-clock limit (speed is bench/'s business): the work must not grow with the tile count
        statements = sum(c.calls for c in connections)
        assert statements < 1000, f"opening sent {statements} SQL statements for 10,000 tiles"
        window.browser.view.scrollToBottom()
        qtbot.wait(100)
        assert len(reads) < 200
    finally:
        window.close()
