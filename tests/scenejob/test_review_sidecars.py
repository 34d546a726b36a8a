"""Scenes brought into a workspace for review keep their sidecars: world file, .aux.xml, a VRT's sources.

REAL: moto's S3 server on loopback holding the scenes and the job's markers, ``download_for_review`` fetching
and flattening them into the workspace, rasterio reading the result. The markers are written directly (a
finished job's ``.done.json`` files): the job's own run is tested in test_container_sidecars.py.
"""

from __future__ import annotations

import urllib.request

import boto3
import numpy as np

from .test_container_sidecars import _plain_tiff, _vrt, _world_file

BUCKET = "review-sidecars"


def test_a_scene_brought_in_for_review_keeps_its_world_file_and_a_vrt_its_sources(tmp_path, s3_server,
                                                                                   monkeypatch):
    import rasterio

    from roadseg_gui.core import scene_jobs
    from roadseg_gui.core.settings import WorkspaceSettings
    from roadseg_gui.core.workspace import Workspace
    from trainer.jobs.base import JobState, JobStatus, TrainingJob
    from trainer.scenejob.contract import marker_name

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    local = tmp_path / "upload"
    _world_file(_plain_tiff(local / "geo" / "a.tif"))
    _plain_tiff(local / "tiles" / "t1.tif", seed=1)
    (local / "mosaics").mkdir()
    _vrt(local / "mosaics" / "m.vrt", "../tiles/t1.tif")   # a source beside, not below, the VRT
    for path in local.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), BUCKET, "scenes/" + path.relative_to(local).as_posix())
    for scene in ("geo/a.tif", "mosaics/m.vrt"):
        s3.put_object(Bucket=BUCKET, Key="out/" + marker_name(scene), Body=b"{}")
    root = tmp_path / "ws"
    Workspace.open(root).close()
    settings = WorkspaceSettings.load(root)
    settings.s3.bucket, settings.s3.region = BUCKET, "us-east-1"
    settings.save(root)
    job = TrainingJob(name="roadseg-predict-y", backend="sagemaker", status=JobStatus(JobState.COMPLETED),
                      details={"kind": "predict", "region": "us-east-1", "input_uri": f"s3://{BUCKET}/scenes/",
                               "output_uri": f"s3://{BUCKET}/out/"})

    scenes, _ = scene_jobs.download_for_review(root, job)

    assert sorted(p.name for p in scenes) == ["geo__a.tif", "mosaics__m.vrt"]
    folder = scenes[0].parent
    assert {"geo__a.tfw", "geo__a.tif.aux.xml"} <= {p.name for p in folder.iterdir()}
    with rasterio.open(folder / "geo__a.tif") as src:   # placed by its world file and .aux.xml, as on S3
        assert src.crs.to_epsg() == 32618 and tuple(src.transform)[:6] == (0.5, 0.0, 500000.0, 0.0, -0.5, 4100000.0)
    with rasterio.open(folder / "mosaics__m.vrt") as src, rasterio.open(local / "tiles" / "t1.tif") as tile:
        assert np.array_equal(src.read(), tile.read())   # the VRT still reads its source's pixels
