import sys
from pathlib import Path

# ui_helpers (the Qt tests' window and mouse helpers) live in tests/ui.
for folder in (Path(__file__).parent, Path(__file__).parents[1] / "ui"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import pytest  # noqa: E402


@pytest.fixture
def isolated_config(tmp_path, monkeypatch):
    """As tests/ui: recent workspaces, window geometry and recovered edits go to a temp dir."""
    from PySide6.QtCore import QSettings

    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(config))
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(config))
    return config


@pytest.fixture
def workspace_root(tmp_path, isolated_config):
    from ui_helpers import write_tiles

    root = tmp_path / "ws"
    write_tiles(root, 4)
    return root
