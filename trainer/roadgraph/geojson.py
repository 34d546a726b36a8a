"""GeoJSON that QGIS and GDAL open as it is, streamed to disk one feature at a time.

Coordinates are in the raster's CRS (named in a ``crs`` member, which QGIS and GDAL read)
or in EPSG:4326 with ``wgs84=True`` (RFC 7946). The file appears atomically when closed.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..fsutil import atomic_writer


PIXEL_GRID_CRS = 'LOCAL_CS["pixel grid (no georeferencing)",UNIT["pixel",1]]'
# A geotransform with no CRS: the raster's own map grid, in units nobody named.
OWN_GRID_CRS = 'LOCAL_CS["the raster\'s own grid (a geotransform with no CRS)",UNIT["unknown",1]]'


def crs_member(crs, local_cs: str | None = None) -> dict | None:
    """The GeoJSON 2008 ``crs`` member GDAL reads. ``local_cs`` (PIXEL_GRID_CRS, OWN_GRID_CRS): a raster
    with no CRS gets a local one, so GDAL and QGIS do not take its coordinates for WGS84 degrees."""
    if local_cs:
        return {"type": "name", "properties": {"name": local_cs}}
    if crs is None:
        return None
    epsg = crs.to_epsg()
    name = f"urn:ogc:def:crs:EPSG::{epsg}" if epsg else crs.to_wkt()
    return {"type": "name", "properties": {"name": name}}


class FeatureWriter:
    """Streams a FeatureCollection to ``path``; ``close(error)`` discards it instead."""

    def __init__(self, path: Path, crs, wgs84: bool, local_cs: str | None = None):
        self.path, self.crs, self.wgs84, self.count = path, crs, wgs84, 0
        self._ctx = atomic_writer(path, "w")
        self.fh = self._ctx.__enter__()
        head = {"type": "FeatureCollection", "name": path.stem}
        member = None if wgs84 else crs_member(crs, local_cs)
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
