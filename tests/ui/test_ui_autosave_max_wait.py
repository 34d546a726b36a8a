"""Autosave under continuous editing: a real app process paints every 0.2 s and is killed with SIGKILL
at several moments; every edit older than 2 s is on disk, and the restarted app shows it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ui_helpers import open_window

from roadseg_gui.core.workspace import Workspace

CHILD = Path(__file__).with_name("editing_child.py")
ROOT = Path(__file__).resolve().parents[2]
PROMISE_S = 2.0


def disk(shape, cx, cy, r):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r


def edit_then_kill(root: Path, config: Path, kill_after_s: float):
    """Run the child until its edits have gone on for ``kill_after_s``, then SIGKILL it.
    Returns (stem, [(x, y, t)], kill time) on time.monotonic()'s clock, which the child shares."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(config),
               PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, str(CHILD), str(root)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    stem, edits, first = None, [], None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = child.stdout.readline().split()
            if not line:
                break
            if line[0] == "stem":
                stem = line[1]
            elif line[0] == "edit":
                edits.append((float(line[2]), float(line[3]), float(line[4])))
                first = first or edits[0][2]
                if edits[-1][2] - first >= kill_after_s:
                    break
        killed_at = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert stem and edits, "the child never started editing"
    return stem, edits, killed_at


@pytest.mark.parametrize("kill_after_s", [2.5, 4.1, 5.7])
def test_edits_older_than_two_seconds_survive_kill_9_while_editing(qtbot, workspace_root, isolated_config,
                                                                   kill_after_s):
    stem, edits, killed_at = edit_then_kill(workspace_root, isolated_config, kill_after_s)
    old = [(x, y) for x, y, t in edits if killed_at - t > PROMISE_S]
    assert len(old) >= int((kill_after_s - PROMISE_S) / 0.2) - 1, (len(old), len(edits))
    workspace = Workspace.open(workspace_root)
    saved = workspace.working_mask(stem)
    assert saved is not None, f"nothing saved after {len(edits)} edits over {kill_after_s} s"
    lost = [(x, y) for x, y in old if not saved[disk(saved.shape, x, y, 3)].all()]
    assert lost == [], f"{len(lost)} of {len(old)} edits older than {PROMISE_S} s were lost"
    assert not list((workspace_root / ".roadseg" / "edits").glob(".*.tmp")), "no torn temp file"
    if kill_after_s == 5.7:  # the restarted app shows them
        window = open_window(qtbot, workspace_root, wait_for_tile=False)
        try:
            window.browser.select(stem)
            qtbot.waitUntil(lambda: window.editor.stem == stem and window.editor.document is not None,
                            timeout=15000)
            for x, y in old:
                assert window.editor.document.mask[disk(saved.shape, x, y, 3)].all()
        finally:
            window.close()
