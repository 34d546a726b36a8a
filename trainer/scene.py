"""Whole-scene prediction of georeferenced rasters far larger than memory.

The scene is cut into vertical stripes (at most ``stripe_width`` pixels wide); each
stripe is streamed top to bottom one row of windows at a time, on the same global
window grid and blending weights as ``tiling.predict_tiled``, so the result equals
predicting the whole scene at once. Memory is bounded by the stripe width and the
window size, never by the scene: a 20,000 x 20,000 scene needs what a 8,000 x 8,000
one does. The next row is read in a thread while the engine works on the current one.

Outputs are tiled, DEFLATE-compressed GeoTIFFs (COG with ``cog=True``) with the
input's CRS and transform: a road probability band (0..255) and/or a 0/255 mask.
Nodata: pixels that are nodata in the input (nodata value, alpha or mask band) are
nodata in the outputs. The output nodata value is the input's when it is an integer
1..254, else 1 (0 and 255 are mask classes); a probability equal to it is stored one lower.
"""

from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import BadInputError
from .imageio import gdal_detail
from .scene_io import BLOCK, MAX_SCENE_PIXELS, GeoTiffOutput, SceneReader, choose_bands, open_scene, output_nodata
from .tiling import BatchFn, CancelFn, pad_to, plan_tiles, run_windows
from .uncertainty import uncertainty_of_histogram

__all__ = ["predict_scene", "SceneResult", "is_georeferenced", "choose_bands", "MAX_SCENE_PIXELS"]
STRIPE_WIDTH = 8192        # bounds memory: ~ window x stripe x 11 bytes
GDAL_CACHE_MB = 64
ProgressFn = Callable[[int, int], None]


@dataclass
class SceneResult:
    source: Path
    width: int
    height: int
    mask: Path | None = None
    probability: Path | None = None
    vectors: list[Path] = field(default_factory=list)
    uncertainty: float = 0.0
    tiles: int = 0
    seconds: float = 0.0


