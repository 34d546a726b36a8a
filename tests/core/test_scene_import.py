"""Scene import: GeoTIFF chips keep the CRS and get their own shifted transforms."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from roadseg_gui.cli.main import main as cli
from roadseg_gui.core.scene_import import chip_offsets, import_scene
from roadseg_gui.core.statedb import TileStatus
from roadseg_gui.core.workspace import Workspace
from trainer.errors import BadInputError
from trainer.imageio import read_image


def make_scene(path, width=300, height=200, nodata_cols=0):
    data = np.random.default_rng(1).integers(1, 4000, (3, height, width), dtype=np.uint16)
    data[:, :, :nodata_cols] = 0
    profile = dict(driver="GTiff", width=width, height=height, count=3, dtype="uint16", nodata=0,
                   crs="EPSG:32611", transform=from_origin(500000.0, 4000000.0, 0.5, 0.5))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return data


def test_chip_offsets_cover_the_scene_with_full_chips():
    assert chip_offsets(300, 128, 0) == [0, 128, 172]
    assert chip_offsets(300, 128, 28) == [0, 100, 172]
    assert chip_offsets(100, 128, 0) == [0]
    with pytest.raises(BadInputError):
        chip_offsets(300, 128, 128)


def test_chips_keep_crs_and_shifted_transform(tmp_path):
    scene = tmp_path / "scène 1.tif"
    data = make_scene(scene, nodata_cols=130)  # the first chip column is all nodata
    seen = []
    report = import_scene(scene, tmp_path / "ws", chip=128, progress=lambda d, t: seen.append((d, t)))
    assert report.total == 6 and report.skipped_nodata == 2 and len(report.written) == 4
    assert seen[-1] == (6, 6)
    chip = tmp_path / "ws" / "unlabeled" / "scène 1_r001_c002.tif"
    with rasterio.open(chip) as src:
        assert src.crs.to_epsg() == 32611 and src.nodata == 0 and (src.width, src.height) == (128, 128)
        assert src.transform == from_origin(500000.0 + 172 * 0.5, 4000000.0 - 72 * 0.5, 0.5, 0.5)
        assert np.array_equal(src.read(), data[:, 72:200, 172:300])
    assert not any(p.name.startswith(".") for p in (tmp_path / "ws" / "unlabeled").iterdir())
    assert read_image(chip).shape == (128, 128, 3)
    again = import_scene(scene, tmp_path / "ws", chip=128)  # a second run resumes, writes nothing
    assert again.written == [] and again.existing == 4


def test_cancel_stops_between_chips(tmp_path):
    scene = tmp_path / "s.tif"
    make_scene(scene)
    report = import_scene(scene, tmp_path / "ws", chip=64, cancel=lambda: True)
    assert report.cancelled and report.written == []


def test_cli_imports_and_registers_chips_and_reports_bad_scenes(tmp_path, capsys):
    scene = tmp_path / "s.tif"
    make_scene(scene, width=256, height=128)
    (tmp_path / "broken.tif").write_bytes(b"II*\x00garbage")
    code = cli(["import-scene", str(scene), str(tmp_path / "broken.tif"), str(tmp_path / "ws"),
                "--chip", "128", "--overlap", "0"])
    out, err = capsys.readouterr()
    assert code == 1 and "broken.tif" in err and "Traceback" not in err
    assert "2 chips written" in out
    ws = Workspace.open(tmp_path / "ws")
    assert [t.stem for t in ws.tiles(status=TileStatus.NEW)] == ["s_r000_c000", "s_r000_c001"]


def test_real_spacenet_scene(tmp_path, shared_data):
    scene = os.path.join(shared_data, "spacenet-vegas", "images", "AOI_2_Vegas_img0.tif")
    report = import_scene(scene, tmp_path / "ws", chip=512, overlap=64)
    assert report.total == 9 and len(report.written) == 9
    with rasterio.open(scene) as full, \
            rasterio.open(tmp_path / "ws" / "unlabeled" / "AOI_2_Vegas_img0_r001_c002.tif") as chip:
        assert chip.crs == full.crs and chip.count == full.count == 4
        x, y = chip.transform @ (0, 0)
        assert (x, y) == pytest.approx(full.transform @ (788, 448))
        assert np.array_equal(chip.read(1), full.read(1, window=((448, 960), (788, 1300))))
