"""Autosave then crash recovery: a child process paints, is killed with SIGKILL, and the edit is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from ui_helpers import open_window

from roadseg_gui.core.workspace import Workspace

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


def disk(shape, cx, cy, r):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r


def run_child_until_ready(root: Path, config: Path) -> tuple[str, list[str]]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(config),
               PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, str(CHILD), str(root)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.strip() == "ready":
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    stem = next(line.split()[1] for line in lines if line.startswith("stem "))
    return stem, lines


def test_an_edit_older_than_the_debounce_survives_kill_9(qtbot, workspace_root, isolated_config):
    stem, lines = run_child_until_ready(workspace_root, isolated_config)
    assert "saved-edit-done" in lines and "ready" in lines, lines
    workspace = Workspace.open(workspace_root)
    saved = workspace.working_mask(stem)
    assert saved is not None, "the autosaved edit is on disk"
    expected = disk(saved.shape, 30.5, 30.5, 5)
    assert np.array_equal(saved & ~disk(saved.shape, 70.5, 70.5, 5), expected)
    assert workspace.tile(stem).status == "edited"
    assert not list((workspace_root / ".roadseg" / "edits").glob(".*.tmp")), "no torn temp file left behind"

    window = open_window(qtbot, workspace_root)
    try:
        window.browser.select(stem)
        qtbot.waitUntil(lambda: window.editor.stem == stem and window.editor.document is not None, timeout=15000)
        assert window.editor.document.mask[expected].all()
    finally:
        window.close()
