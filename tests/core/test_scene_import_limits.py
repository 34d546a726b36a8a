"""import-scene has predict's scene-size limit (with --max-gigapixels to raise it) and says how many chips
a scene makes before it writes any."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from roadseg_gui.cli.main import main as cli
from roadseg_gui.core.scene_import import import_scene, plan_scene
from trainer.errors import BadInputError


def sparse_scene(path, width, height):
    """A GeoTIFF header declaring width x height pixels with (almost) no pixel data: a few MB on disk."""
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="uint8", nodata=0, tiled=True,
                   blockxsize=512, blockysize=512, compress="deflate", sparse_ok=True, BIGTIFF="YES",
                   crs="EPSG:32611", transform=from_origin(500000.0, 4000000.0, 0.5, 0.5))
    with rasterio.open(path, "w", **profile):
        pass
    return path


def small_scene(path, size=600):
    data = np.random.default_rng(2).integers(1, 255, (3, size, size), dtype=np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3, dtype="uint8", nodata=0,
                       crs="EPSG:32611", transform=from_origin(500000.0, 4000000.0, 0.5, 0.5)) as dst:
        dst.write(data)
    return path


def test_a_huge_declared_scene_is_refused_before_any_chip(tmp_path, capsys):
    scene = sparse_scene(tmp_path / "huge.tif", 200_000, 200_000)
    assert scene.stat().st_size < 20_000_000
    workspace = tmp_path / "ws"
    with pytest.raises(BadInputError) as info:
        import_scene(scene, workspace, chip=512)
    message = str(info.value)
    assert "200000x200000" in message and "over the 20 GP scene limit" in message
    assert "152,881 chips" in message and "--max-gigapixels" in message
    assert not list((workspace / "unlabeled").glob("*.tif")) if (workspace / "unlabeled").exists() else True

    code = cli(["import-scene", str(scene), str(workspace), "--chip", "512"])
    captured = capsys.readouterr()
    assert code == 1 and "over the 20 GP scene limit" in captured.err and "Traceback" not in captured.err
    assert not (workspace / "unlabeled").exists() or not any((workspace / "unlabeled").glob("*.tif"))


def test_max_gigapixels_lowers_or_raises_the_limit_and_the_plan_comes_first(tmp_path, capsys):
    scene = small_scene(tmp_path / "small.tif")
    plan = plan_scene(scene, chip=256, overlap=0)
    assert (plan.width, plan.height, plan.total) == (600, 600, 9)
    code = cli(["import-scene", str(scene), str(tmp_path / "ws"), "--chip", "256", "--max-gigapixels", "0.0001"])
    captured = capsys.readouterr()
    assert code == 1 and "over the 0.0001 GP scene limit" in captured.err
    code = cli(["import-scene", str(scene), str(tmp_path / "ws"), "--chip", "256", "--max-gigapixels", "0.001"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and "600x600" in lines[0] and "9 chips of 256 px" in lines[0]
    assert "9 chips written" in lines[-1]
    with pytest.raises(SystemExit) as stop:
        cli(["import-scene", str(scene), str(tmp_path / "ws"), "--max-gigapixels", "-1"])
    assert stop.value.code == 2 and "--max-gigapixels" in capsys.readouterr().err
