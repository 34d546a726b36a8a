"""Ground size of a pixel for georeferenced tiles, so widths can be shown in metres too."""

from __future__ import annotations

import math
from pathlib import Path

GEOREFERENCED_SUFFIXES = {".tif", ".tiff"}
METRES_PER_DEGREE = 111_320.0  # at the equator; scaled by cos(latitude) for longitude


def pixel_size_m(path: str | Path) -> float | None:
    """Mean ground size of one pixel in metres, or None (not georeferenced, unknown units)."""
    if Path(path).suffix.lower() not in GEOREFERENCED_SUFFIXES:
        return None
    try:
        import rasterio

        with rasterio.open(path) as src:
            crs, (res_x, res_y), bounds = src.crs, src.res, src.bounds
    except Exception:  # noqa: BLE001 - no georeferencing is not an error here
        return None
    if crs is None or not res_x or not res_y:
        return None
    if crs.is_geographic:
        latitude = math.radians((bounds.top + bounds.bottom) / 2)
        return (res_x * METRES_PER_DEGREE * math.cos(latitude) + res_y * METRES_PER_DEGREE) / 2
    try:
        metres = crs.linear_units_factor[1]
    except Exception:  # noqa: BLE001 - units unknown: do not guess
        return None
    return (res_x + res_y) / 2 * metres
