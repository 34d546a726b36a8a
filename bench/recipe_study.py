"""Which small-data recipe learns fastest per CPU-second? (the study behind bench/RESULTS.md)

    .venv/bin/python bench/recipe_study.py --data ../shared/data/eth-roads-dev --steps 122 \\
        --seeds 0 1 2 --configs lr3e-3 lr3e-3-batch4 ...
    .venv/bin/python bench/recipe_study.py --demo resources/demo --steps 41 ...   # the demo's chips

Each run trains DeepLabV3-MobileNetV3 from scratch (or fine-tunes with --init MODEL) for a budget of
optimizer steps (``--steps``: the steps of the base config, converted per config to the steps that take
the same quiet CPU time, ``STEPS_IN_180_CPU_S``), or of *process CPU seconds* (``--cpu-seconds``). Steps
are the fair budget on a shared machine: under load one CPU-second does less work (122 steps took 180
CPU-s alone and 300-320 CPU-s beside other runs). The learning rate follows the budget's progress, as
``--minutes`` makes it follow wall time. Then BatchNorm statistics are re-estimated on 4 training
batches and the held-out tiles are predicted whole (padded to a multiple of 32): road IoU, F1 and
clDice over the test split. A folder of images/ + masks/ is split by a fixed shuffle of its stems
(--train-count train, the rest test); the split is the same for every config and seed. Nothing of
the data is written anywhere. Figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, RandomSampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ROADSEG_PRETRAINED", "0")

from trainer.artifact import load_model  # noqa: E402
from trainer.data import RoadDataset, list_pairs, load_pair  # noqa: E402
from trainer.losses import bce_dice_loss  # noqa: E402
from trainer.metrics import Confusion  # noqa: E402
from trainer.model import IMAGENET_MEAN, IMAGENET_STD, build_model  # noqa: E402
from trainer.train_schedule import lr_at_progress  # noqa: E402

BASE = dict(lr=5e-4, schedule="cosine", warmup=0.05, crop=256, batch=8, augment="color", dice=1.0,
            cldice=0.0, wd=1e-4)
CONFIGS = {
    "base": {},                                             # today's defaults at 256 px crops
    "lr1e-3": dict(lr=1e-3),
    "lr2e-3": dict(lr=2e-3),
    "lr3e-3": dict(lr=3e-3),
    "lr6e-3": dict(lr=6e-3),
    "lr3e-3-onecycle": dict(lr=3e-3, schedule="onecycle", warmup=0.0),
    "lr3e-3-warm15": dict(lr=3e-3, warmup=0.15),
    "lr3e-3-crop192": dict(lr=3e-3, crop=192),
    "lr3e-3-crop320": dict(lr=3e-3, crop=320),
    "lr3e-3-batch4": dict(lr=3e-3, batch=4),
    "lr3e-3-onecycle-batch4": dict(lr=3e-3, schedule="onecycle", warmup=0.0, batch=4),
    "lr3e-3-batch16-crop192": dict(lr=3e-3, batch=16, crop=192),
    "lr3e-3-flips": dict(lr=3e-3, augment="flips"),
    "lr3e-3-strong": dict(lr=3e-3, augment="strong"),
    "lr3e-3-cldice": dict(lr=3e-3, cldice=0.5),
    "lr3e-3-dice2": dict(lr=3e-3, dice=2.0),
    # fine-tuning from an existing model (--init): lower peaks, short warm-up
    "ft-lr1e-4": dict(lr=1e-4),
    "ft-lr3e-4": dict(lr=3e-4),
    "ft-lr1e-3": dict(lr=1e-3),
    "ft-lr3e-3": dict(lr=3e-3),
    # bench_loop's start model and its per-round fine-tune: the trainer's and the retrain's defaults
    "recipe": dict(lr=3e-3),
    "ft-recipe": dict(lr=3e-3),
}


def split_folder(folder: Path, train_count: int) -> tuple[list, list]:
    pairs = list_pairs(folder, folder.name).pairs
    order = sorted(pairs, key=lambda p: p.stem)
    random.Random(12345).shuffle(order)
    return order[:train_count], order[train_count:]


def demo_splits(root: Path) -> tuple[list, list]:
    return list_pairs(root / "train", "train").pairs, list_pairs(root / "test", "test").pairs


def cldice_score(pred: np.ndarray, truth: np.ndarray) -> float:
    """The project's clDice (trainer.roadgraph.metrics) when present, else the paper's formula here."""
    try:
        from trainer.roadgraph.metrics import cldice_score as project_cldice
    except ImportError:
        project_cldice = None
    if project_cldice is not None:
        return float(project_cldice(pred, truth))
    from skimage.morphology import skeletonize

    sp, st = skeletonize(pred), skeletonize(truth)
    tprec = (sp & truth).sum() / max(1, sp.sum())
    tsens = (st & pred).sum() / max(1, st.sum())
    return float(2 * tprec * tsens / max(1e-9, tprec + tsens))


@torch.no_grad()
def evaluate(model, test_pairs: list) -> dict:
    model.eval()
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    confusion, cl = Confusion(), []
    for pair in test_pairs:
        image, truth = load_pair(pair)
        h, w = truth.shape
        x = (torch.from_numpy(image).permute(2, 0, 1).float() / 255.0 - mean) / std
        x = F.pad(x[None], (0, -w % 32, 0, -h % 32), mode="reflect")
        pred = (torch.sigmoid(model(x))[0, 0, :h, :w] >= 0.5).numpy()
        confusion.add(pred, truth)
        cl.append(cldice_score(pred, truth))
    metrics = confusion.as_dict()
    return {"iou": metrics["iou"], "f1": metrics["f1"], "cldice": float(np.mean(cl))}


@torch.no_grad()
def recalibrate_bn(model, loader, batches: int = 4) -> None:
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
    model.train()
    for index, (images, _) in enumerate(loader):
        if index >= batches:
            break
        model(images)


# Optimizer steps each config fits in 180 CPU-s on a quiet machine (load ~2, seed 0, one thread; section 1 of
# bench/RESULTS.md). --steps budgets scale by these, so every config gets the compute of the same CPU time
# whatever the load: on a busy 2-core box a CPU-second did about half the work (68 steps of the base config in
# 180 CPU-s beside a test run, 122 quiet), which made CPU-time budgets incomparable between runs.
STEPS_IN_180_CPU_S = {"base": 122, "crop192": 230, "crop320": 82, "batch4": 267, "cldice": 102,
                      "batch16-crop192": 115}  # the last: twice crop192's step cost, estimated, not measured


def steps_for(name: str, base_steps: int) -> int:
    """The step budget giving config ``name`` the CPU time that ``base_steps`` steps of the base config take."""
    keys = sorted((key for key in STEPS_IN_180_CPU_S if key != "base"), key=len, reverse=True)
    cost_key = next((key for key in keys if name.endswith(key)), "base")
    return max(1, round(base_steps * STEPS_IN_180_CPU_S[cost_key] / STEPS_IN_180_CPU_S["base"]))


def fit_budget(model, config: dict, train_pairs: list, cpu_seconds: float, seed: int,
               steps: int | None = None) -> dict:
    """Train ``model`` in place for ``cpu_seconds`` of process CPU time (or exactly ``steps`` optimizer steps,
    the learning rate following step progress), BN re-estimated at the end."""
    torch.manual_seed(seed)
    random.seed(seed)
    dataset = RoadDataset(train_pairs, config["crop"], augment=config["augment"])
    loader = DataLoader(dataset, batch_size=config["batch"], num_workers=0,
                        sampler=RandomSampler(dataset, replacement=True, num_samples=10 ** 6))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=config["wd"])
    started, wall = time.process_time(), time.perf_counter()
    steps_done = 0
    model.train()
    for images, targets in loader:
        progress = steps_done / steps if steps else (time.process_time() - started) / cpu_seconds
        if progress >= 1.0:
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at_progress(progress, config["lr"], config["schedule"], config["warmup"])
        loss = bce_dice_loss(model(images), targets, dice_weight=config["dice"], cldice_weight=config["cldice"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps_done += 1
    train_cpu = time.process_time() - started
    recalibrate_bn(model, loader)
    model.eval()
    return {"steps": steps_done, "cpu_s": round(train_cpu, 1), "wall_s": round(time.perf_counter() - wall, 1),
            "crops_seen": steps_done * config["batch"]}


def train_once(config: dict, train_pairs: list, test_pairs: list, cpu_seconds: float, seed: int,
               init: str | None = None, steps: int | None = None) -> dict:
    torch.manual_seed(seed)
    model = load_model(init).model if init else build_model("mobilenet_v3_large", pretrained_backbone=False)
    result = fit_budget(model, config, train_pairs, cpu_seconds, seed, steps)
    return {**evaluate(model, test_pairs), **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="folder with images/ and masks/ (split by --train-count)")
    parser.add_argument("--demo", type=Path, help="a workspace-like folder with train/ and test/ (resources/demo)")
    parser.add_argument("--train-count", type=int, default=14)
    parser.add_argument("--cpu-seconds", type=float, default=240)
    parser.add_argument("--steps", type=int, default=None,
                        help="budget in steps of the base config instead of CPU seconds (122 = 180 quiet CPU-s); "
                             "each config gets the steps of equal CPU time (STEPS_IN_180_CPU_S)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--configs", nargs="+", default=["base"])
    parser.add_argument("--init", help="fine-tune from this model instead of training from scratch")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jsonl", type=Path, help="append one JSON line per run here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.demo:
        train_pairs, test_pairs = demo_splits(args.demo)
    else:
        train_pairs, test_pairs = split_folder(args.data, args.train_count)
    budget = f"{args.steps} base-config steps" if args.steps else f"{args.cpu_seconds:.0f} CPU-s"
    print(f"train {len(train_pairs)} tiles, test {len(test_pairs)} tiles, budget {budget}, "
          f"{args.threads} thread(s), load {os.getloadavg()[0]:.1f}", flush=True)
    summary = {}
    for name in args.configs:
        config = {**BASE, **CONFIGS[name]}
        for seed in args.seeds:
            steps = steps_for(name, args.steps) if args.steps else None
            result = train_once(config, train_pairs, test_pairs, args.cpu_seconds, seed, args.init, steps)
            budget = {"budget_steps": steps} if steps else {"budget_cpu_s": args.cpu_seconds}
            record = {"config": name, "seed": seed, **budget,
                      "data": "demo" if args.demo else args.data.name, "init": bool(args.init),
                      "load": round(os.getloadavg()[0], 1), **result}
            print(json.dumps(record), flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as fh:
                    fh.write(json.dumps(record) + "\n")
            summary.setdefault(name, []).append(result)
    print("\n| config | IoU mean (per seed) | clDice | steps | crops |")
    print("|---|---|---|---|---|")
    for name, runs in summary.items():
        ious = [r["iou"] for r in runs]
        print(f"| {name} | {statistics.mean(ious):.3f} ({', '.join(f'{v:.3f}' for v in ious)}) | "
              f"{statistics.mean(r['cldice'] for r in runs):.3f} | {statistics.mean(r['steps'] for r in runs):.0f} | "
              f"{statistics.mean(r['crops_seen'] for r in runs):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
