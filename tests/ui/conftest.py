"""Fixtures for the Qt tests: an isolated config, a small synthetic workspace, and the main window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ui_helpers import open_window, write_tiles

pytest.importorskip("pytestqt")


@pytest.fixture(autouse=True)
def isolated_config(isolated_config):
    """tests/conftest.py's, for every test here."""
    return isolated_config


@pytest.fixture
def workspace_root(tmp_path) -> Path:
    root = tmp_path / "ws"
    write_tiles(root, 4)
    return root


@pytest.fixture
def window(qtbot, workspace_root):
    win = open_window(qtbot, workspace_root)
    yield win
    win.close()


def empty_mask(window) -> np.ndarray:
    return np.zeros(window.editor.document.shape, bool)


@pytest.fixture
def full_window(qtbot, tmp_path):
    """The main window on a 4-tile workspace with the S3 and Retrain docks created (no prediction worker)."""
    from roadseg_gui.core.workspace import Workspace
    from roadseg_gui.ui.main_window import MainWindow

    root = tmp_path / "ws"
    write_tiles(root, 4)
    window = MainWindow(predict=False, side_panels=True)
    window.ask_on_quit = False
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    window.set_workspace(Workspace.open(root))
    qtbot.waitUntil(lambda: window.retrain_dock is not None and window.sync_dock is not None
                    and window.editor.document is not None, timeout=60000)
    yield window
    window.close()
