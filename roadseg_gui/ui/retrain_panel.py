"""The retrain panel: what will be trained on, hyperparameters, backend, Start/Stop, live status/log/plot,
and the new model beside the current one with Activate / Keep current / Roll back.

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
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from roadseg_gui.core import retrain, scene_jobs
from roadseg_gui.core.settings import WorkspaceSettings
from trainer.jobs.base import BACKENDS, Hyperparameters, JobRunner, JobState
from trainer.jobs.metrics import MetricsTracker
from trainer.jobs.pricing import INSTANCE_TYPES

from .metrics_plot import MetricsPlot
from .scene_review import SceneReviewButton
from .workers import Failed, Succeeded, failure_from, submit

BACKBONES = ("mobilenet_v3_large", "resnet50", "resnet101")


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
        self.comparison: retrain.Comparison | None = None
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
        settings = WorkspaceSettings.load(self.root)
        self.summary_label = QLabel("counting pairs ...")
        self.summary_label.setWordWrap(True)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_summary)
        data_box = QGroupBox("Training data")
        row = QHBoxLayout(data_box)
        row.addWidget(self.summary_label, 1)
        row.addWidget(refresh)

        hp = self._base_hyper
        self.backbone = QComboBox()
        self.backbone.addItems(BACKBONES)
        self.backbone.setCurrentText(hp.backbone)
        self.epochs = _spin(1, 1000, hp.epochs)
        self.batch_size = _spin(1, 512, hp.batch_size)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(hp.lr)
        self.image_size = _spin(32, 2048, hp.image_size, step=32)
        self.backend = QComboBox()
        self.backend.addItems(BACKENDS)
        self.backend.setCurrentText(retrain.default_backend(settings))
        self.instance_type = QComboBox()
        self.instance_type.addItems(sorted(INSTANCE_TYPES))
        self.instance_type.setCurrentText(settings.sagemaker.instance_type)
        self.instance_count = _spin(1, 64, settings.sagemaker.instance_count)
        self.spot = QCheckBox("managed spot")
        self.spot.setChecked(settings.sagemaker.use_spot)
        self.from_scratch = QCheckBox("train from scratch")
        self.from_scratch.setToolTip("A retrain fine-tunes the current model (or the shipped starter model when "
                                     "there is none); tick to start from a fresh model instead")
        self.minutes = _budget_spin(hp.minutes)
        self.minutes.valueChanged.connect(lambda value: self.epochs.setEnabled(value == 0))
        self.epochs.setEnabled(not hp.minutes)
        length = QWidget()  # epochs or a time budget, on one row
        length_row = QHBoxLayout(length)
        length_row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.epochs, QLabel("or time budget"), self.minutes):
            length_row.addWidget(widget)
        form_box = QGroupBox("Hyperparameters and backend")
        form = QFormLayout(form_box)
        for label, widget in (("Backbone", self.backbone), ("Epochs", length), ("Batch size", self.batch_size),
                              ("Learning rate", self.lr), ("Image size", self.image_size),
                              ("Backend", self.backend), ("Instance type", self.instance_type),
                              ("Instances", self.instance_count), ("", self.spot), ("", self.from_scratch)):
            form.addRow(label, widget)
        self.backend.currentTextChanged.connect(self._backend_changed)
        self._backend_changed(self.backend.currentText())
        self.backend.currentTextChanged.connect(lambda _: self.refresh_summary())  # unsynced count: SageMaker only

        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.status_label = QLabel("no job running")
        self.status_label.setWordWrap(True)
        self.elapsed_label = QLabel("")
        self.cost_label = QLabel("")
        self.cost_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        self.jobs_combo = QComboBox()
        self.jobs_combo.setToolTip("Jobs remembered in this workspace, newest first")
        show = QPushButton("Show job")
        show.clicked.connect(self.show_selected_job)
        jobs_row = QHBoxLayout()
        jobs_row.addWidget(QLabel("Jobs:"))
        jobs_row.addWidget(self.jobs_combo, 1)
        jobs_row.addWidget(show)
        self.review_button = SceneReviewButton(self.root)
        self.review_button.message.connect(self.status_label.setText)
        jobs_row.addWidget(self.review_button)

        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.plot = MetricsPlot()

        self.compare_box = QGroupBox("New model vs current (this workspace's test pairs)")
        self.compare_grid = QGridLayout(self.compare_box)
        self.activate_button = QPushButton("Activate new model")
        self.keep_button = QPushButton("Keep current")
        self.rollback_button = QPushButton("Roll back")
        self.activate_button.clicked.connect(self.activate_new)
        self.keep_button.clicked.connect(self.keep_current)
        self.rollback_button.clicked.connect(self.roll_back)
        self.activate_button.setEnabled(False)
        self.keep_button.setEnabled(False)
        self.rollback_button.setEnabled(False)  # until the registry shows an earlier model
        choice = QHBoxLayout()
        for button in (self.activate_button, self.keep_button, self.rollback_button):
            choice.addWidget(button)

        layout = QVBoxLayout(self)
        for item in (data_box, form_box):
            layout.addWidget(item)
        layout.addLayout(buttons)
        layout.addLayout(jobs_row)
        for item in (self.status_label, self.elapsed_label, self.cost_label):
            layout.addWidget(item)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.log_view, 2)
        layout.addWidget(self.compare_box)
        layout.addLayout(choice)

    def _backend_changed(self, backend: str) -> None:
        for widget in (self.instance_type, self.instance_count, self.spot):
            widget.setEnabled(backend == "sagemaker")

    def hyperparameters(self) -> Hyperparameters:
        base = self._base_hyper
        return Hyperparameters(epochs=self.epochs.value(), batch_size=self.batch_size.value(), lr=self.lr.value(),
                               backbone=self.backbone.currentText(), image_size=self.image_size.value(),
                               workers=base.workers, seed=base.seed, pretrained=base.pretrained,
                               minutes=self.minutes.value() or None)

    # -- data summary ----------------------------------------------------------------------
    def refresh_summary(self) -> None:
        check = self.backend.currentText() == "sagemaker"
        submit(_summary_and_previous, self.root, check, on_done=self._on_summary, context=self)

    def _on_summary(self, outcome) -> None:
        if isinstance(outcome, Succeeded):
            s, previous = outcome.value
            self.rollback_button.setEnabled(previous is not None)
            self.rollback_button.setToolTip(f"Predict with {previous.version} again, the model active before "
                                            "this one" if previous else "There is no earlier model to go back to")
            self.summary_label.setText(f"{s.describe()}. Current model: {s.current_version or s.current_model or 'none'}")
        elif isinstance(outcome, Failed):
            self.summary_label.setText(f"cannot count the training data: {outcome.sentence()}")

    # -- start / stop / follow -------------------------------------------------------------
    def start(self) -> None:
        if self.runner is not None and not self.runner.job.status.terminal:
            return
        self.start_button.setEnabled(False)
        self.status_label.setText("starting ... (a SageMaker launch first syncs unsynced tiles)")
        backend = self.backend.currentText()
        kwargs = {}
        if backend == "sagemaker":
            kwargs = dict(instance_type=self.instance_type.currentText(), instance_count=self.instance_count.value(),
                          use_spot=self.spot.isChecked())
        submit(retrain.start, self.root, backend, self.hyperparameters(), on_done=self._on_started,
               from_scratch=self.from_scratch.isChecked(), **kwargs)

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
        self._clear_comparison()
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
        self.comparison = comparison = outcome.value
        self._clear_comparison()
        grid = self.compare_grid
        for col, text in enumerate(("", f"new {comparison.new.version}",
                                    f"current {comparison.current_version or '(none)'}", "change")):
            grid.addWidget(QLabel(f"<b>{text}</b>"), 0, col)
        for row, (key, new, current) in enumerate(comparison.rows(), start=1):
            delta = "" if new is None or current is None else f"{new - current:+.4f}"
            for col, text in enumerate((key, _fmt(new), _fmt(current), delta)):
                grid.addWidget(QLabel(text), row, col)
        for row, (label, value) in enumerate(comparison.payoff_rows(), start=len(comparison.rows()) + 1):
            grid.addWidget(QLabel(label), row, 0, 1, 3)  # what the corrections bought
            grid.addWidget(QLabel(value), row, 3)
        self.activate_button.setEnabled(True)
        self.keep_button.setEnabled(True)
        self.status_label.setText(f"{comparison.job_name}: model {comparison.new.version} is back")
        self.comparisonReady.emit(comparison)

    def _clear_comparison(self) -> None:
        while self.compare_grid.count():
            item = self.compare_grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.activate_button.setEnabled(False)
        self.keep_button.setEnabled(False)

    def activate_new(self) -> None:
        if self.comparison is not None:
            self._guarded("activate", retrain.activate, self.root, self.comparison.new.version)

    def keep_current(self) -> None:
        self.activate_button.setEnabled(False)
        self.keep_button.setEnabled(False)
        self.status_label.setText("kept the current model; the new one stays in the model list")

    def roll_back(self) -> None:
        self._guarded("roll back", retrain.rollback, self.root)

    def _guarded(self, verb: str, fn, *args) -> None:
        try:
            record = fn(*args)
        except Exception as exc:  # noqa: BLE001 - shown, never raised into Qt
            self.status_label.setText(f"cannot {verb}: {failure_from(exc).sentence()}")
            return
        self._switch(record)

    def _switch(self, record) -> None:
        """Activation is a settings write: done here at once, then the app reloads its predictor."""
        self.activate_button.setEnabled(False)
        self.keep_button.setEnabled(False)
        self.status_label.setText(f"active model: {record.version}")
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


def _poll_once(root: Path, runner: JobRunner):
    status = runner.refresh()
    lines = runner.poll()
    retrain.remember(root, runner.job)
    return status, lines, runner.cost_estimate()


def _spin(low: int, high: int, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(int(value))
    return box


def _budget_spin(minutes: float | None) -> QDoubleSpinBox:
    """Minutes of training; 0 shows 'off' (train for the epochs instead)."""
    box = QDoubleSpinBox()
    box.setRange(0.0, 7 * 24 * 60)
    box.setDecimals(1)
    box.setSuffix(" min")
    box.setSpecialValueText("off")
    box.setValue(float(minutes or 0.0))
    box.setToolTip("Train for this wall-clock time instead of a number of epochs; the learning rate decays with "
                   "it, and on SageMaker it also sets the job's maximum run time")
    return box


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
