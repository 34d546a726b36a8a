"""The S3 and Retrain panels follow the workspace: counts update after an accept without a click,
S3 settings are edited in the app with the CLI's validation, and sync errors reach the Log panel."""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QDialog

from roadseg_gui.ui import docks

pytest.importorskip("boto3")


def _pairs(text: str) -> int:
    found = re.search(r"(\d+) train / (\d+) test pairs", text)
    return int(found[1]) + int(found[2]) if found else -1


def test_counts_follow_an_accept_without_refresh(qtbot, full_window):
    sync_panel = docks.panel_of(full_window.sync_dock)
    retrain_panel = docks.panel_of(full_window.retrain_dock)
    qtbot.waitUntil(lambda: sync_panel.progress_label.text() == "0 pairs to sync", timeout=20000)
    qtbot.waitUntil(lambda: _pairs(retrain_panel.summary_label.text()) == 0, timeout=20000)
    full_window.accept_tile()
    qtbot.waitUntil(lambda: sync_panel.progress_label.text() == "1 pair to sync", timeout=20000)
    qtbot.waitUntil(lambda: _pairs(retrain_panel.summary_label.text()) == 1, timeout=20000)


def _log(window) -> str:
    return "\n".join(window.log_panel.entries())


def test_sync_without_a_destination_says_what_to_do_in_the_app_not_the_cli(qtbot, full_window):
    sync_panel = docks.panel_of(full_window.sync_dock)
    sync_panel.destination.setText("")
    assert sync_panel.start_sync() is False
    assert "no S3 destination" in sync_panel.summary.text() and "--to" not in sync_panel.summary.text()
    assert "Sync failed: " in _log(full_window) and "S3 settings" in _log(full_window)
    assert "--to" not in _log(full_window)


def test_s3_settings_dialog_validates_like_the_cli_and_saves(qtbot, full_window, tmp_path, monkeypatch):
    from roadseg_gui.core.settings import WorkspaceSettings
    from roadseg_gui.ui.s3_settings_dialog import S3SettingsDialog

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    (tmp_path / "aws-config").write_text("[profile labeler]\nregion = eu-west-1\n")
    root = full_window.workspace.root
    dialog = S3SettingsDialog(root, parent=full_window)
    qtbot.addWidget(dialog)
    assert "labeler" in [dialog.profile.itemText(i) for i in range(dialog.profile.count())]
    dialog.destination.setText("s3://roads-bucket/team/seg-data")
    for field, value, words in ((dialog.profile.setCurrentText, "nosuchprofile", "is not configured"),
                                (dialog.region.setText, "Europe West", "not an AWS region"),
                                (dialog.endpoint.setText, "ftp://x", "not an endpoint URL")):
        field(value)
        dialog.save()
        assert words in dialog.error.text() and dialog.result() != QDialog.Accepted
        assert WorkspaceSettings.load(root).s3.bucket == "", "nothing is saved until it validates"
        field("")
    dialog.profile.setCurrentText("labeler")
    dialog.region.setText("eu-west-1")
    dialog.endpoint.setText("http://127.0.0.1:9000")
    dialog.sse.setCurrentIndex(dialog.sse.findData("aws:kms"))
    dialog.kms_key.setText("alias/roads")
    dialog.save()
    assert dialog.result() == QDialog.Accepted, dialog.error.text()
    s3 = WorkspaceSettings.load(root).s3
    assert (s3.bucket, s3.prefix, s3.profile, s3.region) == ("roads-bucket", "team/seg-data", "labeler", "eu-west-1")
    assert (s3.endpoint_url, s3.sse, s3.kms_key_id) == ("http://127.0.0.1:9000", "aws:kms", "alias/roads")
    settings_text = (root / ".roadseg" / "settings.toml").read_text()
    assert "testing" not in settings_text and "secret" not in settings_text.lower()


def test_a_sync_error_reaches_the_log_panel(qtbot, full_window, s3_server):
    from roadseg_gui.core.settings import WorkspaceSettings

    root = full_window.workspace.root
    settings = WorkspaceSettings.load(root)
    settings.s3.endpoint_url = s3_server
    settings.save(root)
    full_window.accept_tile()
    sync_panel = docks.panel_of(full_window.sync_dock)
    qtbot.waitUntil(lambda: sync_panel.progress_label.text() == "1 pair to sync", timeout=20000)
    sync_panel.destination.setText("s3://no-such-bucket-here/seg")   # the server has no such bucket
    with qtbot.waitSignal(sync_panel.busy_changed, timeout=5000):
        assert sync_panel.start_sync()
    qtbot.waitUntil(lambda: not sync_panel.is_busy(), timeout=60000)
    qtbot.waitUntil(lambda: "no-such-bucket-here" in _log(full_window), timeout=5000)
    assert "--to" not in _log(full_window)


def test_roll_back_is_enabled_only_when_there_is_an_earlier_model(qtbot, full_window, tmp_path):
    from roadseg_gui.core.models import ModelRegistry

    retrain_panel = docks.panel_of(full_window.retrain_dock)
    qtbot.waitUntil(lambda: _pairs(retrain_panel.summary_label.text()) == 0, timeout=20000)
    assert not retrain_panel.choice.rollback_button.isEnabled()
    registry = ModelRegistry(full_window.workspace.root)
    try:
        for version in ("v0001", "v0002"):
            (tmp_path / version).mkdir()
            registry.add_external(tmp_path / version, version)
        registry.activate("v0001")
        retrain_panel.refresh_summary()
        qtbot.wait(500)
        assert not retrain_panel.choice.rollback_button.isEnabled(), "one model: nothing earlier"
        registry.activate("v0002")
    finally:
        registry.close()
    retrain_panel.refresh_summary()
    qtbot.waitUntil(retrain_panel.choice.rollback_button.isEnabled, timeout=20000)
    assert "v0001" in retrain_panel.choice.rollback_button.toolTip()
