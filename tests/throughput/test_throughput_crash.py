"""The recorded work survives a crash as edits do: a killed app's last second of work at most is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roadseg_gui.core import statedb
from roadseg_gui.core.throughput import store

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_work_recorded_before_a_kill_is_in_the_state_db(tmp_path, workspace_root):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, str(CHILD), str(workspace_root)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if lines[-1] == "ready":
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    assert lines[-1] == "ready", lines
    stem = lines[0].split()[1]
    conn = statedb.connect(workspace_root)
    (record,) = [r for r in store.load_records(conn) if r.stem == stem]
    conn.close()
    assert record.actions == {"brush": 2}
    assert 0.4 <= record.active_s < 5
