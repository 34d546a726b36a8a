"""The benchmarks of issue 21 run and say what they measure: bench_budget.py ends with the delivered network's
test_apls, bench_bridge.py times the post-processing inside a real vectorising run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


def test_bench_bridge_times_the_post_processing_of_a_scene_mask(tmp_path):
    from bench_bridge import scene_mask, time_vectorising
    from PIL import Image

    Image.fromarray(scene_mask(512, seed=3)).save(tmp_path / "scene.png")
    timing = time_vectorising(tmp_path / "scene.png", tmp_path, repeats=1)
    assert 0 < timing["connect"] < timing["bridged"]
    assert timing["bridged_edges"] < timing["plain_edges"]     # gaps bridged: fewer, longer edges


def test_bench_budget_ends_with_the_apls_of_the_delivered_network(tmp_path):
    from trainer.synthetic import write_dataset

    data = write_dataset(tmp_path / "data", train=2, test=1, size=64, seed=4)
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_budget.py"), "--data", str(data),
                          "--minutes", "0.05", "--image-size", "64", "--batch-size", "2", "--workers", "0",
                          "--precise-bn-batches", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert run.returncode == 0, run.stderr[-2000:]
    last = run.stdout.strip().splitlines()[-1]
    assert re.search(r" test_apls_raw=[0-9.]+ test_apls=[0-9.]+$", last), last
