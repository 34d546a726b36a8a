"""Building the SDK's ModelTrainer for a roadseg job: code, session config, metrics, names, S3 layout.

- The source is the ``trainer`` package alone plus a three-line launcher (``roadseg_train.py`` runs
  ``trainer.train`` as a module, so its package imports work) and its requirements file.
- The SDK's config files (``/etc/xdg/sagemaker/config.yaml``, ``~/.config/sagemaker/config.yaml``,
  or ``SAGEMAKER_ADMIN_CONFIG_OVERRIDE`` / ``SAGEMAKER_USER_CONFIG_OVERRIDE``) are loaded as the SDK
  would, and telemetry is switched off inside them: passing only the opt-out would drop an admin's
  defaults. ModelTrainer 3.27 reads TrainingJob Tags and VpcConfig subnets without its session
  (so never), and an explicit OutputDataConfig hides the config's KmsKeyId, so those three are
  passed explicitly (org_defaults).
- Everything the job stages goes to ``s3://BUCKET/PREFIX/jobs/roadseg/JOB/``, always: the SDK would
  otherwise move it under the output path when its own IAM probe says the role may not write the
  default bucket (``_resolve_staging_bucket``).
- Uploads carry the workspace's server-side encryption (AES256 or aws:kms); the SDK only adds KMS.
- Job names get a random part, so two launches in the same second do not collide.
"""

from __future__ import annotations

import contextlib
import copy
import os
import secrets
import shutil
import threading
from pathlib import Path

from ..errors import BadInputError

TRAINER_DIR = Path(__file__).resolve().parents[1]
LAUNCHER = "roadseg_train.py"
LAUNCHER_CODE = ('"""SageMaker entry script: run the trainer package\'s entry point as a module."""\n'
                 "import runpy\n\nrunpy.run_module('trainer.train', run_name='__main__', alter_sys=True)\n")
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
JOBS_FOLDER = "roadseg"  # PREFIX/jobs/roadseg/JOB/{input,checkpoints}
TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
_NUMBER = r"(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)"
# The epoch lines trainer.train prints ("epoch=3 train_loss=0.41 ... test_iou=0.52 ..."), and its final line
METRICS = {"train:loss": "train_loss", "test:loss": "test_loss", "test:iou": "test_iou", "test:f1": "test_f1",
           "test:precision": "test_precision", "test:recall": "test_recall", "test:cldice": "test_cldice",
           "test:apls": "test_apls", "test:apls_raw": "test_apls_raw", "learning_rate": "lr"}
_ENV_LOCK = threading.Lock()


def metric_definitions() -> list[dict]:
    """Name and regex per metric, for the console, CloudWatch and FinalMetricDataList."""
    return [{"Name": name, "Regex": rf"\b{key}={_NUMBER}"} for name, key in METRICS.items()]


def training_image(config, region: str) -> str:
    """The job's container image: the workspace's own (a derived image with the requirements baked in, for
    accounts whose jobs have no internet), else AWS's PyTorch training image."""
    if getattr(config, "image_uri", ""):
        return config.image_uri
    from sagemaker.core import image_uris

    try:
        return image_uris.retrieve("pytorch", region=region, version=config.framework_version,
                                   py_version=config.python_version, instance_type=config.instance_type,
                                   image_scope="training")
    except ValueError as exc:
        raise BadInputError(f"no AWS PyTorch training image for framework {config.framework_version} / "
                            f"{config.python_version} on {config.instance_type} in {region}: {exc}",
                            "Choose another framework version in the SageMaker settings (e.g. 2.5, py311).") from exc


