"""The backend-neutral model of a training job: hyperparameters, state, status and the job record.

States follow SageMaker's secondary status, so the local backend and SageMaker read the same:
Starting -> Downloading -> Training -> Uploading -> Completed, or Failed (with a reason), or
Stopping -> Stopped.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import BadInputError
from ..train_args import DEFAULT_LR

BACKENDS = ("local", "sagemaker")
_BACKBONES = ("mobilenet_v3_large", "resnet50", "resnet101")  # = trainer.model.BACKBONES (no torch import here)


class JobState(str, enum.Enum):
    STARTING = "Starting"
    DOWNLOADING = "Downloading"
    TRAINING = "Training"
    UPLOADING = "Uploading"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"

    @property
    def terminal(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED, JobState.STOPPED)


@dataclass
class Hyperparameters:
    """The flags of ``python -m trainer.train``, shared by both backends and the CLI."""

    epochs: int = 30          # defaults = trainer.train's, so `roadseg retrain` and `roadseg train` agree
    batch_size: int = 8
    lr: float = DEFAULT_LR
    backbone: str = "mobilenet_v3_large"
    image_size: int | None = None   # the training crop; None: the trainer picks it by device (256 CPU, 512 GPU)
    workers: int | None = None
    seed: int | None = None
    pretrained: bool | None = None   # start from ImageNet backbone weights (trainer default: when available)
    minutes: float | None = None     # a wall-clock training budget instead of epochs (trainer --minutes)

    def validate(self) -> "Hyperparameters":
        problems = []
        if int(self.epochs) < 1:
            problems.append(f"epochs must be at least 1 (got {self.epochs})")
        if int(self.batch_size) < 1:
            problems.append(f"batch size must be at least 1 (got {self.batch_size})")
        if not 0 < float(self.lr) < 10:
            problems.append(f"learning rate must be between 0 and 10 (got {self.lr})")
        if self.backbone not in _BACKBONES:
            problems.append(f"backbone {self.backbone!r} is unknown; use one of {', '.join(_BACKBONES)}")
        if self.minutes is not None and not 0 < float(self.minutes) <= 7 * 24 * 60:
            problems.append(f"the time budget must be more than 0 and at most a week of minutes (got {self.minutes})")
        if self.image_size is not None and (int(self.image_size) < 32 or int(self.image_size) % 8):
            problems.append(f"image size must be a multiple of 8 and at least 32 (got {self.image_size})")
        if problems:
            raise BadInputError("; ".join(problems), "Fix the hyperparameters and start again.")
        return self

    def as_hyperparameters(self) -> dict[str, str | int | float]:
        """SageMaker hyperparameters: keys are the flag names, so the container passes ``--key value``."""
        values = {"epochs": int(self.epochs), "batch-size": int(self.batch_size), "lr": float(self.lr),
                  "backbone": self.backbone}
        if self.image_size is not None:
            values["image-size"] = int(self.image_size)
        if self.workers is not None:
            values["workers"] = int(self.workers)
        if self.seed is not None:
            values["seed"] = int(self.seed)
        if self.pretrained is not None:
            values["pretrained"] = "true" if self.pretrained else "false"
        if self.minutes is not None:
            values["minutes"] = float(self.minutes)
        return values

    def max_run_seconds(self, default: int) -> int:
        """SageMaker's max_run: with a time budget, the budget plus a fifth, plus 15 minutes for the container
        start, data download, final test pass and upload, so a runaway job is stopped near its budget."""
        if self.minutes is None:
            return int(default)
        return int(float(self.minutes) * 60 * 1.2 + 15 * 60)

    def as_flags(self) -> list[str]:
        flags = []
        for key, value in self.as_hyperparameters().items():
            flags += [f"--{key}", str(value)]
        return flags

    def to_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict) -> "Hyperparameters":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k.replace("-", "_"): v for k, v in data.items() if k.replace("-", "_") in names})


@dataclass
class JobStatus:
    state: JobState = JobState.STARTING
    secondary: str = ""          # the backend's own words (SageMaker secondary status message...)
    failure_reason: str = ""
    started: float | None = None  # epoch seconds
    ended: float | None = None
    artifact: str = ""            # model.tar.gz: local path or s3:// URI, once known
    billable_seconds: int | None = None

    @property
    def terminal(self) -> bool:
        return self.state.terminal

    def elapsed(self, now: float | None = None) -> float:
        if self.started is None:
            return 0.0
        end = self.ended if self.ended is not None else (now or time.time())
        return max(0.0, end - self.started)

    def describe(self) -> str:
        text = self.state.value
        if self.secondary and self.secondary != self.state.value:
            text += f" ({self.secondary})"
        if self.failure_reason:
            text += f": {self.failure_reason}"
        return text

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "JobStatus":
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["state"] = JobState(values.get("state", JobState.STARTING.value))
        return cls(**values)


@dataclass
class TrainingJob:
    """What is remembered about one job, whatever ran it."""

    name: str
    backend: str                                   # "local" or "sagemaker"
    hyperparameters: dict = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    status: JobStatus = field(default_factory=JobStatus)
    data: dict = field(default_factory=dict)       # e.g. train/test pair counts at launch
    details: dict = field(default_factory=dict)    # backend-specific: job_dir, pid, region, instance type...
    model_version: str = ""                        # set once the artifact is registered

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["status"] = self.status.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingJob":
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["status"] = JobStatus.from_dict(values.get("status") or {})
        return cls(**values)


def new_job_name(prefix: str = "roadseg") -> str:
    """A SageMaker-valid, sortable job name: roadseg-20261123-230501-123."""
    now = datetime.now(timezone.utc)
    return f"{prefix}-{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}"


class JobRunner(abc.ABC):
    """A live handle on a job. Methods never block on training; ``poll`` returns what is new."""

    job: TrainingJob

    @abc.abstractmethod
    def refresh(self) -> JobStatus:
        """Ask the backend for the current status and store it in ``self.job.status``."""

    @abc.abstractmethod
    def poll(self) -> list[str]:
        """Log lines that arrived since the last call (possibly none)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Ask the job to stop; the status becomes Stopping, then Stopped."""

    @abc.abstractmethod
    def fetch_artifact(self, dest: Path) -> Path:
        """Put the finished job's model.tar.gz at ``dest`` (download or copy) and return it."""

    def cost_estimate(self) -> "CostEstimate | None":
        return None

    def wait(self, timeout: float | None = None, interval: float = 0.5, on_lines=None) -> JobStatus:
        """Poll until the job ends (or ``timeout``); ``on_lines`` gets each batch of new log lines."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.refresh()
            lines = self.poll()
            if lines and on_lines:
                on_lines(lines)
            if status.terminal:
                lines = self.poll()  # the last lines written before the end
                if lines and on_lines:
                    on_lines(lines)
                return status
            if deadline is not None and time.monotonic() > deadline:
                return status
            time.sleep(interval)


@dataclass
class CostEstimate:
    """An estimate, never a bill: list price per instance-hour x instances x time."""

    dollars: float
    hourly_price: float
    instance_type: str
    instance_count: int
    seconds: float
    spot: bool
    basis: str  # which time the figure is based on

    def describe(self) -> str:
        kind = "spot (billed at the reported billable time)" if self.spot else "on-demand"
        return (f"~${self.dollars:.2f} estimated ({self.instance_count} x {self.instance_type} at "
                f"${self.hourly_price:.3f}/h list price, {kind}, {self.basis})")
