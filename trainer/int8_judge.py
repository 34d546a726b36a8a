"""Judging an int8 export when it is made: road IoU of the int8 and fp32 ONNX Runtime engines on the
model's test pairs, recorded in the model card (``model.json``, key ``int8``) for ``onnx_int8.card_approves``.
``roadseg quantize`` does it on request; the app's prediction process does it by itself (``judge_if_due``)
once a model it loaded runs on fp32 ONNX Runtime and the card has no figures for these weights.

Kept apart from onnx_int8 because it evaluates through the Predictor, which itself loads int8 engines.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path

from .errors import DataError, RoadsegError
from .fsutil import atomic_write_text
from .onnx_engine import model_fingerprint
from .onnx_int8 import (CALIBRATION_TILES, CARD_KEY, IMAGE_SUFFIXES, INT8_FORMAT, MAX_IOU_DROP, calibration_tiles,
                        card_path, quantize)

log = logging.getLogger(__name__)


def write_card(source: Path, figures: dict) -> None:
    path = card_path(source)
    if path is None:
        raise DataError("has no model.json to record the int8 figures in", "Quantize a model folder.", source)
    card = json.loads(path.read_text())
    card[CARD_KEY] = figures
    atomic_write_text(path, json.dumps(card, indent=2, sort_keys=True) + "\n")


def judging_pairs(source: Path | None, meta_data: dict, workspace: Path | None) -> Path:
    """The model's test pairs: those its card names (made relative to the card's folder or the cwd),
    else the workspace's test/."""
    named = (meta_data.get("test") or {}).get("directory") if isinstance(meta_data, dict) else None
    candidates = []
    if isinstance(named, str) and named:
        candidates += [Path(named)] + ([Path(source).parent / named] if source else [])
    if workspace is not None:
        candidates.append(Path(workspace) / "test")
    for folder in candidates:
        if (folder / "images").is_dir() and (folder / "masks").is_dir():
            return folder
    raise DataError("has no test pairs to judge int8 on (test/images + test/masks)",
                    "Give a workspace that holds test pairs.", workspace or source)


def workspace_tiles(workspace: Path) -> list[Path]:
    """The workspace's own tiles for calibration: train and unlabeled images (never test), else its images."""
    def images(folder: Path) -> list[Path]:
        return [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()] \
            if folder.is_dir() else []

    return images(workspace / "train" / "images") + images(workspace / "unlabeled") or images(workspace)


def quantize_and_judge(model_dir: str | os.PathLike, workspace: str | os.PathLike, threads: int | None = None,
                       tiles: int = CALIBRATION_TILES) -> dict:
    """Make the int8 export of a model folder from ``workspace``'s tiles, measure it against fp32 on
    the model's test pairs and record the figures in its card; returns them."""
    from .artifact import load_model
    from .evaluate import evaluate

    model_dir, workspace = Path(model_dir), Path(workspace)
    loaded = load_model(model_dir)
    if loaded.source is None or card_path(Path(loaded.source)) is None:
        raise DataError("is not a model folder with a model.json", "Quantize an unpacked model folder.", model_dir)
    source = Path(loaded.source)
    mean, std = loaded.meta.mean, loaded.meta.std
    test_dir = judging_pairs(source, loaded.meta.data, workspace)
    calibration = calibration_tiles(workspace_tiles(workspace), tiles)
    quantize(loaded.model, mean, std, source, calibration, threads)
    scores = {name: evaluate(loaded, test_dir, device="cpu", engine=name) for name in ("onnx", "onnx-int8")}
    fp32_iou, int8_iou = float(scores["onnx"]["iou"]), float(scores["onnx-int8"]["iou"])
    drop = fp32_iou - int8_iou
    figures = {
        "fingerprint": model_fingerprint(loaded.model, mean, std), "format": INT8_FORMAT,
        "road_iou": round(int8_iou, 4), "fp32_road_iou": round(fp32_iou, 4), "iou_drop": round(drop, 4),
        "max_iou_drop": MAX_IOU_DROP, "within_tolerance": bool(drop <= MAX_IOU_DROP),
        "test_pairs": str(test_dir), "calibration_tiles": len(calibration),
        "measured": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }
    write_card(source, figures)
    return figures


def int8_due(model_dir: str | os.PathLike) -> bool:
    """Whether a model folder's int8 engine still has to be made and judged on this machine: its card
    has no figures for these weights and this recipe, or approves int8 whose export is not cached here."""
    from .artifact import load_model
    from .onnx_int8 import load_cached_int8, read_card

    loaded = load_model(model_dir)
    if loaded.source is None or card_path(Path(loaded.source)) is None:
        return False  # nowhere to record the figures (a packed model, a bare .pth)
    mean, std = loaded.meta.mean, loaded.meta.std
    card = read_card(Path(loaded.source))
    if not card or card.get("fingerprint") != model_fingerprint(loaded.model, mean, std) \
            or card.get("format") != INT8_FORMAT:
        return True
    return card.get("within_tolerance") is True and load_cached_int8(loaded.model, mean, std) is None


def judge_if_due(model_dir: str | os.PathLike, workspace: str | os.PathLike, threads: int | None = None) -> dict | None:
    """``quantize_and_judge`` when ``int8_due``; None when nothing was to be done or it could not be done
    (no test pairs, no tiles, a read-only card: logged, the fp32 engine stays)."""
    try:
        if not int8_due(model_dir):
            return None
        return quantize_and_judge(model_dir, workspace, threads)
    except (OSError, RoadsegError) as exc:
        log.warning("int8 engine not made for %s: %s", model_dir, exc)
        return None


def main(argv: list[str] | None = None) -> int:
    """``python -m trainer.int8_judge MODEL_DIR WORKSPACE [--threads N]``: the app's prediction process
    runs this in a low-priority child, so tiles are predicted while it works."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m trainer.int8_judge", description=main.__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("workspace")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--nice", type=int, default=0, help="lower this process's priority by this much")
    parser.add_argument("--parent", type=int, default=None,
                        help="end when the process with this PID is gone (the app's prediction process)")
    args = parser.parse_args(argv)
    if args.nice and hasattr(os, "nice"):
        os.nice(args.nice)
    if args.parent:
        _exit_with(args.parent)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    figures = judge_if_due(args.model_dir, args.workspace, args.threads)
    if figures:
        log.info("int8 judged for %s: IoU drop %.4f (%s)", args.model_dir, figures["iou_drop"],
                 "within tolerance" if figures["within_tolerance"] else "over tolerance: fp32 stays")
    return 0


def _exit_with(parent: int) -> None:
    """Stop when ``parent`` is gone (even by kill -9): this process is re-parented then. The card is
    written atomically, so stopping at any point leaves it whole."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


if __name__ == "__main__":
    raise SystemExit(main())
