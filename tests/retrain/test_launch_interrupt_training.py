"""Ctrl+C while ``roadseg retrain`` creates its SageMaker training job: the job is stopped and remembered.

REAL: the ``roadseg retrain`` CLI in its own process (it syncs the workspace, stages the code and calls
CreateTrainingJob on moto's server through a holding proxy, see tests/scenejob/test_launch_interrupt.py),
SIGINT sent to it while CreateTrainingJob's answer is held. SIMULATED: StopTrainingJob, which moto lacks,
is answered and recorded by the proxy, and DescribeTrainingJob says InProgress (moto completes jobs at once).
"""

from __future__ import annotations

import urllib.request

import boto3

from scenejob.test_launch_interrupt import interrupt_at_the_held_request, proxy, start_roadseg  # noqa: F401

BUCKET, PREFIX = "retrain-interrupted", "team/seg-data"


def test_ctrl_c_while_the_training_job_is_created_stops_it_and_remembers_it(tiny_workspace, s3_server, proxy,
                                                                            tmp_path):
    from roadseg_gui.core.jobs_store import JobsStore
    from roadseg_gui.core.settings import WorkspaceSettings

    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    settings = WorkspaceSettings.load(tiny_workspace)
    settings.s3.bucket, settings.s3.prefix, settings.s3.region = BUCKET, PREFIX, "us-east-1"
    settings.s3.endpoint_url = proxy.url
    settings.sagemaker.role_arn = "arn:aws:iam::123456789012:role/RoadsegSageMaker"
    settings.sagemaker.instance_type, settings.sagemaker.use_spot = "ml.g4dn.xlarge", False
    settings.save(tiny_workspace)
    proxy.answers["StopTrainingJob"] = {}
    # moto completes a training job the moment it is made; SageMaker's new job is InProgress
    proxy.rewrites["DescribeTrainingJob"] = lambda desc: {**desc, "TrainingJobStatus": "InProgress",
                                                          "SecondaryStatus": "Starting"}
    proxy.hold(lambda method, path, target: target == "SageMaker.CreateTrainingJob", when="after")
    log = tmp_path / "stderr.txt"
    proc = start_roadseg(proxy.url, ["retrain", str(tiny_workspace), "--backend", "sagemaker", "--epochs", "1",
                                     "--from-scratch"], log)
    err = interrupt_at_the_held_request(proc, proxy, log, deferred=True)
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    jobs = sagemaker.list_training_jobs()["TrainingJobSummaries"]
    assert len(jobs) == 1, err
    name = jobs[0]["TrainingJobName"]
    assert proxy.answered == [("StopTrainingJob", {"TrainingJobName": name})]
    assert f"interrupted: training job {name} was created and is being stopped" in err
    with JobsStore(tiny_workspace) as store:
        remembered = store.jobs()
    assert [job.name for job in remembered] == [name] and remembered[0].status.state.value == "Stopping"
    assert "Traceback" not in err
