"""What a launch sends and how its failures read, against moto's server on loopback.

REAL: ModelTrainer (SDK v3) stages the code and creates the job on moto; the staged objects, the job
request and its tags are read back from there; the bucket policy that refuses uploads is moto's.
FAULT INJECTED: an endpoint that answers an HTML 500 page (as a proxy or a failing service does),
a plain http.server on loopback that stands where the SageMaker API stands.
"""

from __future__ import annotations

import http.server
import json
import re
import threading

import boto3
import pytest

from sagemaker_helpers import create_readme_role, reset_moto
from trainer.errors import RoadsegError
from trainer.jobs.base import Hyperparameters
from trainer.jobs.sagemaker_backend import SageMakerConfig, launch, make_boto_session
from trainer.jobs.sagemaker_sdk import metric_definitions
from trainer.train import _epoch_line

ROLE = "arn:aws:iam::123456789012:role/RoadsegSageMaker"
BUCKET, PREFIX = "roadseg-data", "team/seg-data"


@pytest.fixture
def sm_config(s3_server, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")  # on and off: test_retrain_sagemaker_role.py
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reset_moto(s3_server)
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    create_readme_role(s3_server, "RoadsegSageMaker", BUCKET, PREFIX)
    return SageMakerConfig(role_arn=ROLE, bucket=BUCKET, prefix=PREFIX, region="us-east-1",
                           s3_endpoint_url=s3_server, endpoint_url=s3_server, instance_type="ml.g5.xlarge",
                           use_spot=False)


def _describe(endpoint, name):
    return boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1").describe_training_job(
        TrainingJobName=name)


def test_metric_definitions_are_sent_and_match_the_epoch_lines(sm_config, s3_server):
    # moto's DescribeTrainingJob answers fixed MetricDefinitions of its own, so the request is read as sent
    session = make_boto_session(sm_config)
    requests = []
    session.events.register("provide-client-params.sagemaker.CreateTrainingJob",
                            lambda params, **kwargs: requests.append(params))
    launch(sm_config, Hyperparameters(epochs=1), session=session)
    sent = requests[0]["AlgorithmSpecification"]["MetricDefinitions"]
    assert sent == metric_definitions()
    record = {"epoch": 3, "train_loss": 0.4123, "test_loss": 0.5, "test_iou": 0.5234, "test_f1": 0.6871,
              "test_precision": 0.7, "test_recall": 0.66, "test_accuracy": 0.97, "test_background_accuracy": 0.96,
              "test_cldice": 0.81, "test_apls": 0.62, "test_apls_raw": 0.54, "lr": 1.5e-05, "seconds": 12.0, "overhead": 0.01, "metrics_epoch": 3, "progress": 0.5}
    line = _epoch_line(record)
    found = {d["Name"]: float(re.search(d["Regex"], line).group(1)) for d in sent}
    assert found == {"train:loss": 0.4123, "test:loss": 0.5, "test:iou": 0.5234, "test:f1": 0.6871,
                     "test:precision": 0.7, "test:recall": 0.66, "test:cldice": 0.81, "test:apls": 0.62,
                     "test:apls_raw": 0.54, "learning_rate": 1.5e-05}   # apls is the bridged network's
    final = "final test_iou=0.6000 test_f1=0.7500 epochs=3 seconds=40.0 version=abc"
    assert float(re.search(sent[2]["Regex"], final).group(1)) == 0.6  # FinalMetricDataList takes the last


def test_every_upload_carries_the_workspaces_sse(sm_config, s3_server, tmp_path):
    sm_config.sse = "AES256"
    current = tmp_path / "current-model"
    current.mkdir()
    (current / "model.pth").write_bytes(b"stand-in weights")  # packed and uploaded, never loaded here
    runner = launch(sm_config, Hyperparameters(epochs=1), init_model=current)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/jobs/")["Contents"]]
    assert any(k.endswith("/roadseg_train.py") for k in keys) and any(k.endswith("sm_train.sh") for k in keys)
    assert any("/init-models/" in k for k in keys)
    for key in keys:
        assert s3.head_object(Bucket=BUCKET, Key=key).get("ServerSideEncryption") == "AES256", key
    # staged where the README says, whatever the SDK's IAM probe would have said
    assert all(k.startswith((f"{PREFIX}/jobs/roadseg/{runner.job.name}/input/", f"{PREFIX}/jobs/init-models/"))
               for k in keys)


def test_two_launches_in_the_same_second_get_different_names(sm_config, s3_server):
    names = [launch(sm_config, Hyperparameters(epochs=1)).job.name for _ in range(2)]
    assert names[0] != names[1]
    assert all(re.fullmatch(r"roadseg-[0-9a-f]{6}-\d{14}", name) for name in names)
    assert all(_describe(s3_server, name)["CheckpointConfig"]["S3Uri"]
               == f"s3://{BUCKET}/{PREFIX}/jobs/roadseg/{name}/checkpoints" for name in names)


def test_org_wide_sdk_defaults_are_kept_with_telemetry_off(sm_config, s3_server, tmp_path, monkeypatch):
    from sagemaker.core.telemetry import telemetry_logging

    admin = tmp_path / "config.yaml"
    admin.write_text("SchemaVersion: '1.0'\nSageMaker:\n  TrainingJob:\n"
                     "    Tags:\n      - Key: cost-center\n        Value: roads\n"
                     "    VpcConfig:\n      Subnets: [subnet-0abc]\n      SecurityGroupIds: [sg-0abc]\n"
                     "    OutputDataConfig:\n      KmsKeyId: alias/org-training\n"
                     "    Environment:\n      HTTPS_PROXY: http://proxy.example:3128\n", "utf-8")
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(admin))
    sent = []
    monkeypatch.setattr(telemetry_logging, "_send_telemetry_request", lambda *a, **k: sent.append(a))
    session = make_boto_session(sm_config)
    requests = []
    session.events.register("provide-client-params.sagemaker.CreateTrainingJob",
                            lambda params, **kwargs: requests.append(params))
    launch(sm_config, Hyperparameters(epochs=1), session=session)
    request = requests[0]
    assert {"Key": "cost-center", "Value": "roads"} in request["Tags"]
    assert request["VpcConfig"] == {"Subnets": ["subnet-0abc"], "SecurityGroupIds": ["sg-0abc"]}
    assert request["OutputDataConfig"]["KmsKeyId"] == "alias/org-training"
    assert request["Environment"]["HTTPS_PROXY"] == "http://proxy.example:3128"
    assert sent == []


