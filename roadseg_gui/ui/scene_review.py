"""'Review outputs': bring a finished scene-prediction job's scenes into the workspace as chips."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton

from roadseg_gui.core import scene_jobs
from trainer.jobs.base import JobState, TrainingJob

from .workers import Failed, Succeeded, submit


class SceneReviewButton(QPushButton):
    """Bound to the job the Retrain panel shows: enabled for a completed scene job."""

    scenesReady = Signal(list)     # local scene files to cut into chips
    message = Signal(str)

    def __init__(self, root: Path, parent=None):
        super().__init__("Review outputs…", parent)
        self.root = root
        self.job: TrainingJob | None = None
        self.setToolTip("Download the job's first finished scenes and cut them into chips for review")
        self.setEnabled(False)
        self.clicked.connect(self.fetch)

    def set_job(self, job: TrainingJob | None) -> None:
        self.job = job
        self.setEnabled(bool(job and scene_jobs.is_scene_job(job) and job.status.state == JobState.COMPLETED))

    def fetch(self) -> None:
        if self.job is None:
            return
        self.setEnabled(False)
        self.message.emit(f"downloading scenes of {self.job.name} for review …")
        submit(scene_jobs.download_for_review, self.root, self.job, on_done=self._fetched)

    def _fetched(self, outcome) -> None:
        self.set_job(self.job)
        if isinstance(outcome, Succeeded):
            scenes, failures = outcome.value
            note = f"; {len(failures)} scene(s) failed in the job (see failures.json)" if failures else ""
            self.message.emit(f"{len(scenes)} scene(s) downloaded for review{note}")
            if scenes:
                self.scenesReady.emit([str(p) for p in scenes])
        elif isinstance(outcome, Failed):
            self.message.emit(f"cannot bring the job's scenes: {outcome.sentence()}")


def import_for_review(window, paths: list[str]) -> None:
    """Cut each downloaded scene into chips, one after another; the tiles appear in the browser."""
    from .scene_import_dialog import run_scene_import

    remaining = list(paths)

    def next_scene(_outcome=None) -> None:
        if remaining:
            run_scene_import(window, remaining.pop(0), on_finished=next_scene)
    next_scene()
