"""issue 19, items 10 and 14: ``roadseg vectorize`` as a GIS user runs it, in a real process.

One coordinate rule per output; chips sharing a CRS stitched into one network; every edge end is
exactly its node (QGIS's dangle check); masks of other shapes (0/1, 16-bit, float probabilities)
binarised as ``eval`` does; a geotransform with no CRS is not WGS84; bad entries reported, exit 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import Affine, from_origin

ROOT = Path(__file__).resolve().parents[2]
CRS = "EPSG:32633"


def roadseg(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def geotiff(path: Path, values: np.ndarray, transform=None, crs: str | None = CRS, nodata=None) -> Path:
    transform = transform if transform is not None else from_origin(300000, 5000000, 0.5, 0.5)
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
                       dtype=values.dtype, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(values, 1)
    return path


def cross(size: int = 160, width: int = 7) -> np.ndarray:
    """A '+' of two roads (the junction is several skeleton pixels wide) with one more arm."""
    road = np.zeros((size, size), bool)
    mid = size // 2
    road[mid - width // 2:mid + width // 2 + 1, 8:size - 8] = True
    road[8:size - 8, mid - width // 2:mid + width // 2 + 1] = True
    road[20:20 + width, mid:size - 8] = True
    return road


def features(path: Path) -> list[dict]:
    return json.loads(path.read_text())["features"]


def assert_ends_on_nodes(network: Path, nodes: Path) -> None:
    at = {f["properties"]["node"]: tuple(f["geometry"]["coordinates"]) for f in features(nodes)}
    edges = features(network)
    assert edges
    for edge in edges:
        line, props = edge["geometry"]["coordinates"], edge["properties"]
        assert tuple(line[0]) == at[props["from_node"]], (edge, at[props["from_node"]])
        assert tuple(line[-1]) == at[props["to_node"]], (edge, at[props["to_node"]])


def test_every_edge_ends_exactly_on_its_node_as_qgis_reads_it(tmp_path):
    """No 1-px-off ends: the first and last vertex of each LineString is its from/to node's Point, read
    back through GDAL (pyogrio) as QGIS would. Junctions of these roads are several skeleton pixels, whose
    centre is not the pixel where an edge's path ends (8 such ends on this tile before)."""
    from trainer.synthetic import make_tile

    pyogrio = pytest.importorskip("pyogrio")
    values = np.where(make_tile((200, 200), 0, roads=3)[1], 255, 0).astype(np.uint8)
    mask = geotiff(tmp_path / "roads_mask.tif", values)
    run = roadseg("vectorize", str(mask), "--out", str(tmp_path / "out"), "--no-progress")
    assert run.returncode == 0, run.stdout + run.stderr
    network, nodes = tmp_path / "out" / "roads_network.geojson", tmp_path / "out" / "roads_nodes.geojson"
    assert_ends_on_nodes(network, nodes)
    meta, _, lines, line_fields = pyogrio.raw.read(network)
    _, _, points, point_fields = pyogrio.raw.read(nodes)
    assert "32633" in meta["crs"]
    field = dict(zip(meta["fields"], line_fields))
    node_at = dict(zip(point_fields[list(pyogrio.read_info(nodes)["fields"]).index("node")],
                       (wkb_coords(g)[0] for g in points)))
    for wkb, start, end in zip(lines, field["from_node"], field["to_node"]):
        xy = wkb_coords(wkb)
        assert xy[0] == node_at[start] and xy[-1] == node_at[end]


def wkb_coords(wkb: bytes) -> list[tuple[float, float]]:
    """The vertices of a little-endian 2-D WKB Point or LineString (all GDAL writes here)."""
    import struct

    kind = struct.unpack_from("<I", wkb, 1)[0]
    if kind == 1:
        return [struct.unpack_from("<2d", wkb, 5)]
    count = struct.unpack_from("<I", wkb, 5)[0]
    return [struct.unpack_from("<2d", wkb, 9 + 16 * i) for i in range(count)]


def chip(root: Path, name: str, values: np.ndarray, col: int, row: int) -> Path:
    """A 3-band GeoTIFF chip of a 0.5 m grid, ``col``/``row`` chips from the scene's corner."""
    transform = from_origin(300000 + col * values.shape[1] * 0.5, 5000000 - row * values.shape[0] * 0.5, 0.5, 0.5)
    path = root / f"{name}.tif"
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=3,
                       dtype="uint8", crs=CRS, transform=transform) as dst:
        dst.write(np.repeat(values[None], 3, axis=0))
    return path


