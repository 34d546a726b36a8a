"""The scene-prediction Processing job against moto's server.

REAL: the SageMaker SDK's FrameworkProcessor runs unmodified against moto's server on loopback:
it stages the trainer package, install_requirements.py and runproc.sh in S3 and calls
CreateProcessingJob; the request is read back with DescribeProcessingJob; validation calls STS
and S3 on the same server. SIMULATED: moto runs no container, so the job's progress lines are
fed to the follower as CloudWatch would deliver them.
"""

from __future__ import annotations

import json
import time
import urllib.request

import boto3
import pytest

from trainer.errors import BadInputError
from trainer.jobs.base import JobState
from trainer.jobs.sagemaker_backend import SageMakerConfig, make_boto_session
from trainer.scenejob.follow import attach
from trainer.scenejob.request import SceneJobRequest, launch

from .conftest import write_scene

ROLE = "arn:aws:iam::123456789012:role/RoadsegSageMaker"
BUCKET = "roadseg-archive"


@pytest.fixture
def archive(s3_server, monkeypatch, tmp_path, model_archive):
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")  # see tests/retrain for the role-check tests
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    for i, key in enumerate(("scenes/2026/north.tif", "scenes/2026/south.tif", "scenes/old/east.tif")):
        path, _ = write_scene(tmp_path / f"s{i}.tif", seed=i)
        s3.upload_file(str(path), BUCKET, key)
    s3.put_object(Bucket=BUCKET, Key="scenes/README.txt", Body=b"not a scene")
    config = SageMakerConfig(role_arn=ROLE, bucket=BUCKET, prefix="team", region="us-east-1",
                             s3_endpoint_url=s3_server, endpoint_url=s3_server, instance_type="ml.g5.xlarge",
                             instance_count=2, use_spot=False)
    return s3, config


