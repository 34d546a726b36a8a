"""What the network post-processing (trainer.roadgraph.connect: bridge gaps, prune spurs, drop fragments) costs
and what it buys.

    .venv/bin/python bench/bench_bridge.py                      # cost on a 4096 x 4096 scene mask
    .venv/bin/python bench/bench_bridge.py --size 0 --damaged                  # APLS raw vs bridged, cut truth
    .venv/bin/python bench/bench_bridge.py --model M --data ../shared/data/eth-roads-dev   # + APLS raw vs bridged

1. Cost: a synthetic 4096² scene mask (a grid of wavy 9-px roads with 6-14 px gaps, spurs and specks) is
   vectorised as ``roadseg vectorize`` does it (one 4096 block + halo), without bridging and with it; the time
   spent in ``connect_network`` is measured inside the bridged run and set against the plain run's total.
   Target (issue 21): bridging <= 20 % of the vectorising time. Best of --repeats runs.
2. Benefit (with --damaged): every truth mask of --data with six gaps of 6-12 px wiped into its centre lines and
   a few specks added stands in for a prediction; APLS of its raw skeleton against that of its bridged network.
3. Benefit (with --model): the model predicts each test tile of --data (split as bench_budget.py splits it:
   recipe_study's fixed shuffle, --train-count train, the rest test); per tile and over the set: IoU, APLS of the
   raw skeleton (``apls_raw``) and of the delivered network (``apls``, bridged over the tile's probability).
Figures, not a test: wall-clock time on a shared machine, so read the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def scene_mask(size: int = 4096, spacing: int = 160, width: int = 9, seed: int = 0) -> np.ndarray:
    """uint8 0/255: wavy roads every ``spacing`` px both ways, each cut by gaps, with short spurs and specks."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), bool)
    along = np.arange(size)
    half = width // 2
    for offset in range(spacing // 2, size, spacing):
        for vertical in (False, True):
            centre = offset + (6 * np.sin(along / rng.uniform(60, 140) + rng.uniform(0, 6))).astype(int)
            keep = np.ones(size, bool)
            for start in rng.integers(0, size - 20, size // 400):   # gaps of 6-14 px
                keep[start:start + rng.integers(6, 15)] = False
            for d in range(-half, half + 1):
                rows, cols = (along[keep], centre[keep] + d) if vertical else (centre[keep] + d, along[keep])
                ok = (0 <= rows) & (rows < size) & (0 <= cols) & (cols < size)
                mask[rows[ok], cols[ok]] = True
    for r, c in rng.integers(20, size - 20, (size // 16, 2)):            # specks and stubs beside roads
        mask[r:r + rng.integers(2, 6), c:c + rng.integers(2, 12)] = True
    return np.where(mask, 255, 0).astype(np.uint8)


def time_vectorising(path: Path, out: Path, repeats: int) -> dict:
    import trainer.roadgraph.blocks as blocks
    from trainer.roadgraph.vectorize import vectorize_raster

    spent = {"connect": 0.0}
    real = blocks.connect_network

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent["connect"] += time.perf_counter() - started

    blocks.connect_network = timed
    from PIL import Image

    Image.fromarray(scene_mask(256, seed=1)).save(out / "warm.png")
    vectorize_raster(out / "warm.png", out / "warm", bridge=True, polygons=False)   # imports outside the timing
    best = {"plain": np.inf, "bridged": np.inf, "connect": np.inf}
    try:
        for _ in range(repeats):
            for bridge in (False, True):
                spent["connect"] = 0.0
                started = time.perf_counter()
                result = vectorize_raster(path, out / str(bridge), bridge=bridge, polygons=False)
                seconds = time.perf_counter() - started
                key = "bridged" if bridge else "plain"
                best[key] = min(best[key], seconds)
                best[f"{key}_edges"] = result.line_count
                if bridge:
                    best["connect"] = min(best["connect"], spent["connect"])
    finally:
        blocks.connect_network = real
    return best


def apls_on_predictions(model: Path, data: Path, train_count: int) -> dict:
    from recipe_study import split_folder
    from trainer.imageio import read_image, read_mask
    from trainer.metrics import Confusion
    from trainer.predict import Predictor
    from trainer.roadgraph.metrics import road_metrics

    if (data / "test").is_dir():
        from trainer.data import list_pairs
        pairs = list_pairs(data / "test", "test").pairs
    else:
        pairs = split_folder(data, train_count)[1]
    predictor = Predictor(model, device="cpu", engine="torch")
    rows, confusion = [], Confusion()
    for pair in pairs:
        image, truth = read_image(pair.image), read_mask(pair.mask)
        prediction = predictor.predict(image)
        confusion.add(prediction.mask, truth)
        union = np.count_nonzero(prediction.mask | truth)
        tile = np.count_nonzero(prediction.mask & truth) / union if union else 1.0
        scores = road_metrics(prediction.mask, truth, bridge=True, probability=prediction.probability)
        rows.append((pair.image.name, tile, scores["apls_raw"], scores["apls"]))
    print("\n| tile | IoU | APLS raw | APLS bridged |\n|---|---|---|---|")
    for name, iou, raw, bridged in rows:
        print(f"| {name} | {iou:.3f} | {raw:.3f} | {bridged:.3f} |")
    mean_raw = float(np.mean([r[2] for r in rows]))
    mean_bridged = float(np.mean([r[3] for r in rows]))
    iou = confusion.as_dict()["iou"]
    print(f"| mean of {len(rows)} | {iou:.3f} | {mean_raw:.3f} | {mean_bridged:.3f} |")
    return {"test_iou": iou, "apls_raw": mean_raw, "apls": mean_bridged, "tiles": len(rows)}


def damaged(truth: np.ndarray, rng: np.random.Generator, cuts: int = 6) -> np.ndarray:
    """A stand-in prediction: ``truth`` with ``cuts`` discs (radius 3-6 px) wiped off its centre lines
    (6-12 px gaps, some at junctions) and a few specks beside the roads."""
    from trainer.roadgraph.skeleton import skeletonize_mask

    pred = truth.copy()
    rows, cols = np.nonzero(skeletonize_mask(truth))
    h, w = truth.shape
    yy, xx = np.ogrid[:h, :w]
    for i in rng.choice(len(rows), size=min(cuts, len(rows)), replace=False) if len(rows) else []:
        pred[(yy - rows[i]) ** 2 + (xx - cols[i]) ** 2 <= rng.integers(3, 7) ** 2] = False
    for r, c in rng.integers(0, min(h, w) - 4, (8, 2)):
        pred[r:r + 3, c:c + 3] = True
    return pred


def apls_on_damaged_truth(data: Path, seed: int = 0) -> dict:
    from trainer.data import list_pairs
    from trainer.imageio import read_mask
    from trainer.roadgraph.metrics import road_metrics

    pairs = list_pairs(data, data.name).pairs
    rng = np.random.default_rng(seed)
    raw, bridged, iou = [], [], []
    for pair in pairs:
        truth = read_mask(pair.mask)
        pred = damaged(truth, rng)
        scores = road_metrics(pred, truth, bridge=True)
        raw.append(scores["apls_raw"])
        bridged.append(scores["apls"])
        iou.append(np.count_nonzero(pred & truth) / max(1, np.count_nonzero(pred | truth)))
    print(f"{len(pairs)} masks of {data.name}, each with 6 gaps of 6-12 px and 8 specks: IoU {np.mean(iou):.3f}, "
          f"APLS raw {np.mean(raw):.3f}, bridged {np.mean(bridged):.3f}; bridged better on "
          f"{sum(b > r + 1e-9 for r, b in zip(raw, bridged))}, worse on {sum(b < r - 1e-9 for r, b in zip(raw, bridged))}")
    return {"damaged_iou": float(np.mean(iou)), "damaged_apls_raw": float(np.mean(raw)),
            "damaged_apls": float(np.mean(bridged))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="scene mask side in px (default 4096; 0: no timing)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None, help="a trained model: also score APLS raw vs bridged")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "eth-roads-dev")
    parser.add_argument("--train-count", type=int, default=14)
    parser.add_argument("--damaged", action="store_true",
                        help="also: every truth mask of --data with gaps cut into it, scored raw vs bridged")
    args = parser.parse_args()
    from PIL import Image

    line = ""
    if args.size:
        with tempfile.TemporaryDirectory(prefix="roadseg-bridge-") as tmp:
            path = Path(tmp) / "scene_mask.png"
            Image.fromarray(scene_mask(args.size)).save(path)
            t = time_vectorising(path, Path(tmp), args.repeats)
        print(f"{args.size}² scene mask: vectorise {t['plain']:.2f} s ({t['plain_edges']} edges); with bridging "
              f"{t['bridged']:.2f} s ({t['bridged_edges']} edges), of which connect {t['connect']:.2f} s")
        line = f"bridge_share={t['connect'] / t['plain']:.3f} bridged_over_plain={t['bridged'] / t['plain']:.3f}"
    if args.model is not None:
        scores = apls_on_predictions(args.model, args.data, args.train_count)
        line += f" test_iou={scores['test_iou']:.4f} apls_raw={scores['apls_raw']:.4f} apls={scores['apls']:.4f}"
    if args.damaged:
        scores = apls_on_damaged_truth(args.data)
        line += " " + " ".join(f"{k}={v:.4f}" for k, v in scores.items())
    print(line.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
