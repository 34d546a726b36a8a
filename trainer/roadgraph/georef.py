"""Stage 4: pixel paths -> map coordinates, and lengths/widths in metres.

Projected CRS: planar distances times the CRS's linear unit (feet become metres).
Geographic CRS (degrees): great-circle distances (haversine on the WGS84 mean radius),
so a road's length is right at any latitude without reprojecting the scene.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


def pixel_centres_to_map(transform, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """N x 2 map coordinates (x, y) of pixel centres: the affine applied to whole arrays."""
    a, b, c, d, e, f = tuple(transform)[:6]
    x, y = np.asarray(cols, float) + 0.5, np.asarray(rows, float) + 0.5
    return np.column_stack([a * x + b * y + c, d * x + e * y + f])


class Georeference:
    """Measures pixel paths of one raster in metres."""

    def __init__(self, transform, crs=None):
        self.transform = transform
        self.crs = crs
        self.geographic = bool(crs is not None and crs.is_geographic)
        factor = 1.0
        if crs is not None and not self.geographic:
            try:
                factor = float(crs.linear_units_factor[1])
            except Exception:  # a CRS without linear units (e.g. engineering): take map units as metres
                factor = 1.0
        self.unit_m = factor

    def path_length_m(self, pts: np.ndarray) -> float:
        if len(pts) < 2:
            return 0.0
        xy = pixel_centres_to_map(self.transform, pts[:, 0], pts[:, 1])
        if self.geographic:
            return float(_haversine(xy[:-1], xy[1:]).sum())
        return float(np.hypot(*np.diff(xy, axis=0).T).sum() * self.unit_m)

    def pixel_size_m(self, row: float, col: float) -> float:
        """Side of a square with the area of one pixel at (row, col), in metres."""
        here = pixel_centres_to_map(self.transform, [row, row, row + 1], [col, col + 1, col])
        if self.geographic:
            dx, dy = _haversine(here[0:1], here[1:2])[0], _haversine(here[0:1], here[2:3])[0]
            return float(np.sqrt(dx * dy))
        a, b, _, d, e, _ = tuple(self.transform)[:6]
        return float(np.sqrt(abs(a * e - b * d)) * self.unit_m)


def _haversine(lonlat1: np.ndarray, lonlat2: np.ndarray) -> np.ndarray:
    lon1, lat1 = np.radians(lonlat1).T
    lon2, lat2 = np.radians(lonlat2).T
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
