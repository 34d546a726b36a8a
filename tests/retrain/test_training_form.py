"""The Retrain panel's training request: what the form's widgets turn into for ``retrain.start``."""

from __future__ import annotations

import pytest

from roadseg_gui.core.settings import WorkspaceSettings
from trainer.jobs.base import Hyperparameters

pytest.importorskip("pytestqt")


def test_the_form_gives_the_hyperparameters_and_the_instances_of_a_sagemaker_launch(qtbot, tmp_path):
    from roadseg_gui.ui.training_form import TrainingForm

    form = TrainingForm(WorkspaceSettings.load(tmp_path), Hyperparameters(epochs=3, batch_size=8, minutes=None))
    qtbot.addWidget(form)
    assert form.backend.currentText() == "local" and not form.instance_type.isEnabled()
    assert form.launch_options() == {"from_scratch": False}  # a retrain fine-tunes unless asked

    form.backend.setCurrentText("sagemaker")
    form.instance_type.setCurrentText("ml.g5.xlarge")
    form.instance_count.setValue(2)
    form.spot.setChecked(True)
    form.from_scratch.setChecked(True)
    form.minutes.setValue(15)
    assert form.instance_type.isEnabled() and not form.epochs.isEnabled()
    assert form.launch_options() == {"from_scratch": True, "instance_type": "ml.g5.xlarge", "instance_count": 2,
                                     "use_spot": True}
    hp = form.hyperparameters()
    assert (hp.minutes, hp.epochs, hp.batch_size) == (15.0, 3, 8)
    assert hp.as_hyperparameters()["minutes"] == 15.0 and hp.max_run_seconds(86400) == 15 * 60 * 1.2 + 15 * 60


def test_the_image_size_box_offers_the_trainers_choice_by_device(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from roadseg_gui.ui.training_form import TrainingForm

    form = TrainingForm(WorkspaceSettings.load(tmp_path), Hyperparameters(epochs=1))
    qtbot.addWidget(form)
    assert form.image_size.text() == "by device (CPU 256, GPU 512)"
    assert form.hyperparameters().image_size is None
    form.image_size.setFocus()
    for _ in range(8):
        qtbot.keyClick(form.image_size, Qt.Key_Up)
    assert form.hyperparameters().image_size == 256