def stage_source(dest: Path) -> Path:
    """Copy the trainer package alone (plus the launcher) into ``dest``: what SageMaker receives."""
    dest = Path(dest)
    shutil.copytree(TRAINER_DIR, dest / "trainer",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    (dest / LAUNCHER).write_text(LAUNCHER_CODE, "utf-8")
    return dest


def sse_upload_args(sse: str, kms_key_id: str) -> dict | None:
    """boto3 ExtraArgs for the workspace's server-side encryption setting."""
    if sse == "aws:kms" or kms_key_id:
        return {"ServerSideEncryption": "aws:kms", **({"SSEKMSKeyId": kms_key_id} if kms_key_id else {})}
    if sse == "AES256":
        return {"ServerSideEncryption": "AES256"}
    return None


def volume_kms_key(instance_type: str, kms_key_id: str) -> str | None:
    """The key for the instance's storage volume, or None where SageMaker refuses one (instances with local
    NVMe storage: g4dn, g5, g6, p4d...; the SDK's own rule)."""
    from sagemaker.core.common_utils import instance_supports_kms

    return kms_key_id if kms_key_id and instance_supports_kms(instance_type) else None


def without_volume_kms_key(loaded: dict, job: str, path: tuple[str, ...], instance_type: str) -> dict:
    """The SDK config without an org-wide VolumeKmsKeyId for ``job`` when the instance refuses one."""
    if volume_kms_key(instance_type, "key"):
        return loaded
    node = (loaded.get("SageMaker") or {}).get(job) or {}
    for part in path:
        node = node.get(part) or {}
    node.pop("VolumeKmsKeyId", None)
    return loaded


_SESSION_CLASS = None


def encrypting_session(boto_session, config, loaded: dict):
    """The SDK session of a launch: the workspace bucket and jobs prefix for staging, the SDK config
    ``loaded``, and the workspace's SSE on every upload the SDK makes itself (it adds only a KMS key)."""
    global _SESSION_CLASS
    if _SESSION_CLASS is None:
        from sagemaker.core.helper.session_helper import Session

        class EncryptingSession(Session):
            upload_args: dict = {}

            def upload_data(self, path, bucket=None, key_prefix="data", callback=None, extra_args=None):
                extra = {**self.upload_args, **(extra_args or {})} or None
                return super().upload_data(path, bucket, key_prefix, callback, extra)

            def upload_string_as_file_body(self, body, bucket, key, kms_key=None):
                if kms_key is not None or not self.upload_args:
                    return super().upload_string_as_file_body(body, bucket, key, kms_key)
                s3 = self.s3_resource or self.boto_session.resource("s3", region_name=self.boto_region_name)
                owner = self._get_account_id_if_default_bucket(bucket)
                s3.Object(bucket_name=bucket, key=key).put(
                    Body=body, **self.upload_args, **({"ExpectedBucketOwner": owner} if owner else {}))
                return f"s3://{bucket}/{key}"

        _SESSION_CLASS = EncryptingSession
    session = _SESSION_CLASS(boto_session=boto_session, default_bucket=config.bucket,
                             default_bucket_prefix=config.jobs_prefix, sagemaker_config=loaded)
    session.upload_args = sse_upload_args(config.sse, config.kms_key_id) or {}
    return session


def sdk_config(boto_session) -> dict:
    """The SDK's own config files, as it would load them, with telemetry switched off."""
    from sagemaker.core.config.config import load_sagemaker_config

    loaded = copy.deepcopy(load_sagemaker_config(s3_resource=boto_session.resource("s3")) or {})
    loaded.setdefault("SchemaVersion", "1.0")
    modules = loaded.setdefault("SageMaker", {}).setdefault("PythonSDK", {}).setdefault("Modules", {})
    modules["TelemetryOptOut"] = True
    return loaded


def org_defaults(loaded: dict) -> dict:
    """ModelTrainer arguments for the TrainingJob Tags, VpcConfig and output KmsKeyId of the SDK config."""
    from sagemaker.core.training.configs import Networking, Tag

    job = (loaded.get("SageMaker") or {}).get("TrainingJob") or {}
    found: dict = {}
    if job.get("Tags"):
        found["tags"] = [Tag(key=tag["Key"], value=tag["Value"]) for tag in job["Tags"]]
    vpc = job.get("VpcConfig") or {}
    if vpc.get("Subnets") or vpc.get("SecurityGroupIds"):
        found["networking"] = Networking(subnets=vpc.get("Subnets"), security_group_ids=vpc.get("SecurityGroupIds"),
                                         enable_network_isolation=job.get("EnableNetworkIsolation"))
    kms = (job.get("OutputDataConfig") or {}).get("KmsKeyId")
    if kms:
        found["kms_key_id"] = kms
    return found


@contextlib.contextmanager
def sdk_role_check_off():
    """The SDK reads SAGEMAKER_VALIDATE_ROLE while ModelTrainer is built; sagemaker_role checks instead."""
    with _ENV_LOCK:
        before = os.environ.get("SAGEMAKER_VALIDATE_ROLE")
        os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("SAGEMAKER_VALIDATE_ROLE", None)
            else:
                os.environ["SAGEMAKER_VALIDATE_ROLE"] = before


_TRAINER_CLASS = None


def _trainer_class():
    """ModelTrainer with a fixed staging place, the workspace's SSE and checkpoints beside the code."""
    global _TRAINER_CLASS
    if _TRAINER_CLASS is not None:
        return _TRAINER_CLASS
    from pydantic import PrivateAttr
    from sagemaker.train import ModelTrainer

    class RoadsegModelTrainer(ModelTrainer):
        _upload_args: dict | None = PrivateAttr(default=None)
        _jobs_uri: str = PrivateAttr(default="")
        _guard: object = PrivateAttr(default=None)     # launch_guard.CreationGuard, armed before the create call
        _job_name: str = PrivateAttr(default="")

        def _resolve_staging_bucket(self):
            return self.sagemaker_session.default_bucket(), None  # the workspace bucket, no IAM probe

        def _resolve_upload_extra_args(self, kms_key=None):
            return super()._resolve_upload_extra_args(kms_key) or (dict(self._upload_args) if self._upload_args
                                                                   else None)

        def _create_training_job_args(self, input_data_config=None, boto3=False):
            request = super()._create_training_job_args(input_data_config=input_data_config, boto3=boto3)
            if self._jobs_uri and request.get("checkpoint_config") is not None:
                request["checkpoint_config"].s3_uri = \
                    f"{self._jobs_uri}/{JOBS_FOLDER}/{request['training_job_name']}/checkpoints"
            self._job_name = request.get("training_job_name") or ""
            if self._guard is not None:   # the code is staged; CreateTrainingJob comes next
                self._guard.arm()
            return request

    _TRAINER_CLASS = RoadsegModelTrainer
    return _TRAINER_CLASS


def build_model_trainer(config, hyperparameters, session, source_dir: Path, base_job_name: str = JOBS_FOLDER):
    """The ModelTrainer for this launch (separate so a test can inspect it without launching)."""
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.training.configs import (CheckpointConfig, Compute, OutputDataConfig, SourceCode,
                                                 StoppingCondition)
    from sagemaker.core.shapes import MetricDefinition
    from sagemaker.train.distributed import Torchrun

    loaded = sdk_config(session)
    sm_session = Session(boto_session=session, default_bucket=config.bucket,
                         default_bucket_prefix=config.jobs_prefix, sagemaker_config=loaded)
    org = org_defaults(loaded)
    kms_key_id = config.kms_key_id or org.pop("kms_key_id", None)  # the workspace's own key wins
    org.pop("kms_key_id", None)
    requirements = "trainer/requirements.txt" if (source_dir / "trainer" / "requirements.txt").is_file() else None
    values = hyperparameters.as_hyperparameters()
    values["checkpoint-dir"] = CHECKPOINT_LOCAL_PATH
    max_run = hyperparameters.max_run_seconds(config.max_run_seconds)  # a --minutes budget sets it
    with sdk_role_check_off():
        trainer = _trainer_class()(
            sagemaker_session=sm_session,
            role=config.role_arn,
            base_job_name=f"{base_job_name}-{secrets.token_hex(3)}",  # JOB = roadseg-<6 hex>-<timestamp>
            input_s3_key_prefix=base_job_name,
            training_image=training_image(config, session.region_name),
            source_code=SourceCode(source_dir=str(source_dir), entry_script=LAUNCHER, requirements=requirements),
            distributed=Torchrun() if config.distributed else None,
            compute=Compute(instance_type=config.instance_type, instance_count=int(config.instance_count),
                            volume_size_in_gb=int(config.volume_size_gb),
                            volume_kms_key_id=volume_kms_key(config.instance_type, config.kms_key_id),
                            enable_managed_spot_training=bool(config.use_spot)),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=max_run,
                max_wait_time_in_seconds=max(int(config.max_wait_seconds), max_run) if config.use_spot else None),
            output_data_config=OutputDataConfig(s3_output_path=f"s3://{config.bucket}/{config.jobs_prefix}/output",
                                                kms_key_id=kms_key_id or None),
            checkpoint_config=CheckpointConfig(local_path=CHECKPOINT_LOCAL_PATH),
            hyperparameters=values,
            **org,
        )
    trainer._upload_args = sse_upload_args(config.sse, config.kms_key_id)
    trainer._jobs_uri = f"s3://{config.bucket}/{config.jobs_prefix}"
    return trainer.with_metric_definitions([MetricDefinition(name=d["Name"], regex=d["Regex"])
                                            for d in metric_definitions()])
