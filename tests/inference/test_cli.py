"""``roadseg predict``: plain images, georeferenced scenes, vectors, and every kind of bad input."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from roadseg_gui.cli.main import main
from trainer.synthetic import make_tile


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header for an absurd size (a decompression bomb's first bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def make_inputs(root):
    root.mkdir()
    for i in range(3):
        Image.fromarray(make_tile(96, i)[0]).save(root / f"tile {i}é.jpg")  # spaces and unicode in names
    (root / "zero.png").write_bytes(b"")
    (root / "notes.png").write_text("not an image")
    full = (root / "tile 0é.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(full[: len(full) // 3])
    (root / "bomb.png").write_bytes(png_claiming(100_000, 100_000))
    with rasterio.open(root / "five.tif", "w", driver="GTiff", width=40, height=40, count=5, dtype="uint8") as dst:
        dst.write(np.zeros((5, 40, 40), np.uint8))
    image = np.moveaxis(make_tile((200, 260), 9)[0], -1, 0)
    with rasterio.open(root / "scene.tif", "w", driver="GTiff", width=260, height=200, count=3, dtype="uint8",
                       crs="EPSG:32618", transform=from_origin(500000.0, 4000000.0, 1.0, 1.0), nodata=0) as dst:
        dst.write(image)
    return ["zero.png", "notes.png", "truncated.jpg", "bomb.png", "five.tif"]


def test_predict_folder_with_good_and_bad_files(tmp_path, deeplab_dir, capsys):
    bad = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    code = main(["predict", "--model", str(deeplab_dir), str(tmp_path / "in"), "--out", str(out), "--tile", "128",
                 "--overlap", "32", "--vector", "--cog", "--no-progress"])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code == 1 and "Traceback" not in text
    for name in bad:
        assert name in text
    # the size in the bomb message went with imageio 1f00787 (PIL now refuses it before we see the size)
    assert "empty" in text and "MP limit" in text and "5 bands" in text and "truncated" in text
    assert "predicted 4 of 9 inputs" in text and "5 failed" in text
    for i in range(3):
        mask = np.asarray(Image.open(out / f"tile {i}é.png"))
        assert mask.shape == (96, 96) and set(np.unique(mask)) <= {0, 255}
    with rasterio.open(out / "scene_mask.tif") as scene:
        assert scene.crs.to_epsg() == 32618 and scene.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert json.loads((out / "scene_roads.geojson").read_text())["type"] == "FeatureCollection"
    network = json.loads((out / "scene_network.geojson").read_text())
    assert network["type"] == "FeatureCollection" and (out / "scene_nodes.geojson").is_file()


def test_all_good_inputs_exit_zero(tmp_path, deeplab_dir, capsys):
    image = tmp_path / "a.png"
    Image.fromarray(make_tile(64, 1)[0]).save(image)
    code = main(["predict", "--model", str(deeplab_dir), str(image), "--out", str(tmp_path / "o"), "--tile", "64",
                 "--overlap", "16", "--write", "both", "--no-progress"])
    assert code == 0, capsys.readouterr()
    assert (tmp_path / "o" / "a.png").exists() and (tmp_path / "o" / "a_probability.png").exists()


def test_a_bad_model_is_one_sentence(tmp_path, capsys):
    fake = tmp_path / "model.pth"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    image = tmp_path / "a.png"
    Image.fromarray(make_tile(64, 1)[0]).save(image)
    code = main(["predict", "--model", str(fake), str(image), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and "model.pth" in err and "Traceback" not in err


def test_missing_input_and_unavailable_device(tmp_path, deeplab_dir, capsys):
    code = main(["predict", "--model", str(deeplab_dir), str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "o"),
                 "--engine", "torch", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1 and "nope.jpg: not found" in captured.out + captured.err
    import torch
    if not torch.cuda.is_available():
        image = tmp_path / "a.png"
        Image.fromarray(make_tile(64, 1)[0]).save(image)
        code = main(["predict", "--model", str(deeplab_dir), str(image), "--out", str(tmp_path / "o"),
                     "--device", "cuda", "--no-progress"])
        assert code == 1 and "CUDA was requested" in capsys.readouterr().err


def test_model_json_with_an_infinite_image_size_is_one_sentence_for_eval_and_predict(tmp_path, deeplab_dir, capsys):
    import shutil

    from trainer.synthetic import write_dataset

    model = tmp_path / "model"
    shutil.copytree(deeplab_dir, model)
    text = (model / "model.json").read_text()
    (model / "model.json").write_text(text.replace('"image_size": 512', '"image_size": 1e400'))
    assert "1e400" in (model / "model.json").read_text()
    data = write_dataset(tmp_path / "data", train=0, test=1, size=64)
    for argv in (["eval", "--model", str(model), "--data", str(data)],
                 ["predict", "--model", str(model), str(data / "test" / "images"), "--out", str(tmp_path / "o"),
                  "--no-progress"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 1 and "Traceback" not in err and "OverflowError" not in err
        assert "model.json: image_size is inf, not a finite number" in err
