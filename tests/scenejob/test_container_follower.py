"""What the follower makes of a completed scene job's failures files, against moto's server (SageMaker and S3).

SIMULATED: moto runs no container, so the failures files are put where the instances would upload them."""

from __future__ import annotations

import json
import time
import urllib.request

import boto3

from trainer.jobs.base import JobState, JobStatus, TrainingJob
from trainer.scenejob.follow import attach

BUCKET = "archive"
ROLE = "arn:aws:iam::123456789012:role/Roadseg"


def _completed_job(endpoint: str, name: str, instances: int) -> TrainingJob:
    sagemaker = boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1")
    sagemaker.create_processing_job(
        ProcessingJobName=name, RoleArn=ROLE,
        AppSpecification={"ImageUri": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5"},
        ProcessingResources={"ClusterConfig": {"InstanceCount": instances, "InstanceType": "ml.g5.xlarge",
                                               "VolumeSizeInGB": 30}},
        ProcessingOutputConfig={"Outputs": [{"OutputName": "predictions", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/p/", "LocalPath": "/opt/ml/processing/output/predictions",
            "S3UploadMode": "Continuous"}}]})
    return TrainingJob(name=name, backend="sagemaker", status=JobStatus(JobState.STARTING, "Starting"),
                       data={"scenes": 300}, details={"kind": "predict", "instance_count": instances,
                                                      "output_uri": f"s3://{BUCKET}/p/"})


def test_a_completed_job_with_failed_scenes_says_how_many_and_where_ignoring_an_earlier_runs_files(s3_server):
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    session = boto3.Session(region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    # an earlier run on three instances failed 7 scenes on algo-3; its file is still there
    s3.put_object(Bucket=BUCKET, Key="p/failures-algo-3.json",
                  Body=json.dumps([{"scene": f"old{i}.tif", "reason": "x"} for i in range(7)]).encode())
    time.sleep(1.2)
    job = _completed_job(s3_server, "roadseg-predict-1", instances=2)
    s3.put_object(Bucket=BUCKET, Key="p/failures-algo-1.json",
                  Body=json.dumps([{"scene": "a.tif", "reason": "cannot open"}]).encode())
    s3.put_object(Bucket=BUCKET, Key="p/failures-algo-2.json",
                  Body=json.dumps([{"scene": "b.tif", "reason": "truncated"}]).encode())
    runner = attach(job, _session(session, s3_server))
    status = runner.refresh()
    assert status.state == JobState.COMPLETED
    assert status.describe() == f"Completed (2 of 300 scenes failed: see s3://{BUCKET}/p/failures-*.json)"


def test_a_stale_file_of_the_same_name_from_before_the_job_is_not_counted(s3_server):
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="p/failures.json", Body=b'[{"scene": "old.tif", "reason": "x"}]')
    time.sleep(1.2)
    job = _completed_job(s3_server, "roadseg-predict-2", instances=1)
    status = attach(job, _session(boto3.Session(region_name="us-east-1"), s3_server)).refresh()
    assert status.describe() == "Completed"


class _session:
    """A boto3 session whose clients talk to moto's server (what make_boto_session does with endpoints)."""

    def __init__(self, session, endpoint):
        self.session, self.endpoint = session, endpoint

    def client(self, name):
        return self.session.client(name, endpoint_url=self.endpoint)
