"""A scene job in the app: listed with its kind in the Retrain panel's jobs, followed without a model
to bring back, and its finished scenes brought into the workspace as chips for review.

REAL: moto's server (S3, SageMaker), the job's entry point writing real outputs to S3, Qt widgets.
SIMULATED: moto runs no container, so the outputs are written by the same entry point run here."""

from __future__ import annotations

import urllib.request

import boto3
import pytest

from roadseg_gui.core.settings import WorkspaceSettings
from trainer.jobs.base import JobState

from .conftest import sagemaker_workspace, write_scene

pytest.importorskip("pytestqt")
BUCKET = "review"


def test_a_finished_scene_job_is_listed_followed_and_reviewed_as_chips(qtbot, tmp_path, s3_server, monkeypatch,
                                                                     model_archive):
    from roadseg_gui.core import scene_jobs, scene_import
    from roadseg_gui.core.workspace import Workspace
    from roadseg_gui.ui.retrain_panel import RetrainPanel
    from trainer.scenejob.__main__ import run as run_job
    from trainer.scenejob.runner import JobOptions

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    path, _ = write_scene(tmp_path / "city.tif", width=600, height=520)
    s3.upload_file(str(path), BUCKET, "scenes/city.tif")
    root = tmp_path / "ws"
    settings = sagemaker_workspace(root, BUCKET)
    request = scene_jobs.build_request(settings, f"s3://{BUCKET}/scenes/", f"s3://{BUCKET}/out/", str(model_archive))
    runner, sent, _ = scene_jobs.launch(root, request)
    assert sent == ["city.tif"]
    # what the container would have written
    run_job(f"s3://{BUCKET}/scenes/", str(model_archive), f"s3://{BUCKET}/out/", JobOptions(device="cpu"), s3=s3)

    panel = RetrainPanel(root, poll_seconds=0.2)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.jobs_combo.count() == 1, timeout=20_000)
    assert f"{runner.job.name} [predict, sagemaker]" in panel.jobs_combo.itemText(0)
    panel.show_selected_job()
    qtbot.waitUntil(lambda: panel.runner is None or panel.runner.job.status.terminal, timeout=20_000)
    qtbot.waitUntil(lambda: "outputs in s3://review/out/" in panel.status_label.text(), timeout=20_000)
    assert panel.runner.job.status.state == JobState.COMPLETED
    assert "scenes " in panel.status_label.text() and "bringing the model back" not in panel.status_label.text()
    assert panel.review_button.isEnabled()

    with qtbot.waitSignal(panel.review_button.scenesReady, timeout=30_000) as ready:
        panel.review_button.click()
    scenes = ready.args[0]
    assert len(scenes) == 1 and scenes[0].endswith("city.tif")
    report = scene_import.import_scene(scenes[0], root, chip=512)
    assert len(report.written) == 4


def test_review_keeps_same_named_scenes_from_two_folders_apart(tmp_path, s3_server, monkeypatch, model_archive):
    from roadseg_gui.core import scene_jobs
    from roadseg_gui.core.workspace import Workspace
    from trainer.jobs.base import JobStatus, TrainingJob
    from trainer.scenejob.__main__ import run as run_job
    from trainer.scenejob.runner import JobOptions

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    for folder in ("2026", "old"):
        path, _ = write_scene(tmp_path / f"{folder}.tif", width=200, height=160)
        s3.upload_file(str(path), BUCKET, f"scenes/{folder}/north.tif")
    root = tmp_path / "ws"
    Workspace.open(root).close()
    settings = WorkspaceSettings.load(root)
    settings.s3.bucket, settings.s3.region = BUCKET, "us-east-1"
    settings.save(root)
    run_job(f"s3://{BUCKET}/scenes/", str(model_archive), f"s3://{BUCKET}/out/", JobOptions(device="cpu"), s3=s3)
    job = TrainingJob(name="roadseg-predict-x", backend="sagemaker", status=JobStatus(JobState.COMPLETED),
                      details={"kind": "predict", "region": "us-east-1", "input_uri": f"s3://{BUCKET}/scenes/",
                               "output_uri": f"s3://{BUCKET}/out/"})
    scenes, failures = scene_jobs.download_for_review(root, job)
    assert sorted(p.name for p in scenes) == ["2026__north.tif", "old__north.tif"] and failures == []
    assert all(p.is_file() and root in p.parents for p in scenes)
