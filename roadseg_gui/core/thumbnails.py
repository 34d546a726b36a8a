"""Thumbnail cache under .roadseg/thumbs, made on demand (callers run it in worker threads).

A thumbnail is keyed by the image's file name, modification time and byte size:
a changed file gets a new thumbnail, and accepting a tile (which moves its image
from unlabeled/ into {split}/images/ but keeps its name and mtime) keeps it.
Decoding is cheap where the format allows: JPEG decodes at reduced scale
(``draft``), GeoTIFFs read decimated through their overviews.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainer import imageio
from trainer.errors import BadInputError
from trainer.fsutil import atomic_write_bytes

from .layout import state_dir

THUMB_SIZE = 128
_RASTER_SUFFIXES = {".tif", ".tiff"}


class ThumbnailCache:
    """Thumbnails of one workspace's images, ``size`` pixels on the longer side."""

    def __init__(self, root: str | os.PathLike, size: int = THUMB_SIZE):
        self.root = Path(root)
        self.size = int(size)
        self.directory = state_dir(self.root) / "thumbs"

    def path_for(self, image: str | os.PathLike) -> Path:
        """Where the thumbnail of ``image`` as it is now lives (it may not exist yet)."""
        image = Path(image)
        stat = image.stat()
        key = f"{image.name}|{stat.st_mtime_ns}|{stat.st_size}|{self.size}"
        return self.directory / f"{hashlib.sha1(key.encode('utf-8')).hexdigest()}.jpg"

    def cached(self, image: str | os.PathLike) -> Path | None:
        """The thumbnail if it is already made (no decoding), else None."""
        try:
            path = self.path_for(image)
        except FileNotFoundError:
            return None
        return path if path.exists() else None

    def get(self, image: str | os.PathLike) -> Path:
        """The thumbnail file, made now if needed; raises BadInputError for an unreadable image."""
        image = Path(image)
        try:
            path = self.path_for(image)
        except FileNotFoundError as exc:
            raise BadInputError("file not found", "Rescan the workspace.", image) from exc
        if not path.exists():
            rgb = make_thumbnail(image, self.size)
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, format="JPEG", quality=85)
            atomic_write_bytes(path, buf.getvalue())
        return path

    def load(self, image: str | os.PathLike) -> np.ndarray:
        """The thumbnail as uint8 RGB (made if needed)."""
        with Image.open(self.get(image)) as im:
            return np.asarray(im.convert("RGB"))

    def prune(self, keep: set[Path]) -> int:
        """Delete thumbnails not in ``keep``; returns how many were removed."""
        removed = 0
        for entry in os.scandir(self.directory) if self.directory.exists() else ():
            if entry.name.endswith(".jpg") and Path(entry.path) not in keep:
                os.unlink(entry.path)
                removed += 1
        return removed


def thumbnail(workspace, stem: str, size: int = THUMB_SIZE) -> np.ndarray:
    """A tile's cached thumbnail as uint8 RGB (made if needed; call from a worker thread).

    An unreadable image marks the tile as error in the workspace and raises BadInputError."""
    try:
        return ThumbnailCache(workspace.root, size).load(workspace.image_path(stem))
    except BadInputError as exc:
        workspace.mark_error(stem, exc.what)
        raise


def overview(image: str | os.PathLike, size: int) -> tuple[np.ndarray, tuple[int, int]] | None:
    """A quick look at a big image before its full decode: (uint8 RGB at most ``size`` on the longer
    side, the full (height, width)); None when the image is no bigger than ``size`` (its full decode
    is as quick) or cannot be read here (the full load then says why)."""
    path = Path(image)
    try:
        shape = _full_shape(path)
        if shape is None or max(shape) <= size:
            return None
        return make_thumbnail(path, size), shape
    except (BadInputError, OSError, ValueError):
        return None


def _full_shape(path: Path) -> tuple[int, int] | None:
    """(height, width) from the file's header, without decoding pixels."""
    if path.suffix.lower() in _RASTER_SUFFIXES:
        try:
            import rasterio

            with rasterio.open(path) as src:
                return src.height, src.width
        except Exception:   # noqa: BLE001 - not a GeoTIFF rasterio reads: try PIL
            pass
    try:
        with Image.open(path) as im:
            return im.height, im.width
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def make_thumbnail(image: str | os.PathLike, size: int = THUMB_SIZE) -> np.ndarray:
    """Decode ``image`` at reduced size: uint8 RGB, at most ``size`` on the longer side."""
    path = Path(image)
    if path.exists() and path.stat().st_size == 0:
        raise BadInputError("file is empty (0 bytes)", "Re-export or re-download it.", path)
    if path.suffix.lower() in _RASTER_SUFFIXES:
        rgb = _raster_thumbnail(path, size)
        if rgb is not None:
            return rgb
    try:
        with Image.open(path) as im:
            if im.mode in ("RGB", "L", "RGBA", "P", "LA", "CMYK", "YCbCr"):
                im.draft("RGB", (size, size))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
                imageio.check_pixels(path, im.width, im.height)  # after draft: what will be decoded
                im = im.convert("RGB")
                im.thumbnail((size, size), Image.Resampling.BILINEAR)
                return np.asarray(im)
    except Image.DecompressionBombError as exc:
        raise BadInputError("image is too large to decode for a thumbnail (a possible decompression bomb)",
                            "Cut it into chips with `roadseg import-scene`.", path) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadInputError(f"not a readable image ({exc.__class__.__name__}: {exc})",
                            "The file may be truncated or corrupt; re-export it.", path) from exc
    # 16-bit, float and other modes: the full reader stretches them to 8 bits
    return _shrink(imageio.read_image(path), size)


def _raster_thumbnail(path: Path, size: int) -> np.ndarray | None:
    try:
        import rasterio
        from rasterio.enums import Resampling
        from rasterio.errors import RasterioError
    except ImportError:
        return None
    try:
        with rasterio.open(path) as src:
            scale = max(src.width, src.height) / size
            out_h = max(1, round(src.height / max(scale, 1)))
            out_w = max(1, round(src.width / max(scale, 1)))
            bands = list(range(1, min(src.count, 3) + 1))
            data = src.read(bands, out_shape=(len(bands), out_h, out_w), resampling=Resampling.average)
            valid = src.dataset_mask(out_shape=(out_h, out_w)) > 0
    except (RasterioError, OSError, ValueError) as exc:
        raise BadInputError(f"cannot read raster ({exc})", "The file may be truncated or corrupt.", path) from exc
    return imageio.to_rgb8(np.moveaxis(data, 0, -1), valid if not valid.all() else None)


def _shrink(rgb: np.ndarray, size: int) -> np.ndarray:
    im = Image.fromarray(rgb)
    im.thumbnail((size, size), Image.Resampling.BILINEAR)
    return np.asarray(im)
