"""``roadseg predict --backend sagemaker`` launch options, as a user runs them: a real process, moto's server."""

from __future__ import annotations

import boto3

from .conftest import sagemaker_workspace
from .test_cli_backends import BUCKET, roadseg, s3_archive  # noqa: F401  (s3_archive is a fixture)


def test_instance_count_zero_is_refused_not_turned_into_one(s3_archive, s3_server, model_archive, tmp_path):
    root = tmp_path / "ws"
    sagemaker_workspace(root, BUCKET)
    proc = roadseg(s3_server, "predict", "--backend", "sagemaker", "--workspace", str(root), "--no-wait",
                   "--model", str(model_archive), "--instance-count", "0",
                   f"s3://{BUCKET}/scenes/", "--out", f"s3://{BUCKET}/predictions/")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "error: --instance-count must be at least 1 (got 0)" in proc.stderr and "Traceback" not in proc.stderr
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    assert sagemaker.list_processing_jobs()["ProcessingJobSummaries"] == []
    # nothing was staged either: the refusal comes before any upload
    assert "Contents" not in s3_archive.list_objects_v2(Bucket=BUCKET, Prefix="roadseg/")
