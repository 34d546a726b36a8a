"""The retrain panel: what will be trained on, the training request (``TrainingForm``), Start/Stop, live
status/log/plot, and the new model beside the current one (``ModelComparisonBox``).

All work that touches disk, AWS or a model runs on pool threads (``workers.submit``); results come
back as values. Jobs outlive the panel and the app: on construction, unfinished jobs of the
workspace are re-attached. ``modelActivated(path)`` (and the optional callback) fire after an
activation or rollback, so the main window can reload its predictor.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, \
    QWidget

from roadseg_gui.core import retrain, scene_jobs
from roadseg_gui.core.settings import WorkspaceSettings
from trainer.jobs.base import Hyperparameters, JobRunner, JobState
from trainer.jobs.metrics import MetricsTracker

from .metrics_plot import MetricsPlot
from .elided_label import WrapAnywhereLabel
from .model_comparison import ModelComparisonBox
from .scene_review import SceneReviewButton
from .training_form import TrainingForm
from .workers import Failed, Succeeded, submit


class RetrainPanel(QWidget):
    modelActivated = Signal(str)      # path of the model the app should now predict with
    jobFinished = Signal(str)         # the job's final state
    comparisonReady = Signal(object)  # retrain.Comparison

    def __init__(self, root: str | Path, on_model_activated: Callable[[str], None] | None = None,
                 parent: QWidget | None = None, hyperparameters: Hyperparameters | None = None,
                 poll_seconds: float | None = None):
        super().__init__(parent)
        self.root = Path(root).resolve()
        self.runner: JobRunner | None = None
        self.tracker = MetricsTracker()
        self._base_hyper = hyperparameters or Hyperparameters()
        self._poll_ms = int((poll_seconds or 0) * 1000)
        self._busy = False
        if on_model_activated is not None:
            self.modelActivated.connect(on_model_activated)
        self._build()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.refresh_summary()
        self.refresh_jobs()
        submit(retrain.unfinished_jobs, self.root, on_done=self._on_unfinished)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        # Rows stay narrow (a label above its buttons): the panel shares a ~360 px dock at 1366x768.
        self.summary_label = WrapAnywhereLabel("counting pairs ...")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_summary)
        data_box = QGroupBox("Training data")
        column = QVBoxLayout(data_box)
        column.addWidget(self.summary_label)
        column.addLayout(_row(self.refresh_button))

        self.form = TrainingForm(WorkspaceSettings.load(self.root), self._base_hyper)
        self.form.backend.currentTextChanged.connect(lambda _: self.refresh_summary())  # unsynced count: SageMaker

        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.status_label = WrapAnywhereLabel("no job running")
        self.elapsed_label = QLabel("")
        self.cost_label = WrapAnywhereLabel("")
        buttons = _row(self.start_button, self.stop_button)
        self.jobs_combo = QComboBox()
        self.jobs_combo.setToolTip("Jobs remembered in this workspace, newest first")
        # A long job name elides in the closed combo instead of widening the dock.
        self.jobs_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.jobs_combo.setMinimumContentsLength(12)
        self.show_button = QPushButton("Show job")
        self.show_button.clicked.connect(self.show_selected_job)
        jobs_row = QHBoxLayout()
        jobs_row.addWidget(QLabel("Jobs:"))
        jobs_row.addWidget(self.jobs_combo, 1)
        self.review_button = SceneReviewButton(self.root)
        self.review_button.message.connect(self.status_label.setText)
        job_buttons = _row(self.show_button, self.review_button)

        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.plot = MetricsPlot()

        self.choice = ModelComparisonBox(self.root)
        self.choice.message.connect(self.status_label.setText)
        self.choice.switched.connect(self._switched)

        layout = QVBoxLayout(self)
        for item in (data_box, self.form):
            layout.addWidget(item)
        layout.addLayout(buttons)
        layout.addLayout(jobs_row)
        layout.addLayout(job_buttons)
        for item in (self.status_label, self.elapsed_label, self.cost_label):
            layout.addWidget(item)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.log_view, 2)
        layout.addWidget(self.choice)

    # -- data summary ----------------------------------------------------------------------
    def refresh_summary(self) -> None:
        check = self.form.backend.currentText() == "sagemaker"
        submit(_summary_and_previous, self.root, check, on_done=self._on_summary, context=self)

    def _on_summary(self, outcome) -> None:
        if isinstance(outcome, Succeeded):
            s, previous = outcome.value
            self.choice.set_previous(previous)
            self.summary_label.setText(f"{s.describe()}. Current model: {s.current_version or s.current_model or 'none'}")
        elif isinstance(outcome, Failed):
            self.summary_label.setText(f"cannot count the training data: {outcome.sentence()}")

    # -- start / stop / follow -------------------------------------------------------------
    def start(self) -> None:
        if self.runner is not None and not self.runner.job.status.terminal:
            return
        self.start_button.setEnabled(False)
        self.status_label.setText("starting ... (a SageMaker launch first syncs unsynced tiles)")
        submit(retrain.start, self.root, self.form.backend.currentText(), self.form.hyperparameters(),
               on_done=self._on_started, **self.form.launch_options())

    def _on_started(self, outcome) -> None:
        if isinstance(outcome, Succeeded):
            self.follow(outcome.value)
        else:
            self.start_button.setEnabled(True)
            text = outcome.sentence() if isinstance(outcome, Failed) else "cancelled"
            self.status_label.setText(f"could not start: {text}")

    def follow(self, runner: JobRunner) -> None:
        """Show this job (new, or re-attached after a restart) and poll it."""
        self.runner = runner
        self.tracker = MetricsTracker()
        self.plot.clear()
        self.log_view.clear()
        self.choice.clear()
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status_label.setText(f"{runner.job.name}: {runner.job.status.describe()}")
        interval = self._poll_ms or (1000 if runner.job.backend == "local" else 5000)
        self.timer.start(interval)
        self._tick()

    def stop(self) -> None:
        if self.runner is not None:
            self.stop_button.setEnabled(False)
            submit(self.runner.stop, on_done=lambda outcome: self._tick())

    def _tick(self) -> None:
        if self.runner is None or self._busy:
            return  # never two polls of one job at once
        self._busy = True
        submit(_poll_once, self.root, self.runner, on_done=self._on_polled)

    def _on_polled(self, outcome) -> None:
        self._busy = False
        if self.runner is None:
            return
        if isinstance(outcome, Failed):
            self.status_label.setText(f"{self.runner.job.name}: cannot read the job: {outcome.sentence()}")
            return
        status, lines, cost = outcome.value
        for line in lines:
            self.log_view.appendPlainText(line)
            for epoch in self.tracker.feed(line):
                self.plot.add_epoch(epoch)
        scenes = ""
        if scene_jobs.is_scene_job(self.runner.job):
            done, total = self.runner.scenes_done
            scenes = f"; scenes {done}/{total}"
        self.status_label.setText(f"{self.runner.job.name} [{self.runner.job.backend}]: {status.describe()}{scenes}")
        self.elapsed_label.setText(f"elapsed {_clock(status.elapsed(time.time()))}")
        self.cost_label.setText(f"cost: {cost.describe()}" if cost else "")
        self.review_button.set_job(self.runner.job)
        if status.terminal:
            self.timer.stop()
            self.stop_button.setEnabled(False)
            self.start_button.setEnabled(True)
            self.jobFinished.emit(status.state.value)
            self.refresh_jobs()
            if scene_jobs.is_scene_job(self.runner.job):
                output = self.runner.job.details.get("output_uri", "")
                self.status_label.setText(self.status_label.text() + f" - outputs in {output}")
            elif status.state == JobState.COMPLETED and not self.runner.job.model_version:
                self.status_label.setText(self.status_label.text() + " - bringing the model back and evaluating ...")
                submit(retrain.bring_back, self.root, self.runner, on_done=self._on_brought_back)

    def refresh_jobs(self) -> None:
        submit(retrain.all_jobs, self.root, on_done=self._on_jobs)

    def _on_jobs(self, outcome) -> None:
        if not isinstance(outcome, Succeeded):
            return
        self.jobs_combo.clear()
        for job in outcome.value:
            model = f" -> model {job.model_version}" if job.model_version else ""
            kind = "predict" if scene_jobs.is_scene_job(job) else "train"
            self.jobs_combo.addItem(f"{job.name} [{kind}, {job.backend}] {job.status.state.value}{model}", job)

    def show_selected_job(self) -> None:
        """Follow the chosen job: its log and metrics replay; a completed job not yet brought back is."""
        job = self.jobs_combo.currentData()
        if job is not None and (self.runner is None or self.runner.job.status.terminal):
            submit(retrain.reattach, self.root, job, on_done=self._on_shown)

    def _on_shown(self, outcome) -> None:
        if isinstance(outcome, Succeeded):
            # the automatic re-attach may have got there first: never swap a followed job for a stale copy
            if self.runner is not None and (not self.runner.job.status.terminal
                                            or self.runner.job.name == outcome.value.job.name):
                return
            self.follow(outcome.value)
        elif isinstance(outcome, Failed):
            self.status_label.setText(f"cannot show the job: {outcome.sentence()}")

    def _on_unfinished(self, outcome) -> None:
        if isinstance(outcome, Succeeded) and outcome.value and self.runner is None:
            submit(retrain.reattach, self.root, outcome.value[0], on_done=self._on_reattached)

    def _on_reattached(self, outcome) -> None:
        if isinstance(outcome, Succeeded) and self.runner is None:
            self.follow(outcome.value)

    # -- comparison and model choice -------------------------------------------------------
    def _on_brought_back(self, outcome) -> None:
        if not isinstance(outcome, Succeeded):
            text = outcome.sentence() if isinstance(outcome, Failed) else "cancelled"
            self.status_label.setText(f"the model could not be brought back: {text}")
            return
        comparison = outcome.value
        self.choice.show_comparison(comparison)
        self.status_label.setText(f"{comparison.job_name}: model {comparison.new.version} is back")
        self.comparisonReady.emit(comparison)

    def _switched(self, record) -> None:
        """After an activation or rollback: the summary's current model, then the app's predictor."""
        self.refresh_summary()
        self.modelActivated.emit(str(record.path))

    def shutdown(self) -> None:
        """Stop following (the job itself keeps running and is re-attached next time)."""
        self.timer.stop()
        self.runner = None


def _summary_and_previous(root: Path, check_sync: bool):
    """The data summary, and the model a rollback would return to (None: Roll back stays disabled)."""
    from roadseg_gui.core.models import ModelRegistry

    summary = retrain.summarize(root, check_sync=check_sync)
    registry = ModelRegistry(root)
    try:
        return summary, registry.previous()
    finally:
        registry.close()


def _row(*widgets) -> QHBoxLayout:
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    row.addStretch(1)
    return row


def _poll_once(root: Path, runner: JobRunner):
    status = runner.refresh()
    lines = runner.poll()
    retrain.remember(root, runner.job)
    return status, lines, runner.cost_estimate()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
