"""Road polygons and centre lines as GeoJSON."""

from __future__ import annotations

import json

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from trainer.synthetic import make_tile
from trainer.vectorize import trace_skeleton, vectorize_raster


def mask_raster(tmp_path):
    _, mask = make_tile((300, 420), 7, roads=3)
    values = np.where(mask, 255, 0).astype(np.uint8)
    values[5:9, 400:404] = 255   # a 16-pixel fragment, under the size limit
    values[-10:, :] = 1          # nodata rows
    path = tmp_path / "scene_mask.tif"
    with rasterio.open(path, "w", driver="GTiff", width=420, height=300, count=1, dtype="uint8", crs="EPSG:32618",
                       transform=from_origin(500000.0, 4000000.0, 2.0, 2.0), nodata=1) as dst:
        dst.write(values, 1)
    return path


def coords_of(geometry):
    flat = np.asarray(geometry["coordinates"], dtype=object)
    if geometry["type"] == "LineString":
        return np.asarray(geometry["coordinates"], float)
    return np.concatenate([np.asarray(ring, float) for ring in flat])


def test_vectors_are_geojson_inside_the_scene(tmp_path):
    path = mask_raster(tmp_path)
    result = vectorize_raster(path, tmp_path, min_area_px=32, block=128)  # several blocks
    with rasterio.open(path) as src:
        left, bottom, right, top = src.bounds
    polygons = json.loads(result.polygons.read_text())
    lines = json.loads(result.lines.read_text())
    assert polygons["crs"]["properties"]["name"].endswith("32618")
    assert result.polygon_count == len(polygons["features"]) > 0
    assert result.line_count == len(lines["features"]) > 0
    for feature in polygons["features"] + lines["features"]:
        assert feature["type"] == "Feature" and feature["properties"]["class"] == "road"
        xy = coords_of(feature["geometry"])
        assert (xy[:, 0] >= left).all() and (xy[:, 0] <= right).all()
        assert (xy[:, 1] >= bottom).all() and (xy[:, 1] <= top).all()
    for feature in polygons["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) >= 4
    fragment_x = 500000.0 + 402 * 2.0
    fragment_y = 4000000.0 - 7 * 2.0
    for feature in polygons["features"]:
        xy = coords_of(feature["geometry"])
        assert not (xy[:, 0].min() <= fragment_x <= xy[:, 0].max() and xy[:, 1].min() <= fragment_y <= xy[:, 1].max())
    nodata_y = 4000000.0 - 290 * 2.0
    for feature in polygons["features"]:
        assert coords_of(feature["geometry"])[:, 1].min() >= nodata_y - 1e-6


def test_wgs84_output(tmp_path):
    path = mask_raster(tmp_path)
    result = vectorize_raster(path, tmp_path, wgs84=True, stem="wgs")
    with rasterio.open(path) as src:
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    lines = json.loads(result.lines.read_text())
    assert "crs" not in lines and lines["features"]
    for feature in lines["features"]:
        xy = coords_of(feature["geometry"])
        assert (xy[:, 0] >= west - 1e-6).all() and (xy[:, 0] <= east + 1e-6).all()
        assert (xy[:, 1] >= south - 1e-6).all() and (xy[:, 1] <= north + 1e-6).all()


def test_skeleton_tracing():
    skeleton = np.zeros((20, 20), bool)
    skeleton[10, 2:18] = True          # a horizontal road...
    skeleton[2:10, 9] = True           # ...with a side road: a T junction
    paths = trace_skeleton(skeleton)
    assert len(paths) == 3
    ends = sorted(tuple(map(int, p)) for path in paths for p in (path[0], path[-1]))
    assert (2, 9) in ends and (10, 2) in ends and (10, 17) in ends
    assert trace_skeleton(np.zeros((5, 5), bool)) == []
