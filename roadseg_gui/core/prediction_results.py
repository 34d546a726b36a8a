"""What the prediction service reports: plain values that cross threads and processes safely."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Succeeded:
    stem: str
    probability: np.ndarray   # uint8 H x W, 0..255
    mask: np.ndarray          # bool H x W at the model's threshold
    uncertainty: float
    model_version: str
    seconds: float
    cached: bool = False      # read back from .roadseg/predictions, not predicted again
    prefetched: bool = False  # predicted ahead, not asked for (yet)


@dataclass(frozen=True)
class Failed:
    stem: str | None          # None: the model itself could not be loaded
    reason: str
    fix: str = ""
    stage: str = "predict"    # "load", "input" (unreadable image), "predict", "crash"
    detail: str = ""          # a traceback for the log, never for the user

    @property
    def message(self) -> str:
        return f"{self.reason.rstrip('.')}. {self.fix}" if self.fix else self.reason


@dataclass(frozen=True)
class Cancelled:
    stem: str


@dataclass(frozen=True)
class ModelLoaded:
    version: str
    device_description: str
    threshold: float
    source: str


Result = Succeeded | Failed | Cancelled | ModelLoaded
