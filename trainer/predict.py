"""Local road prediction: ``Predictor`` loads a model once and predicts images of any size.

    predictor = Predictor("model.tar.gz")            # CUDA, then MPS, then CPU
    result = predictor.predict(image_uint8_hxwx3)    # Prediction(probability, mask, uncertainty)

Engines: on the CPU, ONNX Runtime (exported once into the user's cache, its hash verified
before every load, see onnx_cache) when it is installed and the export's masks agree
with torch's (checked once per model and remembered, see onnx_engine), else torch;
on CUDA/MPS, torch. The default CPU engine is int8 ONNX Runtime (onnx_int8) only when
the model card records, for these weights, that int8 stays within 0.01 road IoU of fp32
(``roadseg quantize``); ``engine="onnx-int8"`` asks for it outright.
A Predictor pickles as its construction arguments, so it can be built in (or sent
to) a worker process; the engine is rebuilt there on first use.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .devices import DeviceChoice, DeviceError, select_device
from .errors import BadInputError, RoadsegError
from .flips import FlipAveraging
from .imageio import read_image, to_rgb8
from .tiling import Cancelled, CancelFn, plan_tiles, predict_tiled
from .uncertainty import uncertainty

log = logging.getLogger(__name__)

ENGINES = ("auto", "torch", "onnx", "onnx-int8")
__all__ = ["Predictor", "Prediction", "uncertainty", "Cancelled", "ENGINES"]


@dataclass
class Prediction:
    probability: np.ndarray  # uint8 H x W, road probability * 255
    mask: np.ndarray         # bool H x W, probability >= threshold
    uncertainty: float       # mean binary entropy, 0 (sure) .. 1 (coin flip)


def probability_to_uint8(prob: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(prob * 255.0), 0, 255).astype(np.uint8)


def default_batch_size(device_kind: str, tile: int) -> int:
    if device_kind == "cuda":  # ~32 tiles of 512^2 keep an H100 busy with MobileNet, and fit any 8 GB card
        return max(1, int(32 * (512 * 512) / (tile * tile)))
    return 1 if device_kind == "cpu" else 4  # on CPUs, batching buys nothing (measured: batch 2 no faster)


class Predictor:
    """A loaded model ready to predict road probability for images of any size."""

    def __init__(self, model, device: str = "auto", tile: int = 512, overlap: int = 64,
                 batch_size: int | None = None, engine: str = "auto", threshold: float | None = None,
                 threads: int | None = None, calibration: list | None = None, tta: bool = False):
        """``calibration``: image paths to quantize on when ``engine="onnx-int8"`` finds no cached export;
        ``tta``: average each window's probability over its flips (``trainer.flips``, 4x the work)."""
        from .artifact import LoadedModel, load_model

        self._args = dict(model=model, device=device, tile=tile, overlap=overlap, batch_size=batch_size,
                          engine=engine, threshold=threshold, threads=threads, calibration=calibration, tta=tta)
        self.calibration = list(calibration or [])
        if engine not in ENGINES:
            raise BadInputError(f"unknown engine '{engine}'", f"Use one of {', '.join(ENGINES)}.")
        try:
            plan_tiles(tile, tile, tile, overlap)
        except ValueError as exc:
            raise BadInputError(f"bad tiling: {exc}", "Try --tile 512 --overlap 64.") from exc
        loaded = model if isinstance(model, LoadedModel) else load_model(model)
        self.meta = loaded.meta
        self.version = loaded.meta.version
        self.source = Path(loaded.source) if loaded.source else None
        self.notes = list(loaded.notes)
        self.threshold = float(self.meta.threshold if threshold is None else threshold)
        if not 0.0 <= self.threshold <= 1.0:  # also NaN
            where = "the model's threshold (model.json)" if threshold is None else "--threshold"
            raise BadInputError(f"{where} {self.threshold} is outside 0..1", "Give a road probability cut "
                                "such as 0.5.")
        self.tile, self.overlap = int(tile), int(overlap)
        self.choice: DeviceChoice = select_device(device)
        self.device = self.choice.device
        self.batch_size = int(batch_size or default_batch_size(self.choice.kind, self.tile))
        self.engine = self._build_engine(loaded, engine, threads)
        if tta:
            self.engine = FlipAveraging(self.engine)
        self.engine_name = self.engine.name
        self.device_description = self.choice.description

    def _build_engine(self, loaded, engine: str, threads: int | None):
        from .onnx_engine import load_or_export, onnxruntime_available
        from .torch_engine import TorchEngine

        mean, std = self.meta.mean, self.meta.std
        wants_onnx = engine == "onnx" or (engine == "auto" and self.choice.kind == "cpu")
        if engine.startswith("onnx") and self.choice.kind != "cpu":
            raise DeviceError("the ONNX engine runs on the CPU only", "Use --engine torch on a GPU, or --device cpu.")
        if engine == "onnx-int8":
            return self._int8_engine(loaded, threads)
        if wants_onnx and onnxruntime_available():
            try:
                if engine == "auto":  # int8 only where the model card measured it within tolerance
                    int8 = self._approved_int8(loaded, threads)
                    if int8 is not None:
                        return int8
                return load_or_export(loaded.model, mean, std, self.source, threads, self.threshold)
            except Exception as exc:  # export or runtime trouble, or masks that differ: torch still works
                if engine == "onnx":
                    raise RoadsegError(f"ONNX export failed ({exc})", "Use --engine torch.") from exc
                self.notes.append(f"ONNX Runtime not used for this model ({exc}); using torch")
                log.warning(self.notes[-1])
        elif engine == "onnx":
            raise RoadsegError("onnxruntime is not installed",
                               "Install onnxruntime (pip install onnxruntime), or use --engine torch.")
        if threads and self.choice.kind == "cpu":
            import torch
            torch.set_num_threads(int(threads))
        return TorchEngine(loaded.model, self.choice, mean, std)

    def _approved_int8(self, loaded, threads: int | None):
        from .onnx_engine import model_fingerprint
        from .onnx_int8 import card_approves, load_cached_int8

        mean, std = self.meta.mean, self.meta.std
        if not card_approves(self.source, model_fingerprint(loaded.model, mean, std)):
            return None
        engine = load_cached_int8(loaded.model, mean, std, threads)
        if engine is None:
            self.notes.append("the model card approves int8, but its export is not in this machine's cache "
                              "(roadseg quantize makes it); using fp32")
        return engine

    def _int8_engine(self, loaded, threads: int | None):
        from .onnx_engine import model_fingerprint, onnxruntime_available
        from .onnx_int8 import calibration_tiles, load_cached_int8, quantize, read_card

        if not onnxruntime_available():
            raise RoadsegError("onnxruntime is not installed",
                               "Install onnxruntime (pip install onnxruntime), or use --engine torch.")
        mean, std = self.meta.mean, self.meta.std
        engine = load_cached_int8(loaded.model, mean, std, threads)
        if engine is None and self.calibration:
            engine = quantize(loaded.model, mean, std, self.source, calibration_tiles(self.calibration), threads)
        if engine is None:
            raise RoadsegError("this model has no int8 export yet", "Run roadseg quantize MODEL WORKSPACE, "
                               "or use --engine onnx.")
        card = read_card(self.source)
        if card and card.get("fingerprint") == model_fingerprint(loaded.model, mean, std):
            self.notes.append(f"int8 road IoU {card.get('road_iou')} vs fp32 {card.get('fp32_road_iou')} on "
                              f"{card.get('test_pairs')} (model card)")
        else:
            self.notes.append("int8 accuracy not measured for this model (roadseg quantize measures it)")
        return engine

    # A Predictor crosses process boundaries as its arguments; sessions and CUDA state do not pickle.
    def __getstate__(self) -> dict:
        return dict(self._args)

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def describe(self) -> str:
        return f"{self.device_description}, engine {self.engine.description}"

    def predict_probability(self, image: np.ndarray, cancel: CancelFn | None = None) -> np.ndarray:
        """Float32 H x W road probability (0..1) for a uint8 H x W x 3 image."""
        image = _as_rgb8(image)
        return predict_tiled(image, self.engine, self.tile, self.overlap, self.batch_size, cancel)

    def predict(self, image: np.ndarray, cancel: CancelFn | None = None) -> Prediction:
        """Predict one image of any size; raises ``Cancelled`` if ``cancel()`` turns True."""
        return self._finish(self.predict_probability(image, cancel))

    def _finish(self, prob: np.ndarray) -> Prediction:
        probability = probability_to_uint8(prob)
        return Prediction(probability, prob >= self.threshold, uncertainty(probability))

    def predict_paths(self, paths: Iterable[str | os.PathLike], cancel: CancelFn | None = None,
                      read: Callable[[Path], np.ndarray] = read_image, lookahead: int | None = None
                      ) -> Iterator[tuple[Path, Prediction | RoadsegError]]:
        """Predict image files in order, decoding ahead in threads so the engine never waits on I/O.

        Consecutive images that fit in one window and share a size go through the engine as one
        batch. Yields (path, Prediction) or (path, RoadsegError) for a file that cannot be used.
        """
        paths = [Path(p) for p in paths]
        lookahead = lookahead or max(4, 2 * self.batch_size)
        workers = max(1, min(8, os.cpu_count() or 1))  # JPEG decode releases the GIL; 8 feed ~2000 tiles/s
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
            pending: list[tuple[Path, Future]] = []
            queue = iter(paths)

            def refill() -> None:
                for path in queue:
                    pending.append((path, pool.submit(_read_safely, read, path)))
                    if len(pending) >= lookahead:
                        break

            refill()
            while pending:
                group = [pending.pop(0)]
                first = group[0][1].result()
                if isinstance(first, np.ndarray) and self._single_window(first):
                    while (pending and len(group) < self.batch_size
                           and _same_shape(pending[0][1].result(), first)):
                        group.append(pending.pop(0))
                refill()
                if cancel is not None and cancel():
                    raise Cancelled()
                yield from self._predict_group([(p, f.result()) for p, f in group], cancel)

    def predict_scene(self, path: str | os.PathLike, out_dir: str | os.PathLike, **options):
        """Predict a (georeferenced) raster window by window into GeoTIFFs; see ``trainer.scene.predict_scene``."""
        from .scene import predict_scene

        options.setdefault("tags", {"model_version": self.version})
        return predict_scene(path, out_dir, self.engine, tile=self.tile, overlap=self.overlap,
                             batch_size=self.batch_size, threshold=self.threshold, **options)

    def _finishes_on_device(self, image: np.ndarray) -> bool:
        """Whole-window images on an engine that can convert and threshold on its device."""
        plan = plan_tiles(image.shape[0], image.shape[1], self.tile, self.overlap)
        return hasattr(self.engine, "predict_finished") and (plan.window_h, plan.window_w) == image.shape[:2]

    def _single_window(self, image: np.ndarray) -> bool:
        return plan_tiles(image.shape[0], image.shape[1], self.tile, self.overlap).count == 1

    def _predict_group(self, group, cancel):
        items = [(p, x) for p, x in group if isinstance(x, np.ndarray)]
        if len(items) > 1 and self._finishes_on_device(items[0][1]):
            try:
                probs, masks, scores = self.engine.predict_finished(np.stack([x for _, x in items]), self.threshold)
            except Exception as exc:
                failed = _as_error(exc, None)
                yield from ((path, failed if isinstance(value, np.ndarray) else value) for path, value in group)
                return
            done = {path: Prediction(probs[i], masks[i], float(scores[i])) for i, (path, _) in enumerate(items)}
            yield from ((path, done.get(path, value)) for path, value in group)
            return
        if len(items) > 1:  # same-size single-window images: one engine call
            try:
                probs = self._predict_same_size([x for _, x in items])
            except Cancelled:
                raise
            except Exception as exc:  # the batch failed; each file is reported, the caller goes on
                probs = [_as_error(exc, None)] * len(items)
            results = dict(zip([p for p, _ in items], probs))
        for path, value in group:
            if not isinstance(value, np.ndarray):
                yield path, value
            elif len(items) > 1:
                got = results[path]
                yield path, got if isinstance(got, RoadsegError) else self._finish(got)
            else:
                try:
                    prediction = self.predict(value, cancel)
                except Cancelled:
                    raise
                except Exception as exc:
                    prediction = _as_error(exc, path)
                yield path, prediction

    def _predict_same_size(self, images: list[np.ndarray]) -> list[np.ndarray]:
        from .tiling import pad_to
        height, width = images[0].shape[:2]
        plan = plan_tiles(height, width, self.tile, self.overlap)
        batch = np.stack([pad_to(image, plan.window_h, plan.window_w) for image in images])
        return [prob[:height, :width] for prob in self.engine(batch)]


def _as_rgb8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise BadInputError(f"expected an H x W x 3 image, got an array of shape {image.shape}")
    return to_rgb8(image)


def _read_safely(read, path: Path):
    try:
        return read(path)
    except RoadsegError as exc:
        return exc
    except Exception as exc:  # an unexpected decoder failure is still one bad file, not a crash
        return BadInputError(f"cannot read ({exc.__class__.__name__}: {exc})", "", path)


def _same_shape(value, image: np.ndarray) -> bool:
    return isinstance(value, np.ndarray) and value.shape == image.shape


def _as_error(exc: Exception, path: Path | None) -> RoadsegError:
    if not isinstance(exc, RoadsegError):
        log.debug("prediction failed", exc_info=True)
        exc = RoadsegError(f"prediction failed ({exc.__class__.__name__}: {exc})")
    if exc.path is None and path is not None:
        exc.path = os.fspath(path)
    return exc
