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

import contextlib
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import BadInputError
from .tiling import BatchFn, CancelFn, pad_to, plan_tiles, run_windows

BLOCK = 512                # output GeoTIFF block size; writes are whole block rows
STRIPE_WIDTH = 8192        # bounds memory: ~ window x stripe x 11 bytes
MAX_SCENE_PIXELS = int(os.environ.get("ROADSEG_MAX_SCENE_PIXELS", 20_000_000_000))  # 141k x 141k
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


def choose_bands(count: int, bands: tuple[int, ...] | None, path) -> tuple[int, int, int]:
    if bands:
        if len(bands) != 3 or not all(1 <= b <= count for b in bands):
            raise BadInputError(f"--bands {','.join(map(str, bands))} does not fit a {count}-band raster",
                                f"Give three band numbers between 1 and {count}.", path)
        return tuple(bands)
    if count in (1, 2):   # gray, gray + alpha
        return (1, 1, 1)
    if count in (3, 4):   # RGB, RGBA (or RGB + NIR)
        return (1, 2, 3)
    raise BadInputError(f"raster has {count} bands; the model needs red, green and blue",
                        "Pick them with --bands R,G,B (e.g. --bands 5,3,2 for WorldView-3).", path)


class SceneReader:
    """Reads windows of a raster as uint8 RGB plus a validity mask (False = nodata)."""

    def __init__(self, src, bands: tuple[int, ...] | None = None):
        from rasterio.enums import MaskFlags

        self.src = src
        self.bands = choose_bands(src.count, bands, src.name)
        self.unique = sorted(set(self.bands))
        flags = [src.mask_flag_enums[b - 1] for b in self.unique]
        self.has_nodata = src.nodata is not None or any(MaskFlags.all_valid not in f for f in flags)
        dtypes = {src.dtypes[b - 1] for b in self.unique}
        self.stretch = None if dtypes == {"uint8"} else self._stretch_limits()

    def _stretch_limits(self) -> list[tuple[float, float]]:
        """2-98 percentile limits per band from a decimated read (overviews when present)."""
        src = self.src
        scale = max(1.0, max(src.width, src.height) / 1024)
        shape = (len(self.unique), max(1, int(src.height / scale)), max(1, int(src.width / scale)))
        data = src.read(self.unique, out_shape=shape, masked=True)
        limits = []
        for band in data:
            values = band.compressed().astype(np.float64)
            values = values[np.isfinite(values)]
            lo, hi = np.percentile(values, [2, 98]) if values.size else (0.0, 1.0)
            limits.append((float(lo), float(hi) if hi > lo else float(lo) + 1.0))
        return limits

    def read(self, row0: int, row1: int, col0: int, col1: int) -> tuple[np.ndarray, np.ndarray | None]:
        from rasterio.windows import Window

        window = Window(col0, row0, col1 - col0, row1 - row0)
        data = self.src.read(self.unique, window=window)
        valid = self.src.dataset_mask(window=window) > 0 if self.has_nodata else None
        if self.stretch is not None:
            out = np.empty(data.shape, np.uint8)
            for i, (lo, hi) in enumerate(self.stretch):
                band = np.nan_to_num(data[i].astype(np.float32), nan=lo)
                out[i] = np.clip((band - lo) * (255.0 / (hi - lo)), 0, 255)
            data = out
        rgb = np.stack([data[self.unique.index(b)] for b in self.bands], axis=-1)
        return rgb, valid


def output_nodata(reader: SceneReader) -> int | None:
    if not reader.has_nodata:
        return None
    value = reader.src.nodata
    if value is not None and float(value).is_integer() and 1 <= value <= 254:
        return int(value)
    return 1


def _profile(src, nodata: int | None) -> dict:
    return dict(driver="GTiff", width=src.width, height=src.height, count=1, dtype="uint8",
                crs=src.crs, transform=src.transform, nodata=nodata, tiled=True,
                blockxsize=BLOCK, blockysize=BLOCK, compress="deflate", predictor=2, BIGTIFF="IF_SAFER")


class _Output:
    """One single-band output GeoTIFF, written block row by block row to a temp file, then renamed."""

    def __init__(self, path: Path, src, nodata: int | None, description: str, tags: dict, cog: bool,
                 resampling: str):
        import rasterio

        self.path, self.cog, self.resampling = path, cog, resampling
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.tif")
        self.dst = rasterio.open(self.tmp, "w", **_profile(src, nodata))
        self.dst.set_band_description(1, description)
        self.dst.update_tags(**{k: str(v) for k, v in tags.items()})

    def write(self, rows: np.ndarray, row0: int, col0: int) -> None:
        from rasterio.windows import Window
        self.dst.write(rows, 1, window=Window(col0, row0, rows.shape[1], rows.shape[0]))

    def commit(self) -> Path:
        import rasterio.shutil
        self.dst.close()
        if self.cog:
            cog_tmp = self.tmp.with_name(self.tmp.name + ".cog")
            try:
                rasterio.shutil.copy(self.tmp, cog_tmp, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=BLOCK,
                                     PREDICTOR="YES", BIGTIFF="IF_SAFER", OVERVIEW_RESAMPLING=self.resampling)
                os.replace(cog_tmp, self.path)
            finally:
                for leftover in (cog_tmp, self.tmp):
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()
        else:
            os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.dst.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


def _open_scene(path: Path):
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if not path.exists():
        raise BadInputError("file not found", "Check the path.", path)
    if path.stat().st_size == 0:
        raise BadInputError("file is empty (0 bytes)", "Re-export or re-download it.", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
    except (RasterioIOError, OSError) as exc:
        raise BadInputError(f"cannot open as a raster ({exc})", "The file may be truncated or corrupt.", path) from exc
    if src.width * src.height > MAX_SCENE_PIXELS:
        src.close()
        raise BadInputError(f"raster is {src.width}x{src.height} pixels, over the "
                            f"{MAX_SCENE_PIXELS / 1e9:.0f} GP scene limit (a corrupt or hostile header?)",
                            "Set ROADSEG_MAX_SCENE_PIXELS if the scene is real.", path)
    return src


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
    outputs: dict[str, _Output] = {}
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), _open_scene(path) as src:
        reader = SceneReader(src, bands)
        nodata = output_nodata(reader)
        tags = dict(tags or {}, threshold=threshold, source=path.name)
        try:
            if write_probability:
                outputs["probability"] = _Output(out_dir / f"{path.stem}_probability.tif", src, nodata,
                                                 "road probability x 255", tags, cog, "AVERAGE")
            if write_mask:
                outputs["mask"] = _Output(out_dir / f"{path.stem}_mask.tif", src, nodata,
                                          "road mask (255 road, 0 other)", tags, cog, "NEAREST")
            result = SceneResult(path, src.width, src.height)
            histogram = _stream(reader, outputs, batch_fn, tile, overlap, batch_size, threshold, nodata,
                                cancel, progress, stripe_width, result)
            for name, output in outputs.items():
                setattr(result, name, output.commit())
        except (RasterioError, OSError) as exc:
            for output in outputs.values():
                output.discard()
            raise BadInputError(f"reading or writing the scene failed ({exc})",
                                "The file may be truncated or corrupt, or the disk full.", path) from exc
        except BaseException:
            for output in outputs.values():
                output.discard()
            raise
    from .predict import _ENTROPY
    total = histogram.sum()
    result.uncertainty = float(histogram @ _ENTROPY / total) if total else 0.0
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
