"""Job model, metric parsing, status mapping and cost: pure functions, no AWS and no training."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from trainer.errors import BadInputError
from trainer.jobs.base import Hyperparameters, JobState, JobStatus, TrainingJob
from trainer.jobs.metrics import MetricsTracker, parse_metrics_line
from trainer.jobs.pricing import estimate_cost
from trainer.jobs.sagemaker_job import status_from_description

EPOCH = ("epoch=3 train_loss=0.2100 test_loss=0.2300 test_iou=0.4800 test_f1=0.6500 "
         "test_precision=0.7 test_recall=0.6 lr=0.0001 seconds=12.3")


def test_epoch_and_final_lines_parse_even_with_a_log_prefix():
    kind, values = parse_metrics_line(EPOCH)
    assert kind == "epoch" and values["epoch"] == 3 and values["test_iou"] == pytest.approx(0.48)
    kind, values = parse_metrics_line("2026-11-23T23:00:00Z [algo-1] " + EPOCH)
    assert kind == "epoch" and values["lr"] == pytest.approx(1e-4)
    kind, values = parse_metrics_line("final test_iou=0.5 test_f1=0.66 version=abc123")
    assert kind == "final" and values == {"test_iou": 0.5, "test_f1": 0.66, "version": "abc123"}
    for noise in ("INFO trainer.train: epoch 3/10", "epochs=3 x=1", "the final countdown", ""):
        assert parse_metrics_line(noise) is None


def test_tracker_keeps_one_record_per_epoch_in_order():
    tracker = MetricsTracker()
    found = tracker.feed(["epoch=2 train_loss=0.5", "noise", "epoch=1 train_loss=0.9",
                          "epoch=2 train_loss=0.4 test_iou=0.3"])  # epoch 2 again: a spot restart
    assert [e["epoch"] for e in found] == [2, 1, 2]
    assert [e["epoch"] for e in tracker.epochs] == [1, 2]
    assert tracker.series("train_loss") == [(1, 0.9), (2, 0.4)]


def test_hyperparameters_become_sagemaker_hyperparameters_and_flags():
    hp = Hyperparameters(epochs=2, batch_size=4, lr=0.01, backbone="resnet50", image_size=256, pretrained=False)
    assert hp.as_hyperparameters() == {"epochs": 2, "batch-size": 4, "lr": 0.01, "backbone": "resnet50",
                                       "image-size": 256, "pretrained": "false"}
    assert hp.as_flags()[:4] == ["--epochs", "2", "--batch-size", "4"]
    assert Hyperparameters.from_dict(hp.to_dict()) == hp
    with pytest.raises(BadInputError, match="epochs must be at least 1.*backbone .vgg. is unknown"):
        Hyperparameters(epochs=0, backbone="vgg").validate()


def test_job_record_round_trips():
    job = TrainingJob("j1", "local", {"epochs": 1}, status=JobStatus(JobState.FAILED, failure_reason="boom"),
                      details={"pid": 12})
    again = TrainingJob.from_dict(job.to_dict())
    assert again == job and again.status.terminal and again.status.describe() == "Failed: boom"


def _desc(primary, secondary, **extra):
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    desc = {"TrainingJobStatus": primary, "SecondaryStatus": secondary, "CreationTime": created,
            "SecondaryStatusTransitions": [{"Status": secondary, "StatusMessage": f"{secondary} now"}]}
    desc.update(extra)
    return desc


@pytest.mark.parametrize("primary, secondary, state", [
    ("InProgress", "Starting", JobState.STARTING), ("InProgress", "Pending", JobState.STARTING),
    ("InProgress", "Downloading", JobState.DOWNLOADING), ("InProgress", "Training", JobState.TRAINING),
    ("InProgress", "Interrupted", JobState.TRAINING), ("InProgress", "Uploading", JobState.UPLOADING),
    ("Stopping", "Stopping", JobState.STOPPING), ("Stopped", "MaxRuntimeExceeded", JobState.STOPPED),
    ("Completed", "Completed", JobState.COMPLETED), ("Failed", "Failed", JobState.FAILED)])
def test_sagemaker_statuses_map_to_job_states(primary, secondary, state):
    assert status_from_description(_desc(primary, secondary)).state == state


def test_every_in_progress_secondary_status_of_the_api_is_mapped():
    import botocore.session

    from trainer.jobs.sagemaker_job import _SECONDARY_TO_STATE

    api = set(botocore.session.get_session().get_service_model("sagemaker").shape_for("SecondaryStatus").enum)
    terminal = {"Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded", "Completed", "Failed"}
    assert set(_SECONDARY_TO_STATE) == api - terminal  # e.g. PreparingTrainingStack, not "PreparingTraining"
    assert status_from_description(_desc("InProgress", "PreparingTrainingStack")).secondary.startswith(
        "PreparingTrainingStack")


def test_failure_reason_and_billable_time_are_kept():
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    status = status_from_description(_desc("Failed", "Failed", FailureReason="AlgorithmError: boom",
                                           TrainingEndTime=created + timedelta(minutes=5),
                                           BillableTimeInSeconds=120))
    assert status.failure_reason == "AlgorithmError: boom" and status.billable_seconds == 120
    assert status.elapsed() == pytest.approx(300)


def test_cost_estimate_is_price_times_instances_times_time():
    cost = estimate_cost("ml.g5.xlarge", 2, 1800, spot=False, basis="elapsed")
    assert cost.dollars == pytest.approx(1.408 * 2 * 0.5)
    assert "estimate" in cost.describe() and "on-demand" in cost.describe()
    assert estimate_cost("ml.unknown", 1, 60, spot=False, basis="") is None


def test_an_instance_count_of_zero_is_refused_not_replaced_by_the_settings_count(tmp_path):
    from roadseg_gui.core.sagemaker_settings import sagemaker_config
    from roadseg_gui.core.settings import WorkspaceSettings

    settings = WorkspaceSettings()
    settings.sagemaker.instance_count = 2
    assert sagemaker_config(settings).instance_count == 2
    assert sagemaker_config(settings, instance_count=3).instance_count == 3
    with pytest.raises(BadInputError, match=r"--instance-count must be at least 1 \(got 0\)"):
        sagemaker_config(settings, instance_count=0)


def test_an_unset_crop_is_left_to_the_trainer_which_picks_it_by_device():
    from trainer.train_args import choose_crop

    hp = Hyperparameters(epochs=1)
    assert "image-size" not in hp.as_hyperparameters() and "--image-size" not in hp.as_flags()
    assert choose_crop(None, cuda=False)[0] == 256 and choose_crop(None, cuda=True)[0] == 512
    assert Hyperparameters(image_size=384).as_hyperparameters()["image-size"] == 384
    with pytest.raises(BadInputError, match="image size must be a multiple of 8"):
        Hyperparameters(image_size=100).validate()
