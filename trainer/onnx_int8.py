"""int8 ONNX Runtime engine: static quantization (QDQ, per-channel weights, entropy-calibrated
activations) of the checked fp32 export; the input normalisation with the stem Conv and the output
Resize/Sigmoid stay in float (onnx_int8_recipe says why).

Calibrated on the workspace's own tiles (train and unlabeled images, never the test pairs it is
judged on), and cached like the fp32 export: in the user's cache, keyed by the weights' content
hash, its own hash verified before every load (onnx_cache).

Whether int8 is good enough is measured when it is made (``int8_judge.quantize_and_judge``): road
IoU of the int8 and the fp32 engines on the model's test pairs, written into the model card
(``model.json``, key ``int8``). The Predictor's default engine uses int8 only when that card,
for these very weights, says int8 loses at most MAX_IOU_DROP.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
from torch import nn

from .errors import DataError, RoadsegError
from .onnx_cache import CacheEntry, private_cache_dir, prune
from .onnx_engine import OnnxEngine, load_or_export, model_fingerprint
from .onnx_int8_recipe import kept_in_float

log = logging.getLogger(__name__)

INT8_FORMAT = 2  # bump when the quantization recipe changes, so cached int8 exports are redone
MAX_IOU_DROP = 0.01  # int8 road IoU may be at most this much below fp32's on the test pairs
# Entropy calibration keeps every calibration activation in memory: 12 crops of 256^2 peak at about
# 1.5 GB for DeepLabV3-MobileNetV3 (8 of 512^2 took 4 GB). Measured on the starter model and the demo's
# 2 test pairs: Entropy 0.000 road IoU below fp32, Percentile 0.014, MinMax 0.014-0.018.
CALIBRATION_TILES = 12
CALIBRATION_SIZE = 256
CARD_KEY = "int8"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


class OnnxInt8Engine(OnnxEngine):
    name = "onnx-int8"
    description = "ONNX Runtime int8 (CPU)"


def int8_key(fingerprint: str) -> str:
    return f"{fingerprint}-int8-v{INT8_FORMAT}"


def load_cached_int8(model: nn.Module, mean: Sequence[float], std: Sequence[float],
                     threads: int | None = None) -> OnnxInt8Engine | None:
    """The cached int8 export of these weights when its hash verifies, else None."""
    entry = CacheEntry(private_cache_dir(), int8_key(model_fingerprint(model, mean, std)))
    verified = entry.read_verified()
    return None if verified is None else OnnxInt8Engine(verified[0], threads, path=entry.path)


def calibration_tiles(paths: Sequence[str | os.PathLike], count: int = CALIBRATION_TILES) -> list[np.ndarray]:
    """Up to ``count`` images evenly spread over ``paths``, centre-cropped to CALIBRATION_SIZE."""
    from .imageio import read_image

    paths = sorted(Path(p) for p in paths)
    if not paths:
        raise DataError("no tiles to calibrate int8 on", "Give a workspace with images in train/ or unlabeled/.")
    picked = [paths[int(i)] for i in np.unique(np.linspace(0, len(paths) - 1, min(count, len(paths))).round())]
    images = []
    for path in picked:
        try:
            images.append(read_image(path))
        except RoadsegError as exc:  # one unreadable tile does not stop calibration
            log.warning("not calibrating on %s: %s", path, exc)
    if not images:
        raise DataError("none of the tiles to calibrate int8 on could be read", "See the messages above.")
    # One size for all (histogram calibrators stack them): the smallest side seen, at most CALIBRATION_SIZE.
    size = min(CALIBRATION_SIZE, *(min(image.shape[:2]) for image in images))
    tiles = []
    for image in images:
        top, left = ((n - size) // 2 for n in image.shape[:2])
        tiles.append(np.ascontiguousarray(image[top:top + size, left:left + size]))
    return tiles


def quantize(model: nn.Module, mean: Sequence[float], std: Sequence[float], source: Path | None,
             tiles: Sequence[np.ndarray], threads: int | None = None) -> OnnxInt8Engine:
    """Quantize the checked fp32 export of ``model`` with ``tiles`` as calibration; cache and return it."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    fp32 = load_or_export(model, mean, std, source, threads)
    fingerprint = model_fingerprint(model, mean, std)
    entry = CacheEntry(fp32.path.parent, int8_key(fingerprint))

    class Tiles(CalibrationDataReader):
        def __init__(self):
            self.feed = iter([{"image": tile[None]} for tile in tiles])

        def get_next(self):
            return next(self.feed, None)

    with tempfile.TemporaryDirectory(dir=entry.folder, prefix=".quantize-") as work:
        work = Path(work)
        source_bytes = CacheEntry(entry.folder, fingerprint).read_verified()
        if source_bytes is None:
            raise RoadsegError("the fp32 ONNX export vanished from the cache while quantizing", "Run again.")
        (work / "fp32.onnx").write_bytes(source_bytes[0])
        model_in = _preprocessed(work / "fp32.onnx", work / "pre.onnx")
        # uint8 activations with int8 weights: the u8s8 kernels that use VNNI (s8s8 and u8u8 measured 2-3x slower).
        quantize_static(str(model_in), str(work / "int8.onnx"), Tiles(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Entropy,
                        nodes_to_exclude=kept_in_float(onnx.load(str(model_in))))
        data = (work / "int8.onnx").read_bytes()
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(t).tobytes() for t in tiles)).hexdigest()
    entry.store(data, kind="int8", format=INT8_FORMAT, calibration_tiles=len(tiles), calibration_sha256=digest)
    prune(entry.folder)
    log.info("quantized the ONNX model to int8 (%d calibration tiles) in %s", len(tiles), entry.path)
    return OnnxInt8Engine(data, threads, path=entry.path)


def _preprocessed(model: Path, out: Path) -> Path:
    """ONNX Runtime's recommended pre-processing (shape inference, folding); the plain export if it fails."""
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process

        quant_pre_process(str(model), str(out), skip_symbolic_shape=False)
        return out
    except Exception as exc:  # only an optimisation of what gets quantized
        log.info("int8 pre-processing skipped (%s)", exc)
        return model


# ---- the model card -------------------------------------------------------------------------

def card_path(source: Path | None) -> Path | None:
    if source is None:
        return None
    path = Path(source) / "model.json"
    return path if path.is_file() else None


def read_card(source: Path | None) -> dict | None:
    path = card_path(source)
    try:
        card = json.loads(path.read_text()).get(CARD_KEY) if path else None
    except (OSError, ValueError, AttributeError):
        return None
    return card if isinstance(card, dict) else None


def card_approves(source: Path | None, fingerprint: str) -> bool:
    """The card says int8 stays within MAX_IOU_DROP of fp32, measured for these very weights and recipe."""
    card = read_card(source)
    return bool(card and card.get("fingerprint") == fingerprint and card.get("format") == INT8_FORMAT
                and card.get("within_tolerance") is True)
