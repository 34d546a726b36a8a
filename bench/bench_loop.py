"""Does the label -> retrain loop pay off? A simulated annotator on real pairs.

    .venv/bin/python bench/bench_loop.py --data ../shared/data/eth-roads-dev [--quick]

1. A model is trained from scratch on a few tiles of the pool (``--start`` tiles, chosen by the seed).
2. Each round, every strategy's model predicts the pool's unlabeled tiles and the strategy picks the
   next ``--per-round`` tiles: "uncertainty" is the app's order (most uncertain first: the mean binary
   entropy ``trainer.predict`` computes, through the app's ``Predictor``), "random" a seeded shuffle,
   "uncertain_roads" the entropy times the predicted road length (skeleton pixels), which favours
   unsure tiles that hold roads over unsure empty ones.
3. "Correcting" a tile replaces its prediction by the truth; it costs the pixels that differ.
4. The model is fine-tuned from its current weights for a fixed budget of optimizer steps (``--start-steps``,
   ``--round-steps``: the same work whatever the machine's load), with the app's retrain recipe (peak lr 3e-3),
   or of process CPU seconds (``--start-cpu-seconds``/``--round-cpu-seconds``).
5. It is measured on the held-out tiles: road IoU and clDice over the test split.

Every strategy starts from the same model and the same pool. Figures, not a test. The last line is
``rounds=… uncertainty_final_iou=… random_final_iou=… correction_px_per_tile_first=…
correction_px_per_tile_last=…`` (corrections of the uncertainty order, first and last round).
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ROADSEG_PRETRAINED", "0")

from recipe_study import BASE, CONFIGS, evaluate, fit_budget, split_folder  # noqa: E402

from trainer.artifact import LoadedModel, ModelMeta  # noqa: E402
from trainer.data import load_pair  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.predict import Predictor  # noqa: E402

STRATEGIES = ("uncertainty", "random", "uncertain_roads")
# development pairs beside the project (never committed); a user's clone has none, and the bench says so
DEV_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "eth-roads-dev"


def predict_pool(model, pairs: list) -> dict:
    """stem -> (Prediction, truth) for each pool tile, predicted as the app predicts."""
    predictor = Predictor(LoadedModel(model, ModelMeta(), Path("bench-loop")), device="cpu", engine="torch")
    out = {}
    for pair in pairs:
        image, truth = load_pair(pair)
        out[pair.stem] = (predictor.predict(image), truth)
    return out


def road_length(mask: np.ndarray) -> int:
    from skimage.morphology import skeletonize

    return int(skeletonize(mask).sum())


def choose(strategy: str, predictions: dict, count: int, rng: random.Random) -> list[str]:
    stems = sorted(predictions)
    if strategy == "random":
        return rng.sample(stems, min(count, len(stems)))
    if strategy == "uncertainty":
        score = {s: predictions[s][0].uncertainty for s in stems}
    else:
        score = {s: predictions[s][0].uncertainty * road_length(predictions[s][0].mask) for s in stems}
    return sorted(stems, key=lambda s: -score[s])[:count]


def budgets(args) -> str:
    start = f"{args.start_steps} steps" if args.start_steps else f"{args.start_cpu_seconds:.0f} CPU-s"
    per_round = f"{args.round_steps} steps" if args.round_steps else f"{args.round_cpu_seconds:.0f} CPU-s"
    return f"{start} / {per_round}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEV_DATA,
                        help="folder with images/ and masks/ (real pairs; default ../shared/data/eth-roads-dev)")
    parser.add_argument("--train-count", type=int, default=14, help="pool size; the rest is held out")
    parser.add_argument("--start", type=int, default=4, help="tiles the first model is trained on")
    parser.add_argument("--per-round", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--start-steps", type=int, default=180, help="first model's budget in optimizer steps")
    parser.add_argument("--round-steps", type=int, default=60, help="fine-tune budget per round in steps")
    parser.add_argument("--start-cpu-seconds", type=float, default=None,
                        help="budget the first model in process CPU seconds instead (varies with the load)")
    parser.add_argument("--round-cpu-seconds", type=float, default=None, help="the same for each round")
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--scratch-config", default="recipe", choices=sorted(CONFIGS))
    parser.add_argument("--finetune-config", default="ft-recipe", choices=sorted(CONFIGS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="budgets of 100 / 30 steps, uncertainty vs random only (under 10 min on an idle "
                             "2-core CPU)")
    args = parser.parse_args()
    if args.quick:
        args.start_steps, args.round_steps = 100, 30
        if args.strategies == list(STRATEGIES):  # not chosen on the command line
            args.strategies = ["uncertainty", "random"]
    # a CPU-second budget, when given, replaces the step budget (fit_budget takes one or the other)
    if args.start_cpu_seconds:
        args.start_steps = None
    if args.round_cpu_seconds:
        args.round_steps = None
    if not (args.data / "images").is_dir():
        print(f"skipped: no real pairs at {args.data} (pass --data DIR holding images/ and masks/)")
        return 0
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    pool, test = split_folder(args.data, args.train_count)
    rng = random.Random(args.seed)
    first = rng.sample(range(len(pool)), args.start)
    labeled0 = [pool[i] for i in first]
    print(f"pool {len(pool)} tiles, held out {len(test)}, start {args.start} tiles, {args.per_round} per round, "
          f"{args.rounds} rounds; budgets {budgets(args)}; "
          f"{args.threads} threads, load {os.getloadavg()[0]:.1f}", flush=True)

    torch.manual_seed(args.seed)
    base_model = build_model("mobilenet_v3_large", pretrained_backbone=False)
    fit_budget(base_model, {**BASE, **CONFIGS[args.scratch_config]}, labeled0, args.start_cpu_seconds, args.seed,
               args.start_steps)
    start_metrics = evaluate(base_model, test)
    finetune = {**BASE, **CONFIGS[args.finetune_config]}
    state = {name: {"model": copy.deepcopy(base_model), "labeled": list(labeled0), "rng": random.Random(args.seed),
                    "rows": [(0, len(labeled0), start_metrics, None)]} for name in args.strategies}
    for round_index in range(1, args.rounds + 1):
        for name, s in state.items():
            labeled_stems = {p.stem for p in s["labeled"]}
            unlabeled = [p for p in pool if p.stem not in labeled_stems]
            if not unlabeled:
                continue
            predictions = predict_pool(s["model"], unlabeled)
            picked = choose(name, predictions, args.per_round, s["rng"])
            cost = float(np.mean([np.count_nonzero(predictions[t][0].mask != predictions[t][1]) for t in picked]))
            s["labeled"] += [p for p in unlabeled if p.stem in picked]
            fit_budget(s["model"], finetune, s["labeled"], args.round_cpu_seconds, args.seed + round_index,
                       args.round_steps)
            s["rows"].append((round_index, len(s["labeled"]), evaluate(s["model"], test), cost))
        print(f"round {round_index} done ({time.perf_counter() - started:.0f} s)", flush=True)

    names = list(state)
    print("\n| round | labeled | " + " | ".join(f"{n} IoU | {n} clDice | {n} px corrected/tile" for n in names) + " |")
    print("|---" * (2 + 3 * len(names)) + "|")
    for i in range(len(state[names[0]]["rows"])):
        cells = []
        for n in names:
            _, _, metrics, cost = state[n]["rows"][i]
            cells += [f"{metrics['iou']:.3f}", f"{metrics['cldice']:.3f}", "-" if cost is None else f"{cost:.0f}"]
        print(f"| {i} | {state[names[0]]['rows'][i][1]} | " + " | ".join(cells) + " |")
    final = {n: state[n]["rows"][-1][2]["iou"] for n in names}
    costs = [row[3] for row in state.get("uncertainty", state[names[0]])["rows"][1:]]
    for n in names:
        print(f"{n}: final IoU {final[n]:.3f}, clDice {state[n]['rows'][-1][2]['cldice']:.3f}")
    for n in (n for n in names if n != "random" and "random" in final):
        verdict = ("beat" if final[n] > final["random"] + 0.01 else
                   "did NOT beat" if final[n] < final["random"] - 0.01 else "tied with (within 0.01)")
        print(f"{n} order {verdict} random order on held-out IoU in this run "
              f"(one seed: differences of a few hundredths are noise).")
    print(f"seconds={time.perf_counter() - started:.0f} load={os.getloadavg()[0]:.1f}")
    print(f"rounds={args.rounds} uncertainty_final_iou={final.get('uncertainty', float('nan')):.3f} "
          f"random_final_iou={final.get('random', float('nan')):.3f} "
          f"correction_px_per_tile_first={costs[0]:.0f} correction_px_per_tile_last={costs[-1]:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
