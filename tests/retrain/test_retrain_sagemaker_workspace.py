"""Retrain a workspace on "SageMaker" end to end against moto's server on loopback.

REAL: the settings check, the sync of accepted tiles before launch (roadseg_gui.core.sync.push),
ModelTrainer's CreateTrainingJob, the job remembered in the workspace, the S3 download of
model.tar.gz and its safe unpack into the registry.
SIMULATED: moto "completes" the job at once without running it and never writes the artifact,
so the test uploads an archive where the job says it is, as SageMaker's upload would. It is a
small stand-in (the registry only hashes weights); unpacking, evaluating and comparing a real
trained model is covered by test_retrain_local.py, through the same ``bring_back``.
"""

from __future__ import annotations

import urllib.request

import boto3
import pytest
from roadseg_gui.core import retrain
from roadseg_gui.core.settings import WorkspaceSettings
from roadseg_gui.core.sync import pending_pairs
from roadseg_gui.core.models import ModelRegistry
from trainer.artifact import pack_model
from trainer.errors import RoadsegError
from trainer.jobs.base import Hyperparameters, JobState

from sagemaker_helpers import create_readme_role

BUCKET, PREFIX = "team-bucket", "sagemaker/seg-data"


@pytest.fixture
def sagemaker_workspace(tiny_workspace, s3_server, monkeypatch):
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")  # on and off: test_retrain_sagemaker_role.py
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")             # a refused request fails at once
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)       # boto3's own switch: every AWS API goes to moto
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    create_readme_role(s3_server, "RoadsegSageMaker", BUCKET, PREFIX)
    settings = WorkspaceSettings.load(tiny_workspace)
    settings.s3.bucket, settings.s3.prefix, settings.s3.region = BUCKET, PREFIX, "us-east-1"
    settings.s3.endpoint_url, settings.s3.sse = s3_server, "AES256"
    settings.sagemaker.role_arn = "arn:aws:iam::123456789012:role/RoadsegSageMaker"
    settings.sagemaker.instance_type = "ml.g4dn.xlarge"
    settings.save(tiny_workspace)
    return tiny_workspace


def test_sagemaker_retrain_syncs_first_launches_and_brings_the_artifact_back(sagemaker_workspace, s3_server,
                                                                             tmp_path):
    root = sagemaker_workspace
    assert retrain.default_backend(WorkspaceSettings.load(root)) == "sagemaker"
    summary = retrain.summarize(root)
    assert (summary.train_pairs, summary.test_pairs, summary.unsynced) == (4, 2, 6)

    with pytest.raises(RoadsegError, match="6 accepted tiles are not on S3 yet"):
        retrain.start(root, "sagemaker", Hyperparameters(epochs=1), sync=False)
    runner = retrain.start(root, "sagemaker", Hyperparameters(epochs=1))

    assert pending_pairs(root) == [] and runner.job.data["synced_before_launch"] == 6
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/train/")["Contents"]}
    assert len([k for k in keys if "/masks/" in k]) == 4
    desc = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1").describe_training_job(
        TrainingJobName=runner.job.name)
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in desc["InputDataConfig"]}
    assert channels["train"] == f"s3://{BUCKET}/{PREFIX}/train/"
    assert desc["ResourceConfig"]["InstanceType"] == "ml.g4dn.xlarge"
    code = channels["code"].split(f"s3://{BUCKET}/", 1)[1].rstrip("/") + "/roadseg_train.py"
    assert s3.head_object(Bucket=BUCKET, Key=code)["ServerSideEncryption"] == "AES256"  # the workspace's SSE
    assert [j.name for j in retrain.unfinished_jobs(root)] + [j.name for j in retrain.all_jobs(root)] \
        == [runner.job.name]  # moto completed it at launch: remembered, and not running

    # SIMULATED: SageMaker would upload the trained model here
    assert runner.refresh().state == JobState.COMPLETED
    stand_in = tmp_path / "trained"
    stand_in.mkdir()
    (stand_in / "model.pth").write_bytes(b"trained weights")
    (stand_in / "model.json").write_text('{"backbone": "mobilenet_v3_large"}')
    tar = pack_model(stand_in, tmp_path / "model.tar.gz")
    s3.upload_file(str(tar), BUCKET, runner.job.status.artifact.split(f"s3://{BUCKET}/", 1)[1])

    downloaded = runner.fetch_artifact(root / ".roadseg" / "jobs" / runner.job.name / "model.tar.gz")
    assert downloaded.read_bytes() == tar.read_bytes()
    registry = ModelRegistry(root)
    try:
        record = registry.add_archive(downloaded, job_name=runner.job.name, backend="sagemaker")
        assert (record.path / "model.pth").read_bytes() == b"trained weights"
        assert record.path.parent == root / ".roadseg" / "models"
    finally:
        registry.close()
