"""Build the starter model shipped in resources/models/starter/ (a developer runs it: `make starter-model`).

    .venv/bin/python scripts/build_starter_model.py [--out resources/models/starter] [--epochs N]

It trains DeepLabV3-MobileNetV3 with the project's own entry point (``trainer.train.fit``), from scratch
(no ImageNet weights, so nothing is downloaded and a rebuild is reproducible), on the demo workspace's
labeled pairs only: resources/demo/train (SpaceNet Vegas chips, CC BY-SA 4.0, and synthetic tiles).
resources/demo/test stays held out. The weights are stored as float16 (half the size; the loader casts
them back to float32) and MODEL_CARD.md records the data, the licence and the metrics that
``roadseg eval`` measures on the test pairs with the stored weights.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["ROADSEG_PRETRAINED"] = "0"  # never download: the build must be reproducible offline

DEMO = ROOT / "resources" / "demo"
DEFAULT_OUT = ROOT / "resources" / "models" / "starter"
# Each train tile is listed this many times per epoch, so an epoch is several steps and the per-epoch
# test pass and checkpoint stay a small share of the time. Crops differ each time.
REPEATS = 6
SEED = 0


def _repeated_split(demo: Path, staging: Path) -> Path:
    """A data folder whose train/ lists each demo train pair REPEATS times (symlinks) and whose test/ is
    the demo's own test split."""
    data = staging / "data"
    for sub in ("images", "masks"):
        (data / "train" / sub).mkdir(parents=True)
    for image in sorted((demo / "train" / "images").iterdir()):
        mask = demo / "train" / "masks" / f"{image.stem}.png"
        for copy in range(REPEATS):
            (data / "train" / "images" / f"{image.stem}~{copy}{image.suffix}").symlink_to(image)
            (data / "train" / "masks" / f"{image.stem}~{copy}.png").symlink_to(mask)
    (data / "test").symlink_to(demo / "test", target_is_directory=True)
    return data


def train(out: Path, epochs: int, image_size: int, batch_size: int, lr: float) -> dict:
    import torch

    from trainer.train import TrainConfig, fit

    torch.set_num_threads(min(2, torch.get_num_threads()))
    torch.use_deterministic_algorithms(True, warn_only=True)
    with tempfile.TemporaryDirectory(prefix="roadseg-starter-") as tmp:
        data = _repeated_split(DEMO, Path(tmp))
        config = TrainConfig(out=str(Path(tmp) / "model"), data=str(data), checkpoint_dir=str(Path(tmp) / "ckpt"),
                             epochs=epochs, batch_size=batch_size, lr=lr, image_size=image_size,
                             backbone="mobilenet_v3_large", pretrained=False, precise_bn_batches=2, workers=0,
                             seed=SEED, device="cpu")
        started = time.perf_counter()
        fit(config)
        seconds = time.perf_counter() - started
        _store_half(Path(config.out), out, seconds)
    return {"seconds": seconds}


def _store_half(trained: Path, out: Path, seconds: float) -> None:
    """Copy the trained model folder to ``out`` with float16 weights and a model.json that says so."""
    import torch

    from trainer.artifact import META_NAME, WEIGHTS_NAME, file_version

    state = torch.load(trained / WEIGHTS_NAME, map_location="cpu", weights_only=True)
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    staging = out.with_name(f".{out.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(trained, staging, ignore=shutil.ignore_patterns("checkpoints", "*.pyc", "__pycache__"))
    torch.save(half, staging / WEIGHTS_NAME)
    meta = json.loads((staging / META_NAME).read_text("utf-8"))
    meta["version"] = file_version(staging / WEIGHTS_NAME)
    meta["data"] = _relative_data(meta.get("data", {}))
    meta["hyperparameters"]["init_model"] = None
    meta["hyperparameters"]["train_seconds_2cpu"] = round(seconds)
    meta["hyperparameters"]["train_tile_repeats"] = REPEATS
    meta["lineage"] = {"parent": None, "history": meta.get("lineage", {}).get("history", [])}
    (staging / META_NAME).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, out)


