"""Multi-statement sync state updates are atomic (``with conn`` does nothing on autocommit connections)."""

from __future__ import annotations

import importlib
import sqlite3

import pytest

from roadseg_gui.core.sync import state
from roadseg_gui.core.sync.keys import LayoutPath
from roadseg_gui.core.sync.report import SyncReport

pull_module = importlib.import_module("roadseg_gui.core.sync.pull")  # the package re-exports pull()


def traced(conn: sqlite3.Connection) -> list[str]:
    statements: list[str] = []
    conn.set_trace_callback(lambda sql: statements.append(sql.split()[0].upper()))
    return statements


def test_record_objects_writes_all_rows_or_none(tmp_path):
    conn = state.connect(tmp_path)
    rows = [("train/images/a.jpg", "sha-a", "etag-a"), ("train/masks/a.png", None, "etag-b")]  # 2nd breaks NOT NULL
    with pytest.raises(sqlite3.IntegrityError):
        state.record_objects(conn, "bucket/prefix", rows)
    assert state.synced_objects(conn, "bucket/prefix") == {}
    conn.close()


def test_recording_a_pulled_pair_updates_the_tile_in_one_transaction(tmp_path):
    conn = state.connect(tmp_path)
    conn.execute("INSERT INTO tiles(stem, image, split, status) VALUES ('a', 'unlabeled/a.jpg', NULL, 'new')")
    image, mask = LayoutPath("train", "images", "a.jpg"), LayoutPath("train", "masks", "a.png")
    task = pull_module.PullTask("a", [pull_module.RemoteFile(image, "p/train/images/a.jpg", "e1", 1),
                                      pull_module.RemoteFile(mask, "p/train/masks/a.png", "e2", 1)],
                                [image.relpath, mask.relpath])
    outcome = pull_module.PullOutcome(task, written=[(image.relpath, "s1", "e1"), (mask.relpath, "s2", "e2")])
    statements = traced(conn)
    pull_module._record(conn, tmp_path, type("Dest", (), {"state_key": "bucket/p"})(), outcome, SyncReport(), False)
    conn.set_trace_callback(None)
    tile_writes = [i for i, s in enumerate(statements) if s in ("INSERT", "UPDATE")]
    begins = [i for i, s in enumerate(statements) if s == "BEGIN"]
    commits = [i for i, s in enumerate(statements) if s == "COMMIT"]
    # every write sits between a BEGIN and the next COMMIT
    for i in tile_writes:
        assert any(b < i and not any(b < c < i for c in commits) for b in begins), statements
    row = conn.execute("SELECT image, split, status FROM tiles WHERE stem='a'").fetchone()
    assert tuple(row) == ("train/images/a.jpg", "train", "synced")
    conn.close()
