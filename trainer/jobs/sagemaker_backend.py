"""The SageMaker backend: ``sagemaker.train.ModelTrainer`` (SDK v3) with the AWS PyTorch training image.

Channels ``train`` and ``test`` are the workspace's synced S3 prefix; code, checkpoints and output go
under ``s3://BUCKET/PREFIX/jobs/`` (how the trainer is built: sagemaker_sdk). Settings, credentials,
the bucket's region and the execution role (sagemaker_role) are checked before anything is created;
any AWS or SDK error on the way becomes one sentence (aws_errors).
"""

from __future__ import annotations

import functools
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import ClientError, ProfileNotFound

from ..errors import BadInputError, RoadsegError
from .aws_errors import describe_aws_error
from .base import Hyperparameters, JobState, JobStatus, TrainingJob
from .job_model import upload_init_model
from .launch_guard import CreationGuard, StagedObjects, create_atomically
from .pricing import INSTANCE_TYPES, gpus_per_instance
from .sagemaker_job import SageMakerJob, status_from_description
from .sagemaker_role import check_execution_role
from .sagemaker_sdk import (CHECKPOINT_LOCAL_PATH, JOBS_FOLDER, LAUNCHER, TELEMETRY_OFF, TRAINER_DIR,  # noqa: F401
                            build_model_trainer, sse_upload_args, stage_source, training_image)

log = logging.getLogger(__name__)

_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


@dataclass
class SageMakerConfig:
    role_arn: str
    bucket: str
    prefix: str = "sagemaker/seg-data"
    region: str = ""
    profile: str = ""
    instance_type: str = "ml.g5.xlarge"
    instance_count: int = 1
    framework_version: str = "2.5"
    python_version: str = "py311"
    use_spot: bool = True
    max_run_seconds: int = 4 * 3600
    max_wait_seconds: int = 8 * 3600
    s3_endpoint_url: str = ""   # an S3 endpoint (VPC endpoint, test server); SageMaker itself reads AWS S3
    endpoint_url: str = ""      # every other AWS API (SageMaker, CloudWatch Logs, IAM, STS); "" = AWS default
    sse: str = ""               # "", "AES256" or "aws:kms": applied to everything the launch uploads
    kms_key_id: str = ""
    volume_size_gb: int = 30
    image_uri: str = ""         # a derived image in ECR (no internet in the job); "" = AWS's PyTorch image

    @property
    def data_uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix.strip('/')}".rstrip("/")

    @property
    def jobs_prefix(self) -> str:
        return "/".join(p for p in (self.prefix.strip("/"), "jobs") if p)

    @property
    def distributed(self) -> bool:
        return self.instance_count > 1 or gpus_per_instance(self.instance_type) > 1


class EndpointSession(boto3.Session):
    """A boto3 session whose clients default to given endpoints.

    The SDK creates its clients from the boto3 session it is given (``session.client("s3")``,
    ``session.client("sagemaker", region)``...), so this is the one place an S3-compatible or
    VPC endpoint (or a test server) can be put under all of them.
    """

    def __init__(self, *, s3_endpoint_url: str = "", endpoint_url: str = "", **kwargs):
        super().__init__(**kwargs)
        self._s3_endpoint = s3_endpoint_url or None
        self._endpoint = endpoint_url or None

    def client(self, service_name, *args, **kwargs):
        if kwargs.get("endpoint_url") is None and len(args) < 5:
            endpoint = self._s3_endpoint if service_name == "s3" else self._endpoint
            if endpoint:
                kwargs["endpoint_url"] = endpoint
        return super().client(service_name, *args, **kwargs)


def make_boto_session(config: SageMakerConfig) -> boto3.Session:
    try:
        session = EndpointSession(s3_endpoint_url=config.s3_endpoint_url, endpoint_url=config.endpoint_url,
                                  profile_name=config.profile or None, region_name=config.region or None)
    except ProfileNotFound as exc:
        raise RoadsegError(f"the AWS profile {config.profile!r} does not exist",
                           "Run `aws configure --profile NAME` (or `aws sso login`), or fix the profile "
                           "in the workspace settings.") from exc
    if not session.region_name:
        raise RoadsegError("no AWS region is set",
                           "Set the region in the workspace's S3 settings (the bucket's region).")
    return session


