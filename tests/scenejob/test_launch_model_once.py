"""A launch with a local model loads it once (for the markers' version and threshold) and packs it at most
once (to upload it): one pass gives both, and the upload is the very file the container will load.

REAL: the SageMaker SDK creating the processing job on moto's server on loopback; the model input read back
from DescribeProcessingJob and the object stored there. Counted: calls into trainer.artifact, wrapped.
"""

from __future__ import annotations

import shutil

import boto3
import pytest

import trainer.artifact as artifact
from trainer.jobs.sagemaker_backend import make_boto_session
from trainer.scenejob.request import SceneJobRequest, launch

from .conftest import scenes_on_a_fresh_server

BUCKET = "model-once"


@pytest.fixture
def counted(monkeypatch):
    calls = {"load_model": 0, "pack_model": 0}
    for name in calls:
        real = getattr(artifact, name)

        def wrapper(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(artifact, name, wrapper)
    return calls


@pytest.mark.parametrize("form", ["folder", "folder holding model.tar.gz"])
def test_a_local_model_is_loaded_once_and_packed_at_most_once(form, counted, s3_server, monkeypatch, tmp_path,
                                                              model_archive):
    config = scenes_on_a_fresh_server(s3_server, monkeypatch, tmp_path, BUCKET, ["scenes/a.tif"])
    model = tmp_path / "model"
    if form == "folder":
        artifact.unpack_model(model_archive, model)
    else:
        model.mkdir()
        shutil.copy(model_archive, model / "model.tar.gz")
    request = SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/predictions/", str(model), config)
    counted.update(load_model=0, pack_model=0)
    job, sent, _ = launch(request, session=make_boto_session(config))
    assert sent == ["a.tif"]
    assert counted == {"load_model": 1, "pack_model": 1 if form == "folder" else 0}
    desc = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1").describe_processing_job(
        ProcessingJobName=job.name)
    model_uri = next(i["S3Input"]["S3Uri"] for i in desc["ProcessingInputs"] if i["InputName"] == "model")
    # deterministic packing: the folder packs to the same bytes as the archive it came from
    assert model_uri.endswith(f"/init-models/{artifact.file_version(model_archive)}/")
