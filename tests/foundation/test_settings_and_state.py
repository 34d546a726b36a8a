"""Settings round trip, damaged settings, state DB schema and status guards, atomic writes, CLI errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from roadseg_gui.core import statedb
from roadseg_gui.core.settings import UserSettings, WorkspaceSettings
from roadseg_gui.core.statedb import TileStatus
from trainer.errors import BadInputError
from trainer.fsutil import atomic_write_bytes, atomic_writer


def test_workspace_settings_round_trip(tmp_path):
    settings = WorkspaceSettings()
    settings.s3.bucket = "my-bucket"
    settings.s3.sse = "aws:kms"
    settings.labeling.test_fraction = 0.2
    settings.save(tmp_path)
    loaded = WorkspaceSettings.load(tmp_path)
    assert loaded.s3.bucket == "my-bucket"
    assert loaded.s3.uri == "s3://my-bucket/sagemaker/seg-data"
    assert loaded.labeling.test_fraction == 0.2
    assert loaded.sagemaker.instance_type == settings.sagemaker.instance_type


def test_settings_never_hold_credentials(tmp_path):
    WorkspaceSettings().save(tmp_path)
    text = (tmp_path / ".roadseg" / "settings.toml").read_text()
    assert "secret" not in text.lower() and "access_key" not in text.lower()


def test_damaged_settings_fall_back_to_defaults_and_are_kept(tmp_path):
    path = tmp_path / ".roadseg" / "settings.toml"
    path.parent.mkdir()
    path.write_text("[s3\nbucket = ")
    assert WorkspaceSettings.load(tmp_path).s3.bucket == ""
    assert (tmp_path / ".roadseg" / "settings.toml.bad").exists()


def test_user_settings_remembers_recent_workspaces(tmp_path, monkeypatch):
    monkeypatch.setattr(UserSettings, "path", staticmethod(lambda: tmp_path / "user.toml"))
    user = UserSettings()
    for name in ["a", "b", "a"]:
        user.remember_workspace(tmp_path / name)
    user.save()
    assert [os.path.basename(p) for p in UserSettings.load().recent_workspaces] == ["a", "b"]


def test_state_db_is_wal_and_guards_status(tmp_path):
    conn = statedb.connect(tmp_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    statedb.upsert_tile(conn, "a", "train/images/a.jpg", "train", TileStatus.ACCEPTED)
    statedb.upsert_tile(conn, "b", "unlabeled/b.jpg", None, TileStatus.EDITED)
    statedb.set_status(conn, ["a", "b"], TileStatus.SYNCED, only_if=[TileStatus.ACCEPTED])
    rows = {r["stem"]: r["status"] for r in conn.execute("SELECT stem, status FROM tiles")}
    assert rows == {"a": "synced", "b": "edited"}


def test_atomic_writer_keeps_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "mask.png"
    atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError):
        with atomic_writer(target) as fh:
            fh.write(b"half-written")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["mask.png"]


def test_error_sentence_names_file_problem_and_fix():
    err = BadInputError("file is empty (0 bytes)", "Re-export it.", "/data/x.jpg")
    assert str(err) == "/data/x.jpg: file is empty (0 bytes). Re-export it."


def test_cli_without_command_prints_help_and_fails():
    proc = subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "usage: roadseg" in proc.stdout


def test_atomic_writer_makes_shareable_files_and_keeps_an_existing_mode(tmp_path):
    new = tmp_path / "new.png"
    atomic_write_bytes(new, b"x")
    assert new.stat().st_mode & 0o777 == 0o644
    private = tmp_path / "private.toml"
    atomic_write_bytes(private, b"a")
    private.chmod(0o600)
    atomic_write_bytes(private, b"b")
    assert private.stat().st_mode & 0o777 == 0o600


def test_connect_adds_the_remote_split_column_to_an_older_state_db(tmp_path):
    (tmp_path / ".roadseg").mkdir()
    old = sqlite3.connect(tmp_path / ".roadseg" / "state.sqlite")
    old.executescript("CREATE TABLE tiles (stem TEXT PRIMARY KEY, image TEXT NOT NULL, split TEXT, "
                      "status TEXT NOT NULL DEFAULT 'new', uncertainty REAL, model_version TEXT, "
                      "edited_at REAL, accepted_at REAL, error TEXT);"
                      "INSERT INTO tiles(stem, image) VALUES ('a', 'unlabeled/a.jpg');")
    old.close()
    conn = statedb.connect(tmp_path)
    assert conn.execute("SELECT remote_split FROM tiles WHERE stem='a'").fetchone()[0] is None
    conn.close()


def test_atomic_writer_holds_a_name_of_250_bytes(tmp_path):
    """The temp file's name embeds the target's only while it fits in 255 bytes."""
    target = tmp_path / ("é" * 123 + ".png")      # 250 bytes in UTF-8
    atomic_write_bytes(target, b"data")
    assert target.read_bytes() == b"data" and [p.name for p in tmp_path.iterdir()] == [target.name]
