"""issue 19, item 15: every failure is one sentence naming the file, from real roadseg processes: no GDAL
chatter at INFO without -v, no rasterio "See previous exception", no tarfile method list, no
``sys.set_int_max_str_digits()`` hint, no FileExistsError for an --out that is a file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from field_cli import geotiff, model, roadseg  # noqa: F401  (model is a fixture)
from PIL import Image

from trainer.synthetic import make_tile


def truncated(path: Path) -> Path:
    """A tiled GeoTIFF cut in half: its header opens, its later tiles cannot be decoded."""
    values = np.where(np.random.default_rng(0).random((3, 300, 300)) > 0.5, 255, 0).astype(np.uint8)
    whole = geotiff(path.with_name("whole_" + path.name), values, tiled=True, blockxsize=128, blockysize=128,
                    compress="deflate")
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_truncated_geotiff_is_one_sentence_and_gdal_speaks_only_with_v(tmp_path, model):
    bad = truncated(tmp_path / "cut_mask.tif")
    run = roadseg("vectorize", str(bad), "--out", str(tmp_path / "out"), "--no-progress")
    assert run.returncode == 1
    (line,) = [text for text in run.stdout.splitlines() if text.startswith("failed:")]
    assert f"{bad}: cannot be read as a raster; it may be truncated or corrupt (GDAL: " in line
    assert "See previous exception" not in run.stdout + run.stderr
    assert "GDAL signalled" not in run.stderr and "INFO rasterio" not in run.stderr   # no chatter without -v
    verbose = roadseg("-v", "vectorize", str(bad), "--out", str(tmp_path / "out"), "--no-progress")
    assert "GDAL signalled" in verbose.stderr                                           # -v still shows it
    image = truncated(tmp_path / "cut.tif")
    run = roadseg("predict", "--model", str(model), str(image), "--out", str(tmp_path / "pred"), "--tile", "128",
                  "--overlap", "16", "--engine", "torch", "--no-progress")
    assert run.returncode == 1 and f"failed: {image}: " in run.stdout
    assert "See previous exception" not in run.stdout + run.stderr and "GDAL signalled" not in run.stderr


def test_a_huge_number_in_model_json_is_one_sentence_naming_the_file(tmp_path, model):
    import shutil

    hostile = tmp_path / "hostile"
    shutil.copytree(model, hostile)
    meta = (hostile / "model.json").read_text()
    (hostile / "model.json").write_text(meta.replace("{", '{"n": ' + "9" * 5000 + ", ", 1))
    Image.fromarray(make_tile(32, 1)[0]).save(tmp_path / "a.png")
    run = roadseg("predict", "--model", str(hostile), str(tmp_path / "a.png"), "--out", str(tmp_path / "o"))
    assert run.returncode == 1
    (line,) = [text for text in run.stderr.splitlines() if text.strip()]
    assert line.startswith(f"error: {hostile / 'model.json'}: it holds a number thousands of digits long")
    assert "set_int_max_str_digits" not in run.stderr


@pytest.mark.parametrize("content", [b"\x00garbage" * 300, b"\x1f\x8b\x08\x00" + b"\x00" * 40])
def test_an_archive_that_is_not_a_tar_is_one_sentence(tmp_path, model, content):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(content)
    Image.fromarray(make_tile(32, 1)[0]).save(tmp_path / "a.png")
    run = roadseg("predict", "--model", str(archive), str(tmp_path / "a.png"), "--out", str(tmp_path / "o"))
    assert run.returncode == 1
    (line,) = [text for text in run.stderr.splitlines() if text.strip()]
    assert line.startswith(f"error: {archive}: not a") and "method gz" not in run.stderr
    assert "Re-download model.tar.gz." in line


def test_out_that_is_a_file_is_one_sentence_before_any_work(tmp_path, model):
    (tmp_path / "taken").write_text("a file")
    Image.fromarray(np.where(make_tile(64, 1)[1], 255, 0).astype(np.uint8)).save(tmp_path / "m.png")
    run = roadseg("vectorize", str(tmp_path / "m.png"), "--out", str(tmp_path / "taken"))
    assert run.returncode == 1 and "FileExistsError" not in run.stdout + run.stderr
    assert run.stderr.strip() == (f"error: {tmp_path / 'taken'}: is a file, but --out needs a folder for the GeoJSON "
                                  f"files. Give a folder (it is created when missing).")
    run = roadseg("predict", "--model", str(model), str(tmp_path / "m.png"), "--out", str(tmp_path / "taken"))
    assert run.returncode == 1 and "loading model" not in run.stdout   # said before the model's seconds
    assert run.stderr.strip().splitlines() == [f"error: {tmp_path / 'taken'}: is a file, but --out needs a folder "
                                                f"for the masks. Give a folder (it is created when missing)."]
