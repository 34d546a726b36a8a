"""While a model loads, the banner says "Loading model…", never "No model is configured"."""

from __future__ import annotations

from ui_helpers import open_window

from roadseg_gui.core.workspace import Workspace
from roadseg_gui.ui.banner import Banner


def _record_banners(monkeypatch) -> list[str]:
    shown: list[str] = []
    original = Banner.show_message

    def recording(self, text, *args, **kwargs):
        shown.append(text)
        return original(self, text, *args, **kwargs)
    monkeypatch.setattr(Banner, "show_message", recording)
    return shown


def test_relaunch_with_a_model_says_loading_not_no_model(qtbot, workspace_root, tmp_path, monkeypatch):
    model = tmp_path / "models" / "v0003"
    model.mkdir(parents=True)
    workspace = Workspace.open(workspace_root)
    workspace.settings.active_model = str(model)
    workspace.save_settings()
    shown = _record_banners(monkeypatch)
    window = open_window(qtbot, workspace_root)
    try:
        assert window.banner.isVisible()
        assert "Loading model" in window.banner.label.text() and "v0003" in window.banner.label.text()
        assert not window.banner.button.isVisible(), "nothing to choose while it loads"
        assert not any("No model is configured" in text for text in shown), shown
        window.prediction.model_loaded.emit("v0003", "CPU")  # what poll() emits on ModelLoaded
        assert not window.banner.isVisible()
    finally:
        window.close()


def test_activating_a_model_says_loading_until_it_is_loaded(qtbot, window, tmp_path):
    assert "No model is configured" in window.banner.label.text()
    model = tmp_path / "v0004"
    model.mkdir()
    window.activate_model(str(model))
    assert "Loading model" in window.banner.label.text() and window.banner.isVisible()
    assert window.status_model.text() == "Loading model…"
