"""Fixtures for the Qt tests: an isolated config, a small synthetic workspace, and the main window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ui_helpers import open_window, write_tiles

pytest.importorskip("pytestqt")


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """Recent workspaces, last model and window geometry go to a temp dir, not the user's."""
    from PySide6.QtCore import QSettings

    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(config))
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(config))
    return config


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
