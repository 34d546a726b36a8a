"""What a scene-job launch refuses, and the size of what it asks for, read off the request as sent to moto.

REAL: the SageMaker SDK's FrameworkProcessor against moto's server on loopback (S3, STS, SageMaker);
the CreateProcessingJob request is read as botocore sends it (moto does not echo ProcessingResources).
"""

from __future__ import annotations

import http.server
import json
import threading

import boto3
import pytest

from trainer.artifact import file_version
from trainer.errors import BadInputError, RoadsegError
from trainer.jobs.sagemaker_backend import make_boto_session
from trainer.scenejob.request import SceneJobRequest, launch

from .conftest import scenes_on_a_fresh_server

BUCKET = "launch-checks"


@pytest.fixture
def three_scenes(s3_server, monkeypatch, tmp_path):
    return scenes_on_a_fresh_server(s3_server, monkeypatch, tmp_path, BUCKET,
                                    ("scenes/a.tif", "scenes/b.tif", "scenes/c/d.tif"),
                                    instance_type="ml.g5.xlarge", instance_count=1)


def _sent(config):
    session = make_boto_session(config)
    sent: list = []
    session.events.register("provide-client-params.sagemaker.CreateProcessingJob",
                            lambda params, **_: sent.append(params))
    return session, sent


def _jobs(endpoint) -> list:
    return boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1").list_processing_jobs()[
        "ProcessingJobSummaries"]


def test_a_double_slash_cannot_hide_an_output_inside_the_input(three_scenes, s3_server, model_archive):
    # S3 listing reads s3://B//scenes as the prefix scenes/: outputs under scenes/out would be read as scenes
    for source, out in ((f"s3://{BUCKET}//scenes", f"s3://{BUCKET}/scenes/out/"),
                        (f"s3://{BUCKET}/scenes", f"s3://{BUCKET}//scenes//out")):
        with pytest.raises(BadInputError, match="inside the input prefix"):
            launch(SceneJobRequest(source, out, str(model_archive), three_scenes))
    assert _jobs(s3_server) == []
    request = SceneJobRequest(f"s3://{BUCKET}//scenes", f"s3://{BUCKET}//predictions", str(model_archive),
                              three_scenes)
    job, sent, _ = launch(request)
    assert sorted(sent) == ["a.tif", "b.tif", "c/d.tif"]
    assert (job.details["input_uri"], job.details["output_uri"]) == (f"s3://{BUCKET}/scenes/",
                                                                    f"s3://{BUCKET}/predictions/")


def test_never_more_instances_than_scenes_to_do(three_scenes, model_archive):
    three_scenes.instance_count = 5
    session, sent = _sent(three_scenes)
    job, scenes, _ = launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive),
                                            three_scenes), session=session)
    assert len(scenes) == 3
    assert sent[0]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3
    assert job.details["instance_count"] == 3
    # fewer scenes left (a rerun, or a smaller prefix) get fewer instances: none is given an empty shard
    session, sent = _sent(three_scenes)
    job, scenes, _ = launch(SceneJobRequest(f"s3://{BUCKET}/scenes/c/", f"s3://{BUCKET}/out/c/",
                                            str(model_archive), three_scenes), session=session)
    assert scenes == ["d.tif"] and job.details["instance_count"] == 1
    assert sent[0]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1


