"""S3 settings are validated before they are remembered: an unknown profile is never saved."""

from __future__ import annotations

import pytest

from roadseg_gui.core.settings import S3Settings, SettingsError, WorkspaceSettings, validate_s3_settings

from sync_helpers import URI, make_workspace, run_cli


def test_sync_with_an_unknown_profile_and_nothing_to_send_is_refused_and_not_remembered(
        tmp_path, s3_server, s3_client, capsys):
    root = make_workspace(tmp_path / "ws", s3_server, train=1, test=0)
    assert run_cli(["sync", str(root), "--to", URI, "--no-progress"]) == 0
    capsys.readouterr()
    for extra in ([], ["--dry-run"]):
        assert run_cli(["sync", str(root), "--profile", "nosuchprofile", "--no-progress", *extra]) == 1
        err = capsys.readouterr().err
        assert err == ("error: the AWS profile 'nosuchprofile' is not configured. Create it with "
                       "`aws configure --profile NAME` or choose another profile\n")
        assert WorkspaceSettings.load(root).s3.profile == ""
    assert run_cli(["sync", str(root), "--no-progress"]) == 0    # the workspace still syncs as before


def test_pull_with_an_unknown_profile_is_refused_before_it_is_remembered(tmp_path, s3_server, s3_client, capsys):
    target = tmp_path / "target"
    code = run_cli(["pull", URI, str(target), "--endpoint-url", s3_server, "--profile", "nosuchprofile",
                    "--no-progress"])
    assert code == 1 and "the AWS profile 'nosuchprofile' is not configured" in capsys.readouterr().err
    assert WorkspaceSettings.load(target).s3.profile == ""
    assert WorkspaceSettings.load(target).s3.bucket == ""


def test_a_configured_profile_is_accepted(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[profile annotator]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    validate_s3_settings(S3Settings(bucket="roadseg-data", profile="annotator", region="eu-west-1",
                                    endpoint_url="http://127.0.0.1:9000", sse="aws:kms"))


@pytest.mark.parametrize("field, value, words", [
    ("bucket", "Not_A_Bucket", "is not a valid S3 bucket name"),
    ("region", "moon base", "is not an AWS region name"),
    ("endpoint_url", "ftp://host", "is not an endpoint URL"),
    ("sse", "rot13", "unknown server-side encryption"),
])
def test_malformed_s3_settings_are_one_sentence(field, value, words):
    with pytest.raises(SettingsError, match=words) as caught:
        validate_s3_settings(S3Settings(**{field: value}))
    assert "\n" not in str(caught.value)
