"""``roadseg vectorize``: a georeferenced mask, a folder of masks, a workspace's accepted masks."""

from __future__ import annotations

import json

import numpy as np
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from roadseg_gui.cli.main import main
from trainer.synthetic import make_tile


def road_values(seed: int, size=(160, 200)) -> np.ndarray:
    return np.where(make_tile(size, seed, roads=3)[1], 255, 0).astype(np.uint8)


def test_masks_and_folders_with_a_bad_file(tmp_path, capsys):
    masks = tmp_path / "masks dir"
    masks.mkdir()
    with rasterio.open(masks / "scene_mask.tif", "w", driver="GTiff", width=200, height=160, count=1, dtype="uint8",
                       crs="EPSG:32618", transform=from_origin(500000, 4000000, 0.5, 0.5)) as dst:
        dst.write(road_values(1), 1)
    Image.fromarray(road_values(2)).save(masks / "tile é.png")
    (masks / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    code = main(["vectorize", str(masks), str(tmp_path / "missing.tif"), "--out", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err + captured.out
    assert "broken.png: cannot be read as a raster" in captured.out and "missing.tif: no such file" in captured.out
    assert "vectorised 2 of 4 masks" in captured.out
    scene = json.loads((out / "scene_network.geojson").read_text())
    assert scene["crs"]["properties"]["name"].endswith("32618") and scene["features"]
    assert all("length_m" in f["properties"] and "width_m" in f["properties"] for f in scene["features"])
    tile = json.loads((out / "tile é_network.geojson").read_text())
    assert tile["features"] and "length_px" in tile["features"][0]["properties"]   # no georeferencing: pixels
    assert (out / "tile é_nodes.geojson").is_file() and (out / "scene_roads.geojson").is_file()


def test_workspace_accepted_masks_placed_by_their_geotiff_tiles(tmp_path, capsys):
    from roadseg_gui.core.workspace import Workspace

    root = tmp_path / "ws"
    (root / "unlabeled").mkdir(parents=True)
    image = np.zeros((3, 160, 200), np.uint8)
    with rasterio.open(root / "unlabeled" / "chip_0.tif", "w", driver="GTiff", width=200, height=160, count=3, dtype="uint8",
                       crs="EPSG:32633", transform=from_origin(300000, 5000000, 0.3, 0.3)) as dst:
        dst.write(image)
    Image.fromarray(np.zeros((160, 200, 3), np.uint8)).save(root / "unlabeled" / "chip_1.png")
    workspace = Workspace.open(root)
    try:
        workspace.accept("chip_0", road_values(4) > 0)
    finally:
        workspace.close()
    assert main(["vectorize", str(root), "--out", str(tmp_path / "out"), "--no-polygons"]) == 0
    network = json.loads((tmp_path / "out" / "ws_network.geojson").read_text())   # a workspace: one network
    assert network["crs"]["properties"]["name"].endswith("32633")
    x, y = np.asarray(network["features"][0]["geometry"]["coordinates"]).T
    assert (300000 <= x).all() and (x <= 300000 + 60).all() and (5000000 - 48 <= y).all()
    assert not (tmp_path / "out" / "ws_roads.geojson").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ws_network.geojson", "ws_nodes.geojson"]
    assert "vectorised 1 of 1 outputs" in capsys.readouterr().out   # chip_1 is not accepted: not vectorised


def test_predict_vector_on_a_plain_image_writes_a_pixel_network(tmp_path, capsys):
    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    model = save_model_dir(build_model("mobilenet_v3_large"), ModelMeta(), tmp_path / "model")
    Image.fromarray(make_tile(64, 1)[0]).save(tmp_path / "a.png")
    code = main(["predict", "--model", str(model), str(tmp_path / "a.png"), "--out", str(tmp_path / "out"),
                 "--tile", "64", "--overlap", "16", "--vector", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "without georeferencing: --vector writes their road networks in pixels" in out
    network = json.loads((tmp_path / "out" / "a_network.geojson").read_text())
    assert "pixel grid" in network["crs"]["properties"]["name"]
    assert (tmp_path / "out" / "a_nodes.geojson").is_file() and (tmp_path / "out" / "a.png").is_file()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".vector-")]   # temp folder gone
