"""Which network post-processing steps pay: the APLS of a model's test predictions with each step of
``trainer.roadgraph.connect`` alone, all together, and none (the raw skeleton), on one set of predictions.

    .venv/bin/python bench/bench_connect.py --model MODEL [--data ../shared/data/eth-roads-dev] [--train-count 14]

The test split is bench_budget.py's (the tiles its model never saw). Each tile is predicted once; the
variants only re-run the post-processing, so differences are the steps' own. Last line:
``raw= default= <variant>=…``, mean APLS over the tiles (bridged over the tile's probability).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from bench_effort import read_mask  # noqa: E402
from recipe_study import split_folder  # noqa: E402
from trainer.roadgraph.bridge import BridgeRules  # noqa: E402
from trainer.roadgraph.connect import ConnectRules  # noqa: E402
from trainer.roadgraph.metrics import road_metrics  # noqa: E402

NO_BRIDGE = BridgeRules(gap_widths=0.0, min_gap_px=0.0)
VARIANTS = {   # name: (rules, open_border)
    "default": (ConnectRules(), False),
    "open_border": (ConnectRules(), True),
    "bridge_only": (ConnectRules(spur_widths=0.0, fragment_widths=0.0), False),
    "prune_only": (ConnectRules(bridge=NO_BRIDGE, fragment_widths=0.0), False),
    "drop_only": (ConnectRules(bridge=NO_BRIDGE, spur_widths=0.0), False),
    "no_drop": (ConnectRules(fragment_widths=0.0), False),
    "no_prune": (ConnectRules(spur_widths=0.0), False),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "eth-roads-dev")
    parser.add_argument("--train-count", type=int, default=14)
    args = parser.parse_args()
    from trainer.imageio import read_image
    from trainer.predict import Predictor

    predictor = Predictor(args.model, device="cpu")
    scores: dict[str, list[float]] = {"raw": [], **{name: [] for name in VARIANTS}}
    started = time.perf_counter()
    for pair in split_folder(args.data, args.train_count)[1]:
        result = predictor.predict(read_image(pair.image))
        pred = result.mask
        truth = read_mask(pair.mask)
        row = {}
        for name, (rules, open_border) in VARIANTS.items():
            metrics = road_metrics(pred, truth, bridge=True, probability=result.probability,
                                   connect_rules=rules, open_border=open_border)
            row[name] = metrics["apls"]
            row["raw"] = metrics["apls_raw"]
        for name, value in row.items():
            scores[name].append(value)
        print(pair.image.stem, " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
    means = {name: float(np.mean(values)) for name, values in scores.items()}
    print(f"({time.perf_counter() - started:.0f} s, {len(scores['raw'])} tiles)")
    print(" ".join(f"{name}={value:.4f}" for name, value in means.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
