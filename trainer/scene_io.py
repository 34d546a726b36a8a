"""Raster I/O for whole-scene prediction: RGB windows with validity in, single-band GeoTIFFs out.

Outputs are tiled, DEFLATE-compressed GeoTIFFs (COG via GDAL's COG driver when asked),
written to a temp file beside the target and renamed into place when complete.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np

from .errors import BadInputError
from .imageio import gdal_detail

BLOCK = 512                # output GeoTIFF block size; writes are whole block rows
MAX_SCENE_PIXELS = int(os.environ.get("ROADSEG_MAX_SCENE_PIXELS", 20_000_000_000))  # 141k x 141k


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


class GeoTiffOutput:
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


def open_scene(path: Path):
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
        raise BadInputError(f"cannot open as a raster ({gdal_detail(exc)})", "The file may be truncated or corrupt.",
                            path) from exc
    if src.width * src.height > MAX_SCENE_PIXELS:
        src.close()
        raise BadInputError(f"raster is {src.width}x{src.height} pixels, over the "
                            f"{MAX_SCENE_PIXELS / 1e9:.0f} GP scene limit (a corrupt or hostile header?)",
                            "Set ROADSEG_MAX_SCENE_PIXELS if the scene is real.", path)
    return src
