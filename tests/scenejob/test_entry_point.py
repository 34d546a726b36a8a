"""The Processing entry point run as SageMaker runs it: a real process, under a fake /opt/ml/processing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_entry(processing_root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ROADSEG_PROCESSING_ROOT=str(processing_root), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "trainer.scenejob", "--device", "cpu", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_two_scenes_and_a_broken_one_predict_with_crs_kept_and_the_failure_listed(processing_tree):
    import rasterio

    root, transform = processing_tree
    (root / "input" / "scenes" / "ghost.tif").symlink_to(root / "nowhere.tif")  # a dangling link
    proc = run_entry(root, "--vector")
    out = root / "output" / "predictions"
    # two scenes failed and the job still completes: one bad scene must not fail a Processing job
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 of 4 scenes failed: see failures.json" in proc.stdout
    with rasterio.open(out / "city" / "north_mask.tif") as mask:
        assert mask.crs.to_epsg() == 32618
        assert mask.transform == transform
        assert (mask.width, mask.height) == (300, 200)
    assert (out / "south_mask.tif").is_file()
    assert any(p.suffix == ".geojson" for p in (out / "city").iterdir())
    failures = json.loads((out / "failures.json").read_text())
    assert [row["scene"] for row in failures] == ["broken.tif", "ghost.tif"]
    assert all(row["reason"] and "Traceback" not in row["reason"] for row in failures)
    assert "scenes_done=4 scenes_total=4" in proc.stdout
    for relative in ("city/north.done.json", "south.done.json"):
        marker = json.loads((out / relative).read_text())
        assert marker["files"] and all((out / relative).parent.joinpath(n).stat().st_size == s
                                       for n, s in marker["files"].items())


def test_a_rerun_skips_complete_scenes_and_redoes_an_incomplete_one(processing_tree):
    root, _ = processing_tree
    (root / "input" / "scenes" / "broken.tif").unlink()
    assert run_entry(root).returncode == 0
    out = root / "output" / "predictions"
    north = out / "city" / "north_mask.tif"
    north_mtime = north.stat().st_mtime_ns
    # a torn output: the marker lists a size the file no longer has
    south = out / "south_mask.tif"
    south.write_bytes(south.read_bytes()[:100])
    proc = run_entry(root)
    assert proc.returncode == 0, proc.stderr
    assert "city/north.tif: outputs already complete, skipped" in proc.stdout
    assert "south.tif: predicted" in proc.stdout
    assert north.stat().st_mtime_ns == north_mtime
    assert south.stat().st_size > 100
    assert json.loads((out / "failures.json").read_text()) == []


def test_an_input_without_scenes_is_one_sentence(tmp_path):
    (tmp_path / "input" / "scenes").mkdir(parents=True)
    (tmp_path / "input" / "model").mkdir(parents=True)
    proc = run_entry(tmp_path)
    assert proc.returncode == 2
    assert "holds no scene" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("hosts", [1, 2])
def test_each_host_writes_its_own_failures_file(hosts):
    from trainer.scenejob import contract

    assert contract.failures_name("algo-2", hosts) == ("failures.json" if hosts == 1 else "failures-algo-2.json")


@pytest.mark.parametrize("inside", ["out", "."])
def test_an_output_folder_inside_the_scene_folder_is_refused_before_anything(tmp_path, inside):
    """Its masks would be read as scenes by the next run (the SageMaker backend refuses the same)."""
    from .conftest import write_scene

    scenes = tmp_path / "scenes"
    write_scene(scenes / "a.tif")
    proc = subprocess.run([sys.executable, "-m", "trainer.scenejob", "--device", "cpu", "--input", str(scenes),
                           "--model", str(tmp_path / "no-model"), "--output", str(scenes / inside)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "output" in proc.stderr and "inside the input" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in scenes.rglob("*")) == ["a.tif"]


def test_only_unreadable_scenes_still_write_failures(tmp_path):
    scenes = tmp_path / "input" / "scenes"
    scenes.mkdir(parents=True)
    (tmp_path / "input" / "model").mkdir(parents=True)
    (scenes / "gone.tif").symlink_to(tmp_path / "missing.tif")
    proc = run_entry(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 of 1 scenes failed: see failures.json" in proc.stdout
    failures = json.loads((tmp_path / "output" / "predictions" / "failures.json").read_text())
    assert [row["scene"] for row in failures] == ["gone.tif"]
