"""The retrain panel under pytest-qt, driving a real local job on tiny synthetic data."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadseg_gui.core.settings import WorkspaceSettings
from trainer.jobs.base import JobState

from retrain_helpers import ONE_THREAD, tiny_hyperparameters

pytest.importorskip("pytestqt")


def test_panel_runs_a_local_job_shows_it_live_and_activates_the_new_model(qtbot, tiny_workspace, previous_model,
                                                                          monkeypatch):
    from roadseg_gui.ui.retrain_panel import RetrainPanel

    for key, value in ONE_THREAD.items():
        monkeypatch.setenv(key, value)
    activated: list[str] = []
    panel = RetrainPanel(tiny_workspace, on_model_activated=activated.append,
                         hyperparameters=tiny_hyperparameters(epochs=2), poll_seconds=0.3)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: "4 train / 2 test pairs" in panel.summary_label.text(), timeout=20_000)
    assert panel.form.backend.currentText() == "local"  # no role configured
    assert not panel.form.instance_type.isEnabled()
    assert panel.form.epochs.value() == 2 and panel.form.image_size.value() == 64
    # a time budget instead of epochs: 0 is "off"; a budget disables the epochs box and reaches the job
    assert panel.form.minutes.text() == "off" and panel.form.hyperparameters().minutes is None
    panel.form.minutes.setValue(12.5)
    assert not panel.form.epochs.isEnabled() and panel.form.hyperparameters().minutes == 12.5
    panel.form.minutes.setValue(0)
    assert panel.form.epochs.isEnabled()
    assert not panel.form.from_scratch.isChecked()  # fine-tuning is the default

    with qtbot.waitSignal(panel.comparisonReady, timeout=150_000) as ready:
        panel.start_button.click()
        qtbot.waitUntil(lambda: panel.runner is not None, timeout=20_000)
        assert panel.stop_button.isEnabled() and not panel.start_button.isEnabled()
    comparison = ready.args[0]

    assert panel.runner.job.status.state == JobState.COMPLETED
    assert [e["epoch"] for e in panel.plot.epochs()] == [1, 2]
    assert len(panel.plot.series("test_iou")) == 2
    log_text = panel.log_view.toPlainText()
    assert "epoch=1 " in log_text and "model packed" in log_text
    assert "elapsed" in panel.elapsed_label.text()
    assert comparison.current_version == previous_model.version
    assert comparison.current_metrics["tiles"] == 2 and comparison.new_metrics["tiles"] == 2
    assert panel.runner.job.details["starts_from"] == "current"  # fine-tuned the current model
    assert panel.choice.grid.count() >= 5 * 4 + 2 * 2  # header + metrics, four columns; the payoff rows
    labels = [panel.choice.grid.itemAt(i).widget().text() for i in range(panel.choice.grid.count())]
    assert "IoU gained per 10 corrected tiles" in labels and "tiles corrected since the current model" in labels
    assert panel.choice.activate_button.isEnabled()
    panel.grab()  # paints the plot and the comparison without error

    panel.choice.activate_button.click()
    assert activated == [str(comparison.new.path)]
    assert Path(WorkspaceSettings.load(tiny_workspace).active_model) == comparison.new.path
    qtbot.waitUntil(panel.choice.rollback_button.isEnabled, timeout=10_000)  # once the registry shows an earlier model
    panel.choice.rollback_button.click()
    assert activated[-1] == str(previous_model.path)
    assert Path(WorkspaceSettings.load(tiny_workspace).active_model) == previous_model.path
    panel.shutdown()


def test_panel_reattaches_a_running_job_and_stops_it(qtbot, tiny_workspace, monkeypatch):
    from roadseg_gui.core import retrain
    from roadseg_gui.ui.retrain_panel import RetrainPanel

    for key, value in ONE_THREAD.items():
        monkeypatch.setenv(key, value)
    # a job started before the app (re)started
    runner = retrain.start(tiny_workspace, "local", tiny_hyperparameters(epochs=500))
    panel = RetrainPanel(tiny_workspace, poll_seconds=0.2)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.runner is not None and panel.runner.job.name == runner.job.name, timeout=20_000)
    assert panel.stop_button.isEnabled()
    with qtbot.waitSignal(panel.jobFinished, timeout=60_000) as finished:
        panel.stop_button.click()
    assert finished.args == [JobState.STOPPED.value]
    assert retrain.all_jobs(tiny_workspace)[0].status.state == JobState.STOPPED
    assert panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: panel.jobs_combo.count() == 1 and "Stopped" in panel.jobs_combo.itemText(0),
                    timeout=10_000)
    panel.show_selected_job()  # a finished job can be shown again (its log replays)
    qtbot.waitUntil(lambda: "Stopped" in panel.status_label.text(), timeout=10_000)
