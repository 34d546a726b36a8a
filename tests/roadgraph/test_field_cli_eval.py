"""issue 19, items 14 and 15: ``roadseg eval --predictions`` as a user runs it, in a real process.

Float probability predictions are scored (not read as empty); entries that cannot be read, on either
side, are named with what they are and the exit status is 1 (never skipped silently, never called
"no prediction" when a folder, link loop or pipe has the name).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image

from trainer.synthetic import make_tile

ROOT = Path(__file__).resolve().parents[2]


def roadseg(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def truth_folder(root: Path, stems=("a", "b")) -> dict[str, np.ndarray]:
    root.mkdir(parents=True)
    roads = {}
    for seed, stem in enumerate(stems):
        roads[stem] = make_tile(96, seed, roads=2)[1]
        Image.fromarray(np.where(roads[stem], 255, 0).astype(np.uint8)).save(root / f"{stem}.png")
    return roads


def float_prediction(path: Path, road: np.ndarray) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=road.shape[1], height=road.shape[0], count=1,
                       dtype="float32") as dst:
        dst.write(np.where(road, 0.8, 0.1).astype(np.float32), 1)


def test_float_probability_predictions_are_scored_with_a_threshold(tmp_path):
    roads = truth_folder(tmp_path / "truth")
    predictions = tmp_path / "pred"
    predictions.mkdir()
    for stem, road in roads.items():
        float_prediction(predictions / f"{stem}.tif", road)
    run = roadseg("eval", "--predictions", str(predictions), "--data", str(tmp_path / "truth"))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["iou"] == pytest.approx(1.0)   # was 0: the probabilities were read as empty
    high = roadseg("eval", "--predictions", str(predictions), "--data", str(tmp_path / "truth"), "--threshold", "0.9")
    assert high.returncode == 0 and json.loads(high.stdout)["iou"] == 0.0   # no probability reaches 0.9


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_unreadable_truths_and_predictions_are_named_for_what_they_are(tmp_path):
    roads = truth_folder(tmp_path / "truth", stems=("a", "b", "c", "d"))
    truth = tmp_path / "truth"
    os.symlink("loop_y.png", truth / "loop_x.png")      # truth side: a link loop and a pipe
    os.symlink("loop_x.png", truth / "loop_y.png")
    os.mkfifo(truth / "pipe.png")
    predictions = tmp_path / "pred"
    predictions.mkdir()
    Image.fromarray(np.where(roads["a"], 255, 0).astype(np.uint8)).save(predictions / "a.png")
    (predictions / "b.png").mkdir()                     # prediction side: a folder, a loop and a pipe
    os.symlink("c_loop.png", predictions / "c.png")
    os.symlink("c.png", predictions / "c_loop.png")
    os.mkfifo(predictions / "d.png")
    run = roadseg("eval", "--predictions", str(predictions), "--data", str(truth), timeout=60)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert json.loads(run.stdout)["iou"] == pytest.approx(1.0)      # a.png, the one usable pair
    err = run.stderr
    assert "loop_x.png: symbolic link loop" in err and "pipe.png: not a regular file" in err
    assert "b.png is not a mask file that can be read: a folder" in err
    assert "c.png is not a mask file that can be read: symbolic link loop" in err
    assert "d.png is not a mask file that can be read: not a regular file" in err
    assert "no prediction b.png" not in err and "no prediction c.png" not in err and "no prediction d.png" not in err
