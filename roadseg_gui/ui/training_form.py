"""What a retrain will be: backbone, epochs or a time budget, batch, learning rate, crop, backend and the
SageMaker instances, fine-tune or from scratch. One piece of state, the training request; the panel reads
it with ``hyperparameters()`` and ``launch_options()``."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox, QWidget

from roadseg_gui.core import retrain
from roadseg_gui.core.settings import WorkspaceSettings
from trainer.jobs.base import BACKENDS, Hyperparameters
from trainer.jobs.pricing import INSTANCE_TYPES

BACKBONES = ("mobilenet_v3_large", "resnet50", "resnet101")


class TrainingForm(QGroupBox):
    def __init__(self, settings: WorkspaceSettings, hyperparameters: Hyperparameters,
                 parent: QWidget | None = None):
        super().__init__("Hyperparameters and backend", parent)
        self._base = hyperparameters
        hp = hyperparameters
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
        # 0 = the trainer's choice by device: 256-px crops learn fastest on a CPU, a GPU keeps 512
        self.image_size = _spin(0, 2048, hp.image_size or 0, step=32)
        self.image_size.setSpecialValueText("by device (CPU 256, GPU 512)")
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
        form = QFormLayout(self)
        # Epochs and the time budget on rows of their own: on one row they did not fit a dock at 1366x768.
        for label, widget in (("Backbone", self.backbone), ("Epochs", self.epochs),
                              ("or time budget", self.minutes), ("Batch size", self.batch_size),
                              ("Learning rate", self.lr), ("Image size", self.image_size),
                              ("Backend", self.backend), ("Instance type", self.instance_type),
                              ("Instances", self.instance_count), ("", self.spot), ("", self.from_scratch)):
            form.addRow(label, widget)
        self.backend.currentTextChanged.connect(self._backend_changed)
        self._backend_changed(self.backend.currentText())

    def _backend_changed(self, backend: str) -> None:
        for widget in (self.instance_type, self.instance_count, self.spot):
            widget.setEnabled(backend == "sagemaker")

    def hyperparameters(self) -> Hyperparameters:
        base = self._base
        return Hyperparameters(epochs=self.epochs.value(), batch_size=self.batch_size.value(), lr=self.lr.value(),
                               backbone=self.backbone.currentText(), image_size=self.image_size.value() or None,
                               workers=base.workers, seed=base.seed, pretrained=base.pretrained,
                               minutes=self.minutes.value() or None)

    def launch_options(self) -> dict:
        """``retrain.start`` keywords beyond the hyperparameters: where it starts from, and the instances."""
        options = {"from_scratch": self.from_scratch.isChecked()}
        if self.backend.currentText() == "sagemaker":
            options.update(instance_type=self.instance_type.currentText(),
                           instance_count=self.instance_count.value(), use_spot=self.spot.isChecked())
        return options


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