def test_the_request_shards_the_scenes_by_key_and_keeps_their_paths(archive, s3_server, model_archive):
    s3, config = archive
    request = SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/predictions/", str(model_archive), config,
                              arguments=["--vector"], max_runtime_seconds=7200)
    session = make_boto_session(config)
    created = []  # moto does not echo ProcessingResources back, so read them off the request as sent
    session.events.register("provide-client-params.sagemaker.CreateProcessingJob",
                            lambda params, **_: created.append(params))
    job, sent, skipped = launch(request, session=session)
    assert sorted(sent) == ["2026/north.tif", "2026/south.tif", "old/east.tif"] and skipped == []
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    desc = sagemaker.describe_processing_job(ProcessingJobName=job.name)

    assert desc["AppSpecification"]["ImageUri"] == \
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-gpu-py311"
    assert desc["AppSpecification"]["ContainerEntrypoint"][0] == "/bin/bash"
    assert "--vector" in desc["AppSpecification"]["ContainerArguments"]
    assert created[0]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 2
    assert created[0]["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.g5.xlarge"
    assert desc["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert desc["RoleArn"] == ROLE
    inputs = {i["InputName"]: i["S3Input"] for i in desc["ProcessingInputs"]}
    assert inputs["scenes"]["S3DataType"] == "ManifestFile"
    assert inputs["scenes"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert inputs["scenes"]["LocalPath"] == "/opt/ml/processing/input/scenes"
    assert inputs["model"]["S3DataDistributionType"] == "FullyReplicated"
    assert inputs["model"]["LocalPath"] == "/opt/ml/processing/input/model"
    manifest_bucket, manifest_key = inputs["scenes"]["S3Uri"][5:].split("/", 1)
    manifest = json.loads(s3.get_object(Bucket=manifest_bucket, Key=manifest_key)["Body"].read())
    assert manifest[0] == {"prefix": f"s3://{BUCKET}/scenes/"} and sorted(manifest[1:]) == sorted(sent)
    model_bucket, model_prefix = inputs["model"]["S3Uri"][5:].split("/", 1)
    assert any(o["Key"].endswith("model.tar.gz")
               for o in s3.list_objects_v2(Bucket=model_bucket, Prefix=model_prefix)["Contents"])
    code = s3.list_objects_v2(Bucket=BUCKET, Prefix=inputs["code"]["S3Uri"].split(BUCKET + "/", 1)[1])["Contents"]
    assert {o["Key"].rsplit("/", 1)[-1] for o in code} >= {"sourcedir.tar.gz", "runproc.sh"}
    output = desc["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]
    assert output["S3Uri"] == f"s3://{BUCKET}/predictions/"
    assert output["LocalPath"] == "/opt/ml/processing/output/predictions"
    assert output["S3UploadMode"] == "Continuous"


def test_a_rerun_sends_only_scenes_without_complete_outputs(archive, model_archive):
    from trainer.scenejob.signature import launch_signature

    s3, config = archive
    body = b"x" * 10
    outputs = launch_signature(str(model_archive), [])   # the same model and options as this launch
    s3.put_object(Bucket=BUCKET, Key="predictions/2026/north_mask.tif", Body=body)
    s3.put_object(Bucket=BUCKET, Key="predictions/2026/north.done.json",
                  Body=json.dumps({"files": {"north_mask.tif": 10}, "outputs": outputs}).encode())
    # south's marker lists a file that never arrived: incomplete, so it is sent again
    s3.put_object(Bucket=BUCKET, Key="predictions/2026/south.done.json",
                  Body=json.dumps({"files": {"south_mask.tif": 99}, "outputs": outputs}).encode())
    # east's marker is complete but records no model or options (an older roadseg): unknown, so sent again
    s3.put_object(Bucket=BUCKET, Key="predictions/old/east_mask.tif", Body=body)
    s3.put_object(Bucket=BUCKET, Key="predictions/old/east.done.json",
                  Body=json.dumps({"files": {"east_mask.tif": 10}}).encode())
    request = SceneJobRequest(f"s3://{BUCKET}/scenes", f"s3://{BUCKET}/predictions", str(model_archive), config)
    job, sent, skipped = launch(request)
    assert sorted(sent) == ["2026/south.tif", "old/east.tif"] and skipped == ["2026/north.tif"]


def test_nothing_is_created_when_the_prefix_holds_no_scene_the_role_is_wrong_or_names_clash(archive, s3_server, model_archive):
    s3, config = archive
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    with pytest.raises(BadInputError, match="holds no scene"):
        launch(SceneJobRequest(f"s3://{BUCKET}/nothing-here/", f"s3://{BUCKET}/out/", str(model_archive), config))
    config.role_arn = "RoadsegSageMaker"
    with pytest.raises(BadInputError, match="not an IAM role ARN"):
        launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), config))
    config.role_arn, config.instance_type = ROLE, "ml.nope.huge"
    with pytest.raises(BadInputError, match="unknown instance type"):
        launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), config))
    with pytest.raises(BadInputError, match="inside the input prefix"):
        launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/scenes/out/", str(model_archive), config))
    # two instances could each write 2026/north_mask.tif: one from north.tif, one from north.vrt
    config.instance_type = "ml.g5.xlarge"
    s3.put_object(Bucket=BUCKET, Key="scenes/2026/north.vrt", Body=b"<VRTDataset/>")
    with pytest.raises(BadInputError, match="2026/north.vrt.*same names as those of 2026/north.tif"):
        launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), config))
    assert sagemaker.list_processing_jobs()["ProcessingJobSummaries"] == []


def test_the_follower_reads_status_and_counts_scenes_done_across_instances(archive, s3_server, model_archive):
    s3, config = archive
    job, _, _ = launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/p/", str(model_archive), config))
    session = make_boto_session(config)
    runner = attach(job, session)
    status = runner.refresh()
    assert status.state in (JobState.STARTING, JobState.TRAINING, JobState.COMPLETED)
    assert status.artifact == f"s3://{BUCKET}/p/"
    logs = session.client("logs")
    logs.create_log_group(logGroupName="/aws/sagemaker/ProcessingJobs")
    for host, lines in (("algo-1", ["scenes_done=1 scenes_total=2 scene=2026/north.tif",
                                    "scenes_done=2 scenes_total=2 scene=2026/south.tif"]),
                        ("algo-2", ["scenes_done=1 scenes_total=1 scene=old/east.tif"])):
        stream = f"{job.name}/{host}-1700000000"
        logs.create_log_stream(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=stream)
        logs.put_log_events(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=stream,
                            logEvents=[{"timestamp": int(time.time() * 1000) + i, "message": m} for i, m in enumerate(lines)])
    lines = runner.poll()
    assert len(lines) == 3, lines
    assert runner.scenes_done == (3, 3)
    assert runner.cost_estimate().instance_count == 2


