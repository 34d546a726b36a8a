"""ONNX Runtime engine for CPU inference, with exports kept in a verified cache.

On this project's 2-core reference machine ONNX Runtime runs a 512^2
DeepLabV3-MobileNetV3 about 2-3x faster than torch (bench/bench_predict.py).
The model is exported once (opset 17, dynamic batch/height/width, uint8 NHWC in,
probability out) into the user's cache folder, keyed by a content hash of the
weights and normalisation; before every load the export's own hash is checked
against the one recorded when it was written (see onnx_cache), so a planted or
torn file is exported again rather than used.

Each export is checked against torch once, on synthetic road tiles (what the model
is for; random noise drives a trained DeepLab into regions where ordinary fp32
reordering moves single probabilities by 1e-2 without changing any mask). It passes
when the mean probability difference is at most 1e-2 and the thresholded masks agree
on at least 99.9% of pixels. Measured on a model trained one epoch: a correct export
differs by 3e-7 on average and flips no pixel (fp32 noise flips one only where p sits
on the threshold), while export bugs (raw pixels instead of normalised ones, BGR
order, a flipped or shifted output) differ by 2-6e-2 and flip 2-6% of the pixels.
An export that passes is kept and reused (after its hash check) without checking
against torch again; one that fails is deleted and its verdict kept in the cache,
so the next start goes straight to torch instead of exporting and checking again.
A new onnxruntime or torch, or a new check, judges again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .fsutil import atomic_write_text
from .onnx_cache import CacheEntry, private_cache_dir, prune, remove_legacy_exports
from .synthetic import make_tile
from .torch_engine import ImageToProbability

log = logging.getLogger(__name__)

OPSET = 17
EXPORT_FORMAT = 1  # bump when the exported graph's inputs/outputs change
CHECK_VERSION = 2  # bump when check_agreement judges differently, so cached verdicts are redone
MAX_MEAN_DIFFERENCE = 1e-2  # mean |p_onnx - p_torch| over the check tiles
MIN_MASK_AGREEMENT = 0.999  # share of pixels on the same side of the threshold in both
CHECK_TILES = ((128, 160, 0), (128, 160, 1))  # (height, width, seed): non-square, batch 2, dynamic axes used


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def model_fingerprint(model: nn.Module, mean: Sequence[float], std: Sequence[float]) -> str:
    """Content hash of the weights and normalisation (not of the file, which may be a tar.gz)."""
    digest = hashlib.sha256(f"v{EXPORT_FORMAT} opset{OPSET} {list(mean)} {list(std)}".encode())
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def export_onnx(module: ImageToProbability, path: Path) -> None:
    """Export ``module`` (uint8 NHWC -> probability NHW) to ``path``, atomically."""
    tmp = str(path) + ".tmp"
    example = torch.zeros(1, 64, 64, 3, dtype=torch.uint8)
    kwargs = dict(opset_version=OPSET, input_names=["image"], output_names=["probability"],
                  dynamic_axes={"image": {0: "batch", 1: "height", 2: "width"},
                                "probability": {0: "batch", 1: "height", 2: "width"}})
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            try:  # torch >= 2.5 defaults to (or offers) the dynamo exporter; the TorchScript one handles DeepLab
                torch.onnx.export(module.cpu().eval(), (example,), tmp, dynamo=False, **kwargs)
            except TypeError:
                torch.onnx.export(module.cpu().eval(), (example,), tmp, **kwargs)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class OnnxEngine:
    name = "onnx"
    description = "ONNX Runtime (CPU)"

    def __init__(self, model: bytes | str | os.PathLike, threads: int | None = None, path: Path | None = None):
        """``model``: the export's bytes (as verified) or its path; ``path`` says where it came from."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        self.path = Path(path) if path is not None else None if isinstance(model, bytes) else Path(model)
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"image": np.ascontiguousarray(batch, dtype=np.uint8)})[0]


class OnnxDisagreement(RuntimeError):
    """The export's masks differ from torch's; the Predictor falls back to torch."""


def check_tiles() -> np.ndarray:
    """Synthetic road tiles (uint8 N x H x W x 3) that the export is judged on."""
    return np.stack([make_tile((h, w), seed)[0] for h, w, seed in CHECK_TILES])


