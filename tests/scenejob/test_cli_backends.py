"""``roadseg predict --backend local|sagemaker`` as a user runs it: real processes, a real S3 server.

boto3's standard AWS_ENDPOINT_URL points every client at moto's server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

from .conftest import sagemaker_workspace, write_scene

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "archive"


@pytest.fixture
def s3_archive(s3_server, tmp_path):
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    for i, key in enumerate(("scenes/a/one.tif", "scenes/two.tif")):
        path, _ = write_scene(tmp_path / f"scene{i}.tif", seed=i, width=200, height=160)
        s3.upload_file(str(path), BUCKET, key)
    s3.put_object(Bucket=BUCKET, Key="scenes/broken.tif", Body=b"II*\x00 not really a tiff")
    return s3


def roadseg(s3_server, *args, cwd=None):
    env = dict(os.environ, AWS_ENDPOINT_URL=s3_server, OMP_NUM_THREADS="1", AWS_MAX_ATTEMPTS="1",
               SAGEMAKER_VALIDATE_ROLE="false")
    return subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_local_backend_over_s3_predicts_reports_the_broken_scene_and_a_rerun_skips(s3_archive, s3_server,
                                                                                  model_archive):
    args = ("predict", "--backend", "local", "--device", "cpu", "--model", str(model_archive),
            f"s3://{BUCKET}/scenes/", "--out", f"s3://{BUCKET}/predictions/")
    first = roadseg(s3_server, *args)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "failed: broken.tif:" in first.stderr and "Traceback" not in first.stderr
    keys = {o["Key"] for o in s3_archive.list_objects_v2(Bucket=BUCKET, Prefix="predictions/")["Contents"]}
    assert {"predictions/a/one_mask.tif", "predictions/a/one.done.json", "predictions/two_mask.tif",
            "predictions/failures.json"} <= keys
    failures = json.loads(s3_archive.get_object(Bucket=BUCKET, Key="predictions/failures.json")["Body"].read())
    assert [row["scene"] for row in failures] == ["broken.tif"]

    s3_archive.delete_object(Bucket=BUCKET, Key="scenes/broken.tif")
    s3_archive.upload_file(str(model_archive), BUCKET, "models/v2/model.tar.gz")
    s3_archive.delete_object(Bucket=BUCKET, Key="predictions/two.done.json")  # two must be predicted again
    args = tuple(f"s3://{BUCKET}/models/v2/model.tar.gz" if a == str(model_archive) else a for a in args)
    second = roadseg(s3_server, *args)
    assert second.returncode == 0, second.stderr
    assert "1 scene(s) predicted, 1 already complete" in second.stdout


def test_sagemaker_backend_creates_the_processing_job_and_the_workspace_remembers_it(s3_archive, s3_server,
                                                                                    model_archive, tmp_path):
    from roadseg_gui.core.jobs_store import JobsStore

    root = tmp_path / "ws"
    sagemaker_workspace(root, BUCKET)
    proc = roadseg(s3_server, "predict", "--backend", "sagemaker", "--workspace", str(root), "--no-wait",
                   "--model", str(model_archive), "--instance-count", "2", "--vector",
                   f"s3://{BUCKET}/scenes/", "--out", f"s3://{BUCKET}/predictions/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 scene(s) on 2 x ml.g5.xlarge" in proc.stdout
    with JobsStore(root) as store:
        jobs = store.jobs()
    assert len(jobs) == 1 and jobs[0].details["kind"] == "predict"
    assert jobs[0].details["output_uri"] == f"s3://{BUCKET}/predictions/"


def test_sagemaker_backend_refuses_a_local_input_before_creating_anything(s3_server, model_archive, tmp_path):
    proc = roadseg(s3_server, "predict", "--backend", "sagemaker", "--model", str(model_archive),
                   "--role", "arn:aws:iam::123456789012:role/Roadseg", str(tmp_path), "--out", f"s3://{BUCKET}/p/")
    assert proc.returncode != 0
    assert "must be an s3:// prefix" in proc.stderr and "Traceback" not in proc.stderr
