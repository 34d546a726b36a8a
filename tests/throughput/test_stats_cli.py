"""``roadseg stats`` in a real process, on records written to a real workspace's state DB."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from roadseg_gui.core import statedb
from roadseg_gui.core.throughput import store
from roadseg_gui.core.throughput.activity import TileWork
from roadseg_gui.core.throughput.road_length import MEASURED_BY_ASSUMED_GSD, RoadLength


def _roadseg(*args):
    return subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    conn = statedb.connect(root)
    store.add_work(conn, "ann", "2026-03-01", {"t1": TileWork(1800.0, {"brush": 40, "road": 20}),
                                               "t2": TileWork(1800.0, {"road": 30})})
    store.add_work(conn, "bob", "2026-03-02", {"t3": TileWork(3600.0, {"eraser": 10})})
    for stem, annotator, day, metres in (("t1", "ann", "2026-03-01", 1000.0), ("t2", "ann", "2026-03-01", 500.0),
                                         ("t3", "bob", "2026-03-02", 250.0)):
        store.record_accept(conn, stem, annotator, day, RoadLength(metres / 0.5, metres, MEASURED_BY_ASSUMED_GSD))
    conn.close()
    return root


def test_stats_prints_tiles_per_hour_km_per_hour_and_actions_per_km_per_annotator(workspace):
    done = _roadseg("stats", str(workspace))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["annotator", "tiles", "hours", "km", "actions", "tiles_per_hour", "km_per_hour",
                                "actions_per_km"]
    ann = lines[1].split()
    assert ann == ["ann", "2", "1.00", "1.50", "90", "2.00", "1.50", "60.00"]
    assert lines[3].split()[:5] == ["total", "3", "2.00", "1.75", "100"]
    assert "3 accepted tile(s) without a CRS are measured at an assumed 0.5 m per pixel" in done.stdout


def test_stats_csv_by_day(workspace):
    done = _roadseg("stats", str(workspace), "--csv", "--by", "day")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["day"] for r in rows] == ["2026-03-01", "2026-03-02"]
    assert float(rows[1]["km_per_hour"]) == pytest.approx(0.25) and float(rows[1]["actions_per_km"]) == 40


def test_stats_of_a_folder_that_is_not_a_workspace_is_one_sentence(tmp_path):
    done = _roadseg("stats", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {tmp_path}: is not a roadseg workspace (no .roadseg/state.sqlite). " \
                                  "Give the folder the app opened as its workspace."
    assert "Traceback" not in done.stderr


def test_stats_of_a_workspace_with_nothing_recorded_says_so(tmp_path):
    statedb.connect(tmp_path / "fresh").close()
    done = _roadseg("stats", str(tmp_path / "fresh"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("No throughput recorded in") and "labeled in the app" in done.stdout
