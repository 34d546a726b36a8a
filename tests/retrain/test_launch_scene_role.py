"""A scene job's execution role is checked like a training job's, before anything is staged.

REAL: the README's role created in moto's IAM (trust and permissions policies as printed), read back with
iam:GetRole; the KMS key and its alias made in moto's KMS and resolved with kms:DescribeKey; the SDK's
FrameworkProcessor creating the job on moto's server. SIMULATED: iam:SimulatePrincipalPolicy, which moto
lacks (sagemaker_helpers.install_simulator decides with moto's own policy engine).
"""

from __future__ import annotations

import boto3
import pytest

from sagemaker_helpers import create_role, install_simulator, readme_role_policies, reset_moto
from scenejob.conftest import model_archive, write_scene  # noqa: F401  (model_archive is a fixture)
from trainer.errors import RoadsegError
from trainer.jobs.sagemaker_backend import SageMakerConfig
from trainer.scenejob.request import SceneJobRequest, launch

BUCKET, PREFIX, NAME = "scene-role", "team/seg-data", "RoadsegSageMakerExecution"
SCENES, OUTPUT = f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/predictions/"


@pytest.fixture
def account(s3_server, monkeypatch, tmp_path):
    monkeypatch.delenv("SAGEMAKER_VALIDATE_ROLE", raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reset_moto(s3_server)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    path, _ = write_scene(tmp_path / "scene.tif", width=64, height=64)
    s3.upload_file(str(path), BUCKET, "scenes/a.tif")
    return SageMakerConfig(role_arn=f"arn:aws:iam::123456789012:role/{NAME}", bucket=BUCKET, prefix=PREFIX,
                           region="us-east-1", s3_endpoint_url=s3_server, endpoint_url=s3_server,
                           instance_type="ml.g5.xlarge", use_spot=False)


def _processing_jobs(endpoint) -> list:
    return boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1").list_processing_jobs()[
        "ProcessingJobSummaries"]


def test_the_readme_role_runs_a_scene_job_and_the_check_covers_what_the_job_does(account, s3_server, monkeypatch,
                                                                                  model_archive):
    requests = install_simulator(monkeypatch)
    trust, permissions = readme_role_policies(BUCKET, PREFIX, "us-east-1")
    # the workspace's key, given as an alias ARN: the README's "add kms:Decrypt / kms:GenerateDataKey on the key"
    kms = boto3.client("kms", endpoint_url=s3_server, region_name="us-east-1")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/roadseg", TargetKeyId=key["KeyId"])
    permissions["Statement"].append({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                     "Resource": key["Arn"]})
    create_role(s3_server, NAME, trust, permissions)
    account.sse, account.kms_key_id = "aws:kms", "arn:aws:kms:us-east-1:123456789012:alias/roadseg"
    job, _, _ = launch(SceneJobRequest(SCENES, OUTPUT, str(model_archive), account))
    assert job.details["role_check"].startswith("execution role") and "not checked" not in job.details["role_check"]
    decided = {(action, resource) for actions, resources, _ in requests for action in actions for resource in resources}
    assert ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/scenes/example.tif") in decided
    # listing the scenes' folders (for their sidecars), under the scenes prefix only
    assert (["s3:ListBucket"], [f"arn:aws:s3:::{BUCKET}"], {"s3:prefix": "scenes/"}) in requests
    assert ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/predictions/example_mask.tif") in decided
    assert any(action == "logs:PutLogEvents" and ":log-group:/aws/sagemaker/ProcessingJobs:log-stream:"
               f"{job.name}/" in resource for action, resource in decided)
    assert ("ecr:BatchGetImage", "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-training") in decided
    assert ("kms:Decrypt", key["Arn"]) in decided          # the alias ARN resolved to its key
    assert not any("alias/" in resource for _, resource in decided)
    assert [j["ProcessingJobName"] for j in _processing_jobs(s3_server)] == [job.name]


def test_a_role_that_cannot_read_the_scenes_is_refused_before_anything_is_staged(account, s3_server, monkeypatch,
                                                                                 model_archive):
    install_simulator(monkeypatch)
    trust, permissions = readme_role_policies(BUCKET, PREFIX, "us-east-1")
    permissions["Statement"] = [s for s in permissions["Statement"] if "/scenes/" not in str(s["Resource"])
                                and "ProcessingJobs" not in str(s["Resource"])]
    create_role(s3_server, NAME, trust, permissions)
    with pytest.raises(RoadsegError) as caught:
        launch(SceneJobRequest(SCENES, OUTPUT, str(model_archive), account))
    message = str(caught.value)
    assert message.startswith(f"the execution role arn:aws:iam::123456789012:role/{NAME} lacks ")
    assert f"s3:GetObject on arn:aws:s3:::{BUCKET}/scenes/example.tif (to read the scenes under {SCENES})" in message
    assert "logs:PutLogEvents" in message and "\n" not in message
    assert _processing_jobs(s3_server) == []
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/jobs/")   # no model, code, manifest


def _listing_allowed(permissions: dict, need) -> bool:
    """Whether a statement allows this s3:ListBucket with the prefix it carries (moto's engine ignores
    Conditions, so the README's ``s3:prefix`` patterns are matched here, as IAM's StringLike does)."""
    from fnmatch import fnmatchcase

    prefix = dict(need.context)["s3:prefix"]
    for statement in permissions["Statement"]:
        if "s3:ListBucket" in statement["Action"] and statement["Resource"] == need.resource:
            patterns = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
            if patterns is None or any(fnmatchcase(prefix, pattern) for pattern in patterns):
                return True
    return False


def test_every_listing_of_a_scene_job_is_allowed_by_the_readme_roles_prefix_conditions(account):
    from trainer.jobs.sagemaker_role import processing_needs

    _, permissions = readme_role_policies(BUCKET, PREFIX, "us-east-1")
    needs = [need for need in processing_needs(account, "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1",
                                               "us-east-1", job_name="roadseg-predict-1", input_uri=SCENES,
                                               output_uri=OUTPUT,
                                               model_uri=f"s3://{BUCKET}/{PREFIX}/jobs/init-models/abc/")
             if need.actions == ("s3:ListBucket",)]
    assert {dict(need.context)["s3:prefix"] for need in needs} >= {"scenes/", f"{PREFIX}/jobs/init-models/abc/"}
    assert all(_listing_allowed(permissions, need) for need in needs), needs
    without = {"Statement": [s for s in permissions["Statement"] if "scenes/*" not in str(s.get("Condition"))]}
    assert [dict(n.context)["s3:prefix"] for n in needs if not _listing_allowed(without, n)] == ["scenes/"]


def test_an_alias_that_cannot_be_resolved_is_named_as_not_checked(account, s3_server, monkeypatch, model_archive):
    install_simulator(monkeypatch)
    trust, permissions = readme_role_policies(BUCKET, PREFIX, "us-east-1")
    create_role(s3_server, NAME, trust, permissions)
    account.sse, account.kms_key_id = "aws:kms", "arn:aws:kms:us-east-1:123456789012:alias/gone"
    job, _, _ = launch(SceneJobRequest(SCENES, OUTPUT, str(model_archive), account))
    assert "the KMS alias arn:aws:kms:us-east-1:123456789012:alias/gone could not be resolved to its key " \
           "(NotFoundException), so its use was not checked" in job.details["role_check"]
