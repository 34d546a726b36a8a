"""The SageMaker backend.

REAL: ModelTrainer (SageMaker Python SDK v3) runs unmodified against moto's server on loopback:
it stages the source in S3 and calls CreateTrainingJob; the request is read back with
DescribeTrainingJob; settings validation calls STS and S3 GetBucketLocation on the same server.
SIMULATED (moto cannot): moto completes jobs instantly, writes no model.tar.gz, has no
StopTrainingJob and no CloudWatch log events for jobs (role validation against moto's IAM:
test_retrain_sagemaker_role.py). Status
transitions, log following and stop are therefore tested against a recorded double standing
where the boto3 clients stand.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from datetime import datetime, timezone

import boto3
import pytest

from trainer.errors import RoadsegError
from trainer.jobs.base import Hyperparameters, JobState, TrainingJob
from trainer.jobs.metrics import MetricsTracker
from trainer.jobs.sagemaker_backend import SageMakerConfig, launch, validate
from trainer.jobs.sagemaker_job import LOG_GROUP, SageMakerJob

from sagemaker_helpers import create_readme_role

ROLE = "arn:aws:iam::123456789012:role/RoadsegSageMaker"
BUCKET = "roadseg-data"
PREFIX = "team/seg-data"


@pytest.fixture
def sm_config(s3_server, monkeypatch):
    # role validation is tested on and off in test_retrain_sagemaker_role.py; here it is off
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # a refused request fails at once, without backoff
    # moto keeps its state per process, not per server: start each test from an empty account
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    create_readme_role(s3_server, ROLE.rsplit("/", 1)[1], BUCKET, PREFIX)
    return SageMakerConfig(role_arn=ROLE, bucket=BUCKET, prefix=PREFIX, region="us-east-1",
                           s3_endpoint_url=s3_server, endpoint_url=s3_server, instance_type="ml.g5.xlarge",
                           use_spot=True, max_run_seconds=3600, max_wait_seconds=7200)


def _clients(endpoint):
    return (boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1"),
            boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1"))


def test_launch_stages_the_trainer_package_and_creates_the_job_request(sm_config, s3_server, tmp_path,
                                                                      monkeypatch):
    from sagemaker.core.telemetry import telemetry_logging

    sent = []
    monkeypatch.setattr(telemetry_logging, "_send_telemetry_request", lambda *a, **k: sent.append(a))
    hp = Hyperparameters(epochs=3, batch_size=4, lr=0.0005, backbone="resnet50", image_size=256)
    runner = launch(sm_config, hp, data={"train_pairs": 4, "test_pairs": 2})
    assert sent == []  # the SDK's telemetry is off (TelemetryOptOut in the session's SDK config)
    s3, sagemaker = _clients(s3_server)
    name = runner.job.name
    desc = sagemaker.describe_training_job(TrainingJobName=name)

    assert desc["AlgorithmSpecification"]["TrainingImage"] == \
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-gpu-py311"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in desc["InputDataConfig"]}
    assert channels["train"] == f"s3://{BUCKET}/{PREFIX}/train/"
    assert channels["test"] == f"s3://{BUCKET}/{PREFIX}/test/"
    assert desc["HyperParameters"] == {"epochs": "3", "batch-size": "4", "lr": "0.0005", "backbone": "resnet50",
                                       "image-size": "256", "checkpoint-dir": "/opt/ml/checkpoints"}
    assert desc["EnableManagedSpotTraining"] is True
    assert desc["CheckpointConfig"]["S3Uri"] == f"s3://{BUCKET}/{PREFIX}/jobs/roadseg/{name}/checkpoints"
    assert desc["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert desc["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert desc["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge" and desc["ResourceConfig"]["InstanceCount"] == 1
    assert desc["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/{PREFIX}/jobs/output"
    assert desc["RoleArn"] == ROLE

    # the code channel holds the trainer package alone, plus the launcher and the requirements file
    code_uri = channels["code"]
    assert code_uri.startswith(f"s3://{BUCKET}/{PREFIX}/jobs/roadseg/{name}/input/code")
    code_prefix = code_uri.split(f"s3://{BUCKET}/", 1)[1].rstrip("/") + "/"
    keys = [o["Key"][len(code_prefix):] for o in
            s3.list_objects_v2(Bucket=BUCKET, Prefix=code_prefix)["Contents"]]
    assert "roadseg_train.py" in keys and "trainer/train.py" in keys and "trainer/jobs/base.py" in keys
    assert not [k for k in keys if not (k == "roadseg_train.py" or k.startswith("trainer/"))]
    assert not [k for k in keys if "__pycache__" in k or k.endswith(".pyc")]
    launcher = s3.get_object(Bucket=BUCKET, Key=code_prefix + "roadseg_train.py")["Body"].read().decode()
    assert "run_module('trainer.train'" in launcher
    drivers = channels["sm_drivers"].split(f"s3://{BUCKET}/", 1)[1].rstrip("/")
    source = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{drivers}/sourcecode.json")["Body"].read())
    assert source["entry_script"] == "roadseg_train.py"
    has_requirements = any(k == "trainer/requirements.txt" for k in keys)
    assert source["requirements"] == ("trainer/requirements.txt" if has_requirements else None)
    distributed = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{drivers}/distributed.json")["Body"].read())
    assert distributed == {}  # one GPU, one instance: no torchrun

    # moto completes at once and reports an artifact path it never wrote (real moto behaviour)
    assert runner.refresh().state == JobState.COMPLETED
    assert runner.job.status.artifact.endswith(f"{name}/output/model.tar.gz")
    with pytest.raises(RoadsegError, match="no such object"):
        runner.fetch_artifact(tmp_path / "model.tar.gz")


def test_multi_gpu_uses_torchrun_and_fine_tuning_sends_the_model_channel(sm_config, s3_server, tmp_path):
    sm_config.instance_type, sm_config.instance_count, sm_config.use_spot = "ml.g5.12xlarge", 2, False
    current = tmp_path / "current-model"
    current.mkdir()
    (current / "model.pth").write_bytes(b"stand-in weights")  # packed and uploaded, never loaded here
    runner = launch(sm_config, Hyperparameters(epochs=1), init_model=current)
    s3, sagemaker = _clients(s3_server)
    desc = sagemaker.describe_training_job(TrainingJobName=runner.job.name)
    assert desc["ResourceConfig"]["InstanceCount"] == 2 and desc["EnableManagedSpotTraining"] is False
    assert "MaxWaitTimeInSeconds" not in desc["StoppingCondition"]
    channels = {c["ChannelName"]: c for c in desc["InputDataConfig"]}
    model_uri = channels["model"]["DataSource"]["S3DataSource"]["S3Uri"]
    assert model_uri.startswith(f"s3://{BUCKET}/{PREFIX}/jobs/init-models/")
    model_key = model_uri.split(f"s3://{BUCKET}/", 1)[1] + "model.tar.gz"
    assert s3.head_object(Bucket=BUCKET, Key=model_key)["ContentLength"] > 0
    drivers = channels["sm_drivers"]
    key = drivers["DataSource"]["S3DataSource"]["S3Uri"].split(f"s3://{BUCKET}/", 1)[1].rstrip("/")
    script = s3.get_object(Bucket=BUCKET, Key=f"{key}/sm_train.sh")["Body"].read().decode()
    assert "torchrun_driver.py" in script
    assert runner.job.details["distributed"] is True


BAD_SETTINGS = [
    ({"role_arn": ""}, "no SageMaker execution role is set"),
    ({"role_arn": "RoadsegSageMaker"}, "is not an IAM role ARN"),
    ({"instance_type": "ml.g99.huge"}, "unknown instance type 'ml.g99.huge'"),
    ({"bucket": "no-such-bucket"}, "does not exist"),
    ({"bucket": "eu-bucket"}, "is in eu-west-1 but SageMaker would run in us-east-1"),
    ({"framework_version": "0.1"}, "no AWS PyTorch training image"),
    ({"use_spot": True, "max_wait_seconds": 60}, "maximum wait must be at least the maximum run time"),
]


def test_bad_settings_are_refused_before_anything_is_created(sm_config, s3_server):
    boto3.client("s3", endpoint_url=s3_server, region_name="eu-west-1").create_bucket(
        Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for change, message in BAD_SETTINGS:
        config = dataclasses.replace(sm_config, **change)
        with pytest.raises(RoadsegError, match=message):
            launch(config, Hyperparameters(epochs=1))
    _, sagemaker = _clients(s3_server)
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []


def test_missing_credentials_are_refused_with_a_sentence(sm_config, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-role lookup on this machine
    with pytest.raises(RoadsegError, match="no AWS credentials found"):
        validate(sm_config)


# -- simulated: a recorded DescribeTrainingJob / CloudWatch Logs sequence at the boto3 boundary --------

class RecordedSageMaker:
    """Stands where the boto3 sagemaker client stands; replays recorded DescribeTrainingJob answers."""

    def __init__(self, sequence):
        self.sequence, self.calls = list(sequence), []

    def describe_training_job(self, TrainingJobName):
        self.calls.append(("describe", TrainingJobName))
        return self.sequence.pop(0) if len(self.sequence) > 1 else self.sequence[0]

    def stop_training_job(self, TrainingJobName):
        self.calls.append(("stop", TrainingJobName))
        return {}


class RecordedLogs:
    """CloudWatch Logs with one stream whose events arrive over time, paged by nextForwardToken."""

    def __init__(self, job_name, batches):
        self.stream = f"{job_name}/algo-1-1700000000"
        self.batches, self.calls = batches, []

    def describe_log_streams(self, logGroupName, logStreamNamePrefix, nextToken=None):
        self.calls.append(("streams", logGroupName, logStreamNamePrefix))
        return {"logStreams": [{"logStreamName": self.stream}]}

    def get_log_events(self, logGroupName, logStreamName, startFromHead, nextToken=None):
        self.calls.append(("events", logStreamName, nextToken))
        index = int(nextToken.split("-")[1]) if nextToken else 0
        available = self.batches[0] if self.batches else []
        page = available[index:index + 2]
        return {"events": [{"message": m} for m in page], "nextForwardToken": f"f-{index + len(page)}"}


def _recorded(primary, secondary, **extra):
    desc = {"TrainingJobStatus": primary, "SecondaryStatus": secondary,
            "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc),
            "SecondaryStatusTransitions": [{"Status": secondary, "StatusMessage": f"{secondary} ..."}]}
    desc.update(extra)
    return desc


def test_follow_status_logs_and_failure_reason_with_a_recorded_job():
    job = TrainingJob("roadseg-1", "sagemaker", details={"instance_type": "ml.g5.xlarge", "instance_count": 1,
                                                          "use_spot": True})
    sagemaker = RecordedSageMaker([
        _recorded("InProgress", "Starting"), _recorded("InProgress", "Downloading"),
        _recorded("InProgress", "Training"), _recorded("InProgress", "Training"),
        _recorded("Failed", "Failed", FailureReason="AlgorithmError: error: no training pairs",
                  TrainingEndTime=datetime(2026, 1, 1, 0, 10, tzinfo=timezone.utc), BillableTimeInSeconds=300)])
    lines = ["INFO trainer.train: train: 4 tiles", "epoch=1 train_loss=0.9 test_iou=0.1 test_f1=0.2",
             "epoch=2 train_loss=0.7 test_iou=0.3 test_f1=0.4"]
    logs = RecordedLogs("roadseg-1", [[]])
    runner = SageMakerJob(job, sagemaker, logs, s3_client=None)
    states, seen, tracker = [], [], MetricsTracker()
    for step in range(5):
        if step == 2:
            logs.batches = [lines[:1]]
        if step == 3:
            logs.batches = [lines]
        states.append(runner.refresh().state)
        new = runner.poll()
        seen += new
        tracker.feed(new)
    assert states == [JobState.STARTING, JobState.DOWNLOADING, JobState.TRAINING, JobState.TRAINING, JobState.FAILED]
    assert seen == lines  # each line once, in order, across polls and pages
    assert [e["epoch"] for e in tracker.epochs] == [1, 2]
    assert runner.job.status.failure_reason == "AlgorithmError: error: no training pairs"
    assert all(call[1] == LOG_GROUP and call[2] == "roadseg-1/" for call in logs.calls if call[0] == "streams")
    cost = runner.cost_estimate()
    assert cost.dollars == pytest.approx(1.408 * 300 / 3600) and "billable" in cost.basis


def test_stop_calls_stop_training_job_and_ends_stopped():
    job = TrainingJob("roadseg-2", "sagemaker", details={"instance_type": "ml.m5.xlarge", "instance_count": 1})
    sagemaker = RecordedSageMaker([_recorded("InProgress", "Training"), _recorded("InProgress", "Training"),
                                   _recorded("Stopping", "Stopping"), _recorded("Stopped", "Stopped")])
    runner = SageMakerJob(job, sagemaker, RecordedLogs("roadseg-2", [[]]), s3_client=None)
    assert runner.refresh().state == JobState.TRAINING
    runner.stop()
    assert ("stop", "roadseg-2") in sagemaker.calls
    assert runner.refresh().state == JobState.STOPPING  # DescribeTrainingJob lags: still shown as Stopping
    final = runner.wait(timeout=5, interval=0)
    assert final.state == JobState.STOPPED