def test_instance_types_are_checked_against_what_processing_offers(three_scenes, s3_server, model_archive):
    import botocore.session

    offered = botocore.session.get_session().get_service_model("sagemaker").shape_for(
        "ProcessingInstanceType").enum
    assert "ml.p4d.24xlarge" not in offered   # a training type that Processing refuses at CreateProcessingJob
    three_scenes.instance_type = "ml.p4d.24xlarge"
    with pytest.raises(BadInputError, match="'ml.p4d.24xlarge'.*Processing"):
        launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), three_scenes))
    assert _jobs(s3_server) == []
    # and a Processing type the training price table does not know is not refused
    three_scenes.instance_type = "ml.r5d.xlarge"
    session, sent = _sent(three_scenes)
    launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), three_scenes),
           session=session)
    assert sent[0]["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.r5d.xlarge"


class _RefusingSageMaker(http.server.BaseHTTPRequestHandler):
    """Stands where the SageMaker API stands and refuses every request, as SageMaker refuses a bad job."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"__type": "ValidationException", "message": "The account-level service limit "
                           "'ml.g5.xlarge for processing job usage' is 0 Instances"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-ErrorType", "ValidationException")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_refused_launch_deletes_what_it_staged_but_keeps_a_model_stored_before(three_scenes, s3_server,
                                                                                model_archive, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingSageMaker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    three_scenes.endpoint_url = ""   # STS and IAM from moto, SageMaker from the refusing server
    for service in ("STS", "IAM"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", s3_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", f"http://127.0.0.1:{server.server_address[1]}")
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    try:
        request = SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), three_scenes)
        with pytest.raises(RoadsegError, match=r"^SageMaker refused the processing job \(ValidationException: "
                                               r"The account-level service limit"):
            launch(request)
        assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="team/jobs/")   # model, code, manifest
        # a model an earlier launch stored (same content hash) is shared, so a refused launch leaves it
        kept = f"team/jobs/init-models/{file_version(model_archive)}/model.tar.gz"
        s3.upload_file(str(model_archive), BUCKET, kept)
        with pytest.raises(RoadsegError, match="SageMaker refused the processing job"):
            launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive),
                                   three_scenes))
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="team/jobs/")["Contents"]] == [kept]
    finally:
        server.shutdown()
        server.server_close()


def _mark_complete(s3, scene: str, outputs: dict) -> None:
    stem = scene.rsplit(".", 1)[0]
    s3.put_object(Bucket=BUCKET, Key=f"out/{stem}_mask.tif", Body=b"x" * 10)
    s3.put_object(Bucket=BUCKET, Key=f"out/{stem}.done.json",
                  Body=json.dumps({"files": {f"{stem.rsplit('/', 1)[-1]}_mask.tif": 10}, "outputs": outputs}).encode())


def test_a_rerun_sends_again_the_scenes_whose_marker_records_other_options_or_another_model(three_scenes,
                                                                                            s3_server, model_archive):
    from trainer.scenejob.signature import launch_signature

    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    same = launch_signature(str(model_archive), [])
    _mark_complete(s3, "a.tif", same)
    _mark_complete(s3, "b.tif", {**same, "model": "an-older-model"})
    request = SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), three_scenes)
    _, sent, skipped = launch(request)
    assert (sorted(sent), skipped) == (["b.tif", "c/d.tif"], ["a.tif"])
    # --vector shapes the outputs: a.tif's marker was written without it, so it is predicted again
    _, sent, skipped = launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive),
                                              three_scenes, arguments=["--vector"]))
    assert (sorted(sent), skipped) == (["a.tif", "b.tif", "c/d.tif"], [])


@pytest.mark.parametrize("side", ["input", "output"])
def test_scene_and_output_buckets_in_another_region_are_refused_before_anything_is_staged(three_scenes, s3_server,
                                                                                          model_archive, side):
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket="far-away", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    far, near = "s3://far-away/scenes/", f"s3://{BUCKET}/scenes/"
    source, out = (far, f"s3://{BUCKET}/out/") if side == "input" else (near, "s3://far-away/out/")
    with pytest.raises(BadInputError, match="'far-away' is in eu-west-1 but SageMaker would run in us-east-1"):
        launch(SceneJobRequest(source, out, str(model_archive), three_scenes))
    assert _jobs(s3_server) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="team/jobs/")


def test_a_derived_image_in_the_settings_is_the_image_a_scene_job_runs(three_scenes, model_archive):
    # an account whose jobs have no internet bakes trainer/requirements.txt into an image of its own
    three_scenes.image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/roadseg-offline:2.5"
    session, sent = _sent(three_scenes)
    launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive), three_scenes),
           session=session)
    assert sent[0]["AppSpecification"]["ImageUri"] == three_scenes.image_uri
