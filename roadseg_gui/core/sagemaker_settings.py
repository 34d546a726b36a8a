"""The SageMaker launch settings of a workspace (its S3 and SageMaker sections), for training and scene jobs."""

from __future__ import annotations

from .settings import WorkspaceSettings


def sagemaker_config(settings: WorkspaceSettings, *, instance_type: str | None = None,
                     instance_count: int | None = None, use_spot: bool | None = None, endpoint_url: str = ""):
    from trainer.errors import BadInputError
    from trainer.jobs.sagemaker_backend import SageMakerConfig

    if instance_count is not None and int(instance_count) < 1:  # 0 must not fall back to the settings' count
        raise BadInputError(f"--instance-count must be at least 1 (got {instance_count})",
                            "Give the number of instances, or leave it out to use the settings' count.")
    sm, s3 = settings.sagemaker, settings.s3
    return SageMakerConfig(
        role_arn=sm.role_arn, bucket=s3.bucket, prefix=s3.prefix, region=s3.region, profile=s3.profile,
        instance_type=instance_type or sm.instance_type, instance_count=int(sm.instance_count if instance_count is None else instance_count),
        framework_version=sm.framework_version, python_version=sm.python_version,
        use_spot=sm.use_spot if use_spot is None else use_spot, max_run_seconds=int(sm.max_run_seconds),
        max_wait_seconds=int(sm.max_wait_seconds), image_uri=sm.image_uri.strip(), s3_endpoint_url=s3.endpoint_url,
        endpoint_url=endpoint_url,  # "" = boto3's own (AWS, or AWS_ENDPOINT_URL_<SERVICE> from the environment)
        sse=s3.sse, kms_key_id=s3.kms_key_id if s3.sse == "aws:kms" else "")
