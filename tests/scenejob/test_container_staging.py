"""Where the scene job stages and writes temp files, what a kill -9 leaves, and an output reached through a link.

REAL: the entry point's run() on local folders, a real process killed with SIGKILL mid-scene."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import write_scene
from .test_entry_point import ROOT


def _inside(path, folder) -> bool:
    return Path(folder).resolve() in Path(os.path.abspath(path)).parents


def test_no_temp_file_is_ever_renamed_from_inside_the_output_folder(tmp_path, model_archive, monkeypatch):
    """SageMaker's Continuous upload copies every file that appears under the output, temp files included:
    every file must arrive there by a rename from outside (markers and failures.json included)."""
    from trainer.scenejob.__main__ import run
    from trainer.scenejob.runner import JobOptions

    write_scene(tmp_path / "scenes" / "city" / "a.tif", width=120, height=100)
    out = tmp_path / "output" / "predictions"
    renames = []
    for name in ("replace", "rename"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda src, dst, _real=real, **kw: renames.append((src, dst))
                            or _real(src, dst, **kw))
    run(str(tmp_path / "scenes"), str(model_archive), str(out), JobOptions(tile=128, overlap=16, device="cpu"))
    arrived = [(src, dst) for src, dst in renames if _inside(dst, out)]
    assert {Path(dst).name for _, dst in arrived} >= {"a_mask.tif", "a.done.json", "failures.json"}
    assert not [src for src, _ in arrived if _inside(src, out)]
    assert sorted(p.name for p in tmp_path.joinpath("output").iterdir()) == ["predictions"]   # work folder gone


def test_a_folder_linked_inside_the_input_that_leads_to_the_output_is_not_read(tmp_path, model_archive, capsys):
    from trainer.scenejob.__main__ import run
    from trainer.scenejob.runner import JobOptions

    scenes, out = tmp_path / "scenes", tmp_path / "out"
    write_scene(scenes / "a.tif", width=120, height=100)
    out.mkdir()
    (scenes / "previous").symlink_to(out, target_is_directory=True)
    for _ in range(2):   # the rerun would read a_mask.tif and write a_mask_mask.tif
        summary = run(str(scenes), str(model_archive), str(out), JobOptions(tile=128, overlap=16, device="cpu"))
        assert summary.failed == {}
    assert "previous/: the output folder; skipped" in capsys.readouterr().out
    assert sorted(p.name for p in out.rglob("*.tif")) == ["a_mask.tif"]


def test_a_killed_run_leaves_its_work_folder_and_the_next_run_removes_it(tmp_path, model_archive):
    from trainer.scenejob import staging

    root = tmp_path / "processing"
    write_scene(root / "input" / "scenes" / "big.tif", width=2400, height=2400)
    (root / "input" / "model").mkdir(parents=True)
    os.link(model_archive, root / "input" / "model" / "model.tar.gz")
    base, _ = staging.work_base(str(root / "output" / "predictions"))
    env = dict(os.environ, ROADSEG_PROCESSING_ROOT=str(root), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "trainer.scenejob", "--device", "cpu"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not list(base.glob("*/scene-*/out")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be killed mid-scene"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    left = [p for p in base.iterdir()]
    assert len(left) == 1 and left[0].name.split("-")[1] == str(proc.pid)   # named after its (dead) process
    with staging.work_folder(str(root / "output" / "predictions")) as work:   # what the next run does first
        assert [p for p in base.iterdir()] == [work]
    assert not base.exists()


def test_stale_s3_staging_in_the_temp_folder_is_removed_but_a_live_runs_is_kept(tmp_path, monkeypatch):
    import tempfile

    from trainer.scenejob import staging

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = staging._host()
    stale = tmp_path / f"roadseg-scenejob-{host}-{dead.pid}-abc"
    live = tmp_path / f"roadseg-scenejob-{host}-{os.getppid()}-def"   # pytest's parent: alive
    other_host = tmp_path / f"roadseg-scenejob-elsewhere-{dead.pid}-ghi"   # a shared temp folder: not ours to judge
    for folder in (stale, live, other_host):
        (folder / "published").mkdir(parents=True)
    with staging.work_folder("s3://bucket/out/") as work:
        assert work.parent == tmp_path and work.name.startswith(f"roadseg-scenejob-{host}-{os.getpid()}-")
    assert not stale.exists() and live.exists() and other_host.exists() and not work.exists()
