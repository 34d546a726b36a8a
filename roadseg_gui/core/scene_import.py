"""Cutting a big GeoTIFF scene into GeoTIFF chips in a workspace's unlabeled/ folder.

Reads window by window (never the whole scene), so scenes far larger than memory
work. Each chip keeps the scene's CRS, band count, dtype and nodata, and gets its
own shifted transform (``rasterio.windows.transform``). Chips that are entirely
nodata (by the GDAL dataset mask: nodata value, alpha band or mask band) are
skipped. Edge chips are shifted inward so every chip has the full chip size.
Re-running an import skips chips already written, so a cancelled import resumes.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from trainer.errors import BadInputError
from trainer.scene_io import MAX_SCENE_PIXELS

from .layout import UNLABELED, ensure_layout

ProgressFn = Callable[[int, int], None]   # (chips done, chips total)


@dataclass
class SceneImportReport:
    scene: str
    written: list[str] = field(default_factory=list)    # stems of new chips
    existing: int = 0                                   # already there from an earlier run
    skipped_nodata: int = 0
    total: int = 0
    cancelled: bool = False


@dataclass(frozen=True)
class ScenePlan:
    """What an import would do, known from the header alone."""

    width: int
    height: int
    rows: list
    cols: list

    @property
    def total(self) -> int:
        return len(self.rows) * len(self.cols)


def chip_offsets(length: int, chip: int, overlap: int) -> list[int]:
    """Start offsets along one axis: a stride of chip - overlap, the last chip flush with the edge."""
    if chip <= 0 or overlap < 0 or overlap >= chip:
        raise BadInputError(f"chip {chip} with overlap {overlap} does not tile",
                            "Use a chip size > 0 and an overlap smaller than the chip.")
    if length <= chip:
        return [0]
    stride = chip - overlap
    offsets = list(range(0, length - chip + 1, stride))
    if offsets[-1] + chip < length:
        offsets.append(length - chip)
    return offsets


def _open(scene: Path):
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    if not scene.is_file():
        raise BadInputError("scene file not found", "Check the path.", scene)
    try:
        with warnings.catch_warnings():  # a plain TIFF is fine here: its chips are plain too
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(scene)
    except (RasterioError, OSError) as exc:
        raise BadInputError(f"cannot open as a raster ({exc})", "Give a GeoTIFF or another GDAL raster.",
                            scene) from exc


def _plan(src, scene: Path, chip: int, overlap: int, max_pixels: int | None) -> ScenePlan:
    plan = ScenePlan(src.width, src.height, chip_offsets(src.height, chip, overlap),
                     chip_offsets(src.width, chip, overlap))
    limit = MAX_SCENE_PIXELS if max_pixels is None else max_pixels
    if plan.width * plan.height > limit:  # predict refuses the same scenes (trainer.scene_io.open_scene)
        raise BadInputError(f"raster is {plan.width}x{plan.height} pixels, over the {limit / 1e9:g} GP scene "
                            f"limit; it would make {plan.total:,} chips (a corrupt or hostile header?)",
                            "If the scene is real, raise the limit: roadseg import-scene --max-gigapixels N, or "
                            "set ROADSEG_MAX_SCENE_PIXELS before starting the app.", scene)
    return plan


def plan_scene(scene: str | os.PathLike, chip: int = 512, overlap: int = 0,
               max_pixels: int | None = None) -> ScenePlan:
    """The scene's size and chip grid from its header; BadInputError over the size limit."""
    scene = Path(scene)
    with _open(scene) as src:
        return _plan(src, scene, chip, overlap, max_pixels)


def import_scene(scene: str | os.PathLike, workspace_root: str | os.PathLike, chip: int = 512,
                 overlap: int = 0, progress: ProgressFn | None = None,
                 cancel: Callable[[], bool] | None = None, name: str | None = None,
                 max_pixels: int | None = None) -> SceneImportReport:
    """Write ``<name>_r<row>_c<col>.tif`` chips into WORKSPACE/unlabeled/ (row, col: chip indices).

    A scene over ``max_pixels`` (default: predict's MAX_SCENE_PIXELS) is refused before any chip."""
    from rasterio.errors import RasterioError
    from rasterio.windows import Window, transform as window_transform

    scene = Path(scene)
    root = Path(workspace_root)
    name = name or scene.stem
    src = _open(scene)
    with src:
        plan = _plan(src, scene, chip, overlap, max_pixels)
        rows, cols = plan.rows, plan.cols
        ensure_layout(root)
        out_dir = root / UNLABELED
        report = SceneImportReport(str(scene), total=plan.total)
        profile = src.profile.copy()
        profile.update(driver="GTiff", compress="deflate", tiled=True, blockxsize=256, blockysize=256,
                       BIGTIFF="IF_SAFER")
        for key in ("photometric", "interleave"):
            profile.pop(key, None)
        done = 0
        for r, y in enumerate(rows):
            for c, x in enumerate(cols):
                if cancel is not None and cancel():
                    report.cancelled = True
                    return report
                window = Window(x, y, min(chip, src.width - x), min(chip, src.height - y))
                stem = f"{name}_r{r:03d}_c{c:03d}"
                target = out_dir / f"{stem}.tif"
                if target.exists():
                    report.existing += 1
                else:
                    try:
                        valid = src.dataset_mask(window=window)
                        if not valid.any():
                            report.skipped_nodata += 1
                        else:
                            _write_chip(src, window, target, profile, window_transform(window, src.transform))
                            report.written.append(stem)
                    except (RasterioError, OSError) as exc:
                        raise BadInputError(f"cannot read or write chip {stem} ({exc})",
                                            "The scene may be truncated, or the disk full.", scene) from exc
                done += 1
                if progress is not None:
                    progress(done, report.total)
    return report


def _write_chip(src, window, target: Path, profile: dict, transform) -> None:
    import rasterio
    import rasterio.errors

    data = src.read(window=window)
    chip_profile = dict(profile, width=int(window.width), height=int(window.height), transform=transform)
    if window.width < 256 or window.height < 256:  # GTiff blocks must fit inside a tiled raster
        chip_profile.update(tiled=False)
        chip_profile.pop("blockxsize", None)
        chip_profile.pop("blockysize", None)
    tmp = target.with_name(f".{target.name}.part")  # dot files are not tiles: scan ignores them
    try:
        with warnings.catch_warnings():  # the first chip of a plain TIFF has the identity transform: fine
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            dst = rasterio.open(tmp, "w", **chip_profile)
        with dst:
            dst.write(data)
            try:  # keeps an alpha band marked as alpha, so the chip's own mask works
                dst.colorinterp = src.colorinterp
            except Exception:  # noqa: BLE001 - colour interpretation is cosmetic
                pass
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
