"""The road network and polygons as GeoJSON, block by block, opened by GDAL as QGIS would."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from trainer.errors import BadInputError
from trainer.roadgraph.build import mask_to_graph
from trainer.roadgraph.stats import network_stats
from trainer.roadgraph.vectorize import vectorize_raster
from trainer.synthetic import make_tile

TRANSFORM = from_origin(500000.0, 4000000.0, 2.0, 2.0)


def write_mask(path, values, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
                       dtype="uint8", crs="EPSG:32618", transform=TRANSFORM, nodata=nodata) as dst:
        dst.write(values, 1)
    return path


def mask_raster(tmp_path):
    _, mask = make_tile((300, 420), 7, roads=3)
    values = np.where(mask, 255, 0).astype(np.uint8)
    values[5:9, 400:404] = 255   # a 16-pixel fragment, under the size limit
    values[-10:, :] = 1          # nodata rows
    return write_mask(tmp_path / "scene_mask.tif", values, nodata=1)


def coords_of(geometry):
    if geometry["type"] in ("LineString", "Point"):
        return np.asarray(geometry["coordinates"], float).reshape(-1, 2)
    return np.concatenate([np.asarray(ring, float) for ring in geometry["coordinates"]])


def features(path):
    return json.loads(path.read_text())["features"]


def test_vectors_are_geojson_inside_the_scene(tmp_path):
    path = mask_raster(tmp_path)
    result = vectorize_raster(path, tmp_path, min_area_px=32, block=128)  # several blocks
    left, bottom, right, top = 500000.0, 4000000.0 - 600, 500000.0 + 840, 4000000.0
    polygons, lines, nodes = features(result.polygons), features(result.lines), features(result.nodes)
    assert json.loads(result.lines.read_text())["crs"]["properties"]["name"].endswith("32618")
    assert (result.polygon_count, result.line_count, result.node_count) == (len(polygons), len(lines), len(nodes))
    assert polygons and lines and nodes and result.units == "m"
    for feature in polygons + lines + nodes:
        xy = coords_of(feature["geometry"])
        assert (xy[:, 0] >= left).all() and (xy[:, 0] <= right).all()
        assert (xy[:, 1] >= bottom).all() and (xy[:, 1] <= top).all()
    for feature in polygons:
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) >= 4
        xy = coords_of(feature["geometry"])
        assert not (xy[:, 0].min() <= 500000 + 402 * 2 <= xy[:, 0].max()
                    and xy[:, 1].min() <= 4000000 - 7 * 2 <= xy[:, 1].max())   # the fragment is gone
        assert xy[:, 1].min() >= 4000000.0 - 290 * 2.0 - 1e-6                  # nothing from nodata rows
    node_ids = {f["properties"]["node"] for f in nodes}
    for feature in lines:
        props = feature["properties"]
        assert feature["geometry"]["type"] == "LineString"
        assert {props["from_node"], props["to_node"]} <= node_ids          # ends are real, shared nodes
        assert props["length_m"] > 0 and 2.0 <= props["width_m"] <= 60.0   # synthetic roads: 3-20 px


def test_block_borders_do_not_cut_roads(tmp_path):
    """The same network whether the raster is one block or 12: a road crossing borders is one edge."""
    values = np.zeros((300, 420), np.uint8)
    values[148:155, 3:417] = 255                    # 7 px = 14 m wide, straight across 4 block columns
    values[20:148, 248:255] = 255                   # an arm from the north, joining inside a block
    path = write_mask(tmp_path / "t_mask.tif", values)
    whole = vectorize_raster(path, tmp_path / "whole", block=4096)
    calls = []
    blocks = vectorize_raster(path, tmp_path / "blocks", block=100,   # borders at x=100,200,300,400, y=100,200
                              progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 15) for i in range(16)]
    for result in (whole, blocks):
        lines, nodes = features(result.lines), features(result.nodes)
        assert len(lines) == 3 and sorted(f["properties"]["kind"] for f in nodes) == ["end", "end", "end", "junction"]
        junction = next(f["properties"]["node"] for f in nodes if f["properties"]["kind"] == "junction")
        assert all(junction in (f["properties"]["from_node"], f["properties"]["to_node"]) for f in lines)
        lengths = sorted(f["properties"]["length_m"] for f in lines)
        # skeleton ends stop ~half a width short: west ~245 px, east ~164 px, north ~128 px (x 2 m)
        np.testing.assert_allclose(lengths, [2 * 128, 2 * 163, 2 * 245], atol=10)
        assert all(f["properties"]["width_m"] == pytest.approx(14.0) for f in lines)
    assert sorted(f["properties"]["length_m"] for f in features(whole.lines)) == \
        pytest.approx(sorted(f["properties"]["length_m"] for f in features(blocks.lines)), abs=0.01)


def network_summary(result):
    """What a block layout must not change: edges (length, end kinds) and node kinds. (An edge's
    width is the median along it, taken per block and averaged by length when pieces join.)"""
    nodes = {f["properties"]["node"]: f["properties"]["kind"] for f in features(result.nodes)}
    edges = sorted((round(f["properties"]["length_m"], 2),
                    tuple(sorted((nodes[f["properties"]["from_node"]], nodes[f["properties"]["to_node"]]))))
                   for f in features(result.lines))
    return edges, sorted(nodes.values())


def test_tangled_network_is_the_same_in_any_block_layout(tmp_path):
    """Spurs, merged junctions and small loops near block borders are decided with the halo's
    context, so 37-px blocks (smaller than the halo) give exactly the one-block network."""
    from scipy import ndimage

    rng = np.random.default_rng(1)
    mask = ndimage.binary_dilation(rng.random((200, 230)) < 0.004, iterations=3) | (rng.random((200, 230)) < 0.02)
    mask |= ndimage.binary_dilation(np.eye(200, 230, dtype=bool), iterations=2)
    path = write_mask(tmp_path / "tangle_mask.tif", np.where(mask, 255, 0).astype(np.uint8))
    whole = network_summary(vectorize_raster(path, tmp_path / "whole", polygons=False, min_area_px=0))
    assert len(whole[0]) > 50 and whole[1].count("junction") > 3
    for block in (64, 37):
        result = vectorize_raster(path, tmp_path / str(block), block=block, polygons=False, min_area_px=0)
        assert network_summary(result) == whole, block


def test_blocks_match_the_whole_graph_on_a_road_network(tmp_path):
    _, mask = make_tile((300, 420), 7, roads=4)
    path = write_mask(tmp_path / "net_mask.tif", np.where(mask, 255, 0).astype(np.uint8))
    stats = network_stats(mask_to_graph(mask, transform=TRANSFORM, crs=rasterio.crs.CRS.from_epsg(32618)))
    for block in (4096, 128, 90):
        result = vectorize_raster(path, tmp_path / str(block), block=block, min_area_px=0)
        kinds = [f["properties"]["kind"] for f in features(result.nodes)]
        assert result.line_count == stats["edges"]
        assert kinds.count("junction") == stats["junctions"] and kinds.count("end") == stats["dangling_ends"]
        total = sum(f["properties"]["length_m"] for f in features(result.lines))
        assert total == pytest.approx(stats["length"], rel=0.01)


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
        assert feature["properties"]["length_m"] > 0      # measured in the scene's metres, not degrees


def test_plain_png_mask_is_in_pixels(tmp_path):
    mask = np.zeros((64, 128), np.uint8)
    mask[30:35, 10:120] = 255
    Image.fromarray(mask).save(tmp_path / "tile.png")
    result = vectorize_raster(tmp_path / "tile.png", tmp_path / "out", polygons=False)
    (line,) = features(result.lines)
    assert result.units == "px" and result.polygons is None
    assert "pixel grid" in json.loads(result.lines.read_text())["crs"]["properties"]["name"]
    assert line["properties"]["length_px"] == pytest.approx(106, abs=3) and line["properties"]["width_px"] == 5
    xy = coords_of(line["geometry"])
    np.testing.assert_allclose(xy[:, 1], -32.5, atol=1.0)      # y = -row: where QGIS draws the PNG
    with pytest.raises(BadInputError, match="no CRS, so it cannot be written in WGS84"):
        vectorize_raster(tmp_path / "tile.png", tmp_path / "out", wgs84=True)


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed (apt: gdal-bin)")
def test_gdal_opens_the_network_as_qgis_would(tmp_path):
    result = vectorize_raster(mask_raster(tmp_path), tmp_path, block=128)
    for path, geometry, count in ((result.lines, "Line String", result.line_count),
                                  (result.nodes, "Point", result.node_count),
                                  (result.polygons, "Polygon", result.polygon_count)):
        info = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True,
                              timeout=60)
        assert info.returncode == 0, info.stderr
        assert f"Geometry: {geometry}" in info.stdout and f"Feature Count: {count}" in info.stdout
        assert "32618" in info.stdout
    info = subprocess.run(["ogrinfo", "-ro", "-al", "-q", str(result.lines)], capture_output=True, text=True,
                          timeout=60)
    assert "length_m (Real)" in info.stdout or "length_m (Real) =" in info.stdout
    png = tmp_path / "plain.png"
    Image.fromarray(np.where(make_tile(96, 2)[1], 255, 0).astype(np.uint8)).save(png)
    plain = vectorize_raster(png, tmp_path / "plain", polygons=False)
    info = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(plain.lines)], capture_output=True, text=True,
                          timeout=60)
    assert info.returncode == 0 and "pixel grid" in info.stdout and "WGS 84" not in info.stdout


@pytest.mark.parametrize("arm_col", [148, 150, 152])
def test_junction_on_a_block_corner(tmp_path, arm_col):
    """A junction right at the corner of four 150-px blocks is still one junction with three edges."""
    values = np.zeros((300, 300), np.uint8)
    values[148:155, 3:297] = 255
    values[20:148, arm_col - 3:arm_col + 4] = 255
    values[155:290, 60:67] = 255
    path = write_mask(tmp_path / "corner_mask.tif", values)
    results = [vectorize_raster(path, tmp_path / str(block), block=block, polygons=False) for block in (4096, 150)]
    for result in results:
        kinds = sorted(f["properties"]["kind"] for f in features(result.nodes))
        assert result.line_count == 5 and kinds == ["end"] * 4 + ["junction"] * 2
    whole, blocks = ([f["properties"]["length_m"] for f in features(r.lines)] for r in results)
    np.testing.assert_allclose(sorted(whole), sorted(blocks), atol=2 * 2.0)   # within 2 px


def test_gdal_reads_the_network_through_pyogrio(tmp_path):
    """The same check through GDAL's Python binding (a test dependency), so it runs where ogrinfo is absent."""
    pyogrio = pytest.importorskip("pyogrio")
    result = vectorize_raster(mask_raster(tmp_path), tmp_path, block=128)
    for path, geometry, count in ((result.lines, "LineString", result.line_count),
                                  (result.nodes, "Point", result.node_count),
                                  (result.polygons, "Polygon", result.polygon_count)):
        info = pyogrio.read_info(path)
        assert info["geometry_type"] == geometry and info["features"] == count
        assert "32618" in info["crs"]
    fields = dict(zip(pyogrio.read_info(result.lines)["fields"], pyogrio.read_info(result.lines)["dtypes"]))
    assert fields["length_m"] == "float64" and fields["width_m"] == "float64"


def test_a_ring_road_across_blocks_is_one_loop_as_in_one_block(tmp_path):
    """A closed road with no junction: one self-loop edge on a node of kind 'loop', whatever the blocks
    (the stitched ring's last border node was written as a dangling 'end')."""
    from skimage.draw import disk

    values = np.zeros((600, 600), np.uint8)
    values[disk((300, 300), 203)] = 255
    values[disk((300, 300), 197)] = 0
    path = write_mask(tmp_path / "ring_mask.tif", values)
    for block in (4096, 256):
        result = vectorize_raster(path, tmp_path / str(block), block=block, polygons=False)
        nodes = [(f["properties"]["kind"], f["properties"]["degree"]) for f in features(result.nodes)]
        edges = [(f["properties"]["from_node"], f["properties"]["to_node"]) for f in features(result.lines)]
        assert nodes == [("loop", 2)] and len(edges) == 1 and edges[0][0] == edges[0][1], block
