"""Reading any satellite image as 8-bit RGB and any road mask as a boolean array.

Images: JPEG, PNG and TIFF/GeoTIFF of any size and band count. Gray becomes RGB,
alpha is dropped, 16-bit and float imagery get a per-band 2-98 percentile stretch.
Masks: 1- or 3-channel, 0/255, 0/1 or soft-edged, 8- or 16-bit, or float probabilities; road is
channel 0 at or over half its range (>= 128 for 8 bits, >= 0.5 for probabilities 0..1), or == 1 when
the mask's maximum is 1 (the seed's and other sources' conventions): ``RoadRule``.

TIFFs are read with rasterio (SageMaker installs it from trainer/requirements.txt). Without it,
PIL reads JPEG, PNG and 8-bit RGB/gray TIFFs; a 16-bit colour or multi-band TIFF is then refused
for the whole run (RasterioNeededError), never skipped, so no environment trains on fewer pairs.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import BadInputError, DataError
from .fsutil import atomic_write_bytes

# Whole-image reads above this are refused (decompression bombs, or a scene that
# should be read window by window). 100 MP is a 10,000 x 10,000 tile.
MAX_IMAGE_PIXELS = int(os.environ.get("ROADSEG_MAX_PIXELS", 100_000_000))

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff"}
MASK_SUFFIX = ".png"
_RASTERIO_SUFFIXES = {".tif", ".tiff", ".img", ".vrt", ".jp2"}

# PIL's own guard follows our cap (it raises at twice it); our checks come first with a clearer message.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
warnings.simplefilter("ignore", Image.DecompressionBombWarning)
# A plain PNG/TIFF tile has no georeferencing, and a nodata value beside an alpha band is common: both are
# ordinary here, so rasterio's NotGeoreferencedWarning / NodataShadowWarning are not shown to people.
# (By message, so that this module does not import rasterio, which the SageMaker image may lack.)
warnings.filterwarnings("ignore", message="Dataset has no geotransform, gcps, or rpcs")
warnings.filterwarnings("ignore", message="The dataset's nodata attribute is shadowing the alpha band")


class RasterioNeededError(DataError):
    """A TIFF that only rasterio reads, where rasterio is not installed: a problem of the environment,
    so it stops the run instead of skipping the tile (a BadInputError would skip it)."""


_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _rasterio_needed(path: Path, exc: Exception) -> RasterioNeededError:
    what = "a TIFF that Pillow cannot decode"
    try:
        from PIL.TiffImagePlugin import ImageFileDirectory_v2

        with open(path, "rb") as fh:
            header = fh.read(8)
            if header[:4] in _TIFF_MAGIC[:2]:  # classic TIFF: read the first IFD's tags
                ifd = ImageFileDirectory_v2(header)
                fh.seek(ifd.next)
                ifd.load(fh)
                bits, bands = ifd.get(258, (8,)), ifd.get(277, 1)
                what = f"a {bands}-band {max(bits)}-bit TIFF, which Pillow cannot decode"
    except Exception:  # the description is a courtesy; the refusal stands without it
        pass
    return RasterioNeededError(
        f"{what} and rasterio is not installed here",
        "Install rasterio (pip install rasterio; SageMaker installs it from trainer/requirements.txt) "
        "so that every environment trains on the same pairs.", path)


def gdal_detail(exc: BaseException) -> str:
    """GDAL's own reason from a rasterio error chain ("TIFFReadEncodedTile() failed"), never rasterio's
    "Read failed. See previous exception for details.", which names no file and points at nothing shown."""
    found, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = " ".join(str(exc).split())
        if text and "See previous exception" not in text:
            found.append(text)
        exc = exc.__cause__ or exc.__context__
    return found[-1].rstrip(".") if found else "GDAL gave no reason"


def unreadable_raster(path: str | os.PathLike, exc: BaseException) -> BadInputError:
    """One sentence for a raster GDAL cannot open or decode: which file, GDAL's reason, what to do."""
    return BadInputError(f"cannot be read as a raster; it may be truncated or corrupt (GDAL: {gdal_detail(exc)})",
                         "Re-export or re-download it.", path)