def validate(config: SageMakerConfig, session: boto3.Session | None = None, *,
             kind: str = "training") -> boto3.Session:
    """Check the settings, the credentials and the bucket's region; create nothing. Returns the session.

    ``kind``: "training" or "processing", whose instance types differ (botocore's enums)."""
    if not config.role_arn:
        raise BadInputError("no SageMaker execution role is set",
                            "Put the role's ARN (arn:aws:iam::ACCOUNT:role/NAME) in the SageMaker settings, "
                            "or train with the local backend.")
    if not _ROLE_ARN.match(config.role_arn):
        raise BadInputError(f"{config.role_arn!r} is not an IAM role ARN",
                            "It looks like arn:aws:iam::123456789012:role/SageMakerRoadseg.")
    if not config.bucket:
        raise BadInputError("no S3 bucket is set", "Set the bucket and prefix in the workspace's S3 settings.")
    _check_instance_type(config.instance_type, kind)
    if int(config.instance_count) < 1:
        raise BadInputError(f"instance count must be at least 1 (got {config.instance_count})")
    if config.use_spot and config.max_wait_seconds < config.max_run_seconds:
        raise BadInputError("with spot training the maximum wait must be at least the maximum run time",
                            "Raise max_wait_seconds or lower max_run_seconds.")
    session = session or make_boto_session(config)
    region = session.region_name
    if config.region and config.region != region:
        raise BadInputError(f"the AWS session is for {region} but the settings say {config.region}",
                            "Use one region for the bucket, the profile and SageMaker.")
    training_image(config, region)
    if session.get_credentials() is None:
        raise RoadsegError("no AWS credentials found",
                           "Run `aws configure` or `aws sso login`, or choose a profile in the workspace settings.")
    try:
        session.client("sts").get_caller_identity()
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400) >= 500:
            raise describe_aws_error(exc, "check the AWS credentials") from exc
        raise RoadsegError(f"AWS rejected the credentials ({exc.response.get('Error', {}).get('Code')})",
                           "Refresh them (`aws sso login`) or choose another profile.") from exc
    except Exception as exc:  # no credentials, no network, or an answer that is not AWS's (ResponseParserError)
        raise describe_aws_error(exc, "check the AWS credentials") from exc
    check_bucket_region(session, config.bucket, region)
    return session


@functools.lru_cache(maxsize=None)
def offered_instance_types(kind: str) -> frozenset[str]:
    """The instance types CreateTrainingJob / CreateProcessingJob accept (botocore's service model)."""
    import botocore.session

    shape = {"training": "TrainingInstanceType", "processing": "ProcessingInstanceType"}[kind]
    return frozenset(botocore.session.get_session().get_service_model("sagemaker").shape_for(shape).enum)


def _check_instance_type(instance_type: str, kind: str) -> None:
    # training also needs the price table's GPU count (torchrun or not); Processing only needs SageMaker's list
    known = INSTANCE_TYPES.keys() & offered_instance_types(kind) if kind == "training" else \
        offered_instance_types(kind)
    if instance_type not in known:
        examples = sorted(t for t in INSTANCE_TYPES if t in known)
        label = {"training": "training", "processing": "Processing"}[kind]
        raise BadInputError(f"unknown instance type {instance_type!r} for a SageMaker {label} job",
                            "Use one of " + ", ".join(examples) + (" (or another type SageMaker Processing "
                                                                    "offers)." if kind == "processing" else "."))


def check_bucket_region(session: boto3.Session, bucket: str, region: str) -> None:
    try:
        location = session.client("s3").get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise BadInputError(f"the bucket {bucket!r} does not exist", "Check the bucket name in the settings.") from exc
        raise RoadsegError(f"cannot read the region of bucket {bucket!r} ({code})",
                           "Your user needs s3:GetBucketLocation on it.") from exc
    except Exception as exc:  # connection errors, or an answer that is not S3's (ResponseParserError)
        raise describe_aws_error(exc, f"read the region of bucket {bucket!r}") from exc
    bucket_region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)
    if bucket_region != region:
        raise BadInputError(f"the bucket {bucket!r} is in {bucket_region} but SageMaker would run in {region}",
                            f"SageMaker reads and writes S3 only in its own region: set the region to "
                            f"{bucket_region} in the settings, or use a bucket in {region}.")


