"""Chips that share a CRS, pasted onto one grid so that their roads become ONE network.

Neighbouring chips of a scene (``import-scene`` chips, a workspace's GeoTIFF tiles) each hold a
piece of the same roads. Vectorised one by one they give separate networks whose ends stop at
every chip border; pasted onto one grid first (binarised, the larger value where chips overlap)
they are traced as one raster, block by block like a scene (``vectorize``), so a road crossing a
chip border is one edge with a node shared where edges meet.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ..imageio import RoadRule

MAX_MOSAIC_PIXELS = 4_000_000_000   # a grid this big is chips far apart (another city): not one network


@dataclass
class Placed:
    """A mask and where it lies: its own georeferencing or its image tile's."""
    path: Path
    transform: object   # affine.Affine
    crs: object         # rasterio CRS


def placement(mask: Path, georeference: tuple | None = None) -> tuple | None:
    """(transform, crs) of ``mask``: its own when it has a CRS, else ``georeference``'s when given,
    else None (no CRS: it cannot share a grid with other chips)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(mask) as src:
            if src.crs is not None:
                return src.transform, src.crs
    if georeference is not None and georeference[1] is not None:
        return georeference
    return None


def crs_label(crs) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else (crs.to_string()[:40] or "a custom CRS")


def mosaic(chips: list[Placed], target: Path, threshold: float | None = None) -> Path:
    """Write the chips' road masks (0/255, binarised as ``read_mask`` does) onto one grid in ``target``,
    a tiled GeoTIFF with the pixel size of the first chip; where chips overlap, road wins."""
    import rasterio
    from affine import Affine
    from rasterio.transform import array_bounds
    from rasterio.warp import Resampling, reproject
    from rasterio.windows import Window, from_bounds

    first = chips[0].transform
    res_x, res_y = math.hypot(first.a, first.d), math.hypot(first.b, first.e)
    bounds = []
    for chip in chips:
        with rasterio.open(chip.path) as src:
            height, width = src.height, src.width
        bounds.append(_bounds_of(array_bounds(height, width, chip.transform)))
    west, south = min(b[0] for b in bounds), min(b[1] for b in bounds)
    east, north = max(b[2] for b in bounds), max(b[3] for b in bounds)
    width, height = math.ceil((east - west) / res_x - 1e-6), math.ceil((north - south) / res_y - 1e-6)
    if width * height > MAX_MOSAIC_PIXELS:
        raise BadInputError(f"these {len(chips)} masks in {crs_label(chips[0].crs)} span {width} x {height} px, "
                            f"too far apart to be one network", "Vectorise them with --no-merge.", chips[0].path)
    transform = Affine(res_x, 0.0, west, 0.0, -res_y, north)
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="uint8", crs=chips[0].crs,
                   transform=transform, nodata=None, tiled=True, blockxsize=512, blockysize=512,
                   compress="deflate", BIGTIFF="IF_SAFER")
    with rasterio.open(target, "w+", **profile) as dst:
        for chip, (w, s, e, n) in zip(chips, bounds):
            window = from_bounds(w, s, e, n, transform=transform).round_offsets().round_lengths()
            window = window.intersection(Window(0, 0, width, height))
            pasted = np.zeros((window.height, window.width), np.uint8)
            reproject(_road_values(chip.path, threshold), pasted, src_transform=chip.transform, src_crs=chip.crs,
                      dst_transform=dst.window_transform(window), dst_crs=chip.crs, resampling=Resampling.nearest)
            dst.write(np.maximum(dst.read(1, window=window), pasted), 1, window=window)
    return target


def _bounds_of(bounds: tuple) -> tuple:
    """(west, south, east, north), also for a grid whose rows run south to north."""
    x0, y0, x1, y1 = bounds
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _road_values(path: Path, threshold: float | None) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        values = src.read(1)
        valid = values != src.nodata if src.nodata is not None and not np.isnan(src.nodata) else \
            np.isfinite(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
        rule = RoadRule(values.dtype, RoadRule.maximum(values[valid]), threshold)
    return np.where(rule.apply(values) & valid, 255, 0).astype(np.uint8)


def group_by_crs(chips: list[Placed]) -> list[list[Placed]]:
    """Chips that share a CRS, in the order their CRS first appears."""
    groups: dict[str, list[Placed]] = {}
    for chip in chips:
        groups.setdefault(chip.crs.to_wkt(), []).append(chip)
    return list(groups.values())


def touching_groups(chips: list[Placed]) -> list[list[Placed]]:
    """Chips of one CRS split into areas of chips that touch or overlap (within a pixel): tiles of two
    scenes far apart are two networks, not one grid mostly empty between them."""
    import rasterio
    from rasterio.transform import array_bounds
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    boxes = []
    for chip in chips:
        with rasterio.open(chip.path) as src:
            west, south, east, north = _bounds_of(array_bounds(src.height, src.width, chip.transform))
        pad = math.hypot(chip.transform.a, chip.transform.d)   # a pixel: chips that abut touch
        boxes.append((west - pad, south - pad, east + pad, north + pad))
    box = np.asarray(boxes, float).reshape(-1, 4)
    rows, cols = [], []
    for i in range(len(box)):
        near = np.flatnonzero((box[:, 0] <= box[i, 2]) & (box[i, 0] <= box[:, 2]) &
                              (box[:, 1] <= box[i, 3]) & (box[i, 1] <= box[:, 3]))
        rows += [i] * len(near)
        cols += near.tolist()
    count, label = connected_components(coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(box),) * 2),
                                        directed=False)
    areas: dict[int, list[Placed]] = {}
    for chip, area in zip(chips, label.tolist()):   # in the chips' order
        areas.setdefault(area, []).append(chip)
    return list(areas.values())
