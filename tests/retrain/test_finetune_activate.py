"""A model worse on every metric is activated only after a yes (issue 19 item 4): the Retrain panel's comparison
box asks (pytest-qt, real clicks and keys), `roadseg retrain --activate` asks at a terminal and otherwise leaves
the current model active; "IoU gained per 10 corrected tiles" is shown only when it means something.

The workspace's test masks are made all road and the current model calls every pixel road, so it is perfect on
the test pairs and any other model is worse: real models, real evaluation, a real retrain in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from roadseg_gui.core import retrain
from roadseg_gui.core.comparison import Comparison
from roadseg_gui.core.models import ModelRegistry
from roadseg_gui.core.settings import WorkspaceSettings
from trainer.artifact import ModelMeta, save_model_dir
from trainer.evaluate import evaluate
from trainer.imageio import write_mask_png
from trainer.model import build_model

from retrain_helpers import ONE_THREAD

ROOT = Path(__file__).resolve().parents[2]


def _constant_model(folder: Path, road: bool) -> Path:
    """A model that calls every pixel road (``road``) or none."""
    torch.manual_seed(0)
    model = build_model("mobilenet_v3_large")
    with torch.no_grad():
        model.net.classifier[4].weight.zero_()
        model.net.classifier[4].bias.fill_(8.0 if road else -8.0)
    return save_model_dir(model.eval(), ModelMeta(image_size=64), folder)


def _register(root: Path, folder: Path, *, active: bool = False):
    registry = ModelRegistry(root)
    try:
        from trainer.artifact import load_model

        record = registry.add_external(folder, load_model(folder).version)
        if active:
            registry.activate(record.version)
        return record
    finally:
        registry.close()


@pytest.fixture
def perfect_current(tiny_workspace):
    """All test masks road; the active model calls everything road (perfect on the test pairs)."""
    for mask in (tiny_workspace / "test" / "masks").glob("*.png"):
        write_mask_png(mask, np.ones((64, 64), dtype=bool))
    return _register(tiny_workspace, _constant_model(tiny_workspace.parent / "all-road", road=True), active=True)


def _comparison(root: Path, new_record, current_record, corrected: int = 6) -> Comparison:
    return Comparison("job", new_record, evaluate(new_record.path, root / "test", connectivity=True),
                      current_record.version, evaluate(current_record.path, root / "test", connectivity=True),
                      corrected_tiles=corrected)


def test_iou_gained_per_10_tiles_needs_5_corrected_tiles_and_a_gain(tiny_workspace, perfect_current):
    none = _register(tiny_workspace, _constant_model(tiny_workspace.parent / "no-road", road=False))
    worse = _comparison(tiny_workspace, none, perfect_current, corrected=6)
    better = _comparison(tiny_workspace, perfect_current, none, corrected=6)
    assert worse.new_metrics["iou"] == 0.0 and worse.current_metrics["iou"] == 1.0
    assert worse.iou_gain_per_10_tiles is None  # a loss is the retrain's doing, not the corrected tiles'
    assert dict(worse.payoff_rows())["IoU gained per 10 corrected tiles"] == "- (no IoU gained)"
    assert better.iou_gain_per_10_tiles == pytest.approx(10 / 6)
    assert dict(better.payoff_rows())["IoU gained per 10 corrected tiles"] == "+1.6667"
    better.corrected_tiles = 4  # one tile moves a 2-tile test set a lot: too few to divide by
    assert better.iou_gain_per_10_tiles is None
    assert dict(better.payoff_rows())["IoU gained per 10 corrected tiles"] == "- (shown from 5 corrected tiles)"
    assert worse.worse_everywhere and not better.worse_everywhere


def test_activating_a_model_worse_on_every_metric_asks_first(qtbot, tiny_workspace, perfect_current):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from roadseg_gui.ui.model_comparison import ModelComparisonBox

    none = _register(tiny_workspace, _constant_model(tiny_workspace.parent / "no-road", road=False))
    box = ModelComparisonBox(tiny_workspace)
    qtbot.addWidget(box)
    box.show()
    messages, switched = [], []
    box.message.connect(messages.append)
    box.switched.connect(switched.append)
    box.show_comparison(_comparison(tiny_workspace, none, perfect_current))

    def active() -> Path:
        return Path(WorkspaceSettings.load(tiny_workspace).active_model)

    qtbot.mouseClick(box.activate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.confirm_box is not None and box.confirm_box.isVisible(), timeout=5_000)
    assert "worse than the current model" in box.confirm_box.text() and "iou 1.000 -> 0.000" in box.confirm_box.text()
    qtbot.mouseClick(box.confirm_box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.confirm_box is None, timeout=5_000)
    assert active() == perfect_current.path and not switched
    assert messages[-1] == f"kept the current model; {none.version} was not activated"

    qtbot.mouseClick(box.activate_button, Qt.MouseButton.LeftButton)  # Esc is Cancel too
    qtbot.waitUntil(lambda: box.confirm_box is not None and box.confirm_box.isVisible(), timeout=5_000)
    qtbot.keyClick(box.confirm_box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: box.confirm_box is None, timeout=5_000)
    assert active() == perfect_current.path and not switched

    qtbot.mouseClick(box.activate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.confirm_box is not None and box.confirm_box.isVisible(), timeout=5_000)
    (anyway,) = [b for b in box.confirm_box.buttons() if b.text() == "Activate anyway"]
    qtbot.mouseClick(anyway, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(switched), timeout=5_000)
    assert active() == none.path and switched[0].version == none.version

    # a better model is activated at once, without a question
    box.show_comparison(_comparison(tiny_workspace, perfect_current, none))
    qtbot.mouseClick(box.activate_button, Qt.MouseButton.LeftButton)
    assert box.confirm_box is None and active() == perfect_current.path


def test_roadseg_retrain_activate_leaves_a_worse_model_inactive_without_a_yes(tiny_workspace, perfect_current):
    env = {**os.environ, **ONE_THREAD, "ROADSEG_PRETRAINED": "0"}
    base = [sys.executable, "-m", "roadseg_gui.cli.main", "retrain", str(tiny_workspace)]
    # a fresh model calls everything road at first (probability 0.5): a few steps at a brisk rate teach it the
    # background, which the all-road test pairs punish on every metric
    run = subprocess.run(base + ["--backend", "local", "--from-scratch", "--epochs", "2", "--lr", "0.01",
                                 "--batch-size", "2",
                                 "--image-size", "64", "--workers", "0", "--pretrained", "false", "--activate",
                                 "--interval", "0.3"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is worse than the current model" in run.stdout and "on every metric (iou 1.000 -> " in run.stdout, run.stdout
    assert "not activated: the current model stays active" in run.stdout and "activated " not in run.stdout
    assert Path(WorkspaceSettings.load(tiny_workspace).active_model) == perfect_current.path
    (job,) = retrain.all_jobs(tiny_workspace)

    forced = subprocess.run(base + ["--attach", job.name, "--activate", "--activate-worse", "--interval", "0.3"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert f"activated {job.model_version}" in forced.stdout
    assert Path(WorkspaceSettings.load(tiny_workspace).active_model).name == job.model_version


def test_a_retrain_that_beats_nothing_returns_its_start_model_and_says_so(tiny_workspace, perfect_current):
    """Fine-tuning a model that is perfect on the test pairs cannot beat it: the job returns it, the log and
    the comparison say so, and nothing worse becomes the current model."""
    env = {**os.environ, **ONE_THREAD, "ROADSEG_PRETRAINED": "0"}
    run = subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", "retrain", str(tiny_workspace),
                          "--backend", "local", "--epochs", "1", "--batch-size", "2", "--image-size", "64",
                          "--workers", "0", "--pretrained", "false", "--interval", "0.3"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "starts from: the current model" in run.stdout
    assert "start model test_iou=1.0000" in run.stdout and " kept_epoch=0 " in run.stdout
    assert "kept the start model, unchanged" in run.stdout  # the trainer's log line, in the job's log
    assert "the retrain did not beat the model it started from" in run.stdout and "iou                      1.0000" \
        in run.stdout
    assert Path(WorkspaceSettings.load(tiny_workspace).active_model) == perfect_current.path
