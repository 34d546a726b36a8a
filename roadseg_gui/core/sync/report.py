"""What a sync did (SyncReport) and how far it is (SyncProgress, with an ETA)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class SyncReport:
    uploaded: int = 0           # pairs sent (push) / pairs or images brought in (pull)
    unchanged: int = 0
    conflicts: int = 0
    failed: int = 0
    refused: int = 0            # remote keys refused as unsafe (pull)
    deleted: int = 0            # remote objects deleted (push --delete)
    lost: int = 0               # synced objects S3 no longer holds (noticed by a plain push)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    dry_run: bool = False
    destination: str = ""
    errors: list[str] = field(default_factory=list)          # one sentence each
    conflict_stems: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)              # --dry-run: what would be sent
    planned: int = 0                                            # pairs the plan would send
    notices: list[str] = field(default_factory=list)           # review decisions pulled, one line each

    @property
    def ok(self) -> bool:
        return not (self.failed or self.conflicts or self.refused or self.cancelled or self.lost)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def summary(self, verb: str = "uploaded") -> str:
        line = (f"{verb}={self.uploaded} unchanged={self.unchanged} "
                f"conflicts={self.conflicts} failed={self.failed}")
        if self.refused:
            line += f" refused={self.refused}"
        if self.deleted:
            line += f" deleted={self.deleted}"
        if self.lost:
            line += f" lost={self.lost}"
        return line


@dataclass(frozen=True)
class SyncProgress:
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    elapsed: float
    eta_seconds: float | None    # None until there is a rate to extrapolate from
    current: str = ""

    @property
    def fraction(self) -> float:
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        return self.files_done / self.files_total if self.files_total else 1.0


ProgressCallback = Callable[[SyncProgress], None]


class ProgressMeter:
    """Accumulates finished work and reports it, throttled, with a bytes-rate ETA."""

    def __init__(self, files_total: int, bytes_total: int, callback: ProgressCallback | None,
                 min_interval: float = 0.1):
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files_done = self.bytes_done = 0
        self.callback = callback
        self.start = self._last = time.monotonic()
        self.min_interval = min_interval

    def advance(self, files: int, nbytes: int, current: str = "", force: bool = False) -> None:
        self.files_done += files
        self.bytes_done += nbytes
        now = time.monotonic()
        done = self.files_done >= self.files_total
        if self.callback and (force or done or now - self._last >= self.min_interval):
            self._last = now
            self.callback(self.snapshot(current))

    def snapshot(self, current: str = "") -> SyncProgress:
        elapsed = time.monotonic() - self.start
        eta = None
        if self.bytes_done and self.bytes_total and elapsed > 0:
            eta = max(0.0, (self.bytes_total - self.bytes_done) * elapsed / self.bytes_done)
        elif self.files_done and self.files_total and elapsed > 0:
            eta = max(0.0, (self.files_total - self.files_done) * elapsed / self.files_done)
        return SyncProgress(self.files_done, self.files_total, self.bytes_done, self.bytes_total,
                            elapsed, eta, current)
