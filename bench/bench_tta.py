"""Test-time flips: a saved model's test metrics with and without them (``roadseg eval --tta``).

    .venv/bin/python bench/bench_tta.py --model MODEL_DIR [--data ../shared/data/eth-roads-dev --train-count 14]

Evaluates MODEL on the test split bench/bench_budget.py trains beside (a folder of images/ + masks/ split by
recipe_study's fixed shuffle, --train-count train, the rest test; a folder with train/ and test/ as it is),
once plainly and once averaging each window's probability over its flips before the threshold, as
``roadseg eval`` does (torch engine). Prints IoU, F1, clDice, apls_raw and apls (the bridged network a user
gets) for both and the seconds per tile, then one last line ``tta_iou=… plain_iou=… tta_apls=… plain_apls=…
tta_vs_plain_seconds=…`` (the time ratio). Figures, not a test: say what the machine's load was.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_budget import DEFAULT_DATA, link_split  # noqa: E402
from trainer.evaluate import evaluate  # noqa: E402
from trainer.metrics import rounded  # noqa: E402

KEYS = ("iou", "f1", "cldice", "apls_raw", "apls")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"images/ + masks/ (split by --train-count) or train/ + test/ (default {DEFAULT_DATA})")
    parser.add_argument("--model", type=Path, required=True, help="model folder, model.tar.gz or .pth")
    parser.add_argument("--train-count", type=int, default=14)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="roadseg-tta-") as tmp:
        split = link_split(args.data, args.train_count, Path(tmp) / "data")
        tiles = len(list((split / "test" / "images").iterdir()))
        print(f"model {args.model}; test split of {args.data}: {tiles} tiles; load {os.getloadavg()[0]:.1f}, "
              f"{os.cpu_count()} CPUs", flush=True)
        for name, tta in (("plain", False), ("tta", True)):
            started = time.perf_counter()
            metrics = evaluate(args.model, split, device=args.device, engine="torch", connectivity=True, tta=tta)
            results[name] = {**rounded(metrics), "seconds": (time.perf_counter() - started) / max(tiles, 1)}
    print("\n| prediction | IoU | F1 | clDice | apls_raw | apls | s / tile |\n|---|---|---|---|---|---|---|")
    for name, label in (("plain", "plain"), ("tta", "4 flips averaged")):
        row = results[name]
        print(f"| {label} | " + " | ".join(f"{row[k]:.3f}" for k in KEYS) + f" | {row['seconds']:.2f} |")
    plain, tta = results["plain"], results["tta"]
    print(f"\nload now {os.getloadavg()[0]:.1f}")
    print(f"tta_iou={tta['iou']:.4f} plain_iou={plain['iou']:.4f} tta_apls={tta['apls']:.4f} "
          f"plain_apls={plain['apls']:.4f} tta_vs_plain_seconds={tta['seconds'] / plain['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
