"""ONNX Runtime engine for CPU inference, with the export cached beside the model.

On this project's 2-core reference machine ONNX Runtime runs a 512^2
DeepLabV3-MobileNetV3 about 2-3x faster than torch (bench/bench_predict.py).
The model is exported once (opset 17, dynamic batch/height/width, uint8 NHWC in,
probability out) to a hidden file beside the model, ``.<name>.<fingerprint>.onnx``
for a model folder or file ``<name>`` (not inside the folder, so pack_model never
ships it to SageMaker). The fingerprint hashes the
weights and normalisation, so a changed model gets a fresh export and stale
exports are removed.

Each export is checked against torch once, on synthetic road tiles (what the model
is for; random noise drives a trained DeepLab into regions where ordinary fp32
reordering moves single probabilities by 1e-2 without changing any mask). It passes
when the mean probability difference is at most 1e-2 and the thresholded masks agree
on at least 99.9% of pixels. Measured on a model trained one epoch: a correct export
differs by 3e-7 on average and flips no pixel (fp32 noise flips one only where p sits
on the threshold), while export bugs (raw pixels instead of normalised ones, BGR
order, a flipped or shifted output) differ by 2-6e-2 and flip 2-6% of the pixels.
An export that passes is kept and reused without checking again; one that fails is
deleted and its verdict kept beside it (``.<name>.<fingerprint>.onnx.verdict.json``),
so the next start goes straight to torch instead of exporting and checking again.
A new onnxruntime or torch, or a new check, judges again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .fsutil import atomic_write_text
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
    return digest.hexdigest()[:16]


def _user_cache_dir() -> Path:
    """For models with no folder of their own (in memory, or in a read-only place)."""
    if os.environ.get("ROADSEG_ONNX_CACHE"):
        return Path(os.environ["ROADSEG_ONNX_CACHE"])
    try:
        from platformdirs import user_cache_dir
        return Path(user_cache_dir("roadseg")) / "onnx"
    except ImportError:  # the SageMaker image has no platformdirs
        return Path(tempfile.gettempdir()) / "roadseg-onnx"


def cache_path(source: Path | None, fingerprint: str) -> Path:
    """Where the export of a model loaded from ``source`` lives; beside it when writable."""
    if source is not None:
        source = Path(source).resolve()
        if os.access(source.parent, os.W_OK):
            return source.parent / f".{source.name}.{fingerprint}.onnx"
    return _user_cache_dir() / f".model.{fingerprint}.onnx"


def verdict_path(path: Path) -> Path:
    return path.with_name(path.name + ".verdict.json")


def _remove_stale(path: Path, fingerprint: str) -> None:
    """Exports and verdicts of this model's earlier weights (same name, another fingerprint)."""
    prefix = path.name[: -len(f"{fingerprint}.onnx")]
    own = re.compile(re.escape(prefix) + r"([0-9a-f]{16})\.onnx(\.verdict\.json)?$")
    for other in path.parent.iterdir():
        match = own.match(other.name)
        if match and match.group(1) != fingerprint:
            with contextlib.suppress(OSError):
                other.unlink()
                log.info("removed stale ONNX export %s", other)


def export_onnx(module: ImageToProbability, path: Path) -> None:
    """Export ``module`` (uint8 NHWC -> probability NHW) atomically to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
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

    def __init__(self, onnx_path: str | os.PathLike, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        self.path = Path(onnx_path)
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

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


def cached_disagreement(path: Path, threshold: float) -> str | None:
    """The reason recorded when this export last failed its check here, if it still applies."""
    try:
        verdict = json.loads(verdict_path(path).read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(verdict, dict) or verdict.get("agrees") is not False
            or verdict.get("versions") != _runtime_versions() or verdict.get("threshold") != float(threshold)):
        return None
    return str(verdict.get("reason", "ONNX export disagrees with torch"))


def _record_disagreement(path: Path, reason: str, threshold: float) -> None:
    record = {"agrees": False, "reason": reason, "threshold": float(threshold), "versions": _runtime_versions()}
    try:
        atomic_write_text(verdict_path(path), json.dumps(record, indent=1) + "\n")
    except OSError as exc:  # only a cache: the next start checks again
        log.warning("cannot record the ONNX verdict beside %s (%s)", path, exc)


def load_or_export(model: nn.Module, mean: Sequence[float], std: Sequence[float], source: Path | None,
                   threads: int | None = None, threshold: float = 0.5) -> OnnxEngine:
    """An OnnxEngine for ``model``: the cached export, or a fresh one that passed check_agreement.

    Raises OnnxDisagreement (at once, without exporting, when the verdict is cached).
    """
    fingerprint = model_fingerprint(model, mean, std)
    path = cache_path(source, fingerprint)
    for place in dict.fromkeys([path, _user_cache_dir() / path.name]):  # where a read-only model's export went
        if place.exists():
            try:
                return OnnxEngine(place, threads)
            except Exception as exc:  # a torn or foreign file: export again
                log.warning("cached ONNX export %s is unusable (%s); exporting again", place, exc)
        reason = cached_disagreement(place, threshold)
        if reason is not None:
            raise OnnxDisagreement(f"{reason}; verdict cached in {verdict_path(place)}")
    module = ImageToProbability(model, mean, std).cpu().eval()
    try:
        candidate = _export_candidate(module, path)
    except OSError:
        path = _user_cache_dir() / path.name  # the model's folder turned out read-only
        candidate = _export_candidate(module, path)
    try:
        engine = OnnxEngine(candidate, threads)
        figures = check_agreement(engine, module, threshold)
        os.replace(candidate, path)  # only a checked export ever sits at ``path``
        engine.path = path
    except OnnxDisagreement as exc:
        _record_disagreement(path, str(exc), threshold)
        _remove_stale(path, fingerprint)
        raise
    finally:
        with contextlib.suppress(OSError):
            candidate.unlink()
    _remove_stale(path, fingerprint)
    log.info("exported ONNX model to %s (mean difference %.1e, masks agree on %.4f%%)", path,
             figures["mean_difference"], 100 * figures["mask_agreement"])
    return engine


def _export_candidate(module: ImageToProbability, path: Path) -> Path:
    candidate = path.with_name(path.name + ".unchecked")
    export_onnx(module, candidate)
    return candidate
