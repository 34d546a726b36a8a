"""When a run is done and what its learning rate is, as a function of progress in [0, 1].

Progress is ``step / total_steps`` when training for a number of epochs and ``elapsed / budget``
when training for ``--minutes``, so the decay ends exactly when the epochs or the minutes do.
Evaluation (with BatchNorm re-estimation) and checkpoints are throttled to a bounded share of the time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

SCHEDULES = ("cosine", "poly", "onecycle")
WARMUP_START = 1 / 25   # first warm-up LR as a share of the peak (OneCycleLR's div_factor)
COSINE_FLOOR = 0.01     # cosine ends at 1 % of the peak, not 0, so the last steps still move
ONECYCLE_FLOOR = 1e-4   # OneCycleLR ends at peak / (div_factor * final_div_factor), about this share
ONECYCLE_RISE = 0.3     # OneCycleLR's pct_start, used when no warm-up is given


def decay(progress: float, base_lr: float, schedule: str = "cosine") -> float:
    """The decaying part of a schedule, ``progress`` 0 (peak) to 1 (end)."""
    progress = min(1.0, max(0.0, progress))
    if schedule == "poly":
        return base_lr * (1.0 - progress) ** 0.9
    floor = base_lr * (ONECYCLE_FLOOR if schedule == "onecycle" else COSINE_FLOOR)
    return floor + (base_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def lr_at_progress(progress: float, base_lr: float, schedule: str = "cosine", warmup: float = 0.0) -> float:
    """Learning rate at ``progress`` of the run; ``warmup`` is the share of the run spent rising to the peak.

    cosine and poly rise linearly; onecycle rises along a half cosine (30 % of the run when ``warmup`` is 0)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}")
    progress = min(1.0, max(0.0, progress))
    if schedule == "onecycle":
        warmup = warmup or ONECYCLE_RISE
    if warmup > 0 and progress < warmup:
        start = base_lr * WARMUP_START
        if schedule == "onecycle":
            return start + (base_lr - start) * 0.5 * (1.0 - math.cos(math.pi * progress / warmup))
        return start + (base_lr - start) * progress / warmup
    return decay((progress - warmup) / max(1e-12, 1.0 - warmup), base_lr, schedule)


class TrainingClock:
    """How far along a run is: steps of a known total, or seconds of a wall-clock budget.

    ``spent_seconds`` is the time earlier processes of the same run already used (a resume), so a
    resumed budget run ends when the whole budget is spent, not a full budget after the restart.
    ``reserve(seconds)`` keeps time back for the final evaluation, so the run as a whole fits."""

    def __init__(self, *, total_steps: int | None = None, budget_seconds: float | None = None,
                 spent_seconds: float = 0.0, now=time.perf_counter):
        if (total_steps is None) == (budget_seconds is None):
            raise ValueError("give total_steps or budget_seconds")
        self.total_steps = total_steps
        self.budget_seconds = budget_seconds
        self.spent_before = float(spent_seconds)
        self.reserved = 0.0
        self._now = now
        self._started = now()

    @property
    def timed(self) -> bool:
        return self.budget_seconds is not None

    def elapsed(self) -> float:
        """Seconds this run has used, earlier processes included."""
        return self.spent_before + self._now() - self._started

    def reserve(self, seconds: float) -> None:
        """Keep ``seconds`` of the budget for the final evaluation (at most a quarter of the budget)."""
        if self.timed:
            self.reserved = min(max(0.0, seconds), 0.25 * self.budget_seconds)

    def progress(self, step: int) -> float:
        if self.timed:
            return min(1.0, self.elapsed() / max(1e-9, self.budget_seconds - self.reserved))
        return min(1.0, step / max(1, self.total_steps))

    def remaining(self) -> float:
        """Training seconds left in a budget (inf when counting steps)."""
        if not self.timed:
            return math.inf
        return self.budget_seconds - self.reserved - self.elapsed()


@dataclass
class LrSchedule:
    base_lr: float
    schedule: str = "cosine"
    warmup: float = 0.05  # share of the run

    def at(self, progress: float) -> float:
        return lr_at_progress(progress, self.base_lr, self.schedule, self.warmup)


class Throttle:
    """Run a periodic chore (a test pass, a checkpoint) after an epoch only while it keeps within ``share``
    of the run's time.

    The first epoch of a process and a forced one (the last) always run it: every epoch line then has
    metrics, a spot interruption early loses little, and the saved model's metrics are current. With
    ``cold_start`` (CUDA: context start, cuDNN autotuning) the first run pays one-off costs, so it is
    neither counted nor taken as the estimate, and the second epoch runs it again to measure the steady
    cost. After that it runs when the time spent on it, this time included, stays within ``share`` of
    the time elapsed. ``share`` 1 runs it every epoch."""

    def __init__(self, share: float = 0.1, cold_start: bool = False):
        self.share = share
        self.spent = 0.0
        self.runs = 0
        self.cold_start = cold_start
        self.cost: float | None = None  # seconds it took last time

    @property
    def measured(self) -> bool:
        """Whether ``cost`` is a steady-state measurement (not a cold first run)."""
        return self.runs > (1 if self.cold_start else 0)

    def due(self, elapsed: float, *, force: bool = False) -> bool:
        if force or not self.measured or self.share >= 1:
            return True
        return self.spent + self.cost <= self.share * (elapsed + self.cost)

    def record(self, seconds: float) -> None:
        self.runs += 1
        self.cost = seconds
        if self.measured:
            self.spent += seconds
