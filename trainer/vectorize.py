"""Road vectors from a predicted raster: polygons and skeletonised centre lines as GeoJSON.

The raster is processed in blocks (with a halo so fragments and skeletons are judged
with context), so memory does not grow with the scene. Features are cut at block
edges. Fragments smaller than ``min_area_px`` pixels are dropped. Coordinates are in
the scene's CRS (named in a ``crs`` member, which QGIS and GDAL read) or in EPSG:4326
with ``wgs84=True`` (RFC 7946 GeoJSON).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .fsutil import atomic_writer

VECTOR_BLOCK = 4096
HALO = 64


@dataclass
class VectorResult:
    polygons: Path
    lines: Path
    polygon_count: int
    line_count: int


def _crs_member(crs) -> dict | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    name = f"urn:ogc:def:crs:EPSG::{epsg}" if epsg else crs.to_wkt()
    return {"type": "name", "properties": {"name": name}}


class _FeatureWriter:
    """Streams a GeoJSON FeatureCollection to disk (atomically) one feature at a time."""

    def __init__(self, path: Path, crs, wgs84: bool):
        self.path, self.crs, self.wgs84, self.count = path, crs, wgs84, 0
        self._ctx = atomic_writer(path, "w")
        self.fh = self._ctx.__enter__()
        head = {"type": "FeatureCollection", "name": path.stem}
        member = None if wgs84 else _crs_member(crs)
        if member:
            head["crs"] = member
        self.fh.write(json.dumps(head)[:-1] + ', "features": [\n')
        self.digits = 7 if (wgs84 or (crs is not None and crs.is_geographic)) else 3

    def add(self, geometry: dict, properties: dict) -> None:
        if self.wgs84 and self.crs is not None:
            from rasterio.warp import transform_geom
            geometry = transform_geom(self.crs, "EPSG:4326", geometry)
        geometry = {"type": geometry["type"], "coordinates": _round(geometry["coordinates"], self.digits)}
        feature = {"type": "Feature", "id": self.count, "properties": properties, "geometry": geometry}
        self.fh.write((",\n" if self.count else "") + json.dumps(feature, separators=(",", ":")))
        self.count += 1

    def close(self, error: BaseException | None = None) -> None:
        if error is None:
            self.fh.write("\n]}\n")
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(type(error), error, error.__traceback__)


def _round(coords, digits: int):
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), digits) for c in coords]
    return [_round(c, digits) for c in coords]


def _blocks(height: int, width: int, size: int) -> Iterator[tuple[int, int, int, int]]:
    for row0 in range(0, height, size):
        for col0 in range(0, width, size):
            yield row0, min(row0 + size, height), col0, min(col0 + size, width)


def _ring_area(ring) -> float:
    x, y = np.asarray(ring, dtype=np.float64).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def vectorize_raster(raster: str | os.PathLike, out_dir: str | os.PathLike, *, road_min_value: int = 128,
                     min_area_px: int = 64, wgs84: bool = False, stem: str | None = None,
                     block: int = VECTOR_BLOCK) -> VectorResult:
    """Write ``<stem>_roads.geojson`` (polygons) and ``<stem>_centerlines.geojson`` from a mask/probability raster.

    Road pixels are valid pixels whose value is >= ``road_min_value`` (128 for a 0/255 mask).
    """
    import rasterio
    from rasterio import features, windows
    from skimage.morphology import skeletonize

    raster, out_dir = Path(raster), Path(out_dir)
    stem = stem or raster.stem.removesuffix("_mask").removesuffix("_probability")
    with rasterio.open(raster) as src:
        polygons = _FeatureWriter(out_dir / f"{stem}_roads.geojson", src.crs, wgs84)
        lines = _FeatureWriter(out_dir / f"{stem}_centerlines.geojson", src.crs, wgs84)
        pixel_area = abs(src.transform.a * src.transform.e - src.transform.b * src.transform.d)
        try:
            for row0, row1, col0, col1 in _blocks(src.height, src.width, block):
                # read with a halo so small-fragment removal and skeletons see past the block edge
                h0, h1 = max(0, row0 - HALO), min(src.height, row1 + HALO)
                w0, w1 = max(0, col0 - HALO), min(src.width, col1 + HALO)
                window = windows.Window(w0, h0, w1 - w0, h1 - h0)
                values = src.read(1, window=window)
                road = values >= road_min_value
                if src.nodata is not None:
                    road &= values != src.nodata
                if not road.any():
                    continue
                road = drop_small_components(road, min_area_px)
                core = (slice(row0 - h0, row1 - h0), slice(col0 - w0, col1 - w0))
                core_road = np.ascontiguousarray(road[core])
                core_transform = windows.transform(windows.Window(col0, row0, col1 - col0, row1 - row0),
                                                   src.transform)
                for geometry, _ in features.shapes(core_road.astype(np.uint8), mask=core_road,
                                                   connectivity=8, transform=core_transform):
                    area = _ring_area(geometry["coordinates"][0]) - sum(
                        _ring_area(hole) for hole in geometry["coordinates"][1:])
                    polygons.add(geometry, {"class": "road", "area": round(area, 3),
                                            "area_px": int(round(area / pixel_area)) if pixel_area else None})
                skeleton = skeletonize(road)
                # trace the core plus one pixel beyond it on the bottom/right, so lines join across blocks
                extent = (slice(row0 - h0, min(row1 + 1, h1) - h0), slice(col0 - w0, min(col1 + 1, w1) - w0))
                for path in trace_skeleton(skeleton[extent], core_rows=row1 - row0, core_cols=col1 - col0):
                    coords = pixel_centres_to_map(src.transform, path[:, 0] + row0, path[:, 1] + col0)
                    length = float(np.sum(np.hypot(*np.diff(coords, axis=0).T)))
                    lines.add({"type": "LineString", "coordinates": coords.tolist()}, {"class": "road", "length": round(length, 3)})
        except BaseException as exc:
            polygons.close(exc)
            lines.close(exc)
            raise
        polygons.close()
        lines.close()
    return VectorResult(polygons.path, lines.path, polygons.count, lines.count)


def pixel_centres_to_map(transform, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """N x 2 map coordinates of pixel centres (the affine applied by hand, for whole arrays)."""
    a, b, c, d, e, f = transform[:6]
    x, y = cols + 0.5, rows + 0.5
    return np.column_stack([a * x + b * y + c, d * x + e * y + f])


def drop_small_components(road: np.ndarray, min_area_px: int) -> np.ndarray:
    """Remove 8-connected groups of road pixels smaller than ``min_area_px``."""
    from scipy import ndimage

    if min_area_px <= 1:
        return road
    labels, count = ndimage.label(road, structure=np.ones((3, 3), bool))
    if not count:
        return road
    keep = np.bincount(labels.ravel()) >= min_area_px
    keep[0] = False
    return keep[labels]


_FORWARD = ((0, 1), (1, -1), (1, 0), (1, 1))


def trace_skeleton(skeleton: np.ndarray, core_rows: int | None = None, core_cols: int | None = None,
                   tolerance: float = 1.0) -> list[np.ndarray]:
    """Polylines ((row, col) arrays) along an 8-connected one-pixel-wide skeleton.

    Edges between two pixels outside the core (the extra bottom row / right column) are
    left to the next block. Diagonal steps that shortcut a 4-connected corner are skipped,
    so corners make no tiny triangles. Lines are simplified (Douglas-Peucker, ``tolerance`` px).
    """
    from skimage.measure import approximate_polygon

    core_rows = skeleton.shape[0] if core_rows is None else core_rows
    core_cols = skeleton.shape[1] if core_cols is None else core_cols
    rows, cols = np.nonzero(skeleton)
    index = {(int(r), int(c)): i for i, (r, c) in enumerate(zip(rows, cols))}
    neighbours: list[list[int]] = [[] for _ in range(len(index))]
    for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
        for dr, dc in _FORWARD:
            j = index.get((r + dr, c + dc))
            if j is None:
                continue
            if not (r < core_rows and c < core_cols) and not (r + dr < core_rows and c + dc < core_cols):
                continue
            if dr and dc and ((r, c + dc) in index or (r + dr, c) in index):
                continue
            neighbours[i].append(j)
            neighbours[j].append(i)
    visited: set[tuple[int, int]] = set()
    paths = []

    def walk(start: int, nxt: int) -> list[int]:
        path = [start, nxt]
        visited.add((min(start, nxt), max(start, nxt)))
        previous, current = start, nxt
        while len(neighbours[current]) == 2:
            following = neighbours[current][0] if neighbours[current][1] == previous else neighbours[current][1]
            edge = (min(current, following), max(current, following))
            if edge in visited:
                break
            visited.add(edge)
            path.append(following)
            previous, current = current, following
        return path

    order = sorted(range(len(neighbours)), key=lambda i: len(neighbours[i]) == 2)  # ends/junctions first
    for i in order:
        for j in neighbours[i]:
            if (min(i, j), max(i, j)) not in visited:
                path = walk(i, j)
                points = np.column_stack([rows[path], cols[path]]).astype(np.float64)
                paths.append(approximate_polygon(points, tolerance) if len(points) > 2 else points)
    return paths
