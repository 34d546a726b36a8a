"""The SageMaker Processing job that predicts a whole scene archive.

SageMaker's own distributed engine does the work: a Processing job with the AWS PyTorch
image, the ``trainer`` package as its code (the SDK's FrameworkProcessor stages it and
installs ``trainer/requirements.txt``), the model as one input and the scenes as another,
sharded across instances by S3 key. Only the scenes whose outputs are not yet complete are
sent, through a manifest, so a rerun skips finished work. Every setting is checked before
anything is created. Everything staged for the job (model, code, the SDK's runproc.sh and
install_requirements.py, the manifest) carries the workspace's SSE; the outputs are uploaded by
SageMaker itself, encrypted with ``ProcessingOutputConfig.KmsKeyId``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInputError, RoadsegError
from ..jobs.aws_errors import describe_aws_error
from ..jobs.base import JobState, JobStatus, TrainingJob, new_job_name
from ..jobs.sagemaker_backend import SageMakerConfig, upload_init_model, validate
from ..jobs.sagemaker_sdk import (encrypting_session, sdk_config, sse_upload_args, stage_source,
                                  training_image, volume_kms_key, without_volume_kms_key)
from . import contract, s3io

LAUNCHER = "roadseg_predict_job.py"
LAUNCHER_CODE = ('"""SageMaker Processing entry script: run the trainer package\'s scene job as a module."""\n'
                 "import runpy\n\nrunpy.run_module('trainer.scenejob', run_name='__main__', alter_sys=True)\n")
CONTAINER_ROOT = "/opt/ml/processing"


@dataclass
class SceneJobRequest:
    input_uri: str                 # s3://BUCKET/scenes/
    output_uri: str                # s3://BUCKET/predictions/
    model: str                     # model folder, model.tar.gz, .pth, or s3://.../model.tar.gz
    config: SageMakerConfig        # role, region, instance type and count, bucket (for staging), SSE
    arguments: list[str] = field(default_factory=list)   # --vector, --probability, --wgs84, --no-cog...
    max_runtime_seconds: int = 24 * 3600

    def check(self) -> None:
        for name, uri in (("input", self.input_uri), ("output", self.output_uri)):
            if not uri.startswith("s3://"):
                raise BadInputError(f"the {name} of a SageMaker scene job must be an s3:// prefix (got {uri!r})",
                                    "Upload the scenes to S3 first, or use --backend local.")
        # normalised first (s3://B//scenes is s3://B/scenes/ to S3 listing), so the check sees what is used
        self.input_uri, self.output_uri = normalised_uri(self.input_uri), normalised_uri(self.output_uri)
        if contract.output_inside_input(self.input_uri, self.output_uri):
            raise BadInputError("the output prefix lies inside the input prefix",
                                "Write predictions under another prefix, or their masks would be read as scenes.")


def normalised_uri(uri: str) -> str:
    """``s3://B//a/b`` and ``s3://B/a/b`` -> ``s3://B/a/b/``: the prefix as S3 listing uses it."""
    bucket, prefix = s3io.split_uri(uri)
    return f"s3://{bucket}/{prefix}"


def sdk_session(config: SageMakerConfig, session):
    """The SDK session: the workspace bucket for staging, the workspace's SSE on the SDK's own uploads, and
    the SDK's own config files (an admin's org-wide ProcessingJob defaults: VPC, tags, KMS) with telemetry
    switched off, less a volume key the instance type refuses."""
    loaded = without_volume_kms_key(sdk_config(session), "ProcessingJob", ("ProcessingResources", "ClusterConfig"),
                                    config.instance_type)
    return encrypting_session(session, config, loaded)


