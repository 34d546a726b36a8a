"""Road vectors from a mask or probability raster of any size: a connected network and polygons.

Writes ``<stem>_network.geojson`` (LineStrings, one per edge, with ``from_node``/``to_node``
ids shared where edges meet, ``length_m`` and ``width_m``), ``<stem>_nodes.geojson`` (Points:
junctions, ends) and ``<stem>_roads.geojson`` (road polygons). The raster is read block by
block with a halo, so memory follows the block, not the scene; a road crossing a block
border is still one edge (``blocks``). A raster with no georeferencing is written in pixel
units (``length_px``/``width_px``), x = column and y = -row, as QGIS places such rasters, in a
local "pixel grid" CRS (not WGS84, which GeoJSON readers assume when none is named).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import BadInputError
from ..imageio import RoadRule, gdal_detail, unreadable_raster
from ..listing import file_problem
from .blocks import Stitcher, block_network
from .connect import bridge_source
from .geojson import OWN_GRID_CRS, PIXEL_GRID_CRS, FeatureWriter
from .georef import Georeference, pixel_centres_to_map
from .trace import DegenerateSkeletonError

VECTOR_BLOCK = 4096
HALO = 64
PIXEL_GRID = (1.0, 0.0, 0.0, 0.0, -1.0, 0.0)   # x = col, y = -row: where QGIS draws an ungeoreferenced raster


@dataclass
class VectorResult:
    polygons: Path | None
    lines: Path
    nodes: Path
    polygon_count: int
    line_count: int
    node_count: int
    units: str
    note: str | None = None   # e.g. a geotransform with no CRS: written in its own grid


def vectorize_raster(raster: str | os.PathLike, out_dir: str | os.PathLike, *, threshold: float | None = None,
                     min_area_px: int = 64, wgs84: bool = False, stem: str | None = None,
                     block: int = VECTOR_BLOCK, polygons: bool = True, georeference: tuple | None = None,
                     min_spur_px: float | None = None, merge_px: float = 3.0,
                     bridge: bool = False, probability: str | os.PathLike | None = None,
                     progress: Callable[[int, int], None] | None = None) -> VectorResult:
    """Vectorise the roads of ``raster``: valid pixels binarised as ``read_mask`` does (0/255, 0/1, 16-bit,
    or float probabilities cut at ``threshold``, a fraction of the value range: ``imageio.RoadRule``).

    ``georeference`` = (transform, crs) places a raster that has none of its own (a PNG mask
    of a GeoTIFF tile). Fragments under ``min_area_px`` pixels are dropped. ``progress(done, total)``
    is called after each block.
    ``bridge`` (a prediction's network; a label is the truth and is left as drawn): post-process each
    block's network with ``connect`` -- gaps bridged along the least-cost path over -log of the
    ``probability`` raster (same size; without one, over the mask), spurs pruned, short fragments dropped.
    """
    import rasterio
    from rasterio import windows
    from rasterio.errors import NotGeoreferencedWarning, RasterioError, RasterioIOError

    raster, out_dir = Path(raster), Path(out_dir)
    stem = stem or raster.stem.removesuffix("_mask").removesuffix("_probability")
    problem = file_problem(raster)   # before opening: opening a FIFO would wait forever
    if problem is not None:
        raise BadInputError(problem, "Give a mask image: PNG or GeoTIFF.", raster)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(raster)
    except RasterioIOError as exc:
        raise BadInputError(f"cannot be read as a raster ({gdal_detail(exc)})",
                            "Give a mask image: PNG or GeoTIFF, road >= 128.", raster) from exc
    with src:
        transform, crs = src.transform, src.crs
        if crs is None and transform.is_identity:
            transform, crs = georeference if georeference else (None, None)
        if wgs84 and crs is None:
            raise BadInputError("has no CRS, so it cannot be written in WGS84",
                                "Leave out --wgs84 (it is then written in pixel units).", raster)
        blocks = list(_blocks(src.height, src.width, block))
        try:
            rule = RoadRule(src.dtypes[0], _maximum(src, blocks), threshold)
        except RasterioError as exc:   # a truncated or corrupt block: one sentence naming the file
            raise unreadable_raster(raster, exc) from exc
        writers = _Writers(out_dir, stem, transform, crs, wgs84, polygons)
        try:
            stitcher = Stitcher(writers.edge, writers.node)
            for finished, (row0, row1, col0, col1) in enumerate(blocks):
                if progress is not None:
                    progress(finished, len(blocks))
                h0, h1 = max(0, row0 - HALO), min(src.height, row1 + HALO)
                w0, w1 = max(0, col0 - HALO), min(src.width, col1 + HALO)
                values = src.read(1, window=windows.Window(w0, h0, w1 - w0, h1 - h0))
                bridge_window = windows.Window(w0, h0, w1 - w0, h1 - h0) if bridge else None
                road = rule.apply(values) & _valid(values, src.nodata)
                if not road.any():
                    continue
                road = drop_small_components(road, min_area_px)
                core = (slice(row0 - h0, row1 - h0), slice(col0 - w0, col1 - w0))
                if writers.polygons is not None:
                    writers.add_polygons(np.ascontiguousarray(road[core]), row0, col0)
                try:
                    piece = block_network(road, core, (h0, w0), min_spur_px=min_spur_px, merge_px=merge_px,
                                          bridge=bridge_source(road, probability, bridge_window))
                except DegenerateSkeletonError as exc:
                    raise BadInputError(exc.sentence(), "Clean the mask (a road is a band a few pixels wide) and "
                                        "vectorise it again.", raster) from None
                stitcher.add_block(piece)
            stitcher.finish()
            if progress is not None:
                progress(len(blocks), len(blocks))
        except BaseException as exc:
            writers.close(exc)
            if isinstance(exc, RasterioError):   # a truncated or corrupt block: one sentence naming the file
                raise unreadable_raster(raster, exc) from exc
            raise
        writers.close()
    return writers.result()


class _Writers:
    def __init__(self, out_dir: Path, stem: str, transform, crs, wgs84: bool, polygons: bool):
        self.georef = Georeference(transform, crs) if transform is not None else None
        self.transform = transform if transform is not None else PIXEL_GRID
        # units: metres with a CRS; the grid's own units for a geotransform with no CRS; else pixels
        self.units = "px" if transform is None else "m" if crs is not None else "grid_units"
        grid = PIXEL_GRID_CRS if transform is None else OWN_GRID_CRS if crs is None else None
        self.note = None if crs is not None or transform is None else (
            "has a geotransform but no CRS, so it is written in its own grid (lengths in grid units), "
            "not placed on a map; give it a CRS (gdal_edit.py -a_srs EPSG:N) to place it")
        self.polygons = FeatureWriter(out_dir / f"{stem}_roads.geojson", crs, wgs84, grid) if polygons else None
        self.lines = FeatureWriter(out_dir / f"{stem}_network.geojson", crs, wgs84, grid)
        self.nodes = FeatureWriter(out_dir / f"{stem}_nodes.geojson", crs, wgs84, grid)

    def add_polygons(self, road: np.ndarray, row0: int, col0: int) -> None:
        from affine import Affine
        from rasterio import features

        transform = Affine(*tuple(self.transform)[:6]) @ Affine.translation(col0, row0)
        pixel_area = abs(transform.a * transform.e - transform.b * transform.d)
        for geometry, _ in features.shapes(road.astype(np.uint8), mask=road, connectivity=8, transform=transform):
            area = _ring_area(geometry["coordinates"][0]) - sum(_ring_area(h) for h in geometry["coordinates"][1:])
            self.polygons.add(geometry, {"class": "road", "area": round(area, 3),
                                         "area_px": int(round(area / pixel_area)) if pixel_area else None})

    def edge(self, u: int, v: int, pts: np.ndarray, width_px: float, ends: tuple | None = None) -> None:
        from skimage.measure import approximate_polygon

        from .simplify import path_length

        if len(pts) < 2:
            return
        if self.georef is not None:
            middle = pts[len(pts) // 2]
            length = self.georef.path_length_m(pts)
            width = width_px * self.georef.pixel_size_m(float(middle[0]), float(middle[1]))
        else:
            length, width = path_length(pts), width_px
        line = approximate_polygon(pts.astype(float), 0.5) if len(pts) > 2 else pts.astype(float)
        if ends is not None:   # end exactly on the nodes, as the same numbers: no 1-px dangles in QGIS
            line = np.concatenate([[ends[0]], line[1:-1], [ends[1]]])
        xy = pixel_centres_to_map(self.transform, line[:, 0], line[:, 1])
        self.lines.add({"type": "LineString", "coordinates": xy.tolist()},
                       {"class": "road", "edge": self.lines.count, "from_node": int(u), "to_node": int(v),
                        f"length_{self.units}": round(length, 3), f"width_{self.units}": round(width, 2)})

    def node(self, node_id: int, rc: np.ndarray, kind: str, degree: int) -> None:
        xy = pixel_centres_to_map(self.transform, [rc[0]], [rc[1]])[0]
        self.nodes.add({"type": "Point", "coordinates": xy.tolist()},
                       {"node": int(node_id), "kind": kind, "degree": int(degree)})

    def close(self, error: BaseException | None = None) -> None:
        for writer in (self.polygons, self.lines, self.nodes):
            if writer is not None:
                writer.close(error)

    def result(self) -> VectorResult:
        polygons = self.polygons
        return VectorResult(polygons.path if polygons else None, self.lines.path, self.nodes.path,
                            polygons.count if polygons else 0, self.lines.count, self.nodes.count, self.units,
                            self.note)


def _valid(values: np.ndarray, nodata) -> np.ndarray | bool:
    if nodata is None:
        return True
    return ~np.isnan(values) if np.isnan(nodata) else values != nodata


def _maximum(src, blocks) -> float:
    """The largest valid value, read block by block; stops as soon as it settles the rule
    (above 255 for any type, above 1 for 8 bits)."""
    from rasterio import windows

    enough = 1 if src.dtypes[0] == "uint8" else 255
    maximum = 0.0
    for row0, row1, col0, col1 in blocks:
        values = src.read(1, window=windows.Window(col0, row0, col1 - col0, row1 - row0))
        valid = values[_valid(values, src.nodata)] if src.nodata is not None else values
        maximum = max(maximum, RoadRule.maximum(valid))
        if maximum > enough:
            break
    return maximum


def _blocks(height: int, width: int, size: int) -> Iterator[tuple[int, int, int, int]]:
    for row0 in range(0, height, size):
        for col0 in range(0, width, size):
            yield row0, min(row0 + size, height), col0, min(col0 + size, width)


def _ring_area(ring) -> float:
    x, y = np.asarray(ring, dtype=np.float64).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


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
