"""SIGTERM and SIGINT end the app like Ctrl+Q: the edit is saved, the prediction worker and the
multiprocessing resource tracker end with it, and no process of the app's session is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication
from ui_helpers import click, fixed_view

from roadseg_gui.core.workspace import Workspace
from roadseg_gui.ui.quit_signals import quit_on_signals

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def session_processes(sid: int) -> list[str]:
    """'pid name state' of every live process whose session id is ``sid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, rest = entry.joinpath("stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()  # state, ppid, pgrp, session, ...
        if int(fields[3]) == sid:
            found.append(f"{entry.name} {name.split('(', 1)[1]} {fields[0]}")
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_saves_the_edit_and_closes_the_window(qtbot, window, signum):
    stem = window.editor.stem
    window.set_tool("brush")
    fixed_view(window.canvas)
    click(window.canvas, 30.5, 30.5)   # well inside the 1 s debounce: only the quit path saves it
    window.ask_on_quit = True          # a signal must not wait for an answer
    handlers = quit_on_signals(QApplication.instance(), window)
    try:
        os.kill(os.getpid(), signum)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    finally:
        handlers.uninstall()
    saved = Workspace.open(window.workspace.root).working_mask(stem)
    assert saved is not None and saved[30, 30]
    assert window.prediction is None or window.prediction.service is None


def start_app_session(workspace_root, tmp_path) -> subprocess.Popen:
    """The app in its own process session, with a private config and a model folder it cannot load
    (its prediction worker and the resource tracker start all the same)."""
    model = tmp_path / "models" / "v0001"
    model.mkdir(parents=True)
    home = tmp_path / "home"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               XDG_CONFIG_HOME=str(home / "config"), XDG_STATE_HOME=str(home / "state"),
               XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
    return subprocess.Popen([sys.executable, "-m", "roadseg_gui", str(workspace_root), "--model", str(model)],
                            env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_sigterm_or_kill_9_leaves_no_process_of_the_app_session(workspace_root, tmp_path, signum):
    """SIGKILL cannot be handled: the worker notices its parent is gone and ends itself, and the
    resource tracker follows."""
    app = start_app_session(workspace_root, tmp_path)
    try:
        deadline = time.monotonic() + 90
        while len(session_processes(app.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)  # the app, the prediction worker and the resource tracker
        started = session_processes(app.pid)
        assert len(started) >= 3, started
        time.sleep(1.0)
        app.send_signal(signum)
        deadline = time.monotonic() + 10
        while session_processes(app.pid) and time.monotonic() < deadline:
            app.poll()  # reaps the app itself (this test is its parent)
            time.sleep(0.1)
        left = session_processes(app.pid)
        assert left == [], f"still running 10 s after {signum.name}: {left} (started: {started})"
        assert app.wait(5) == (0 if signum == signal.SIGTERM else -signal.SIGKILL)
        assert "Traceback" not in app.stderr.read()
    finally:
        try:
            os.killpg(app.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        app.wait(10)


def test_ctrl_c_in_a_terminal_ends_the_app_and_its_worker_without_tracebacks(workspace_root, tmp_path):
    """Ctrl+C sends SIGINT to the whole foreground process group: the app, its worker and the tracker."""
    app = start_app_session(workspace_root, tmp_path)
    try:
        deadline = time.monotonic() + 90
        while len(session_processes(app.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(session_processes(app.pid)) >= 3
        time.sleep(1.0)
        os.killpg(app.pid, signal.SIGINT)
        deadline = time.monotonic() + 10
        while session_processes(app.pid) and time.monotonic() < deadline:
            app.poll()
            time.sleep(0.1)
        assert session_processes(app.pid) == []
        assert app.wait(5) == 0
        errors = app.stderr.read()
        assert "Traceback" not in errors and "KeyboardInterrupt" not in errors, errors[-2000:]
    finally:
        try:
            os.killpg(app.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        app.wait(10)
