"""A scene's .done.json marker: what it records (model, output options), and a marker that cannot be read.

REAL: the entry point in a fake /opt/ml, moto's S3 server with a bucket policy that denies reading markers."""

from __future__ import annotations

import json
import shutil
import urllib.request

import boto3
import pytest

from trainer.errors import RoadsegError

from .conftest import write_scene
from .test_entry_point import run_entry

SMALL = ("--tile", "128", "--overlap", "16")


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    """A second model.tar.gz: the same network with other weights (a retrained model), so another version."""
    import torch

    from inference.conftest import calibrated_deeplab
    from trainer.artifact import ModelMeta, pack_model, save_model_dir

    model = calibrated_deeplab()
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    root = tmp_path_factory.mktemp("other-model")
    return pack_model(save_model_dir(model, ModelMeta(), root / "model"), root / "model.tar.gz")


def _tree(tmp_path, model):
    root = tmp_path / "processing"
    write_scene(root / "input" / "scenes" / "a.tif", width=120, height=100)
    (root / "input" / "model").mkdir(parents=True)
    shutil.copy(model, root / "input" / "model" / "model.tar.gz")
    return root


def test_a_rerun_redoes_scenes_whose_model_or_output_options_changed(tmp_path, model_archive, other_model, capsys):
    from trainer.scenejob.__main__ import run
    from trainer.scenejob.runner import JobOptions

    root = _tree(tmp_path, model_archive)
    scenes, out, model = (str(root / "input" / p) for p in ("scenes", "../output/predictions", "model"))
    marker = root / "output" / "predictions" / "a.done.json"

    def again(**options) -> str:
        run(scenes, model, out, JobOptions(tile=128, overlap=16, device="cpu", **options))
        return capsys.readouterr().out

    again()
    first = json.loads(marker.read_text())["outputs"]
    assert first["model"] and first["vector"] is False and first["tile"] == 128
    assert "a.tif: predicted" in again(vector=True)   # was "outputs already complete, skipped"
    assert json.loads(marker.read_text())["outputs"]["vector"] is True
    assert any(p.suffix == ".geojson" for p in marker.parent.iterdir())
    assert "a.tif: outputs already complete, skipped" in again(vector=True)
    assert "a.tif: predicted" in again(vector=True, threshold=0.3)
    shutil.copy(other_model, root / "input" / "model" / "model.tar.gz")
    assert "a.tif: predicted" in again(vector=True, threshold=0.3)
    assert json.loads(marker.read_text())["outputs"]["model"] != first["model"]


def test_a_marker_that_cannot_be_read_stops_the_job_instead_of_redoing_everything(tmp_path, model_archive):
    root = _tree(tmp_path, model_archive)
    marker = root / "output" / "predictions" / "a.done.json"
    marker.mkdir(parents=True)   # there, but unreadable as a file (tests run as root: modes do not stop reads)
    proc = run_entry(root, *SMALL)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"cannot read the marker {marker}" in proc.stderr and "Traceback" not in proc.stderr
    assert not (marker.parent / "a_mask.tif").exists()


def test_an_s3_marker_refused_by_access_denied_is_said_and_nothing_is_predicted(s3_server, tmp_path, model_archive):
    from trainer.scenejob import s3io
    from trainer.scenejob.__main__ import run
    from trainer.scenejob.runner import JobOptions

    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket="markers")
    path, _ = write_scene(tmp_path / "a.tif", width=120, height=100)
    s3.upload_file(str(path), "markers", "scenes/a.tif")
    s3.put_object(Bucket="markers", Key="out/a_mask.tif", Body=b"x" * 10)
    s3.put_object(Bucket="markers", Key="out/a.done.json", Body=json.dumps({"files": {"a_mask.tif": 10}}).encode())
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": "arn:aws:s3:::markers/out/*"}]}
    s3.put_bucket_policy(Bucket="markers", Policy=json.dumps(policy))

    refused = r"cannot read the marker s3://markers/out/a.done.json \((AccessDenied|HTTP 403)\)"
    with pytest.raises(RoadsegError, match=refused) as at_launch:
        s3io.remaining_scenes(s3, "s3://markers/scenes/", "s3://markers/out/")
    assert "s3:GetObject on the output prefix" in str(at_launch.value)
    with pytest.raises(RoadsegError, match="cannot read the marker"):
        run("s3://markers/scenes/", str(model_archive), "s3://markers/out/",
            JobOptions(tile=128, overlap=16, device="cpu"), s3=s3)
    s3.delete_bucket_policy(Bucket="markers")
    assert s3.get_object(Bucket="markers", Key="out/a_mask.tif")["Body"].read() == b"x" * 10   # untouched


def test_a_launch_compares_markers_with_the_model_and_arguments_it_will_send(s3_server, tmp_path, model_archive,
                                                                             other_model):
    """What a SageMaker launch can use to send a scene whose outputs were made with other options or model."""
    from trainer.scenejob import s3io
    from trainer.scenejob.__main__ import run
    from trainer.scenejob.signature import launch_signature
    from trainer.scenejob.runner import JobOptions

    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket="launch")
    path, _ = write_scene(tmp_path / "a.tif", width=120, height=100)
    s3.upload_file(str(path), "launch", "scenes/a.tif")
    s3.upload_file(str(model_archive), "launch", "models/model.tar.gz")
    run("s3://launch/scenes/", str(model_archive), "s3://launch/out/", JobOptions(tile=128, overlap=16, device="cpu"),
        s3=s3)
    small = ["--tile", "128", "--overlap", "16"]

    def todo(model, *arguments):
        return s3io.remaining_scenes(s3, "s3://launch/scenes/", "s3://launch/out/",
                                     launch_signature(model, [*small, *arguments]))[0]

    assert todo(str(model_archive)) == []
    assert todo(str(model_archive), "--vector") == ["a.tif"]
    assert todo(str(model_archive), "--threshold", "0.3") == ["a.tif"]
    assert todo(str(other_model)) == ["a.tif"]
    assert todo("s3://launch/models/model.tar.gz") == []    # its version is unknown without downloading it
    assert todo("s3://launch/models/model.tar.gz", "--probability") == ["a.tif"]
