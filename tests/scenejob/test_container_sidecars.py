"""A scene's sidecar files (.tfw, .aux.xml, .ovr, ...) and a VRT's sources travel with it, or it is unreadable.

REAL: moto's S3 server, GeoTIFFs georeferenced only by their world file, VRTs, the entry point in a fake /opt/ml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import warnings

import boto3
import numpy as np
import pytest

from .test_entry_point import ROOT

BUCKET = "sidecars"
UTM = ('PROJCS["WGS 84 / UTM zone 18N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
       'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
       'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",-75],PARAMETER["scale_factor",0.9996],'
       'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","32618"]]')


def _plain_tiff(path, seed=0, size=(100, 120)):
    """A TIFF with no georeferencing of its own (as scanners and old exports write them)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    data = np.random.default_rng(seed).integers(0, 255, (3, *size), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="GTiff", width=size[1], height=size[0], count=3, dtype="uint8") as dst:
            dst.write(data)
    return path


def _world_file(path):
    """a.tfw: 0.5 m pixels, upper-left pixel centre at (500000.25, 4099999.75); a.tif.aux.xml: the CRS."""
    path.with_suffix(".tfw").write_text("0.5\n0\n0\n-0.5\n500000.25\n4099999.75\n")
    path.with_name(path.name + ".aux.xml").write_text(f"<PAMDataset><SRS>{UTM}</SRS></PAMDataset>\n")


def _vrt(path, source, size=(100, 120)):
    path.write_text(f"""<VRTDataset rasterXSize="{size[1]}" rasterYSize="{size[0]}">
  <SRS>{UTM}</SRS><GeoTransform>500000, 0.5, 0, 4100000, 0, -0.5</GeoTransform>
""" + "".join(f"""  <VRTRasterBand dataType="Byte" band="{b}"><SimpleSource>
    <SourceFilename relativeToVRT="1">{source}</SourceFilename><SourceBand>{b}</SourceBand>
  </SimpleSource></VRTRasterBand>
""" for b in (1, 2, 3)) + "</VRTDataset>\n")


@pytest.fixture
def bucket(s3_server, tmp_path):
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    local = tmp_path / "upload"
    _world_file(_plain_tiff(local / "geo" / "a.tif"))
    _plain_tiff(local / "tiles" / "t1.tif", seed=1)
    _vrt(local / "mosaic.vrt", "tiles/t1.tif")
    _vrt(local / "broken.vrt", "gone/missing.tif")
    for path in local.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), BUCKET, "scenes/" + path.relative_to(local).as_posix())
    return s3


def _georeferencing(path):
    import rasterio

    with rasterio.open(path) as src:
        return src.crs.to_epsg() if src.crs else None, tuple(src.transform)[:6]


def test_the_local_backend_fetches_world_files_and_vrt_sources_with_their_scene(bucket, tmp_path, model_archive):
    from trainer.scenejob.__main__ import run
    from trainer.scenejob.runner import JobOptions

    out = tmp_path / "out"
    summary = run(f"s3://{BUCKET}/scenes/", str(model_archive), str(out),
                  JobOptions(tile=128, overlap=16, device="cpu"), s3=bucket)
    # without its .tfw/.prj the mask would have no CRS and an identity transform: in the wrong place
    assert _georeferencing(out / "geo" / "a_mask.tif") == (32618, (0.5, 0.0, 500000.0, 0.0, -0.5, 4100000.0))
    assert (out / "mosaic_mask.tif").is_file()
    assert list(summary.failed) == ["broken.vrt"]
    assert "its source gone/missing.tif is not under" in summary.failed["broken.vrt"]


def test_in_a_processing_job_sidecars_come_from_the_manifest_prefix(bucket, s3_server, tmp_path, model_archive):
    """Only the manifest's scenes arrive in the container; a.tfw and a.tif.aux.xml are fetched beside a.tif."""
    import shutil

    root = tmp_path / "opt" / "ml" / "processing"
    scenes = root / "input" / "scenes"
    bucket.download_file(BUCKET, "scenes/geo/a.tif", str(_plain_tiff(scenes / "geo" / "a.tif")))
    _vrt(scenes / "lonely.vrt", "elsewhere/t9.tif")   # its source is on no instance and not in S3
    (root / "input" / "model").mkdir(parents=True)
    shutil.copy(model_archive, root / "input" / "model" / "model.tar.gz")
    env = dict(os.environ, ROADSEG_PROCESSING_ROOT=str(root), OMP_NUM_THREADS="1", AWS_ENDPOINT_URL=s3_server)
    proc = subprocess.run([sys.executable, "-m", "trainer.scenejob", "--device", "cpu", "--tile", "128",
                           "--overlap", "16", "--manifest-prefix", f"s3://{BUCKET}/scenes/"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = root / "output" / "predictions"
    assert _georeferencing(out / "geo" / "a_mask.tif")[0] == 32618
    failures = json.loads((out / "failures.json").read_text())
    assert [row["scene"] for row in failures] == ["lonely.vrt"]
    assert "elsewhere/t9.tif" in failures[0]["reason"]


def test_a_local_vrt_whose_source_is_missing_is_unreadable_with_that_reason(tmp_path, model_archive):
    from trainer.scenejob.__main__ import run
    from trainer.scenejob.runner import JobOptions

    (tmp_path / "scenes").mkdir()
    _vrt(tmp_path / "scenes" / "a.vrt", "tiles/nope.tif")
    summary = run(str(tmp_path / "scenes"), str(model_archive), str(tmp_path / "out"),
                  JobOptions(tile=128, overlap=16, device="cpu"))
    assert "its source tiles/nope.tif did not arrive with it" in summary.failed["a.vrt"]
