"""The SageMaker backend: ``sagemaker.train.ModelTrainer`` (SDK v3) with the AWS PyTorch training image.

The source is the ``trainer`` package alone, staged into a temp folder with a three-line launcher
(``roadseg_train.py`` runs ``trainer.train`` as a module, so its package imports work) and the
package's requirements file. Channels ``train`` and ``test`` are the workspace's synced S3 prefix;
code, checkpoints and output go under ``s3://BUCKET/PREFIX/jobs/``. Settings are checked before
anything is created. The SDK's telemetry is switched off through its own config key
(``SageMaker.PythonSDK.Modules.TelemetryOptOut``), passed to the Session.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from ..errors import BadInputError, RoadsegError
from .base import Hyperparameters, JobState, JobStatus, TrainingJob
from .pricing import INSTANCE_TYPES, gpus_per_instance
from .sagemaker_job import SageMakerJob, status_from_description

log = logging.getLogger(__name__)

TRAINER_DIR = Path(__file__).resolve().parents[1]
LAUNCHER = "roadseg_train.py"
LAUNCHER_CODE = ('"""SageMaker entry script: run the trainer package\'s entry point as a module."""\n'
                 "import runpy\n\nrunpy.run_module('trainer.train', run_name='__main__', alter_sys=True)\n")
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
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
    kms_key_id: str = ""
    volume_size_gb: int = 30

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


def training_image(config: SageMakerConfig, region: str) -> str:
    from sagemaker.core import image_uris

    try:
        return image_uris.retrieve("pytorch", region=region, version=config.framework_version,
                                   py_version=config.python_version, instance_type=config.instance_type,
                                   image_scope="training")
    except ValueError as exc:
        raise BadInputError(f"no AWS PyTorch training image for framework {config.framework_version} / "
                            f"{config.python_version} on {config.instance_type} in {region}: {exc}",
                            "Choose another framework version in the SageMaker settings (e.g. 2.5, py311).") from exc


def validate(config: SageMakerConfig, session: boto3.Session | None = None) -> boto3.Session:
    """Check the settings, the credentials and the bucket's region; create nothing. Returns the session."""
    if not config.role_arn:
        raise BadInputError("no SageMaker execution role is set",
                            "Put the role's ARN (arn:aws:iam::ACCOUNT:role/NAME) in the SageMaker settings, "
                            "or train with the local backend.")
    if not _ROLE_ARN.match(config.role_arn):
        raise BadInputError(f"{config.role_arn!r} is not an IAM role ARN",
                            "It looks like arn:aws:iam::123456789012:role/SageMakerRoadseg.")
    if not config.bucket:
        raise BadInputError("no S3 bucket is set", "Set the bucket and prefix in the workspace's S3 settings.")
    if config.instance_type not in INSTANCE_TYPES:
        raise BadInputError(f"unknown instance type {config.instance_type!r}",
                            "Use one of " + ", ".join(sorted(INSTANCE_TYPES)) + ".")
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
        raise RoadsegError(f"AWS rejected the credentials ({exc.response.get('Error', {}).get('Code')})",
                           "Refresh them (`aws sso login`) or choose another profile.") from exc
    except (NoCredentialsError, BotoCoreError) as exc:
        raise RoadsegError(f"cannot use the AWS credentials: {exc}", "Check the profile and the network.") from exc
    _check_bucket_region(session, config.bucket, region)
    return session


def _check_bucket_region(session: boto3.Session, bucket: str, region: str) -> None:
    try:
        location = session.client("s3").get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise BadInputError(f"the bucket {bucket!r} does not exist", "Check the bucket name in the settings.") from exc
        raise RoadsegError(f"cannot read the region of bucket {bucket!r} ({code})",
                           "Your user needs s3:GetBucketLocation on it.") from exc
    bucket_region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)
    if bucket_region != region:
        raise BadInputError(f"the bucket {bucket!r} is in {bucket_region} but SageMaker would run in {region}",
                            f"SageMaker reads training data only in its own region: set the region to "
                            f"{bucket_region} in the settings, or use a bucket in {region}.")


def stage_source(dest: Path) -> Path:
    """Copy the trainer package alone (plus the launcher) into ``dest``: what SageMaker receives."""
    dest = Path(dest)
    shutil.copytree(TRAINER_DIR, dest / "trainer",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    (dest / LAUNCHER).write_text(LAUNCHER_CODE, "utf-8")
    return dest


def build_model_trainer(config: SageMakerConfig, hyperparameters: Hyperparameters, session: boto3.Session,
                        source_dir: Path, base_job_name: str = "roadseg"):
    """The ModelTrainer for this launch (separate so a test can inspect it without launching)."""
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.training.configs import (CheckpointConfig, Compute, OutputDataConfig, SourceCode,
                                                 StoppingCondition)
    from sagemaker.train import ModelTrainer
    from sagemaker.train.distributed import Torchrun

    sm_session = Session(boto_session=session, default_bucket=config.bucket,
                         default_bucket_prefix=config.jobs_prefix, sagemaker_config=TELEMETRY_OFF)
    requirements = "trainer/requirements.txt" if (source_dir / "trainer" / "requirements.txt").is_file() else None
    values = hyperparameters.as_hyperparameters()
    values["checkpoint-dir"] = CHECKPOINT_LOCAL_PATH
    return ModelTrainer(
        sagemaker_session=sm_session,
        role=config.role_arn,
        base_job_name=base_job_name,
        training_image=training_image(config, session.region_name),
        source_code=SourceCode(source_dir=str(source_dir), entry_script=LAUNCHER, requirements=requirements),
        distributed=Torchrun() if config.distributed else None,
        compute=Compute(instance_type=config.instance_type, instance_count=int(config.instance_count),
                        volume_size_in_gb=int(config.volume_size_gb),
                        enable_managed_spot_training=bool(config.use_spot)),
        stopping_condition=StoppingCondition(
            max_runtime_in_seconds=int(config.max_run_seconds),
            max_wait_time_in_seconds=int(config.max_wait_seconds) if config.use_spot else None),
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{config.bucket}/{config.jobs_prefix}/output",
                                            kms_key_id=config.kms_key_id or None),
        # s3_uri left empty: the SDK puts it at s3://BUCKET/PREFIX/jobs/<base>/<job name>/checkpoints
        checkpoint_config=CheckpointConfig(local_path=CHECKPOINT_LOCAL_PATH),
        hyperparameters=values,
    )


