"""The execution role is checked by the app (the SDK's own check is off), with validation on and off.

REAL: moto's server with IAM on: the role is created there from the README's trust and permissions
policies and read back with iam:GetRole; ModelTrainer creates the job on the same server.
SIMULATED: iam:SimulatePrincipalPolicy, which moto lacks (see sagemaker_helpers), except in the
test where moto's real answer to it, an HTML 500, is the point.
"""

from __future__ import annotations

import boto3
import pytest

from sagemaker_helpers import (create_readme_role, create_role, install_simulator, readme_role_policies,
                               reset_moto)
from trainer.errors import RoadsegError
from trainer.jobs.base import Hyperparameters
from trainer.jobs.sagemaker_backend import SageMakerConfig, launch

BUCKET, PREFIX, NAME = "roadseg-data", "team/seg-data", "RoadsegSageMakerExecution"
SAGEMAKER_TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                           "Principal": {"Service": "sagemaker.amazonaws.com"}}]}


@pytest.fixture
def account(s3_server, monkeypatch):
    """An empty moto account with the data bucket, IAM on, and the SDK's role validation switch not set."""
    monkeypatch.delenv("SAGEMAKER_VALIDATE_ROLE", raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reset_moto(s3_server)
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=BUCKET)

    def config(role_name: str = NAME) -> SageMakerConfig:
        return SageMakerConfig(role_arn=f"arn:aws:iam::123456789012:role/{role_name}", bucket=BUCKET, prefix=PREFIX,
                               region="us-east-1", s3_endpoint_url=s3_server, endpoint_url=s3_server,
                               instance_type="ml.g4dn.xlarge", use_spot=False)
    return config


def _jobs(endpoint) -> list:
    return boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1").list_training_jobs()[
        "TrainingJobSummaries"]


def test_validation_on_the_readme_role_passes_the_apps_check_and_launches(account, s3_server, monkeypatch):
    requests = install_simulator(monkeypatch)
    create_readme_role(s3_server, NAME, BUCKET, PREFIX)
    runner = launch(account(), Hyperparameters(epochs=1))
    assert runner.job.details["role_check"].startswith("execution role") and "checked" in runner.job.details[
        "role_check"]
    simulated = {action for actions, _, _ in requests for action in actions}
    # what the job does, with its real resources: no VPC network actions (this job has no VPC)
    assert {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "logs:PutLogEvents", "cloudwatch:PutMetricData",
            "ecr:GetAuthorizationToken", "ecr:BatchGetImage"} <= simulated
    assert not any(action.startswith("ec2:") for action in simulated)
    metric = next(r for r in requests if r[0] == ["cloudwatch:PutMetricData"])
    assert metric[2] == {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}
    pull = next(r for r in requests if "ecr:BatchGetImage" in r[0])
    assert pull[1] == ["arn:aws:ecr:us-east-1:763104351884:repository/pytorch-training"]
    assert [j["TrainingJobName"] for j in _jobs(s3_server)] == [runner.job.name]
    # the README's role may not write the bucket's root: the SDK's own probe would have moved the
    # staged code under the output path; the app keeps it where the README's table says
    desc = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1").describe_training_job(
        TrainingJobName=runner.job.name)
    code = next(c for c in desc["InputDataConfig"] if c["ChannelName"] == "code")
    assert code["DataSource"]["S3DataSource"]["S3Uri"].startswith(
        f"s3://{BUCKET}/{PREFIX}/jobs/roadseg/{runner.job.name}/input/code")


def test_validation_on_a_role_missing_permissions_is_refused_naming_them(account, s3_server, monkeypatch):
    install_simulator(monkeypatch)
    trust, permissions = readme_role_policies(BUCKET, PREFIX, "us-east-1")
    permissions["Statement"] = [s for s in permissions["Statement"]
                                if not str(s["Action"]).count("ecr:") and "cloudwatch" not in str(s["Action"])]
    create_role(s3_server, NAME, trust, permissions)
    with pytest.raises(RoadsegError) as caught:
        launch(account(), Hyperparameters(epochs=1))
    message = str(caught.value)
    assert message.startswith(f"the execution role arn:aws:iam::123456789012:role/{NAME} lacks ")
    for action in ("cloudwatch:PutMetricData", "ecr:GetAuthorizationToken", "ecr:BatchGetImage"):
        assert action in message
    assert "s3:GetObject" not in message and "\n" not in message
    assert _jobs(s3_server) == []


def test_validation_on_a_role_sagemaker_cannot_assume_or_that_does_not_exist_is_refused(account, s3_server,
                                                                                       monkeypatch):
    install_simulator(monkeypatch)
    create_role(s3_server, "LambdaRole", {**SAGEMAKER_TRUST, "Statement": [
        {**SAGEMAKER_TRUST["Statement"][0], "Principal": {"Service": "lambda.amazonaws.com"}}]}, None)
    with pytest.raises(RoadsegError, match="does not let SageMaker assume it"):
        launch(account("LambdaRole"), Hyperparameters(epochs=1))
    with pytest.raises(RoadsegError, match="role/NoSuchRole does not exist"):
        launch(account("NoSuchRole"), Hyperparameters(epochs=1))
    assert _jobs(s3_server) == []


def test_validation_on_when_iam_answers_html_the_launch_goes_on_unchecked(account, s3_server, caplog):
    # moto's real answer to SimulatePrincipalPolicy: an HTML 500 page (botocore's ResponseParserError).
    # The SDK's check would end the launch in that traceback; the app says the role was not checked.
    create_readme_role(s3_server, NAME, BUCKET, PREFIX)
    runner = launch(account(), Hyperparameters(epochs=1))
    note = runner.job.details["role_check"]
    assert "was not checked before launch" in note and "ResponseParserError" in note
    assert note in caplog.text
    assert [j["TrainingJobName"] for j in _jobs(s3_server)] == [runner.job.name]


def test_validation_on_without_the_users_iam_permission_the_launch_goes_on_unchecked(account, s3_server,
                                                                                    monkeypatch):
    install_simulator(monkeypatch, caller_may_simulate=False)
    create_readme_role(s3_server, NAME, BUCKET, PREFIX)
    runner = launch(account(), Hyperparameters(epochs=1))
    assert "your user may not call SimulatePrincipalPolicy" in runner.job.details["role_check"]
    assert len(_jobs(s3_server)) == 1


def test_validation_off_skips_the_check_and_launches(account, s3_server, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    requests = install_simulator(monkeypatch)
    create_role(s3_server, NAME, SAGEMAKER_TRUST, None)  # no permissions at all: nothing checks them
    runner = launch(account(), Hyperparameters(epochs=1))
    assert requests == [] and "SAGEMAKER_VALIDATE_ROLE" in runner.job.details["role_check"]
    assert len(_jobs(s3_server)) == 1
