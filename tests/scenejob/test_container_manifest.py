"""The manifest and container arguments a launch sends (moto's server), played into a fake /opt/ml in both
layouts SageMaker may use for manifest objects, and run there by the real entry point.

SIMULATED: moto runs no container, so the manifest's objects are placed as SageMaker would place them."""

from __future__ import annotations

import json
import shutil

import boto3

from trainer.jobs.sagemaker_backend import make_boto_session
from trainer.scenejob.request import SceneJobRequest, launch

from .test_entry_point import run_entry
from .test_sagemaker_request import BUCKET, archive  # noqa: F401 - the fixture


def test_the_job_as_sent_writes_outputs_under_the_scenes_relative_paths_in_either_layout(
        archive, s3_server, model_archive, tmp_path):  # noqa: F811
    s3, config = archive
    session = make_boto_session(config)
    job, sent, _ = launch(SceneJobRequest(f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/predictions/",
                                          str(model_archive), config), session=session)
    desc = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1").describe_processing_job(
        ProcessingJobName=job.name)
    arguments = desc["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--manifest-prefix") + 1] == f"s3://{BUCKET}/scenes/"
    manifest_uri = next(i["S3Input"]["S3Uri"] for i in desc["ProcessingInputs"] if i["InputName"] == "scenes")
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=manifest_uri.split(BUCKET + "/", 1)[1])["Body"].read())
    prefix = manifest[0]["prefix"].split(BUCKET + "/", 1)[1]

    for layout in ("relative to the prefix", "full key"):
        root = tmp_path / layout.replace(" ", "-") / "opt" / "ml" / "processing"
        for relative in manifest[1:]:
            local = relative if layout == "relative to the prefix" else prefix + relative
            target = root / "input" / "scenes" / local
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(BUCKET, prefix + relative, str(target))
        (root / "input" / "model").mkdir(parents=True)
        shutil.copy(model_archive, root / "input" / "model" / "model.tar.gz")

        proc = run_entry(root, *arguments)
        assert proc.returncode == 0, layout + proc.stdout + proc.stderr
        out = root / "output" / "predictions"
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.done.json")) == sorted(
            r.rsplit(".", 1)[0] + ".done.json" for r in sent), layout
        assert all(json.loads((out / (r.rsplit(".", 1)[0] + ".done.json")).read_text())["scene"] == r for r in sent)
        assert not any(p.name.startswith(".") or p.suffix == ".tmp" for p in out.rglob("*"))
