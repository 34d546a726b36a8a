"""The model the README screenshot predicts with: trained briefly on the demo's labeled pairs, cached.

The project's own training entry point (``python -m trainer.train``) runs in a child process on
resources/demo/{train,test} (SpaceNet chips and synthetic tiles), from scratch (no internet, so no
ImageNet weights), for a bounded time on a CPU. The model folder is cached under the user cache dir,
keyed by the demo's content and the training flags, so later screenshots reuse it at once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from platformdirs import user_cache_dir

from roadseg_gui.core.demo import DEMO_SOURCE

# Small crops, a light backbone, 36 steps: about 3 minutes on 2 CPU cores. The whole train split in
# one batch keeps BatchNorm's statistics the same in training and prediction (batches of 2 did not).
TRAIN_FLAGS = ("--epochs", "36", "--batch-size", "6", "--lr", "3e-3", "--image-size", "160",
               "--backbone", "mobilenet_v3_large", "--pretrained", "false", "--precise-bn-batches", "1",
               "--workers", "0", "--seed", "0", "--device", "cpu")


def cache_root() -> Path:
    return Path(user_cache_dir("roadseg", appauthor=False)) / "screenshot-model"


def demo_key(source: Path = DEMO_SOURCE) -> str:
    """A hash of the demo's labeled pairs and the training flags: either changing retrains."""
    digest = hashlib.sha256(" ".join(TRAIN_FLAGS).encode())
    for split in ("train", "test"):
        for path in sorted((source / split).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(source)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def demo_model(source: Path = DEMO_SOURCE, retrain: bool = False, log=print) -> Path:
    """The cached model folder for this demo (trained now if missing)."""
    target = cache_root() / demo_key(source)
    if (target / "model.json").is_file() and not retrain:
        log(f"Using the cached demo model {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=target.parent))
    try:
        _train(source, staging / "model", log)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging / "model", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _train(source: Path, out: Path, log) -> None:
    env = dict(os.environ, ROADSEG_PRETRAINED="0", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "trainer.train", "--data", str(source), "--out", str(out),
               "--checkpoint-dir", str(out.parent / "checkpoints"), *TRAIN_FLAGS]
    log(f"Training the demo model on {source}/train, testing on /test (once; cached in {cache_root()}) …")
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=Path(__file__).resolve().parents[1])
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(("epoch=", "final ", "error:")):
            log("  " + line.rstrip())
    if process.wait() != 0 or not (out / "model.json").is_file():
        raise RuntimeError(f"training the demo model failed (exit {process.returncode})")
    log(f"Trained in {time.monotonic() - started:.0f} s")