def is_georeferenced(path: str | os.PathLike) -> bool:
    """True when rasterio finds a CRS or a non-identity geotransform (or GCPs) in the file."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                return src.crs is not None or not src.transform.is_identity or bool(src.gcps[0])
    except (RasterioIOError, OSError):
        return False


def predict_scene(path: str | os.PathLike, out_dir: str | os.PathLike, batch_fn: BatchFn, *,
                  tile: int = 512, overlap: int = 64, batch_size: int = 2, threshold: float = 0.5,
                  write_mask: bool = True, write_probability: bool = True, cog: bool = False,
                  bands: tuple[int, ...] | None = None, tags: dict | None = None,
                  cancel: CancelFn | None = None, progress: ProgressFn | None = None,
                  stripe_width: int = STRIPE_WIDTH) -> SceneResult:
    """Predict a raster window by window into ``out_dir/<stem>_mask.tif`` and/or ``<stem>_probability.tif``."""
    import rasterio
    from rasterio.errors import RasterioError

    path, out_dir = Path(path), Path(out_dir)
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, GeoTiffOutput] = {}
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), open_scene(path) as src:
        reader = SceneReader(src, bands)
        nodata = output_nodata(reader)
        tags = dict(tags or {}, threshold=threshold, source=path.name)
        try:
            if write_probability:
                outputs["probability"] = GeoTiffOutput(out_dir / f"{path.stem}_probability.tif", src, nodata,
                                                 "road probability x 255", tags, cog, "AVERAGE")
            if write_mask:
                outputs["mask"] = GeoTiffOutput(out_dir / f"{path.stem}_mask.tif", src, nodata,
                                          "road mask (255 road, 0 other)", tags, cog, "NEAREST")
            result = SceneResult(path, src.width, src.height)
            histogram = _stream(reader, outputs, batch_fn, tile, overlap, batch_size, threshold, nodata,
                                cancel, progress, stripe_width, result)
            for name, output in outputs.items():
                setattr(result, name, output.commit())
        except (RasterioError, OSError) as exc:
            for output in outputs.values():
                output.discard()
            raise BadInputError(f"reading or writing the scene failed ({gdal_detail(exc)})",
                                "The file may be truncated or corrupt, or the disk full.", path) from exc
        except BaseException:
            for output in outputs.values():
                output.discard()
            raise
    result.uncertainty = uncertainty_of_histogram(histogram)
    result.seconds = time.perf_counter() - started
    return result


def _stream(reader: SceneReader, outputs: dict, batch_fn, tile, overlap, batch_size, threshold, nodata,
            cancel, progress, stripe_width, result: SceneResult) -> np.ndarray:
    height, width = reader.src.height, reader.src.width
    plan = plan_tiles(height, width, tile, overlap)
    wh, ww = plan.window_h, plan.window_w
    weights = plan.weights()
    stripe_width = max(BLOCK, stripe_width // BLOCK * BLOCK)
    stripes = [(x0, min(x0 + stripe_width, width)) for x0 in range(0, width, stripe_width)]
    columns = [[x for x in plan.xs if x < x1 and x + ww > x0] for x0, x1 in stripes]
    total_tiles = sum(len(xs) for xs in columns) * len(plan.ys)
    histogram = np.zeros(256, np.int64)
    threshold_u8 = threshold * 255.0
    done = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scene-read") as pool:
        for (sx0, sx1), xs in zip(stripes, columns):
            cx0, cx1 = xs[0], min(xs[-1] + ww, width)
            ncols = max(cx1 - cx0, ww)
            total = np.zeros((wh, ncols), np.float32)
            weight_sum = np.zeros_like(total)
            pending = _RowBuffer(outputs, sx0)

            def read_row(y):
                return reader.read(y, min(y + wh, height), cx0, cx1)

            future = pool.submit(read_row, plan.ys[0])
            for r, y in enumerate(plan.ys):
                rgb, valid = future.result()
                if r + 1 < len(plan.ys):
                    future = pool.submit(read_row, plan.ys[r + 1])
                rgb = pad_to(rgb, wh, ncols)
                origins = [(0, x - cx0) for x in xs]
                for (_, ox), prob in run_windows(rgb, origins, (wh, ww), batch_fn, batch_size, cancel):
                    total[:, ox:ox + ww] += prob * weights
                    weight_sum[:, ox:ox + ww] += weights
                done += len(xs)
                if progress is not None:
                    progress(done, total_tiles)
                y_next = plan.ys[r + 1] if r + 1 < len(plan.ys) else min(y + wh, height)
                rows = y_next - y
                prob = total[:rows, sx0 - cx0:sx1 - cx0] / weight_sum[:rows, sx0 - cx0:sx1 - cx0]
                prob_u8 = np.clip(np.rint(prob * 255.0), 0, 255).astype(np.uint8)
                ok = valid[:rows, sx0 - cx0:sx1 - cx0] if valid is not None else None
                histogram += np.bincount((prob_u8[ok] if ok is not None else prob_u8.ravel()), minlength=256)
                pending.add(y, prob_u8, prob >= threshold_u8 / 255.0, ok, nodata)
                # rows above y_next are final: shift the accumulators up
                total[:wh - rows] = total[rows:]
                total[wh - rows:] = 0
                weight_sum[:wh - rows] = weight_sum[rows:]
                weight_sum[wh - rows:] = 0
            pending.flush(final=True)
    result.tiles = total_tiles
    return histogram


class _RowBuffer:
    """Collects finished rows of one stripe and writes them in whole GeoTIFF block rows."""

    def __init__(self, outputs: dict, col0: int):
        self.outputs, self.col0 = outputs, col0
        self.row0 = 0
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in outputs}
        self.rows = 0

    def add(self, y: int, prob_u8: np.ndarray, road: np.ndarray, valid: np.ndarray | None, nodata: int | None):
        if self.rows == 0:
            self.row0 = y
        if "probability" in self.outputs:
            values = prob_u8
            if nodata is not None:
                values = np.where(values == nodata, np.uint8(nodata - 1), values)
                if valid is not None:
                    values[~valid] = nodata
            self.parts["probability"].append(values)
        if "mask" in self.outputs:
            values = np.where(road, np.uint8(255), np.uint8(0))
            if nodata is not None and valid is not None:
                values[~valid] = nodata
            self.parts["mask"].append(values)
        self.rows += prob_u8.shape[0]
        if self.rows >= BLOCK:
            self.flush()

    def flush(self, final: bool = False) -> None:
        keep = 0 if final else self.rows % BLOCK
        count = self.rows - keep
        if count <= 0:
            return
        for name, parts in self.parts.items():
            rows = np.concatenate(parts) if len(parts) > 1 else parts[0]
            self.outputs[name].write(rows[:count], self.row0, self.col0)
            self.parts[name] = [rows[count:]] if keep else []
        self.row0 += count
        self.rows = keep
