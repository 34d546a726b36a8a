"""What a tile costs: actions per km of road to take each test tile to its ground truth, in three flows.

    python bench/bench_effort.py --data DIR --model M [--quick] [--budget 200]

A simulated annotator with perfect knowledge of the truth (bench/effort_flows.py) uses the app's own
core operations, and counts a click, a key or an eraser stroke as 1 action:
- draw: from an empty mask, every truth road drawn with the road line (no model: straight segments),
  clicks at its ends and one every 150 px; then QA's gaps joined with the connect tool;
- fix (today's app): the prediction is the starting mask; each false piece erased (one stroke, plus one
  per 150 px), missing roads drawn with the snapping road line, or taken from the prediction (the road
  line's Ctrl+click, plus a drag of the threshold slider when it shows at another level, plus the eraser
  strokes for what it brings in) where that costs fewer actions and the taken road runs end to end; gaps
  connected;
- review (issue 20): from an empty mask, the prediction's roads proposed; bulk accept above a confidence
  where 90 % of what it takes is true, Y on each true road and X on each false one shown before the last
  true one, then missing roads drawn and gaps connected.
Each flow stops at APLS >= 0.9 and IoU >= 0.85, or after --budget actions. DIR holds test/images and
test/masks (or images/ and masks/, split as bench_budget.py does); --quick runs the demo's labeled
tiles with the shipped starter model. Lengths are in metres on georeferenced images, else --pixel-m
(SpaceNet's 0.3 m) per pixel.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from effort_flows import Tile, draw_flow, fix_flow, review_flow  # noqa: E402
from roadseg_gui.core.review.candidates import ReviewSettings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "resources" / "demo"
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")


def labeled_pairs(data: Path, quick: bool, train_count: int):
    if not (data / "test").is_dir() and (data / "images").is_dir():
        from recipe_study import split_folder   # bench_budget.py's split: the tiles its model never saw

        for pair in split_folder(data, train_count)[1]:
            yield f"test/{pair.image.stem}", pair.image, pair.mask
        return
    splits = ("train", "test") if quick else ("test",)
    for split in splits:
        for mask_path in sorted((data / split / "masks").glob("*.png")):
            image = next((p for p in (data / split / "images").glob(f"{mask_path.stem}.*")
                          if p.suffix.lower() in IMAGE_SUFFIXES), None)
            if image is not None:
                yield f"{split}/{mask_path.stem}", image, mask_path


def read_mask(path: Path) -> np.ndarray:
    mask = np.asarray(Image.open(path))
    mask = mask[..., 0] if mask.ndim == 3 else mask
    return mask >= (1 if mask.max() == 1 else 128)


def pixel_size(image: Path, fallback: float) -> float:
    try:
        from roadseg_gui.ui.georef import pixel_size_m
    except ImportError:   # pragma: no cover - the app's Qt module; georeferencing is optional here
        return fallback
    return pixel_size_m(image) or fallback


def make_tile(name: str, image: Path, mask_path: Path, predictor) -> tuple[Tile, float]:
    """(the tile with its prediction, its truth's length in pixels)."""
    from trainer.imageio import read_image
    from trainer.roadgraph.build import mask_to_graph

    truth = read_mask(mask_path)
    probability = predictor.predict(read_image(image)).probability
    graph = mask_to_graph(truth)
    edges = sorted((np.asarray(d["pts"]) for _u, _v, d in graph.edges(data=True) if len(d["pts"]) > 1),
                   key=len, reverse=True)
    widths = [d["width"] for _u, _v, d in graph.edges(data=True)]
    length = sum(d["length"] for _u, _v, d in graph.edges(data=True))
    tile = Tile(name, truth, probability, float(np.median(widths)) if widths else 7.0, edges, predictor.threshold)
    return tile, length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a folder with test/images and test/masks, or images/ and masks/ "
                                                  "split as bench_budget.py splits them (--train-count)")
    parser.add_argument("--train-count", type=int, default=14, help="tiles of an images/ + masks/ folder kept for "
                                                                     "training; the rest are the test split")
    parser.add_argument("--model", help="the model to predict with (default with --quick: the starter model)")
    parser.add_argument("--quick", action="store_true", help="the demo's labeled tiles and the starter model")
    parser.add_argument("--budget", type=int, default=200, help="actions per tile and flow at most")
    parser.add_argument("--pixel-m", type=float, default=0.3, help="metres per pixel where the image has no CRS")
    args = parser.parse_args()
    from roadseg_gui.core.models import starter_model_path
    from trainer.predict import Predictor

    data = args.data or (DEMO if args.quick else None)
    model = args.model or (str(starter_model_path()) if args.quick and starter_model_path() else None)
    if data is None or model is None:
        parser.error("give --data and --model, or --quick")
    predictor = Predictor(model, device="cpu")
    settings = ReviewSettings()
    totals = {flow: [0, 0.0, 0.0] for flow in ("draw", "fix", "review")}   # actions, apls, iou
    km, tiles, started = 0.0, 0, time.monotonic()
    print("tile km draw_actions fix_actions review_actions draw_apls fix_apls review_apls draw_iou fix_iou review_iou")
    for name, image, mask_path in labeled_pairs(data, args.quick, args.train_count):
        tile, length_px = make_tile(name, image, mask_path, predictor)
        if not tile.truth.any():
            continue
        tile_km = length_px * pixel_size(image, args.pixel_m) / 1000
        results = {"draw": draw_flow(tile, args.budget), "fix": fix_flow(tile, args.budget),
                   "review": review_flow(tile, args.budget, settings)}
        for flow, result in results.items():
            totals[flow][0] += result.actions
            totals[flow][1] += result.apls
            totals[flow][2] += result.iou
        km += tile_km
        tiles += 1
        print(f"{name} {tile_km:.3f} " + " ".join(str(results[f].actions) for f in totals) + " "
              + " ".join(f"{results[f].apls:.3f}" for f in totals) + " "
              + " ".join(f"{results[f].iou:.3f}" for f in totals), flush=True)
    if not tiles:
        print("no labeled tiles found", file=sys.stderr)
        sys.exit(1)
    per_km = {flow: totals[flow][0] / km if km else math.nan for flow in totals}
    print(f"tiles={tiles} km={km:.3f} draw_actions_per_km={per_km['draw']:.1f} "
          f"fix_actions_per_km={per_km['fix']:.1f} review_actions_per_km={per_km['review']:.1f} "
          f"review_vs_draw={per_km['review'] / per_km['draw']:.2f} review_vs_fix={per_km['review'] / per_km['fix']:.2f} "
          + " ".join(f"{f}_apls={totals[f][1] / tiles:.3f}" for f in totals) + " "
          + " ".join(f"{f}_iou={totals[f][2] / tiles:.3f}" for f in totals)
          + f"  ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
