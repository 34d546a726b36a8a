"""The length of an accepted mask's road network (centre lines, ``trainer.roadgraph``).

In metres from the tile's CRS and transform when it is a georeferenced GeoTIFF; otherwise the
length in pixels times ``DEFAULT_GSD_M``, marked as assumed so the reports can say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# 0.5 m per pixel: DeepGlobe's road tiles, the usual plain-PNG road data set (SpaceNet's are 0.3 m).
DEFAULT_GSD_M = 0.5
MEASURED_BY_CRS, MEASURED_BY_ASSUMED_GSD = "crs", "assumed_gsd"


@dataclass(frozen=True)
class RoadLength:
    px: float          # centre-line length in pixels
    m: float           # in metres: from the CRS, or px * DEFAULT_GSD_M
    measured: str      # MEASURED_BY_CRS or MEASURED_BY_ASSUMED_GSD


def georeference_of(image: str | Path):
    """(transform, crs) of a georeferenced GeoTIFF, else None."""
    if Path(image).suffix.lower() not in (".tif", ".tiff"):
        return None
    try:
        import rasterio

        with rasterio.open(image) as src:
            if src.crs is None or src.transform.is_identity:
                return None
            return src.transform, src.crs
    except Exception:  # noqa: BLE001 - an image without usable georeferencing is measured in pixels
        return None


def road_length(mask: np.ndarray, georeference=None, default_gsd_m: float = DEFAULT_GSD_M) -> RoadLength:
    """Centre-line length of the road network in ``mask`` (a boolean H x W array)."""
    from trainer.roadgraph.build import mask_to_graph
    from trainer.roadgraph.georef import Georeference

    mask = np.asarray(mask, bool)
    if not mask.any():
        return RoadLength(0.0, 0.0, MEASURED_BY_CRS if georeference else MEASURED_BY_ASSUMED_GSD)
    graph = mask_to_graph(mask)   # in pixels; each edge keeps its pixel path to measure in metres
    px = float(sum(length for _, _, length in graph.edges(data="length", default=0.0)))
    if georeference is None:
        return RoadLength(px, px * default_gsd_m, MEASURED_BY_ASSUMED_GSD)
    georef = Georeference(*georeference)
    metres = float(sum(georef.path_length_m(pts) for _, _, pts in graph.edges(data="pts") if pts is not None))
    return RoadLength(px, metres, MEASURED_BY_CRS)
