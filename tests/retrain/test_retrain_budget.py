"""A retrain for a time budget, what it starts from (current model, shipped starter model, or scratch by
choice), and the budget's max_run on SageMaker: real local training and moto's SageMaker API."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from roadseg_gui.cli.main import main
from roadseg_gui.core import retrain
from roadseg_gui.core.jobs_store import JobsStore
from roadseg_gui.core.models import starter_model_path
from trainer.jobs.base import Hyperparameters, JobState
from trainer.jobs.metrics import MetricsTracker

from retrain_helpers import ONE_THREAD, TINY
from test_retrain_sagemaker import sm_config  # noqa: F401 - a fixture
from test_retrain_sagemaker_workspace import sagemaker_workspace  # noqa: F401 - a fixture


def test_budget_retrain_fine_tunes_the_starter_model_when_the_workspace_has_none(tiny_workspace, monkeypatch,
                                                                                 capsys):
    starter = starter_model_path()
    if starter is None:
        pytest.skip("this installation ships no starter model")
    for key, value in ONE_THREAD.items():
        monkeypatch.setenv(key, value)
    code = main(["retrain", str(tiny_workspace), "--backend", "local", "--minutes", "0.1", "--batch-size", "2",
                 "--image-size", "64", "--workers", "0", "--pretrained", "false", "--interval", "0.3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"starts from: the shipped starter model (fine-tuning; the workspace has no model) {starter}" in out
    with JobsStore(tiny_workspace) as store:
        (job,) = store.jobs()
    assert job.status.state == JobState.COMPLETED and job.hyperparameters["minutes"] == 0.1
    assert job.details["init_model"] == str(starter.resolve()) and job.details["starts_from"] == "starter"
    tracker = MetricsTracker()
    tracker.feed([line.strip(" |") for line in out.splitlines()])
    assert tracker.epochs and tracker.epochs[-1]["progress"] > 0.5  # trained to its budget
    assert tracker.final["minutes"] == 0.1 and "test_apls" in tracker.final
    # with no current model, the comparison is against the starter model the retrain began from
    assert "compared with the starter model it was fine-tuned from" in out
    assert "tiles corrected since the current model: 6" in out  # every accepted tile: there was no model


def test_from_scratch_is_a_choice_and_the_fallback_when_nothing_can_be_fine_tuned(tiny_workspace, previous_model,
                                                                                 monkeypatch):
    summary = retrain.summarize(tiny_workspace, check_sync=False)
    assert retrain.initial_model(summary) == (str(previous_model.path), "current")
    assert retrain.initial_model(summary, from_scratch=True) == (None, "scratch")
    summary.current_model = ""
    monkeypatch.setattr(retrain, "starter_model_path", lambda: None)  # an installation without one
    assert retrain.initial_model(summary) == (None, "scratch")


def test_budget_sets_max_run_on_sagemaker_and_the_current_model_goes_as_the_model_channel(
        sagemaker_workspace, previous_model, s3_server):  # noqa: F811 - the imported fixture
    hyper = Hyperparameters(epochs=1, minutes=20, **TINY)
    runner = retrain.start(sagemaker_workspace, "sagemaker", hyper)
    desc = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1").describe_training_job(
        TrainingJobName=runner.job.name)
    assert desc["HyperParameters"]["minutes"] == "20.0"
    max_run = 20 * 60 * 1.2 + 15 * 60  # the budget, a fifth more, and 15 minutes to start, test and upload
    assert desc["StoppingCondition"]["MaxRuntimeInSeconds"] == max_run == hyper.max_run_seconds(14400)
    assert desc["StoppingCondition"]["MaxWaitTimeInSeconds"] >= max_run  # spot: waiting included
    channels = {c["ChannelName"] for c in desc["InputDataConfig"]}
    assert "model" in channels and runner.job.details["starts_from"] == "current"  # fine-tuning by default
    assert runner.job.details["init_model"] == str(Path(previous_model.path))

    runner = retrain.start(sagemaker_workspace, "sagemaker", Hyperparameters(epochs=1, **TINY), from_scratch=True)
    desc = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1").describe_training_job(
        TrainingJobName=runner.job.name)
    assert "model" not in {c["ChannelName"] for c in desc["InputDataConfig"]}
    assert "minutes" not in desc["HyperParameters"]
    assert desc["StoppingCondition"]["MaxRuntimeInSeconds"] != max_run  # the settings' max_run without a budget


def test_any_sagemaker_launch_with_a_budget_gets_its_max_run(sm_config, s3_server):  # noqa: F811
    from trainer.jobs.sagemaker_backend import launch

    runner = launch(sm_config, Hyperparameters(epochs=1, minutes=5, **TINY))
    desc = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1").describe_training_job(
        TrainingJobName=runner.job.name)
    assert desc["StoppingCondition"] == {"MaxRuntimeInSeconds": 5 * 60 * 1.2 + 15 * 60, "MaxWaitTimeInSeconds": 7200}