def _relative_data(data: dict) -> dict:
    """model.json's data summary without this machine's temp paths."""
    return {split: {"directory": f"resources/demo/{split}", "pairs": info.get("pairs"),
                    "skipped": info.get("skipped", [])}
            for split, info in data.items()}


def measure(out: Path) -> dict:
    """What `roadseg eval --model OUT --data resources/demo` prints, on the stored (float16) weights."""
    from trainer.evaluate import evaluate

    return evaluate(out, DEMO, device="cpu", engine="torch")


CARD = """# Starter model (DeepLabV3-MobileNetV3, weak)

The model the demo workspace predicts with on first launch, so that a new user sees predictions and
an uncertainty order before training anything. **It is weak**: it has seen 6 small labeled tiles.
Retrain it on your own corrected tiles (a retrain fine-tunes from it when no other model is current).

- **Built by** `make starter-model` (`scripts/build_starter_model.py`): `trainer.train.fit` from scratch
  (no ImageNet weights), seed {seed}, {epochs} epochs of {repeats} x 6 random {image_size} px crops
  (batch {batch_size}, AdamW lr {lr}, cosine), CPU; {seconds:.0f} s on a shared 2-core CPU.
  Weights stored as float16 ({size_mb:.1f} MB); the loader casts them to float32.
- **Training data**: resources/demo/train, 6 pairs: SpaceNet 3 Roads AOI_2_Vegas chips `vegas_r1_c0`,
  `vegas_r2_c1` (432 px, ~0.3 m/px, masks from the road centre lines at 15 px width) and synthetic tiles
  `synthetic_03`..`06` from `trainer.synthetic`.
- **Licence**: the SpaceNet chips are CC BY-SA 4.0 (SpaceNet / Maxar), see resources/demo/ATTRIBUTION.md;
  as a model trained on them, this model is shared under CC BY-SA 4.0 too.
- **Held-out metrics** (`roadseg eval --model resources/models/starter --data resources/demo`, the 2 test
  pairs `vegas_r2_c2` and `synthetic_07`, float16 weights): road IoU {iou:.3f}, F1 {f1:.3f},
  precision {precision:.3f}, recall {recall:.3f}; pixel accuracy {accuracy:.3f} beside {background:.3f}
  for an all-background mask. Two tiles are far too few to generalise from: expect much worse on other
  imagery (other sensors, resolutions, rural roads). For reference the DeepGlobe 2018 winner scored 0.63.
- **Intended use**: a first look at the app and a starting point for fine-tuning. Not for production maps.
"""


def write_card(out: Path, metrics: dict, seconds: float, args) -> None:
    size_mb = (out / "model.pth").stat().st_size / 1e6
    text = CARD.format(seed=SEED, epochs=args.epochs, repeats=REPEATS, image_size=args.image_size,
                       batch_size=args.batch_size, lr=args.lr, seconds=seconds, size_mb=size_mb,
                       iou=metrics["iou"], f1=metrics["f1"], precision=metrics["precision"],
                       recall=metrics["recall"], accuracy=metrics["accuracy"],
                       background=metrics["background_accuracy"])
    (out / "MODEL_CARD.md").write_text(text, "utf-8")
    meta_path = out / "model.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["metrics"] = metrics  # the stored (float16) weights' own figures, as roadseg eval prints them
    # shown beside the model in the app: say plainly how good it is
    meta["description"] = (f"starter model: weak, trained on 6 demo tiles, IoU {metrics['iou']:.2f} "
                           "on 2 held-out demo tiles")
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=6)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args(argv)
    import logging
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = train(args.out, args.epochs, args.image_size, args.batch_size, args.lr)
    metrics = measure(args.out)
    write_card(args.out, metrics, result["seconds"], args)
    print(json.dumps({"out": str(args.out), **metrics, "seconds": round(result["seconds"])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
