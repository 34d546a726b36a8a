"""Building the SDK's FrameworkProcessor for a scene-prediction job: session, instances, inputs, outputs.

- The SDK session stages in the workspace bucket, adds the workspace's SSE to the SDK's own uploads and
  loads the SDK's config files with telemetry off, less a volume key the instance type refuses.
- ``VolumeKmsKeyId`` is sent only to instance types that accept one (the SDK's ``instance_supports_kms``).
- The processor arms the launch's CreationGuard right before CreateProcessingJob (launch_guard).
"""

from __future__ import annotations

from .sagemaker_sdk import encrypting_session, sdk_config, training_image, volume_kms_key, without_volume_kms_key

CONTAINER_ROOT = "/opt/ml/processing"
_PROCESSOR_CLASS = None


def sdk_session(config, session):
    """The SDK session: the workspace bucket for staging, the workspace's SSE on the SDK's own uploads, and
    the SDK's own config files (an admin's org-wide ProcessingJob defaults: VPC, tags, KMS) with telemetry
    switched off, less a volume key the instance type refuses."""
    loaded = without_volume_kms_key(sdk_config(session), "ProcessingJob", ("ProcessingResources", "ClusterConfig"),
                                    config.instance_type)
    return encrypting_session(session, config, loaded)


def _processor_class():
    """FrameworkProcessor that arms the launch's guard once its code is staged, right before the create call."""
    global _PROCESSOR_CLASS
    if _PROCESSOR_CLASS is None:
        from sagemaker.core.processing import FrameworkProcessor

        class GuardedProcessor(FrameworkProcessor):
            guard = None

            def _start_new(self, inputs, outputs, experiment_config):
                if self.guard is not None:
                    self.guard.arm()
                return super()._start_new(inputs, outputs, experiment_config)

        _PROCESSOR_CLASS = GuardedProcessor
    return _PROCESSOR_CLASS


def build_processor(config, session, staging: str, instances: int, max_runtime_seconds: int, guard=None):
    processor = _processor_class()(
        image_uri=training_image(config, session.region_name), role=config.role_arn,
        instance_count=instances, instance_type=config.instance_type, command=["python3"],
        volume_size_in_gb=int(config.volume_size_gb),
        volume_kms_key=volume_kms_key(config.instance_type, config.kms_key_id),
        output_kms_key=config.kms_key_id or None, code_location=f"{staging}/code",
        max_runtime_in_seconds=int(max_runtime_seconds), base_job_name="roadseg-predict",
        sagemaker_session=sdk_session(config, session), env={"PYTHONUNBUFFERED": "1"})
    processor.guard = guard
    return processor


def processing_inputs(manifest_uri: str, model_uri: str) -> list:
    from sagemaker.core.shapes import ProcessingInput, ProcessingS3Input

    scenes = ProcessingS3Input(s3_uri=manifest_uri, local_path=f"{CONTAINER_ROOT}/input/scenes",
                               s3_data_type="ManifestFile", s3_input_mode="File",
                               s3_data_distribution_type="ShardedByS3Key")
    model = ProcessingS3Input(s3_uri=model_uri, local_path=f"{CONTAINER_ROOT}/input/model",
                              s3_data_type="S3Prefix", s3_input_mode="File",
                              s3_data_distribution_type="FullyReplicated")
    return [ProcessingInput(input_name="scenes", s3_input=scenes), ProcessingInput(input_name="model", s3_input=model)]


def processing_outputs(output_uri: str) -> list:
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output

    # Continuous: each finished scene reaches S3 while the job runs, so a stopped job keeps them
    output = ProcessingS3Output(s3_uri=output_uri.rstrip("/") + "/",
                                local_path=f"{CONTAINER_ROOT}/output/predictions", s3_upload_mode="Continuous")
    return [ProcessingOutput(output_name="predictions", s3_output=output)]


def processing_job_exists(sagemaker, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        sagemaker.describe_processing_job(ProcessingJobName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
            return False
        raise
    return True