def test_scenes_done_is_not_counted_twice_when_a_second_instance_starts_later(archive, s3_server, model_archive):
    """The first poll sees one log stream (its lines carry no host prefix), a later poll two: the first
    instance's progress must stay one entry, not one under '' and another under its stream's name."""
    s3, config = archive
    job, _, _ = launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/p/", str(model_archive), config))
    session = make_boto_session(config)
    runner = attach(job, session)
    logs = session.client("logs")
    group = "/aws/sagemaker/ProcessingJobs"
    logs.create_log_group(logGroupName=group)

    def say(host, start, *lines):
        stream = f"{job.name}/{host}-1700000000"
        if start:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": int(time.time() * 1000) + i, "message": m}
                                       for i, m in enumerate(lines)])

    say("algo-1", True, "scenes_done=1 scenes_total=2 scene=2026/north.tif")
    runner.poll()
    assert runner.scenes_done == (1, 3)   # the job sent 3 scenes, though only algo-1 (2 of them) has logged
    say("algo-1", False, "scenes_done=2 scenes_total=2 scene=2026/south.tif")
    say("algo-2", True, "scenes_done=1 scenes_total=1 scene=old/east.tif")
    runner.poll()
    assert runner.scenes_done == (3, 3)


@pytest.mark.parametrize("seconds, expected", [(3600, 24 * 3600), (36 * 3600, 36 * 3600),
                                               (28 * 24 * 3600, 777_600)])
def test_a_scene_job_runs_at_least_a_day_and_at_most_what_processing_allows(seconds, expected):
    """Training may run 28 days; a Processing job is refused above 777,600 s (botocore's model)."""
    import botocore.session

    from roadseg_gui.core import scene_jobs
    from roadseg_gui.core.settings import WorkspaceSettings

    limit = botocore.session.get_session().get_service_model("sagemaker").shape_for(
        "ProcessingStoppingCondition").members["MaxRuntimeInSeconds"].metadata["max"]
    assert scene_jobs.PROCESSING_MAX_RUNTIME == limit
    settings = WorkspaceSettings()
    settings.sagemaker.max_run_seconds = seconds
    settings.sagemaker.role_arn = "arn:aws:iam::123456789012:role/Roadseg"
    request = scene_jobs.build_request(settings, "s3://b/scenes/", "s3://b/out/", "model.tar.gz")
    assert request.max_runtime_seconds == expected


@pytest.mark.parametrize("sse, kms_key", [("AES256", ""), ("aws:kms", "")])
def test_every_object_staged_for_the_job_carries_the_workspaces_sse(archive, s3_server, model_archive, sse, kms_key):
    """The SDK's own uploads (sourcedir.tar.gz, runproc.sh, install_requirements.py) add only a KMS key;
    a bucket policy that requires SSE would refuse them, and the model and manifest, without it."""
    s3, config = archive
    config.sse, config.kms_key_id = sse, kms_key
    session = make_boto_session(config)
    created = []
    session.events.register("provide-client-params.sagemaker.CreateProcessingJob",
                            lambda params, **_: created.append(params))
    job, _, _ = launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/p/", str(model_archive), config),
                       session=session)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="team/jobs/")["Contents"]]
    names = {key.rsplit("/", 1)[-1] for key in keys}
    assert {"sourcedir.tar.gz", "runproc.sh", "install_requirements.py", "scenes.manifest", "model.tar.gz"} <= names
    for key in keys:
        assert s3.head_object(Bucket=BUCKET, Key=key).get("ServerSideEncryption") == sse, key
    # the container writes nothing to S3 itself (SageMaker uploads its outputs): no SSE flags are passed in
    arguments = created[0]["AppSpecification"].get("ContainerArguments") or []
    assert "--sse" not in arguments and "--kms-key-id" not in arguments
