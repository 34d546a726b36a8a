"""ONNX Runtime engine for CPU inference, with the export cached beside the model.

On this project's 2-core reference machine ONNX Runtime runs a 512^2
DeepLabV3-MobileNetV3 about 2-3x faster than torch (bench/bench_predict.py).
The model is exported once (opset 17, dynamic batch/height/width, uint8 NHWC in,
probability out) to a hidden file beside the model, ``.<name>.<fingerprint>.onnx``
for a model folder or file ``<name>`` (not inside the folder, so pack_model never
ships it to SageMaker). The fingerprint hashes the
weights and normalisation, so a changed model gets a fresh export and stale
exports are removed. Each export is checked against torch before it is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .torch_engine import ImageToProbability

log = logging.getLogger(__name__)

OPSET = 17
EXPORT_FORMAT = 1  # bump when the exported graph's inputs/outputs change
AGREEMENT_TOLERANCE = 1e-3  # max |p_onnx - p_torch| accepted on the check image


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


def _remove_stale(path: Path, fingerprint: str) -> None:
    prefix = path.name[: -len(f"{fingerprint}.onnx")]
    for other in path.parent.iterdir():
        name = other.name
        if other != path and name.startswith(prefix) and name.endswith(".onnx") and len(name) == len(path.name):
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


def check_agreement(engine: OnnxEngine, module: ImageToProbability, size: int = 96) -> float:
    """Max |onnx - torch| probability difference on a random image; raises if over tolerance."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (1, size, size + 32, 3), dtype=np.uint8)
    with torch.inference_mode():
        expected = module.cpu().eval()(torch.from_numpy(image)).numpy()
    diff = float(np.abs(engine(image) - expected).max())
    if not diff <= AGREEMENT_TOLERANCE:
        raise RuntimeError(f"ONNX export disagrees with torch (max difference {diff:.2e})")
    return diff


def load_or_export(model: nn.Module, mean: Sequence[float], std: Sequence[float], source: Path | None,
                   threads: int | None = None) -> OnnxEngine:
    """An OnnxEngine for ``model``, exporting (and checking) it first unless a valid export is cached."""
    module = ImageToProbability(model, mean, std).cpu().eval()
    fingerprint = model_fingerprint(model, mean, std)
    path = cache_path(source, fingerprint)
    if path.exists():
        try:
            return OnnxEngine(path, threads)
        except Exception as exc:  # a torn or foreign file: export again
            log.warning("cached ONNX export %s is unusable (%s); exporting again", path, exc)
    try:
        export_onnx(module, path)
    except OSError:
        path = _user_cache_dir() / path.name  # the model's folder turned out read-only
        export_onnx(module, path)
    engine = OnnxEngine(path, threads)
    try:
        check_agreement(engine, module)
    except Exception:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    _remove_stale(path, fingerprint)
    log.info("exported ONNX model to %s", path)
    return engine
