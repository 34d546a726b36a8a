"""VolumeKmsKeyId only where SageMaker accepts one, for scene jobs and training jobs alike.

botocore's documentation of ProcessingClusterConfig.VolumeKmsKeyId and ResourceConfig.VolumeKmsKeyId:
"You can't request a VolumeKmsKeyId when using an instance type with local storage" (g4dn, g5, g6,
p4d...). moto accepts any request, so each request is read as botocore sends it.
REAL: the SDK's FrameworkProcessor and ModelTrainer against moto's server on loopback.
"""

from __future__ import annotations

import pytest

from trainer.jobs.base import Hyperparameters
from trainer.jobs.sagemaker_backend import launch as launch_training, make_boto_session
from trainer.scenejob.request import SceneJobRequest, launch

from .conftest import scenes_on_a_fresh_server

BUCKET = "kms-bucket"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0b5b1a2c-3d4e-4f50-9a8b-7c6d5e4f3a2b"


@pytest.fixture
def kms_config(s3_server, monkeypatch, tmp_path):
    return scenes_on_a_fresh_server(s3_server, monkeypatch, tmp_path, BUCKET, ("scenes/a.tif",), sse="aws:kms",
                                    kms_key_id=KEY)


def _recorded(config, operation):
    session = make_boto_session(config)
    sent: list = []
    session.events.register(f"provide-client-params.sagemaker.{operation}", lambda params, **_: sent.append(params))
    return session, sent


@pytest.mark.parametrize("instance_type, volume_key", [("ml.g4dn.xlarge", None), ("ml.m5.xlarge", KEY)])
def test_a_scene_job_sends_a_volume_key_only_to_instances_without_local_storage(kms_config, model_archive,
                                                                                 instance_type, volume_key):
    kms_config.instance_type = instance_type
    session, sent = _recorded(kms_config, "CreateProcessingJob")
    launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), kms_config),
           session=session)
    cluster = sent[0]["ProcessingResources"]["ClusterConfig"]
    assert cluster.get("VolumeKmsKeyId") == volume_key
    assert sent[0]["ProcessingOutputConfig"]["KmsKeyId"] == KEY   # the outputs are still encrypted with it


def test_an_org_wide_volume_key_is_dropped_on_a_g5_scene_job(kms_config, model_archive, tmp_path, monkeypatch):
    admin = tmp_path / "config.yaml"
    admin.write_text("SchemaVersion: '1.0'\nSageMaker:\n  ProcessingJob:\n    ProcessingResources:\n"
                     "      ClusterConfig:\n        VolumeKmsKeyId: alias/org-volumes\n", "utf-8")
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(admin))
    kms_config.kms_key_id, kms_config.sse, kms_config.instance_type = "", "", "ml.g5.xlarge"
    session, sent = _recorded(kms_config, "CreateProcessingJob")
    launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), kms_config),
           session=session)
    assert "VolumeKmsKeyId" not in sent[0]["ProcessingResources"]["ClusterConfig"]


@pytest.mark.parametrize("instance_type, volume_key", [("ml.g5.xlarge", None), ("ml.m5.xlarge", KEY)])
def test_a_training_job_sends_a_volume_key_only_to_instances_without_local_storage(kms_config, instance_type,
                                                                                   volume_key):
    kms_config.instance_type = instance_type
    session, sent = _recorded(kms_config, "CreateTrainingJob")
    launch_training(kms_config, Hyperparameters(epochs=1), session=session)
    assert sent[0]["ResourceConfig"].get("VolumeKmsKeyId") == volume_key
    assert sent[0]["OutputDataConfig"]["KmsKeyId"] == KEY
