import sys
from pathlib import Path

import pytest

# ui_helpers (the Qt tests' mouse helpers) and review_data live beside the tests that use them.
for folder in (Path(__file__).parent, Path(__file__).parents[1] / "ui"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture
def isolated_config(tmp_path, monkeypatch):
    """The Qt review tests' recent workspaces, window geometry and recovered edits go to a temp dir."""
    from PySide6.QtCore import QSettings

    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(config))
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(config))
    return config