def launch(request: SceneJobRequest, *, session=None) -> tuple[TrainingJob | None, list[str], list[str]]:
    """Validate, plan, stage and create the job (without waiting).

    Returns (the job record, or None when every scene is already complete; scenes sent; scenes skipped)."""
    request.check()
    session = validate(request.config, session, kind="processing")
    s3 = session.client("s3")
    todo, done = s3io.remaining_scenes(s3, request.input_uri, request.output_uri)
    # instances see only their shard, so two scenes with one output name could overwrite each other
    shared = contract.shared_outputs(sorted(todo + done))
    if shared:
        scene, owner = next(iter(shared.items()))
        raise BadInputError(f"{len(shared)} scene(s) under {request.input_uri} would share output names with "
                            f"another, e.g. {scene}: {contract.shared_reason(owner)}",
                            "Rename them, or keep one of each under this prefix.")
    if not todo:
        return None, [], done
    # ShardedByS3Key gives an instance beyond the scene count an empty shard: never ask for more
    instances = min(int(request.config.instance_count), len(todo))
    name = new_job_name("roadseg-predict")
    staging = f"s3://{request.config.bucket}/{request.config.jobs_prefix}/{name}"
    with tempfile.TemporaryDirectory(prefix="roadseg-scenejob-") as tmp:
        model_uri = request.model if request.model.startswith("s3://") else \
            upload_init_model(request.config, session, request.model, Path(tmp))
        manifest_uri = _upload_manifest(s3, request, todo, f"{staging}/scenes.manifest")
        source_dir = stage_source(Path(tmp) / "source")
        (source_dir / LAUNCHER).write_text(LAUNCHER_CODE, "utf-8")
        processor = build_processor(request, session, staging, instances)
        try:
            processor.run(code=LAUNCHER, source_dir=str(source_dir), requirements="trainer/requirements.txt",
                          inputs=processing_inputs(manifest_uri, model_uri), outputs=processing_outputs(request),
                          arguments=request.arguments + ["--manifest-prefix", request.input_uri], wait=False,
                          logs=False, job_name=name)
        except RoadsegError:
            raise
        except ValueError as exc:  # pydantic's ValidationError included: a setting the SDK refuses
            raise BadInputError("the SageMaker SDK rejected the processing job settings: "
                                + (str(exc).strip().splitlines() or [""])[0]) from exc
        except Exception as exc:  # every botocore / SDK error becomes one sentence
            raise describe_aws_error(exc, "create the processing job", staging) from exc
    job = TrainingJob(name=name, backend="sagemaker", status=JobStatus(JobState.STARTING, "Starting"),
                      data={"scenes": len(todo), "skipped": len(done)},
                      details={"kind": "predict", "region": session.region_name,
                               "instance_type": request.config.instance_type,
                               "instance_count": instances, "use_spot": False,
                               "input_uri": request.input_uri, "output_uri": request.output_uri,
                               "model": request.model, "bucket": request.config.bucket,
                               "prefix": request.config.prefix})
    return job, todo, done


def build_processor(request: SceneJobRequest, session, staging: str, instances: int):
    from sagemaker.core.processing import FrameworkProcessor

    config = request.config
    return FrameworkProcessor(
        image_uri=training_image(config, session.region_name), role=config.role_arn,
        instance_count=instances, instance_type=config.instance_type, command=["python3"],
        volume_size_in_gb=int(config.volume_size_gb),
        volume_kms_key=volume_kms_key(config.instance_type, config.kms_key_id),
        output_kms_key=config.kms_key_id or None, code_location=f"{staging}/code",
        max_runtime_in_seconds=int(request.max_runtime_seconds), base_job_name="roadseg-predict",
        sagemaker_session=sdk_session(config, session), env={"PYTHONUNBUFFERED": "1"})


def processing_inputs(manifest_uri: str, model_uri: str) -> list:
    from sagemaker.core.shapes import ProcessingInput, ProcessingS3Input

    scenes = ProcessingS3Input(s3_uri=manifest_uri, local_path=f"{CONTAINER_ROOT}/input/scenes",
                               s3_data_type="ManifestFile", s3_input_mode="File",
                               s3_data_distribution_type="ShardedByS3Key")
    model = ProcessingS3Input(s3_uri=model_uri, local_path=f"{CONTAINER_ROOT}/input/model",
                              s3_data_type="S3Prefix", s3_input_mode="File",
                              s3_data_distribution_type="FullyReplicated")
    return [ProcessingInput(input_name="scenes", s3_input=scenes), ProcessingInput(input_name="model", s3_input=model)]


def processing_outputs(request: SceneJobRequest) -> list:
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output

    # Continuous: each finished scene reaches S3 while the job runs, so a stopped job keeps them
    output = ProcessingS3Output(s3_uri=request.output_uri.rstrip("/") + "/",
                                local_path=f"{CONTAINER_ROOT}/output/predictions", s3_upload_mode="Continuous")
    return [ProcessingOutput(output_name="predictions", s3_output=output)]


def _upload_manifest(s3, request: SceneJobRequest, scenes: list[str], uri: str) -> str:
    """A SageMaker manifest: the input prefix, then each scene key relative to it (relative paths are kept)."""
    bucket, prefix = s3io.split_uri(request.input_uri)
    body = json.dumps([{"prefix": f"s3://{bucket}/{prefix}"}] + scenes).encode("utf-8")
    target_bucket, key = uri[5:].split("/", 1)
    extra = sse_upload_args(request.config.sse, request.config.kms_key_id) or {}
    try:
        s3.put_object(Bucket=target_bucket, Key=key, Body=body, **extra)
    except Exception as exc:
        raise describe_aws_error(exc, "write the scene manifest", uri) from exc
    return uri
