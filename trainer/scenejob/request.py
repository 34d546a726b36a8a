"""The SageMaker Processing job that predicts a whole scene archive.

SageMaker's own distributed engine does the work: a Processing job with the AWS PyTorch
image, the ``trainer`` package as its code (the SDK's FrameworkProcessor stages it and
installs ``trainer/requirements.txt``), the model as one input and the scenes as another,
sharded across instances by S3 key. Only the scenes whose outputs are not yet complete are
sent, through a manifest, so a rerun skips finished work. Every setting, and the execution role
(sagemaker_role.processing_needs), is checked before anything is staged; a launch that creates no
job deletes what it staged, and Ctrl+C either stops the created job or leaves none (launch_guard).
Everything staged for the job (model, code, the SDK's runproc.sh and install_requirements.py, the
manifest) carries the workspace's SSE; the outputs are uploaded by SageMaker itself, encrypted with
``ProcessingOutputConfig.KmsKeyId``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInputError, RoadsegError
from ..jobs.aws_errors import describe_aws_error
from ..jobs.base import JobState, JobStatus, TrainingJob, new_job_name
from ..jobs.launch_guard import CreationGuard, StagedObjects, create_atomically
from ..jobs.sagemaker_backend import SageMakerConfig, check_bucket_region, upload_init_model, validate
from ..jobs.sagemaker_processing import build_processor, processing_inputs, processing_job_exists, processing_outputs
from ..jobs.sagemaker_role import check_execution_role, processing_needs
from ..jobs.sagemaker_sdk import sse_upload_args, stage_source, training_image
from . import contract, s3io
from .signature import launch_signature, local_model

LAUNCHER = "roadseg_predict_job.py"
LAUNCHER_CODE = ('"""SageMaker Processing entry script: run the trainer package\'s scene job as a module."""\n'
                 "import runpy\n\nrunpy.run_module('trainer.scenejob', run_name='__main__', alter_sys=True)\n")


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


def launch(request: SceneJobRequest, *, session=None,
           on_created=None) -> tuple[TrainingJob | None, list[str], list[str]]:
    """Validate, plan, check the role, stage and create the job (without waiting).

    ``on_created(job)`` remembers the job the moment it exists (launch_guard: Ctrl+C then stops it).
    Returns (the job record, or None when every scene is already complete; scenes sent; scenes skipped)."""
    request.check()
    config = request.config
    session = validate(config, session, kind="processing")
    s3 = session.client("s3")
    for uri in (request.input_uri, request.output_uri):   # Processing reads and writes only in its own region
        check_bucket_region(session, s3io.split_uri(uri)[0], session.region_name)
    with tempfile.TemporaryDirectory(prefix="roadseg-scenejob-") as tmp:
        return _launch(request, config, session, s3, Path(tmp), on_created)


def _launch(request: SceneJobRequest, config: SageMakerConfig, session, s3, tmp: Path, on_created):
    # a scene whose marker records another model or other output options is sent again; a local model is
    # loaded (for its version and threshold) and packed (to upload it) once, here
    archive = None
    if request.model.startswith("s3://"):
        signature = launch_signature(request.model, request.arguments)
    else:
        loaded, archive = local_model(request.model, tmp)
        signature = launch_signature(request.model, request.arguments, loaded)
    todo, done = s3io.remaining_scenes(s3, request.input_uri, request.output_uri, signature)
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
    instances = min(int(config.instance_count), len(todo))
    name = new_job_name("roadseg-predict")
    staging = f"s3://{config.bucket}/{config.jobs_prefix}/{name}"
    region = session.region_name
    image = training_image(config, region)
    model_uri = request.model if request.model.startswith("s3://") else \
        f"s3://{config.bucket}/{config.jobs_prefix}/init-models/example/"
    needs = processing_needs(config, image, region, job_name=name, input_uri=request.input_uri,
                             output_uri=request.output_uri, model_uri=model_uri)
    role_check = check_execution_role(session.client("iam"), config, image, region, needs, kms=session.client("kms"))
    staged = StagedObjects(s3)   # checked first, staged second: a refused role leaves nothing on S3
    staged.add_prefix(config.bucket, f"{config.jobs_prefix}/{name}/")   # the manifest, the SDK's code and scripts
    guard = CreationGuard()
    sagemaker = session.client("sagemaker")

    def create() -> TrainingJob:
        uploaded: list[str] = []
        try:
            model = request.model if archive is None else \
                upload_init_model(config, session, archive, tmp, uploaded=uploaded)
        finally:
            for key in uploaded:   # stored by this launch (a copy already there is reused, and kept)
                staged.add(config.bucket, key)
        manifest_uri = _upload_manifest(s3, request, todo, f"{staging}/scenes.manifest")
        source_dir = stage_source(tmp / "source")
        (source_dir / LAUNCHER).write_text(LAUNCHER_CODE, "utf-8")
        processor = build_processor(config, session, staging, instances, request.max_runtime_seconds, guard)
        guard.defer()   # the SDK's run() would swallow a KeyboardInterrupt
        try:
            processor.run(code=LAUNCHER, source_dir=str(source_dir), requirements="trainer/requirements.txt",
                          inputs=processing_inputs(manifest_uri, model),
                          outputs=processing_outputs(request.output_uri),
                          arguments=request.arguments + ["--manifest-prefix", request.input_uri], wait=False,
                          logs=False, job_name=name)
        except RoadsegError:
            raise
        except ValueError as exc:  # pydantic's ValidationError included: a setting the SDK refuses
            raise BadInputError("the SageMaker SDK rejected the processing job settings: "
                                + (str(exc).strip().splitlines() or [""])[0]) from exc
        except Exception as exc:  # every botocore / SDK error becomes one sentence
            raise describe_aws_error(exc, "create the processing job", staging) from exc
        return record()

    def record() -> TrainingJob:   # also for a job SageMaker made though the SDK raised after the create call
        return TrainingJob(name=name, backend="sagemaker", status=JobStatus(JobState.STARTING, "Starting"),
                           data={"scenes": len(todo), "skipped": len(done)},
                           details={"kind": "predict", "region": region, "instance_type": config.instance_type,
                                    "instance_count": instances, "use_spot": False,
                                    "input_uri": request.input_uri, "output_uri": request.output_uri,
                                    "model": request.model, "bucket": config.bucket, "prefix": config.prefix,
                                    "role_check": role_check.note})

    def stop(job: TrainingJob) -> None:
        sagemaker.stop_processing_job(ProcessingJobName=job.name)
        job.status = JobStatus(JobState.STOPPING, "Stop requested: Ctrl+C during the launch")

    job = create_atomically(guard, staged, create, exists=lambda: processing_job_exists(sagemaker, name),
                            on_created=on_created or (lambda job: None), stop=stop, record=record,
                            name=lambda job: f"processing job {job.name}")
    return job, todo, done


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