def _is_tiff(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in _TIFF_MAGIC
    except OSError:
        return False


def is_image_file(path: str | os.PathLike) -> bool:
    name = os.path.basename(os.fspath(path))
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


def _check_file(path: Path) -> None:
    if not path.exists():
        raise BadInputError("file not found", "Check the path.", path)
    if path.stat().st_size == 0:
        raise BadInputError("file is empty (0 bytes)", "Re-export or re-download it.", path)


def check_pixels(path: str | os.PathLike, width: int, height: int) -> None:
    """Refuse an image whose decoded size is over MAX_IMAGE_PIXELS (decompression bombs)."""
    path = Path(path)
    if width <= 0 or height <= 0:
        raise BadInputError(f"image has no pixels ({width}x{height})", "", path)
    if width * height > MAX_IMAGE_PIXELS:
        raise BadInputError(
            f"image is {width}x{height} pixels, over the {MAX_IMAGE_PIXELS / 1e6:.0f} MP limit for one tile",
            "Cut it into chips with `roadseg import-scene`, or predict it as a scene with `roadseg predict`.",
            path,
        )


def _bomb_error(path: Path, exc: Exception) -> BadInputError:
    found = re.search(r"\((\d+) pixels\)", str(exc))  # PIL says "Image size (N pixels) exceeds limit..."
    size = f"{int(found.group(1)) / 1e6:,.0f} MP, " if found else ""
    return BadInputError(
        f"image is {size}over the {MAX_IMAGE_PIXELS / 1e6:.0f} MP limit for one tile (a possible decompression bomb)",
        "Cut it into chips with `roadseg import-scene`, or predict it as a scene with `roadseg predict`.", path)


def percentile_stretch(band: np.ndarray, valid: np.ndarray | None = None,
                       low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Stretch one band linearly so its [low, high] percentiles map to [0, 255]."""
    data = band.astype(np.float32, copy=False)
    ok = np.isfinite(data) if valid is None else (valid & np.isfinite(data))
    if not ok.any():
        return np.zeros(band.shape, np.uint8)
    sample = data[ok]
    if sample.size > 1_000_000:  # percentiles of a strided sample are plenty
        sample = sample[:: sample.size // 1_000_000]
    lo, hi = np.percentile(sample, [low, high])
    if hi <= lo:
        hi = lo + 1.0
    out = np.clip((np.nan_to_num(data, nan=lo) - lo) * (255.0 / (hi - lo)), 0, 255)
    out = out.astype(np.uint8)
    out[~ok] = 0
    return out


def to_rgb8(array: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Any H x W (x C) array to uint8 H x W x 3: gray -> RGB, extra bands dropped, stretch non-8-bit."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] == 0:
        raise BadInputError(f"unsupported image shape {array.shape}")
    bands = array.shape[2]
    if bands in (1, 2):  # gray, or gray + alpha
        array = np.repeat(array[:, :, :1], 3, axis=2)
    elif bands > 3:  # RGBA, or RGB + NIR...: the first three are taken as RGB
        array = array[:, :, :3]
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    return np.stack([percentile_stretch(array[:, :, i], valid) for i in range(3)], axis=2)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) from the file header, without decoding pixels."""
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in _RASTERIO_SUFFIXES:
        try:
            import rasterio
            with rasterio.open(path) as src:
                return src.height, src.width
        except ImportError:
            pass
        except Exception as exc:  # rasterio raises RasterioIOError and friends
            raise unreadable_raster(path, exc) from exc
    try:
        with Image.open(path) as im:
            return im.height, im.width
    except Image.DecompressionBombError as exc:
        raise _bomb_error(path, exc) from exc
    except (UnidentifiedImageError, OSError) as exc:
        if _is_tiff(path):  # only reached without rasterio
            raise _rasterio_needed(path, exc) from exc
        raise BadInputError("not a readable image", "The file may be corrupt or of another type.", path) from exc


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 H x W x 3, or raise BadInputError with a reason."""
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in _RASTERIO_SUFFIXES:
        try:
            return _read_with_rasterio(path)
        except ImportError:
            pass  # no rasterio: PIL reads 8-bit RGB/gray TIFFs and refuses the rest (RasterioNeededError)
    return _read_with_pil(path)


def _read_with_rasterio(path: Path) -> np.ndarray:
    import rasterio
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(path) as src:
            check_pixels(path, src.width, src.height)
            data = src.read()  # C x H x W
            valid = None
            if src.nodata is not None:
                valid = ~np.all(data == src.nodata, axis=0)
    except BadInputError:
        raise
    except (RasterioError, OSError, ValueError) as exc:
        raise unreadable_raster(path, exc) from exc
    return to_rgb8(np.moveaxis(data, 0, -1), valid)


def _read_with_pil(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            check_pixels(path, im.width, im.height)
            im.load()
            if im.mode in ("RGB", "L"):
                array = np.asarray(im)
            elif im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                array = np.asarray(im)
            else:  # P, RGBA, LA, CMYK, YCbCr...
                array = np.asarray(im.convert("RGB"))
    except BadInputError:
        raise
    except Image.DecompressionBombError as exc:
        raise _bomb_error(path, exc) from exc
    except UnidentifiedImageError as exc:
        if _is_tiff(path):  # a 16-bit colour or multi-band TIFF, read here only without rasterio
            raise _rasterio_needed(path, exc) from exc
        raise BadInputError(f"not a readable image ({exc.__class__.__name__}: {exc})",
                            "The file may be truncated or corrupt; re-export it.", path) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadInputError(
            f"not a readable image ({exc.__class__.__name__}: {exc})",
            "The file may be truncated or corrupt; re-export it.", path) from exc
    return to_rgb8(array)


class RoadRule:
    """Which values of a mask are road, decided once per raster from its data type and maximum, so that
    a scene read block by block is cut the same way everywhere. ``threshold`` is a fraction of the
    value range (default 0.5): 0..1 for float probabilities, 0..255 for 8 bits, 0..65535 above that.
    An integer mask whose maximum is 1 is a 0/1 mask: road is 1."""

    def __init__(self, dtype, maximum: float, threshold: float | None = None):
        dtype = np.dtype(dtype)
        fraction = 0.5 if threshold is None else float(threshold)
        if dtype == bool:
            self.cut = 0.5
        elif dtype.kind != "f" and maximum == 1:
            self.cut = 1.0
        else:
            scale = 1.0 if dtype.kind == "f" and maximum <= 1 else 255.0 if maximum <= 255 else 65535.0
            self.cut = fraction * scale

    @staticmethod
    def maximum(array: np.ndarray) -> float:
        if not array.size:
            return 0.0
        if array.dtype.kind == "f":
            finite = array[np.isfinite(array)]
            return float(finite.max()) if finite.size else 0.0
        return float(array.max())

    def apply(self, values: np.ndarray) -> np.ndarray:
        return values >= self.cut   # NaN is never road


def binarize_mask(array: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Road = channel 0 at or over half its range (``RoadRule``), or == 1 for a 0/1 mask."""
    if array.ndim == 3:
        array = array[:, :, 0]
    if array.dtype == bool:
        return array.copy()
    return RoadRule(array.dtype, RoadRule.maximum(array), threshold).apply(array)


def read_mask(path: str | os.PathLike, threshold: float | None = None) -> np.ndarray:
    """Read a road mask file as a boolean H x W array (``threshold``: see ``RoadRule``)."""
    path = Path(path)
    _check_file(path)
    try:
        with Image.open(path) as im:
            check_pixels(path, im.width, im.height)
            im.load()
            if im.mode.startswith("I;16") or im.mode in ("I", "F"):   # 16/32-bit or float: keep the values
                return binarize_mask(np.asarray(im), threshold)
            if im.mode in ("LA", "1"):
                im = im.convert("L")
            elif im.mode not in ("L", "RGB"):  # P, RGBA...: road is channel 0, not luminance
                im = im.convert("RGB")
            array = np.asarray(im)
    except BadInputError:
        raise
    except Image.DecompressionBombError as exc:
        raise _bomb_error(path, exc) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadInputError(f"not a readable mask ({exc})", "Re-export it as a PNG.", path) from exc
    return binarize_mask(array, threshold)


def encode_mask_png(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_mask_png(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Write a boolean mask as a 0/255 single-channel PNG, atomically."""
    atomic_write_bytes(path, encode_mask_png(mask))