def test_a_workspace_is_one_network_in_one_crs_and_plain_tiles_are_named_not_mixed_in(tmp_path):
    """Two neighbouring GeoTIFF chips with a road across their border, and a plain JPG tile: one stitched
    network in EPSG:32633 where the road is one edge, and the JPG named as left out (not written in pixels
    beside map coordinates)."""
    from roadseg_gui.core.workspace import Workspace

    root = tmp_path / "ws"
    (root / "unlabeled").mkdir(parents=True)
    road = np.zeros((96, 128), bool)
    road[45:52, :] = True
    for col in (0, 1):
        chip(root / "unlabeled", f"chip_{col}", np.zeros((96, 128), np.uint8), col, 0)
    Image.fromarray(np.zeros((96, 128, 3), np.uint8)).save(root / "unlabeled" / "plain.jpg")
    workspace = Workspace.open(root)
    try:
        for stem in ("chip_0", "chip_1", "plain"):
            workspace.accept(stem, road)
    finally:
        workspace.close()
    out = tmp_path / "out"
    run = roadseg("vectorize", str(root), "--out", str(out), "--no-progress")
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["ws_network.geojson", "ws_nodes.geojson", "ws_roads.geojson"]
    network = json.loads((out / "ws_network.geojson").read_text())
    assert network["crs"]["properties"]["name"].endswith("32633")
    (edge,) = network["features"]                     # one road across both chips: one edge, two ends
    x, y = np.asarray(edge["geometry"]["coordinates"]).T
    assert x.min() < 300000 + 10 and x.max() > 300000 + 128 - 10   # from the first chip far into the second
    assert edge["properties"]["length_m"] == pytest.approx(2 * 64 - 1, abs=4)
    assert "plain.png" in run.stdout and "no CRS" in run.stdout and "left out" in run.stdout
    assert_ends_on_nodes(out / "ws_network.geojson", out / "ws_nodes.geojson")
    # --no-merge: one file per mask, each with one rule (the chips in metres, the plain tile in pixels);
    # an accepted tile whose mask has gone is named (exit 1), not skipped silently
    gone = next(root.glob("*/masks/chip_1.png"))
    gone.unlink()
    run = roadseg("vectorize", str(root), "--out", str(tmp_path / "apart"), "--no-merge", "--no-progress")
    assert run.returncode == 1 and f"failed: {gone}: the tile is accepted but its mask is missing" in run.stdout
    assert "length_px" in features(tmp_path / "apart" / "plain_network.geojson")[0]["properties"]
    assert len(features(tmp_path / "apart" / "chip_0_network.geojson")) == 1


def test_merge_stitches_a_folder_of_chips_that_overlap(tmp_path):
    """import-scene chips overlap by a few pixels; --merge makes one road of the two halves, and a chip of
    another scene far away its own network."""
    chips = tmp_path / "chips"
    chips.mkdir()
    road = np.zeros((80, 100), np.uint8)
    road[30:37, :] = 255
    geotiff(chips / "a_mask.tif", road, from_origin(300000, 5000000, 0.5, 0.5))
    geotiff(chips / "b_mask.tif", road, from_origin(300000 + 90 * 0.5, 5000000, 0.5, 0.5))   # 10 px overlap
    geotiff(chips / "far_mask.tif", road, from_origin(300000 + 50_000, 5000000, 0.5, 0.5))   # another scene
    run = roadseg("vectorize", str(chips), "--merge", "--out", str(tmp_path / "out"), "--no-progress")
    assert run.returncode == 0, run.stdout + run.stderr
    (edge,) = features(tmp_path / "out" / "merged_area1_network.geojson")
    assert edge["properties"]["length_m"] == pytest.approx((190 - 1) * 0.5, abs=4)
    (far,) = features(tmp_path / "out" / "merged_area2_network.geojson")   # not one grid 50 km wide
    assert far["properties"]["length_m"] == pytest.approx((100 - 1) * 0.5, abs=4)
    assert "lie in 2 areas that do not touch" in run.stdout
    separate = roadseg("vectorize", str(chips), "--out", str(tmp_path / "apart"), "--no-progress")
    assert separate.returncode == 0 and (tmp_path / "apart" / "a_network.geojson").is_file()