def launch(config: SageMakerConfig, hyperparameters: Hyperparameters, *, data: dict | None = None,
           session: boto3.Session | None = None, base_job_name: str = JOBS_FOLDER,
           init_model: str | Path | None = None, on_created=None) -> SageMakerJob:
    """Validate, check the role, stage the code, create the training job (wait=False) and return its handle.

    ``init_model``: fine-tune from this model (sent as the ``model`` channel). ``on_created(job)`` remembers
    the job the moment it exists; Ctrl+C from the create call on stops it (launch_guard)."""
    hyperparameters.validate()
    session = validate(config, session)
    region = session.region_name
    role_check = check_execution_role(session.client("iam"), config, training_image(config, region), region,
                                      kms=session.client("kms"))
    staged, guard, built = StagedObjects(session.client("s3")), CreationGuard(), {}
    sagemaker = session.client("sagemaker")

    def create() -> TrainingJob:
        with tempfile.TemporaryDirectory(prefix="roadseg-source-") as tmp:
            trainer = _create_training_job(config, hyperparameters, session, base_job_name, init_model, Path(tmp),
                                           staged, guard, built)
        return record(trainer._latest_training_job.training_job_name)

    def record(job_name: str = "") -> TrainingJob:   # also for a job made though the SDK raised afterwards
        return TrainingJob(name=job_name or built["trainer"]._job_name, backend="sagemaker",
                           hyperparameters=hyperparameters.to_dict(), data=dict(data or {}),
                           status=JobStatus(JobState.STARTING, "Starting"),
                           details={**_details(config, region), "init_model": str(init_model or ""),
                                    "role_check": role_check.note})

    def finish(job: TrainingJob) -> None:
        built["runner"] = runner = attach(job, config, session)
        runner.refresh()
        job.details["checkpoint_uri"] = (runner.last_description.get("CheckpointConfig") or {}).get("S3Uri", "")
        job.details["image"] = (runner.last_description.get("AlgorithmSpecification") or {}).get("TrainingImage",
                                                                                                 "")

    def stop(job: TrainingJob) -> str | None:
        runner = built.get("runner") or attach(job, config, session)
        if runner.job.status.terminal:
            return f"had already ended ({runner.job.status.state.value})"
        runner.stop()
        return None

    def exists() -> bool:
        name = getattr(built.get("trainer"), "_job_name", "")
        return bool(name) and _training_job_exists(sagemaker, name)

    create_atomically(guard, staged, create, exists=exists, on_created=on_created or (lambda job: None),
                      stop=stop, finish=finish, record=record, name=lambda job: f"training job {job.name}")
    return built["runner"]


def _create_training_job(config, hyperparameters, session, base_job_name, init_model, tmp: Path, staged, guard,
                         built: dict):
    """Stage the code (and the model to start from) and create the job; returns the SDK's ModelTrainer, also
    kept as ``built["trainer"]`` before its create call (the job's name, should the SDK raise after it)."""
    from sagemaker.core.training.configs import InputData

    source_dir = stage_source(tmp / "source")
    channels = [InputData(channel_name="train", data_source=f"{config.data_uri}/train/"),
                InputData(channel_name="test", data_source=f"{config.data_uri}/test/")]
    if init_model:
        uploaded: list[str] = []
        try:
            channels.append(InputData(channel_name="model", data_source=upload_init_model(
                config, session, init_model, tmp, uploaded=uploaded)))
        finally:
            for key in uploaded:
                staged.add(config.bucket, key)
    try:
        trainer = build_model_trainer(config, hyperparameters, session, source_dir, base_job_name)
        trainer._guard = guard
        built["trainer"] = trainer
        # the SDK stages under JOBS/<base>/<base_job_name>-<time>/input/: deleted again if no job comes of it
        staged.add_prefix(config.bucket, f"{config.jobs_prefix}/{base_job_name}/{trainer.base_job_name}-")
        guard.defer()   # the SDK's train() would swallow a KeyboardInterrupt
        trainer.train(input_data_config=channels, wait=False, logs=False)
    except RoadsegError:
        raise
    except ValueError as exc:  # pydantic's ValidationError included: a setting the SDK refuses
        raise BadInputError("the SageMaker SDK rejected the job settings: "
                            + (str(exc).strip().splitlines() or [""])[0]) from exc
    except Exception as exc:  # every botocore / SDK error becomes one sentence (aws_errors)
        raise describe_aws_error(exc, "create the training job",
                                 f"s3://{config.bucket}/{config.jobs_prefix}/{JOBS_FOLDER}/") from exc
    return trainer


def _training_job_exists(sagemaker, name: str) -> bool:
    try:
        sagemaker.describe_training_job(TrainingJobName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
            return False
        raise
    return True


def _details(config: SageMakerConfig, region: str) -> dict:
    return {"region": region, "instance_type": config.instance_type, "instance_count": int(config.instance_count),
            "use_spot": bool(config.use_spot), "bucket": config.bucket, "prefix": config.prefix,
            "data_uri": config.data_uri, "distributed": config.distributed}


def attach(job: TrainingJob, config: SageMakerConfig, session: boto3.Session | None = None) -> SageMakerJob:
    """A handle on an existing job (after an app restart, or right after launch)."""
    session = session or make_boto_session(config)
    return SageMakerJob(job, session.client("sagemaker"), session.client("logs"), session.client("s3"))


__all__ = ["SageMakerConfig", "EndpointSession", "SageMakerJob", "attach", "launch", "validate",
           "make_boto_session", "training_image", "stage_source", "build_model_trainer", "status_from_description",
           "TELEMETRY_OFF"]
