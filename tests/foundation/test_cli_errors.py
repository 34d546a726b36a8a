"""The CLI turns file-system and state-DB failures into one sentence; -v adds the traceback."""

from __future__ import annotations

import logging
import sqlite3

import numpy as np
import pytest
from PIL import Image

from roadseg_gui.cli.main import describe, main
from roadseg_gui.core import statedb
from roadseg_gui.core.workspace import Workspace
from trainer.errors import RoadsegError


@pytest.fixture
def damaged_workspace(tmp_path):
    root = tmp_path / "ws"
    (root / "unlabeled").mkdir(parents=True)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "unlabeled" / "a.png")
    Workspace.open(root).close()
    for extra in ("-wal", "-shm"):
        (root / ".roadseg" / f"state.sqlite{extra}").unlink(missing_ok=True)
    (root / ".roadseg" / "state.sqlite").write_bytes(b"garbage, not a database " * 400)
    return root


def only_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    return lines[0]


def test_a_damaged_state_db_is_a_roadseg_error_that_says_what_to_do(damaged_workspace):
    with pytest.raises(RoadsegError) as info:
        statedb.connect(damaged_workspace)
    sentence = str(info.value)
    assert "state.sqlite" in sentence and "damaged" in sentence and "aside" in sentence
    assert ".roadseg/edits survive" in sentence
    with pytest.raises(RoadsegError):
        Workspace.open(damaged_workspace)


@pytest.mark.parametrize("argv", [["retrain", "{ws}", "--list"],
                                  ["sync", "{ws}", "--to", "s3://bucket/prefix", "--dry-run"]])
def test_cli_on_a_damaged_state_db_prints_one_sentence(damaged_workspace, capsys, argv):
    assert main([a.format(ws=damaged_workspace) for a in argv]) == 1
    line = only_error_line(capsys)
    assert "state.sqlite" in line and "damaged" in line and "open the workspace again" in line


def test_verbose_logs_the_traceback(damaged_workspace, capsys, caplog):
    with caplog.at_level(logging.DEBUG, logger="roadseg"):
        assert main(["-v", "retrain", str(damaged_workspace), "--list"]) == 1
    assert any(r.exc_info and r.exc_info[0] is statedb.DamagedStateError for r in caplog.records)


def test_cli_with_a_file_where_a_folder_is_needed(tmp_path, capsys):
    scene = tmp_path / "scene.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(scene)
    afile = tmp_path / "afile"
    afile.write_text("in the way")
    assert main(["import-scene", str(scene), str(afile)]) == 1   # NotADirectoryError on afile/train/...
    line = only_error_line(capsys)
    assert f"{afile}: is a file where a folder is needed" in line


def test_os_and_sqlite_errors_become_sentences(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(FileExistsError) as exists:   # what predict --out afile hits
        afile.mkdir(parents=True, exist_ok=True)
    assert describe(exists.value) == f"{afile}: is a file where a folder is needed. " \
                                      "Choose another path, or move that file aside."
    with pytest.raises(FileNotFoundError) as missing:
        open(tmp_path / "nope.txt")
    assert describe(missing.value).startswith(f"{tmp_path / 'nope.txt'}: no such file")
    assert "close it and try again" in describe(sqlite3.OperationalError("database is locked"))