def upload_init_model(config: SageMakerConfig, session: boto3.Session, model_path: str | Path, tmp: Path) -> str:
    """Put the model to fine-tune from at PREFIX/jobs/init-models/<name>/model.tar.gz; returns the channel URI.

    trainer.train reads it from the ``model`` channel (SM_CHANNEL_MODEL)."""
    from ..artifact import file_version, pack_model

    model_path = Path(model_path)
    if model_path.is_file() and model_path.name.endswith((".tar.gz", ".tgz")):
        tar = model_path
    else:
        folder = model_path
        if model_path.is_file():  # a bare .pth: the archive needs it named model.pth
            folder = tmp / "init-model"
            folder.mkdir()
            shutil.copyfile(model_path, folder / "model.pth")
        tar = pack_model(folder, tmp / "init-model.tar.gz")
    key = f"{config.jobs_prefix}/init-models/{file_version(tar)}/model.tar.gz"
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": config.kms_key_id} if config.kms_key_id else None
    try:
        session.client("s3").upload_file(str(tar), config.bucket, key, ExtraArgs=extra)
    except (ClientError, BotoCoreError) as exc:
        raise RoadsegError(f"cannot upload the model to fine-tune from to s3://{config.bucket}/{key}: {exc}",
                           "Check that your user may s3:PutObject under the prefix.") from exc
    return f"s3://{config.bucket}/{key.rsplit('/', 1)[0]}/"


def launch(config: SageMakerConfig, hyperparameters: Hyperparameters, *, data: dict | None = None,
           session: boto3.Session | None = None, base_job_name: str = "roadseg",
           init_model: str | Path | None = None) -> SageMakerJob:
    """Validate, stage the code, create the training job (wait=False) and return its handle.

    ``init_model``: fine-tune from this model (sent as the ``model`` channel)."""
    from sagemaker.core.helper.iam_role_resolver import RoleValidationError
    from sagemaker.core.training.configs import InputData

    hyperparameters.validate()
    session = validate(config, session)
    with tempfile.TemporaryDirectory(prefix="roadseg-source-") as tmp:
        source_dir = stage_source(Path(tmp) / "source")
        channels = [InputData(channel_name="train", data_source=f"{config.data_uri}/train/"),
                    InputData(channel_name="test", data_source=f"{config.data_uri}/test/")]
        if init_model:
            channels.append(InputData(channel_name="model",
                                      data_source=upload_init_model(config, session, init_model, Path(tmp))))
        try:
            trainer = build_model_trainer(config, hyperparameters, session, source_dir, base_job_name)
            trainer.train(input_data_config=channels, wait=False, logs=False)
        except RoleValidationError as exc:
            raise RoadsegError(f"the SageMaker execution role cannot be used: {exc}",
                               "See the README's AWS section for what the role needs.") from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise RoadsegError(f"SageMaker refused the training job: {error.get('Code')}: {error.get('Message')}",
                               "See the README's AWS section for the permissions and quotas needed.") from exc
        except (NoCredentialsError, BotoCoreError) as exc:
            raise RoadsegError(f"cannot reach AWS to create the job: {exc}", "Check credentials and network.") from exc
        except ValueError as exc:
            raise BadInputError(f"the SageMaker SDK rejected the job settings: {exc}") from exc
    created = trainer._latest_training_job  # the SDK's record of the job it just created
    job = TrainingJob(name=created.training_job_name, backend="sagemaker",
                      hyperparameters=hyperparameters.to_dict(), data=dict(data or {}),
                      status=JobStatus(JobState.STARTING, "Starting"),
                      details={**_details(config, session.region_name), "init_model": str(init_model or "")})
    runner = attach(job, config, session)
    runner.refresh()
    job.details["checkpoint_uri"] = (runner.last_description.get("CheckpointConfig") or {}).get("S3Uri", "")
    job.details["image"] = (runner.last_description.get("AlgorithmSpecification") or {}).get("TrainingImage", "")
    return runner


def _details(config: SageMakerConfig, region: str) -> dict:
    return {"region": region, "instance_type": config.instance_type, "instance_count": int(config.instance_count),
            "use_spot": bool(config.use_spot), "bucket": config.bucket, "prefix": config.prefix,
            "data_uri": config.data_uri, "distributed": config.distributed}


def attach(job: TrainingJob, config: SageMakerConfig, session: boto3.Session | None = None) -> SageMakerJob:
    """A handle on an existing job (after an app restart, or right after launch)."""
    session = session or make_boto_session(config)
    return SageMakerJob(job, session.client("sagemaker"), session.client("logs"), session.client("s3"))


__all__ = ["SageMakerConfig", "EndpointSession", "SageMakerJob", "attach", "launch", "validate",
           "make_boto_session", "training_image", "stage_source", "build_model_trainer", "status_from_description"]
