"""Retraining, start to finish: what will be trained on, launch (local or SageMaker), bring the model back.

Used by ``roadseg retrain`` and the retrain panel alike; nothing here blocks on a running job
(follow it with the runner's ``refresh``/``poll``). Bringing a model back unpacks it safely
into the registry and evaluates it and the current model on the same workspace test pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trainer.errors import DataError, RoadsegError
from trainer.jobs.base import Hyperparameters, JobRunner, JobState, TrainingJob
from trainer.jobs.local import LocalJob

from . import statedb
from .comparison import COMPARED, Comparison  # noqa: F401  (retrain.Comparison: the CLI's and panel's)
from .jobs_store import JobsStore, remember  # noqa: F401  (retrain.remember: the CLI's and panel's)
from .layout import images_dir, masks_dir
from .models import ModelRecord, ModelRegistry, starter_model_path
from .sagemaker_settings import sagemaker_config
from .settings import WorkspaceSettings

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff"}


@dataclass
class DataSummary:
    train_pairs: int
    test_pairs: int
    corrected_since_model: int      # accepted since the current model was registered (all, if none is)
    unsynced: int | None            # accepted pairs not on S3 as they are now (None: no bucket set)
    current_model: str              # path, "" when the app has no model
    current_version: str

    def describe(self) -> str:
        text = (f"{self.train_pairs} train / {self.test_pairs} test pairs; "
                f"{self.corrected_since_model} tiles corrected since the current model")
        if self.unsynced is not None:
            text += f"; {self.unsynced} not yet on S3"
        return text


def count_pairs(root: Path, split: str) -> int:
    """Images in {split}/images that have a mask {split}/masks/STEM.png."""
    folder = images_dir(root, split)
    if not folder.is_dir():
        return 0
    masks = {p.stem for p in masks_dir(root, split).glob("*.png")}
    return sum(1 for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES and p.stem in masks)


def summarize(root: str | Path, *, check_sync: bool = True) -> DataSummary:
    root = Path(root)
    settings = WorkspaceSettings.load(root)
    registry = ModelRegistry(root)
    try:
        active = registry.active()
        since = active.registered if active else 0.0
    finally:
        registry.close()
    conn = statedb.connect(root)
    try:
        corrected = conn.execute(
            "SELECT COUNT(*) FROM tiles WHERE status IN ('accepted', 'synced') AND accepted_at > ?",
            (since,)).fetchone()[0]
    finally:
        conn.close()
    unsynced = None
    if check_sync and settings.s3.bucket:
        from .sync import pending_pairs

        unsynced = len(pending_pairs(root))
    return DataSummary(count_pairs(root, "train"), count_pairs(root, "test"), corrected, unsynced,
                       settings.active_model, active.version if active else "")


def default_backend(settings: WorkspaceSettings) -> str:
    return "sagemaker" if settings.sagemaker.role_arn else "local"


def start(root: str | Path, backend: str, hyperparameters: Hyperparameters, *, sync: bool = True,
          instance_type: str | None = None, instance_count: int | None = None, use_spot: bool | None = None,
          env: dict | None = None, progress=None, from_scratch: bool = False) -> JobRunner:
    """Launch a retrain of this workspace; the job is remembered in the workspace.

    A retrain fine-tunes: it starts from the current model's weights, or from the shipped starter model
    when the workspace has none. ``from_scratch`` starts from a fresh (ImageNet) backbone instead."""
    root = Path(root).resolve()
    hyperparameters.validate()
    summary = summarize(root, check_sync=False)
    if not summary.train_pairs or not summary.test_pairs:
        raise DataError(f"cannot train on {summary.train_pairs} train and {summary.test_pairs} test pairs",
                        "Accept tiles in both splits first (the test split is chosen by the tile's name).", root)
    data = {"train_pairs": summary.train_pairs, "test_pairs": summary.test_pairs,
            "corrected_since_model": summary.corrected_since_model}
    init_model, starts_from = initial_model(summary, from_scratch)
    with JobsStore(root) as store:
        if backend == "local":
            train_dir, test_dir = _local_training_folders(root, data)
            runner = LocalJob.launch(train_dir, test_dir, store.dir, hyperparameters, data=data, env=env,
                                     init_model=init_model)
        elif backend == "sagemaker":
            runner = _start_sagemaker(root, hyperparameters, data, sync=sync, instance_type=instance_type,
                                      instance_count=instance_count, use_spot=use_spot, progress=progress,
                                      init_model=init_model)
        else:
            raise RoadsegError(f"unknown backend {backend!r}", "Use local or sagemaker.")
        runner.job.details["parent"] = summary.current_version
        # compared with the current model, or with the starter model it began from when there is none
        runner.job.details["parent_path"] = summary.current_model or (init_model if starts_from == "starter" else "")
        runner.job.details["starts_from"] = starts_from
        store.save(runner.job)
    return runner


def _local_training_folders(root: Path, data: dict) -> tuple[Path, Path]:
    """The train and test folders a local job reads: the workspace's, or its approved pairs alone when
    review is required (SageMaker reads S3, where only approved pairs reach {train,test}/)."""
    if not WorkspaceSettings.load(root).review.require_review:
        return root / "train", root / "test"
    from .review_state.training_set import stage_approved

    staged, held = stage_approved(root)
    data["held_for_review"] = sum(held.values())
    data["train_pairs"], data["test_pairs"] = count_pairs(staged, "train"), count_pairs(staged, "test")
    if not data["train_pairs"] or not data["test_pairs"]:
        raise DataError(f"review is required and only {data['train_pairs']} train and {data['test_pairs']} test "
                        f"pairs are approved ({data['held_for_review']} await review)",
                        "Approve tiles in both splits first (roadseg review --approve, or G in the app).", root)
    return staged / "train", staged / "test"


def initial_model(summary: DataSummary, from_scratch: bool = False) -> tuple[str | None, str]:
    """(model to fine-tune from, which one: "current", "starter" or "scratch")."""
    if from_scratch:
        return None, "scratch"
    if summary.current_model and Path(summary.current_model).exists():
        return summary.current_model, "current"
    starter = starter_model_path()
    if starter is not None:
        return str(starter), "starter"
    return None, "scratch"  # an installation without the starter model and a workspace without a model


def _start_sagemaker(root: Path, hyperparameters: Hyperparameters, data: dict, *, sync: bool, instance_type,
                     instance_count, use_spot, progress, init_model=None) -> JobRunner:
    from trainer.jobs import sagemaker_backend

    from .sync import pending_pairs, push

    settings = WorkspaceSettings.load(root)
    config = sagemaker_config(settings, instance_type=instance_type, instance_count=instance_count,
                              use_spot=use_spot)
    # a time budget (--minutes) sets max_run from the budget, and a spot job may wait at least that long
    config.max_run_seconds = hyperparameters.max_run_seconds(config.max_run_seconds)
    config.max_wait_seconds = max(config.max_wait_seconds, config.max_run_seconds)
    session = sagemaker_backend.validate(config)  # settings and credentials first: nothing created yet
    pending = pending_pairs(root)
    if pending and not sync:
        raise RoadsegError(f"{len(pending)} accepted tiles are not on S3 yet, and SageMaker trains on S3",
                           "Sync first (roadseg sync), or let retrain sync them.")
    if pending:
        report = push(root, progress=progress, settings=settings)
        if not report.ok:
            reasons = "; ".join(report.errors[:3]) or report.summary()
            if report.conflicts:
                reasons = f"{report.conflicts} tiles conflict with changes on S3 ({reasons})"
            raise RoadsegError(f"the sync before training did not finish: {reasons}",
                               "Resolve it in the sync panel (or roadseg sync), then retrain.")
        data["synced_before_launch"] = report.uploaded
    # remembered the moment it exists: a Ctrl+C right after creation stops it, and the jobs list keeps it
    return sagemaker_backend.launch(config, hyperparameters, data=data, session=session, init_model=init_model,
                                    on_created=lambda job: remember(root, job))


def reattach(root: str | Path, job: TrainingJob) -> JobRunner:
    """A live handle on a remembered job (e.g. after the app restarted)."""
    if job.backend == "local":
        return LocalJob.attach(job)
    from . import scene_jobs
    if scene_jobs.is_scene_job(job):
        return scene_jobs.attach(root, job)
    from trainer.jobs import sagemaker_backend

    settings = WorkspaceSettings.load(root)
    config = sagemaker_config(settings)
    config.region = job.details.get("region", config.region)
    return sagemaker_backend.attach(job, config)


def unfinished_jobs(root: str | Path) -> list[TrainingJob]:
    with JobsStore(root) as store:
        return store.unfinished()


def all_jobs(root: str | Path) -> list[TrainingJob]:
    with JobsStore(root) as store:
        return store.jobs()


def bring_back(root: str | Path, runner: JobRunner, *, device: str = "cpu") -> Comparison:
    """Take the finished job's model.tar.gz, unpack it into the registry, evaluate new vs current."""
    from trainer.evaluate import evaluate

    root = Path(root).resolve()
    job = runner.job
    status = runner.refresh()
    if status.state != JobState.COMPLETED:
        raise RoadsegError(f"job {job.name} did not complete ({status.describe()})", "Nothing to bring back.")
    store = JobsStore(root)
    registry = ModelRegistry(root)
    try:
        if job.backend == "local":
            tar_path = Path(status.artifact)
        else:
            tar_path = runner.fetch_artifact(store.job_dir(job.name) / "model.tar.gz")
        record = registry.add_archive(tar_path, job_name=job.name, backend=job.backend, data=job.data,
                                      hyperparameters=job.hyperparameters, parent=job.details.get("parent", ""))
        new_metrics = evaluate(record.path, root / "test", device=device, connectivity=True)
        registry.set_metrics(record.version, new_metrics)
        comparison = Comparison(job.name, registry.get(record.version), new_metrics,
                                corrected_tiles=job.data.get("corrected_since_model"),
                                kept_start=_kept_start(record.path))
        if comparison.kept_start:
            comparison.notes.append("the retrain did not beat the model it started from on this workspace's test "
                                    "pairs, so it returned that model unchanged")
        current_path = job.details.get("parent_path") or WorkspaceSettings.load(root).active_model
        if current_path and Path(current_path).exists():
            current = _current_record(registry, current_path)
            comparison.current_version = current.version if current else Path(current_path).name
            comparison.current_metrics = evaluate(current_path, root / "test", device=device, connectivity=True)
            if current:
                registry.set_metrics(current.version, comparison.current_metrics)
        elif current_path:
            comparison.notes.append(f"the previous model {current_path} is gone; nothing to compare with")
        if current_path and job.details.get("starts_from") == "starter" and not job.details.get("parent"):
            comparison.notes.append("the workspace had no model: compared with the starter model it was "
                                    "fine-tuned from")
        job.model_version = record.version
        store.save(job)
        return comparison
    finally:
        registry.close()
        store.close()


def _kept_start(model_dir: Path) -> bool:
    """Whether the trainer returned its start model (model.json's lineage says which tested state it kept)."""
    import json

    try:
        kept = json.loads((Path(model_dir) / "model.json").read_text("utf-8")).get("lineage", {}).get("kept")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(kept, dict) and kept.get("from") == "start"


def _current_record(registry: ModelRegistry, path: str) -> ModelRecord | None:
    """The registry record of the model at ``path``; a model from outside is registered as 'external'."""
    for record in registry.records():
        if Path(record.path).resolve() == Path(path).resolve():
            return record
    from trainer.artifact import load_model

    loaded = load_model(path)
    return registry.add_external(path, loaded.version or Path(path).stem, created=loaded.meta.created)


def activate(root: str | Path, version: str) -> ModelRecord:
    registry = ModelRegistry(root)
    try:
        return registry.activate(version)
    finally:
        registry.close()


def rollback(root: str | Path) -> ModelRecord:
    registry = ModelRegistry(root)
    try:
        return registry.rollback()
    finally:
        registry.close()
