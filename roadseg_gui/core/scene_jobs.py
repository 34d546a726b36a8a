"""Scene-prediction jobs seen from a workspace: settings to request, launch, remember, re-attach.

The job itself lives in ``trainer.scenejob``; this module maps the workspace's S3 and SageMaker
settings onto it and keeps the job in the workspace's jobs list beside training jobs (its
``details["kind"]`` is ``"predict"``), so the app can list and follow both.
"""

from __future__ import annotations

from pathlib import Path

from trainer.errors import BadInputError
from trainer.jobs.base import TrainingJob

from .jobs_store import remember
from .sagemaker_settings import sagemaker_config
from .settings import WorkspaceSettings

KIND = "predict"
PROCESSING_MAX_RUNTIME = 777_600   # ProcessingStoppingCondition.MaxRuntimeInSeconds: 9 days at most


def is_scene_job(job: TrainingJob) -> bool:
    return job.details.get("kind") == KIND


def current_model(root: str | Path) -> str:
    """The workspace's active model, as ``--model current`` names it."""
    active = WorkspaceSettings.load(root).active_model
    if not active:
        raise BadInputError("this workspace has no current model",
                            "Give --model a model folder or model.tar.gz, or activate a model in the app.", root)
    return str(active)


def build_request(settings: WorkspaceSettings, input_uri: str, output_uri: str, model: str, *,
                  role: str = "", instance_type: str = "", instance_count: int | None = None,
                  arguments: list[str] | None = None):
    """The Processing request: role, instance type and count default to the workspace's SageMaker settings;
    code and the model are staged in the workspace's bucket, or the output bucket when none is set."""
    from trainer.scenejob.request import SceneJobRequest
    from trainer.scenejob.s3io import split_uri

    config = sagemaker_config(settings, instance_type=instance_type or None, instance_count=instance_count,
                              use_spot=False)
    if role:
        config.role_arn = role
    if not config.bucket:
        config.bucket, _ = split_uri(output_uri)
        config.prefix = "roadseg"
    # at least a day (an archive is long work), at most what a Processing job may run
    runtime = min(max(int(settings.sagemaker.max_run_seconds), 24 * 3600), PROCESSING_MAX_RUNTIME)
    return SceneJobRequest(input_uri, output_uri, model, config, arguments=list(arguments or []),
                           max_runtime_seconds=runtime)


def launch(root: str | Path | None, request):
    """Create the job; remember it in the workspace when there is one. Returns (runner or None, sent, skipped)."""
    from trainer.scenejob import follow, request as scene_request
    from trainer.jobs.sagemaker_backend import make_boto_session

    session = make_boto_session(request.config)
    # remembered the moment it exists: a Ctrl+C right after creation stops it, and the jobs list keeps it
    on_created = (lambda job: remember(root, job)) if root is not None else None
    job, sent, skipped = scene_request.launch(request, session=session, on_created=on_created)
    if job is None:
        return None, sent, skipped
    return follow.attach(job, session), sent, skipped


def attach(root: str | Path, job: TrainingJob):
    from trainer.jobs.sagemaker_backend import make_boto_session
    from trainer.scenejob import follow


    config = sagemaker_config(WorkspaceSettings.load(root))
    config.region = job.details.get("region", config.region)
    return follow.attach(job, make_boto_session(config))


def download_for_review(root: str | Path, job: TrainingJob, limit: int = 3) -> tuple[list[Path], list[dict]]:
    """Bring the first ``limit`` finished scenes of a completed job into the workspace for review.

    Returns (local scene files under ``.roadseg/scene-jobs/<job>/``, the job's failures). The app then
    cuts each scene into chips (``scene_import``), so the predictions are reviewed tile by tile."""
    import json

    from trainer.jobs.sagemaker_backend import make_boto_session
    from trainer.scenejob import contract, s3io
    from trainer.scenejob.sidecars import move_with_sidecars

    from .layout import state_dir

    config = sagemaker_config(WorkspaceSettings.load(root))
    config.region = job.details.get("region", config.region)
    s3 = make_boto_session(config).client("s3")
    input_uri, output_uri = job.details["input_uri"], job.details["output_uri"]
    outputs = s3io.list_keys(s3, output_uri)
    finished = sorted(key[:-len(contract.MARKER_SUFFIX)] for key in outputs if key.endswith(contract.MARKER_SUFFIX))
    scenes = [k for k in s3io.scene_keys(s3, input_uri) if str(contract.output_stem(k)) in finished]
    folder = state_dir(Path(root)) / "scene-jobs" / job.name
    fetch = s3io.fetcher(s3, input_uri)
    local = []
    for relative in scenes[:limit]:
        # flattened, so north.tif from two folders makes two sets of chips (chips are named by the file's stem);
        # its world file, .aux.xml, overviews and mask go with it, and a VRT still finds its sources
        target = folder / relative.replace("/", "__")
        local.append(move_with_sidecars(fetch(relative, folder / ".download"), target))
    bucket, prefix = s3io.split_uri(output_uri)
    failures: list[dict] = []
    for key in outputs:
        if key.rsplit("/", 1)[-1].startswith("failures") and key.endswith(".json"):
            failures += json.loads(s3.get_object(Bucket=bucket, Key=prefix + key)["Body"].read() or b"[]")
    return local, failures
