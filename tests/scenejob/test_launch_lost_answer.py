"""A launch whose SDK call fails after SageMaker created the job: the job is found by its name and followed.

REAL: the SageMaker SDK creates a processing job (FrameworkProcessor) and a training job (ModelTrainer) on
moto's server on loopback, through the forwarding ``HoldingProxy`` of test_launch_interrupt.py; the launch
asks moto for the job by its name. FAULT INJECTED: the proxy forwards the create call to moto, which makes
the job, then drops the connection before the answer (a network cut), so the SDK raises after creation.
SIMULATED: DescribeTrainingJob says InProgress (moto completes a training job the moment it is made).
"""

from __future__ import annotations

import logging

import boto3
import pytest

from trainer.errors import RoadsegError
from trainer.jobs.base import Hyperparameters
from trainer.jobs.sagemaker_backend import launch as launch_training
from trainer.jobs.sagemaker_backend import make_boto_session
from trainer.scenejob.request import SceneJobRequest
from trainer.scenejob.request import launch as launch_scenes

from .conftest import scenes_on_a_fresh_server
from .test_launch_interrupt import proxy  # noqa: F401 - the fixture

BUCKET = "answer-lost"


def _through(config, proxy_url: str):
    config.endpoint_url = config.s3_endpoint_url = proxy_url
    return config


def test_a_processing_job_created_though_the_answer_was_lost_is_remembered_and_followed(
        s3_server, proxy, monkeypatch, tmp_path, model_archive, caplog):
    config = _through(scenes_on_a_fresh_server(s3_server, monkeypatch, tmp_path, BUCKET, ["scenes/a.tif"]),
                      proxy.url)
    proxy.lost.add("CreateProcessingJob")
    remembered = []
    request = SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/predictions/", str(model_archive), config)
    with caplog.at_level(logging.WARNING):
        job, sent, _ = launch_scenes(request, session=make_boto_session(config), on_created=remembered.append)
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    names = [j["ProcessingJobName"] for j in sagemaker.list_processing_jobs()["ProcessingJobSummaries"]]
    assert names == [job.name] and remembered == [job] and sent == ["a.tif"]
    assert job.details["kind"] == "predict" and job.details["output_uri"] == f"s3://{BUCKET}/predictions/"
    assert f"Processing job {job.name} was created, but the launch then failed" in caplog.text
    # the job uses what was staged: the manifest and the code stay
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    staged = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="team/").get("Contents", [])]
    assert any(key.endswith(f"{job.name}/scenes.manifest") for key in staged), staged


def test_when_no_job_came_of_the_failed_call_the_staging_is_deleted_and_the_error_raised(
        s3_server, proxy, monkeypatch, tmp_path, model_archive):
    config = _through(scenes_on_a_fresh_server(s3_server, monkeypatch, tmp_path, BUCKET, ["scenes/a.tif"]),
                      proxy.url)
    # the create call never reaches SageMaker: DescribeProcessingJob then finds no job of that name
    proxy.hold(lambda method, path, target: target == "SageMaker.CreateProcessingJob", drop=True)
    proxy.release()
    remembered = []
    request = SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/predictions/", str(model_archive), config)
    with pytest.raises(RoadsegError):
        launch_scenes(request, session=make_boto_session(config), on_created=remembered.append)
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    assert sagemaker.list_processing_jobs()["ProcessingJobSummaries"] == [] and remembered == []
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="team/")


def test_a_training_job_created_though_the_answer_was_lost_is_remembered_and_followed(
        s3_server, proxy, monkeypatch, tmp_path, caplog):
    config = _through(scenes_on_a_fresh_server(s3_server, monkeypatch, tmp_path, BUCKET, []), proxy.url)
    proxy.lost.add("CreateTrainingJob")
    proxy.rewrites["DescribeTrainingJob"] = lambda desc: {**desc, "TrainingJobStatus": "InProgress",
                                                          "SecondaryStatus": "Starting"}
    remembered = []
    with caplog.at_level(logging.WARNING):
        runner = launch_training(config, Hyperparameters(epochs=1), session=make_boto_session(config),
                                 on_created=remembered.append)
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    names = [j["TrainingJobName"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]]
    assert names == [runner.job.name] and remembered == [runner.job]
    assert not runner.job.status.terminal   # followed: finish() read its status, InProgress
    assert f"Training job {runner.job.name} was created, but the launch then failed" in caplog.text