def test_an_s3_refusal_while_staging_is_worded_as_s3(sm_config, s3_server):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                                                      "Resource": f"arn:aws:s3:::{BUCKET}/{PREFIX}/jobs/*"}]}
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps(policy))
    with pytest.raises(RoadsegError) as caught:
        launch(sm_config, Hyperparameters(epochs=1))
    message = str(caught.value)
    assert message.startswith(f"S3 refused to store the job's files under s3://{BUCKET}/{PREFIX}/jobs/roadseg/")
    assert "(PutObject: 403, Forbidden)" in message, message
    assert "SageMaker refused" not in message and "\n" not in message
    assert boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1").list_training_jobs()[
        "TrainingJobSummaries"] == []


class _HtmlErrorPage(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = b"<!doctype html><html><title>500 Internal Server Error</title><h1>Internal Server Error</h1></html>"
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def html_endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlErrorPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_html_answer_from_the_sagemaker_api_is_one_sentence(sm_config, s3_server, html_endpoint, monkeypatch):
    # STS and IAM answer from moto, SageMaker's CreateTrainingJob from an error page (boto3's per-service switches)
    sm_config.endpoint_url = ""
    for service in ("STS", "IAM"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", s3_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", html_endpoint)
    with pytest.raises(RoadsegError) as caught:
        launch(sm_config, Hyperparameters(epochs=1))
    message = str(caught.value)
    assert message.startswith("AWS answered CreateTrainingJob with HTTP 500 (an HTML error page) while trying "
                              "to create the training job"), message
    assert "<" not in message and "\n" not in message
    # and when every AWS API answers so, the credentials check says it first, in one sentence
    sm_config.endpoint_url = html_endpoint
    # (STS's XML protocol cannot parse the page at all: botocore's ResponseParserError)
    with pytest.raises(RoadsegError, match=r"^an AWS endpoint answered with something that is not an AWS response "
                                           r".* while trying to check the AWS credentials"):
        launch(sm_config, Hyperparameters(epochs=1))


def test_following_a_job_through_an_html_answer_is_one_sentence(sm_config, html_endpoint):
    from trainer.jobs.base import TrainingJob
    from trainer.jobs.sagemaker_backend import attach

    sm_config.endpoint_url = html_endpoint
    runner = attach(TrainingJob("roadseg-0a1b2c-20260101000000", "sagemaker"), sm_config)
    with pytest.raises(RoadsegError, match=r"^AWS answered DescribeTrainingJob with HTTP 500 \(an HTML error page\) "
                                           r"while trying to read the status of training job roadseg-0a1b2c"):
        runner.refresh()


def test_roadseg_retrain_prints_one_line_when_sagemaker_answers_html(tiny_workspace, s3_server, html_endpoint,
                                                                     monkeypatch, capsys):
    from roadseg_gui.cli.main import main
    from roadseg_gui.core.settings import WorkspaceSettings

    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reset_moto(s3_server)
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)                  # STS, IAM, S3: moto
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", html_endpoint)    # SageMaker: an error page
    settings = WorkspaceSettings.load(tiny_workspace)
    settings.s3.bucket, settings.s3.prefix, settings.s3.region = BUCKET, PREFIX, "us-east-1"
    settings.s3.endpoint_url = s3_server
    settings.sagemaker.role_arn, settings.sagemaker.instance_type = ROLE, "ml.g4dn.xlarge"
    settings.save(tiny_workspace)
    code = main(["retrain", str(tiny_workspace), "--backend", "sagemaker", "--epochs", "1"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and "<html" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "AWS answered CreateTrainingJob with HTTP 500" in lines[0], err


def test_an_unreachable_s3_endpoint_is_one_sentence(sm_config):
    import socket

    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sm_config.s3_endpoint_url = f"http://127.0.0.1:{port}"
    with pytest.raises(RoadsegError, match=r"^cannot reach AWS while trying to read the region of bucket "
                                           r"'roadseg-data': Could not connect to the endpoint URL"):
        launch(sm_config, Hyperparameters(epochs=1))


def test_a_derived_image_from_the_workspace_settings_is_the_training_image(sm_config, tmp_path):
    from roadseg_gui.core.sagemaker_settings import sagemaker_config
    from roadseg_gui.core.settings import WorkspaceSettings

    settings = WorkspaceSettings.load(tmp_path)
    settings.sagemaker.image_uri = " 123456789012.dkr.ecr.us-east-1.amazonaws.com/roadseg-offline:2.5 "
    settings.save(tmp_path)
    image = sagemaker_config(WorkspaceSettings.load(tmp_path)).image_uri
    assert image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/roadseg-offline:2.5"
    sm_config.image_uri = image
    session = make_boto_session(sm_config)
    requests = []
    session.events.register("provide-client-params.sagemaker.CreateTrainingJob",
                            lambda params, **kwargs: requests.append(params))
    launch(sm_config, Hyperparameters(epochs=1), session=session)
    assert requests[0]["AlgorithmSpecification"]["TrainingImage"] == image
