"""The Sync panel pushes to the moto server off the UI thread and shows the summary and conflicts."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from roadseg_gui.core.sync import pull, push  # noqa: E402
from roadseg_gui.ui.sync_panel import SyncPanel  # noqa: E402

from sync_helpers import URI, edit_mask, local_files, make_workspace, remote_objects  # noqa: E402


def test_panel_pushes_shows_summary_and_resolves_a_conflict(qtbot, tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server)
    panel = SyncPanel(root)
    qtbot.addWidget(panel)
    counts = []
    panel.pending_changed.connect(counts.append)
    qtbot.waitUntil(lambda: counts == [8], timeout=30_000)   # the initial refresh, off the UI thread
    panel.destination.setText(URI)
    progress_threads = []
    panel._relay.progress.connect(lambda p: progress_threads.append(threading.current_thread()))

    with qtbot.waitSignal(panel.sync_finished, timeout=30_000) as finished:
        qtbot.mouseClick(panel.sync_button, Qt.LeftButton)
        assert panel.is_busy() and not panel.sync_button.isEnabled()
    report = finished.args[0]
    assert report.summary() == "uploaded=8 unchanged=0 conflicts=0 failed=0"
    assert panel.summary.text().startswith("uploaded=8 unchanged=0 conflicts=0 failed=0")
    assert panel.progress.value() == 1000
    assert set(remote_objects(s3_client)) == local_files(root)
    assert progress_threads and all(t is threading.main_thread() for t in progress_threads)

    # someone else changes tile 3; this workspace changes it too -> a conflict in the list
    other = tmp_path / "other"
    pull(URI, other, endpoint_url=s3_server)
    edit_mask(other, "tile_00003", value=5)
    push(other)
    edit_mask(root, "tile_00003", value=8)
    with qtbot.waitSignal(panel.conflicts_changed, timeout=30_000, check_params_cb=lambda s: s == ["tile_00003"]):
        qtbot.mouseClick(panel.sync_button, Qt.LeftButton)
    assert "conflicts=1" in panel.summary.text()
    assert panel.conflict_list.count() == 1 and panel.selected_stem() == "tile_00003"

    panel.compare_selected()
    qtbot.waitUntil(lambda: panel._compare is not None and panel._compare.isVisible(), timeout=30_000)
    assert all(not view.pixmap().isNull() for view in panel._compare.views)
    panel._compare.close()

    with qtbot.waitSignal(panel.conflicts_changed, timeout=30_000, check_params_cb=lambda s: s == []):
        qtbot.mouseClick(panel.keep_button, Qt.LeftButton)
    with qtbot.waitSignal(panel.sync_finished, timeout=30_000) as finished:
        panel.start_sync()
    assert finished.args[0].summary() == "uploaded=1 unchanged=7 conflicts=0 failed=0"

