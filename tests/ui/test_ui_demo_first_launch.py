"""The demo workspace's first launch: the shipped starter model predicts the tile on screen, and the
status bar says plainly that it is a weak model."""

from __future__ import annotations

import pytest
from ui_helpers import open_window

from roadseg_gui.core.demo import ensure_demo_workspace


@pytest.mark.slow
def test_first_launch_of_the_demo_shows_a_prediction_from_the_starter_model(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no last-used model from this machine
    window = open_window(qtbot, ensure_demo_workspace(tmp_path / "demo"), wait_for_tile=False)
    try:
        qtbot.waitUntil(lambda: window.editor.probability is not None, timeout=120000)
        assert window.editor.probability.shape == window.editor.document.shape
        assert "starter model: weak" in window.status_model.text()
        assert not window.banner.isVisible()
    finally:
        window.close()