def check_agreement(engine, module: ImageToProbability, threshold: float = 0.5) -> dict:
    """Compare ``engine`` with ``module`` on road tiles; returns the figures, raises OnnxDisagreement."""
    images = check_tiles()
    with torch.inference_mode():
        expected = module.cpu().eval()(torch.from_numpy(images)).numpy()
    got = np.asarray(engine(images), dtype=np.float32)
    if got.shape != expected.shape:
        raise OnnxDisagreement(f"ONNX export gives shape {got.shape}, torch {expected.shape}")
    difference = np.abs(got.astype(np.float64) - expected)
    figures = {"mean_difference": float(difference.mean()), "max_difference": float(difference.max()),
               "mask_agreement": float(((got >= threshold) == (expected >= threshold)).mean()),
               "threshold": float(threshold)}
    # NaN compares False, so a NaN-producing export fails too.
    if not (figures["mean_difference"] <= MAX_MEAN_DIFFERENCE and figures["mask_agreement"] >= MIN_MASK_AGREEMENT):
        raise OnnxDisagreement(
            f"ONNX export disagrees with torch on road tiles (mean probability difference "
            f"{figures['mean_difference']:.2e}, limit {MAX_MEAN_DIFFERENCE:.0e}; masks agree on "
            f"{100 * figures['mask_agreement']:.3f}% of pixels, need {100 * MIN_MASK_AGREEMENT:.1f}%)")
    return figures


def _runtime_versions() -> dict:
    import onnxruntime

    return {"check": CHECK_VERSION, "onnxruntime": onnxruntime.__version__, "torch": torch.__version__}


def cached_disagreement(entry: CacheEntry, threshold: float) -> str | None:
    """The reason recorded when this export last failed its check here, if it still applies."""
    try:
        verdict = json.loads(entry.verdict.read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(verdict, dict) or verdict.get("agrees") is not False
            or verdict.get("versions") != _runtime_versions() or verdict.get("threshold") != float(threshold)):
        return None
    return str(verdict.get("reason", "ONNX export disagrees with torch"))


def _record_disagreement(entry: CacheEntry, reason: str, threshold: float) -> None:
    record = {"agrees": False, "reason": reason, "threshold": float(threshold), "versions": _runtime_versions()}
    try:
        atomic_write_text(entry.verdict, json.dumps(record, indent=1) + "\n")
    except OSError as exc:  # only a cache: the next start checks again
        log.warning("cannot record the ONNX verdict %s (%s)", entry.verdict, exc)


def load_or_export(model: nn.Module, mean: Sequence[float], std: Sequence[float], source: Path | None,
                   threads: int | None = None, threshold: float = 0.5) -> OnnxEngine:
    """An OnnxEngine for ``model``: the cached export whose hash verifies, or a fresh one that passed
    check_agreement. ``source`` (the model's path) is only used to clear exports older versions left
    beside it.

    Raises OnnxDisagreement (at once, without exporting, when the verdict is cached).
    """
    remove_legacy_exports(source)
    entry = CacheEntry(private_cache_dir(), model_fingerprint(model, mean, std))
    verified = entry.read_verified()
    if verified is not None:
        try:
            return OnnxEngine(verified[0], threads, path=entry.path)
        except Exception as exc:  # verified but not loadable here (another onnxruntime): export again
            log.warning("cached ONNX export %s is unusable (%s); exporting again", entry.path, exc)
    reason = cached_disagreement(entry, threshold)
    if reason is not None:
        raise OnnxDisagreement(f"{reason}; verdict cached in {entry.verdict}")
    module = ImageToProbability(model, mean, std).cpu().eval()
    candidate = entry.candidate()
    try:
        export_onnx(module, candidate)
        data = candidate.read_bytes()
        engine = OnnxEngine(data, threads, path=entry.path)
        figures = check_agreement(engine, module, threshold)
        entry.store(data, format=EXPORT_FORMAT, kind="fp32", **figures)  # only a checked export is cached
    except OnnxDisagreement as exc:
        entry.remove()
        _record_disagreement(entry, str(exc), threshold)
        raise
    finally:
        with contextlib.suppress(OSError):
            candidate.unlink()
    prune(entry.folder)
    log.info("exported ONNX model to %s (mean difference %.1e, masks agree on %.4f%%)", entry.path,
             figures["mean_difference"], 100 * figures["mask_agreement"])
    return engine
