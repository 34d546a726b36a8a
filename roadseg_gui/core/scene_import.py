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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from trainer.errors import BadInputError

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


def import_scene(scene: str | os.PathLike, workspace_root: str | os.PathLike, chip: int = 512,
                 overlap: int = 0, progress: ProgressFn | None = None,
                 cancel: Callable[[], bool] | None = None, name: str | None = None) -> SceneImportReport:
    """Write ``<name>_r<row>_c<col>.tif`` chips into WORKSPACE/unlabeled/ (row, col: chip indices)."""
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.windows import Window, transform as window_transform

    scene = Path(scene)
    root = Path(workspace_root)
    if not scene.is_file():
        raise BadInputError("scene file not found", "Check the path.", scene)
    ensure_layout(root)
    out_dir = root / UNLABELED
    name = name or scene.stem
    try:
        src = rasterio.open(scene)
    except (RasterioError, OSError) as exc:
        raise BadInputError(f"cannot open as a raster ({exc})", "Give a GeoTIFF or another GDAL raster.",
                            scene) from exc
    with src:
        rows = chip_offsets(src.height, chip, overlap)
        cols = chip_offsets(src.width, chip, overlap)
        report = SceneImportReport(str(scene), total=len(rows) * len(cols))
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

    data = src.read(window=window)
    chip_profile = dict(profile, width=int(window.width), height=int(window.height), transform=transform)
    if window.width < 256 or window.height < 256:  # GTiff blocks must fit inside a tiled raster
        chip_profile.update(tiled=False)
        chip_profile.pop("blockxsize", None)
        chip_profile.pop("blockysize", None)
    tmp = target.with_name(f".{target.name}.part")  # dot files are not tiles: scan ignores them
    try:
        with rasterio.open(tmp, "w", **chip_profile) as dst:
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