def test_masks_of_other_shapes_are_binarised_as_eval_does(tmp_path):
    """0/1, 16-bit probabilities (0.8 / 0.1 of 65535) and float probabilities give the 0/255 mask's network
    (all three were read as empty or as all road); --threshold cuts probabilities, in one process each."""
    road = cross()
    masks = tmp_path / "masks"
    masks.mkdir()
    geotiff(masks / "ref_mask.tif", np.where(road, 255, 0).astype(np.uint8))
    geotiff(masks / "binary_mask.tif", road.astype(np.uint8))
    geotiff(masks / "wide_mask.tif", np.where(road, 52428, 6553).astype(np.uint16))
    geotiff(masks / "float_mask.tif", np.where(road, 0.8, 0.1).astype(np.float32))
    run = roadseg("vectorize", str(masks), "--no-merge", "--out", str(tmp_path / "out"), "--no-progress")
    assert run.returncode == 0, run.stdout + run.stderr
    want = features(tmp_path / "out" / "ref_network.geojson")
    assert len(want) >= 4
    for name in ("binary", "wide", "float"):
        got = features(tmp_path / "out" / f"{name}_network.geojson")
        assert [f["geometry"] for f in got] == [f["geometry"] for f in want], name
    high = roadseg("vectorize", str(masks / "float_mask.tif"), "--threshold", "0.9", "--out", str(tmp_path / "high"),
                   "--no-progress")
    assert high.returncode == 0 and "0 road edges" in high.stdout          # no probability reaches 0.9
    bad = roadseg("vectorize", str(masks / "float_mask.tif"), "--threshold", "80", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 1 and "--threshold 80" in bad.stderr and "Traceback" not in bad.stderr


def test_a_geotransform_without_crs_is_its_own_grid_not_wgs84(tmp_path):
    pyogrio = pytest.importorskip("pyogrio")
    values = np.where(cross(), 255, 0).astype(np.uint8)
    mask = geotiff(tmp_path / "nocrs_mask.tif", values, Affine(2.0, 0, 1000.0, 0, -2.0, 9000.0), crs=None)
    run = roadseg("vectorize", str(mask), "--out", str(tmp_path / "out"), "--no-progress")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "nocrs_mask.tif: has a geotransform but no CRS" in run.stdout
    network = tmp_path / "out" / "nocrs_network.geojson"
    member = json.loads(network.read_text())["crs"]["properties"]["name"]
    assert "no CRS" in member and "4326" not in member
    crs = pyogrio.read_info(network)["crs"] or ""
    assert "4326" not in crs and "WGS 84" not in crs
    props = features(network)[0]["properties"]
    assert "length_grid_units" in props and "length_m" not in props
    x, y = np.asarray(features(network)[0]["geometry"]["coordinates"]).T
    assert (x >= 1000).all() and (x <= 1000 + 2 * 160).all() and (y <= 9000).all()   # in its own grid


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_link_loops_fifos_and_missing_masks_are_reported_and_a_fifo_never_hangs(tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(np.where(cross(96), 255, 0).astype(np.uint8)).save(masks / "good.png")
    os.symlink("loop_b.png", masks / "loop_a.png")
    os.symlink("loop_a.png", masks / "loop_b.png")
    os.mkfifo(masks / "pipe.png")
    run = roadseg("vectorize", str(masks), str(tmp_path / "gone.png"), "--out", str(tmp_path / "out"),
                  "--no-progress", timeout=60)
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert "loop_a.png: symbolic link loop" in run.stdout and "pipe.png: not a regular file" in run.stdout
    assert "gone.png: no such file" in run.stdout and "vectorised 1 of 5 masks" in run.stdout
    alone = roadseg("vectorize", str(masks / "pipe.png"), "--out", str(tmp_path / "out2"), timeout=30)
    assert alone.returncode == 1 and "not a regular file (a pipe" in alone.stdout


def test_a_one_pixel_checkerboard_is_a_clear_message_not_a_tangle_of_self_loops(tmp_path):
    board = (np.indices((64, 64)).sum(axis=0) % 2 == 0)
    Image.fromarray(np.where(board, 255, 0).astype(np.uint8)).save(tmp_path / "board.png")
    run = roadseg("vectorize", str(tmp_path / "board.png"), "--out", str(tmp_path / "out"), "--min-area", "1",
                  "--no-progress")
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert "board.png: its road pixels around row" in run.stdout and "1-pixel pattern" in run.stdout
    assert not (tmp_path / "out" / "board_network.geojson").exists()
