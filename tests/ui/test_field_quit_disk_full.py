"""Issue 19, item 13: SIGTERM or SIGINT while the disk is full. The edit that cannot be saved is written
to a recovery folder under the user's data directory, stderr and the log say where, the exit status is
not 0, and the next launch offers to restore it (Enter restores)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from ui_helpers import open_window

from roadseg_gui.core.workspace import Workspace
from roadseg_gui.ui.recovery_ui import EXIT_EDITS_NOT_SAVED

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("diskfull_child.py")


def _lines(stream) -> queue.Queue:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_on_a_full_disk_keeps_the_edit_and_the_next_launch_restores_it(qtbot, workspace_root, tmp_path,
                                                                                 signum):
    data, state = Path(os.environ["XDG_DATA_HOME"]), tmp_path / "state"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               XDG_STATE_HOME=str(state), XDG_CACHE_HOME=str(tmp_path / "cache"))
    child = subprocess.Popen([sys.executable, str(CHILD), str(workspace_root)], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        lines = _lines(child.stdout)
        line = ""
        while not line.startswith("edited "):
            line = lines.get(timeout=120)
        stem = line.split()[1]
        child.send_signal(signum)
        errors = child.stderr.read()
        assert child.wait(30) == EXIT_EDITS_NOT_SAVED, errors[-3000:]
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)

    folders = list((data / "roadseg" / "recovery").iterdir())
    assert len(folders) == 1
    assert str(folders[0]) in errors and "No space left on device" in errors and "restore" in errors
    assert "Traceback" not in errors
    assert str(folders[0]) in (state / "roadseg" / "log" / "roadseg-gui.log").read_text()
    assert Workspace.open(workspace_root).working_mask(stem) is None      # nothing reached the workspace

    window = open_window(qtbot, workspace_root)                           # the next launch
    try:
        box = window.recovery_box
        qtbot.waitUntil(box.isVisible, timeout=5000)
        assert "1 unsaved edit" in box.text() and "No space left on device" in box.text()
        qtbot.keyClick(box, Qt.Key_Return)                                 # Restore is the default
        qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
        restored = Workspace.open(workspace_root).working_mask(stem)
        assert restored is not None and restored[30, 30] and not restored[80, 80]
        assert not folders[0].exists()
        qtbot.waitUntil(lambda: window.editor.stem == stem and window.editor.document is not None
                        and window.editor.document.mask[30, 30], timeout=10000)
    finally:
        window.close()


def test_restoring_never_overwrites_an_edit_made_since_and_not_now_keeps_the_folder(qtbot, workspace_root):
    import time

    import numpy as np

    from roadseg_gui.core import recovery

    workspace = Workspace.open(workspace_root)
    stems = [t.stem for t in workspace.tiles()][:2]
    kept = np.zeros((96, 96), bool)
    kept[10:20, 10:20] = True
    folder = recovery.write(workspace_root, {stem: kept for stem in stems}, "No space left on device.")
    time.sleep(0.05)
    newer = np.zeros((96, 96), bool)
    newer[50:60, 50:60] = True
    workspace.save_working_mask(stems[1], newer)                           # edited after the rescue

    window = open_window(qtbot, workspace_root, wait_for_tile=False)
    try:
        box = window.recovery_box
        qtbot.waitUntil(box.isVisible, timeout=5000)
        qtbot.keyClick(box, Qt.Key_Escape)                                  # Not now
        assert folder.exists() and len(recovery.pending(workspace_root)) == 1
    finally:
        window.close()

    window = open_window(qtbot, workspace_root, wait_for_tile=False)
    try:
        qtbot.waitUntil(window.recovery_box.isVisible, timeout=5000)
        qtbot.keyClick(window.recovery_box, Qt.Key_Return)
        again = Workspace.open(workspace_root)
        assert again.working_mask(stems[0])[15, 15]
        assert np.array_equal(again.working_mask(stems[1]), newer)            # kept back, not overwritten
        assert [r.tiles.keys() for r in recovery.pending(workspace_root)] == [{stems[1]: 0}.keys()]
        assert any("Kept back 1 edit" in line for line in window.log_panel.entries())
    finally:
        window.close()
