"""Does a short fine-tune of the shipped starter model keep what it knew? (bench/RESULTS.md, "Short fine-tunes")

    .venv/bin/python bench/bench_finetune.py --steps 16                       # demo chips (resources/demo)
    .venv/bin/python bench/bench_finetune.py --data ../shared/data/eth-roads-dev --steps 16
    .venv/bin/python bench/bench_finetune.py --configs old-default default --steps 8 32

Each run is the real training entry point (``trainer.train.fit``) fine-tuning ``--init-model`` (the starter
model) for a budget of optimizer steps (``--steps``: the same work whatever the machine's load), then the
whole held-out split is predicted as ``roadseg eval`` does. The table gives the start model's test IoU, the
IoU of the weights after the last step ("last"), and the IoU of the model the run returns ("kept": the best
tested state, the start model included), with APLS beside the start and the kept IoU. A folder of images/ +
masks/ is split by recipe_study's fixed shuffle (--train-count train, the rest test); a folder with train/
and test/ is used as it is. Nothing of the data is written anywhere. Figures, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("ROADSEG_PRETRAINED", "0")

import torch  # noqa: E402

from bench_budget import link_split  # noqa: E402
from trainer.train import TrainConfig, fit  # noqa: E402

DEMO = ROOT / "resources" / "demo"
STARTER = ROOT / "resources" / "models" / "starter"
# What `roadseg retrain` and the Retrain panel ran before issue 19: 512 px crops on the CPU, BatchNorm
# statistics re-estimated from the few training batches, peak lr 3e-3. The rest change one thing at a time
# ("lr" is the peak itself: fine_tune_lr_scale 1).
OLD = dict(lr=3e-3, image_size=512, freeze_bn=False, fine_tune_lr_scale=1.0)
CONFIGS = {
    "old-default": OLD,
    "bn-only": {**OLD, "lr": 1e-9},  # no learning: what re-estimating BatchNorm alone does
    "bn-only-crop256": {**OLD, "lr": 1e-9, "image_size": 256},
    "crop256": {**OLD, "image_size": 256},
    "frozen-bn": {**OLD, "freeze_bn": True},
    "frozen-bn-crop256": {**OLD, "freeze_bn": True, "image_size": 256},
    "frozen-bn-crop256-lr1e-3": {**OLD, "freeze_bn": True, "image_size": 256, "lr": 1e-3},
    "frozen-bn-crop256-lr3e-4": {**OLD, "freeze_bn": True, "image_size": 256, "lr": 3e-4},
    "default": {},  # the trainer's defaults now: BN frozen, peak lr 3e-3 x 0.1, the device's crop (256 on a CPU)
}


def run(name: str, overrides: dict, data: Path, init: Path, steps: int, seed: int, batch: int, out: Path) -> dict:
    config = TrainConfig(out=str(out), data=str(data), steps=steps, batch_size=batch, workers=0, seed=seed,
                         pretrained=False, init_model=str(init), eval_share=1.0, **overrides)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        result = fit(config)
    meta = json.loads((out / "model.json").read_text())
    tested = [h for h in meta["lineage"]["history"] if h.get("metrics_epoch") == h["epoch"]]
    start = meta["lineage"]["kept"]["start_metrics"]  # fit tests the start model before the first step
    return {"config": name, "start_iou": start["iou"], "start_apls": start["apls"], "steps": steps,
            "crop": config.image_size, "lr": meta["hyperparameters"]["peak_lr"],
            "last_iou": tested[-1]["test_iou"] if tested else float("nan"), "kept_iou": result["iou"],
            "kept": meta["lineage"].get("kept", {}).get("from", "last"), "kept_apls": result.get("apls"),
            "seconds": time.perf_counter() - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEMO, help="train/ + test/, or images/ + masks/ to split")
    parser.add_argument("--train-count", type=int, default=14, help="train tiles when --data is to be split")
    parser.add_argument("--init-model", type=Path, default=STARTER)
    parser.add_argument("--steps", type=int, nargs="+", default=[16])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=4,
                        help="tiles per step (default 4: a 512-px step of 8 takes minutes on a shared 2-core CPU)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        data = link_split(args.data.resolve(), args.train_count, Path(tmp) / "data")
        print(f"data {args.data.name}, start model {args.init_model.name}, batch {args.batch_size}, seed {args.seed}, "
              f"torch threads {args.threads}", flush=True)
        print("| config | crop | lr | steps | start IoU | last IoU | kept IoU (from) | start APLS | kept APLS | s |")
        print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
        for steps in args.steps:
            for index, name in enumerate(args.configs):
                row = run(name, CONFIGS[name], data, args.init_model, steps, args.seed, args.batch_size,
                          Path(tmp) / f"out-{steps}-{index}")
                print(f"| {name} | {row['crop']} | {row['lr']:g} | {steps} | {row['start_iou']:.3f} | "
                      f"{row['last_iou']:.3f} | {row['kept_iou']:.3f} ({row['kept']}) | {row['start_apls']:.3f} | "
                      f"{_fmt(row['kept_apls'])} | {row['seconds']:.0f} |", flush=True)
    return 0


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
