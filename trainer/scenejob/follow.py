"""Following a scene-prediction Processing job like a training job: status, logs, scenes done, cost, stop."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import RoadsegError
from ..jobs.base import JobState, JobStatus
from ..jobs.sagemaker_job import SageMakerJob, _epoch

PROGRESS = re.compile(r"scenes_done=(\d+) scenes_total=(\d+)")
_PRIMARY = {"Completed": JobState.COMPLETED, "Failed": JobState.FAILED, "Stopped": JobState.STOPPED,
            "Stopping": JobState.STOPPING}


def status_from_processing(desc: dict) -> JobStatus:
    """Map DescribeProcessingJob to the backend-neutral status (a running job is 'Training': working)."""
    primary = desc.get("ProcessingJobStatus", "InProgress")
    state = _PRIMARY.get(primary, JobState.TRAINING if desc.get("ProcessingStartTime") else JobState.STARTING)
    return JobStatus(state=state, secondary="Predicting scenes" if state == JobState.TRAINING else primary,
                     failure_reason=desc.get("FailureReason", "") if state == JobState.FAILED else "",
                     started=_epoch(desc.get("CreationTime")),
                     ended=_epoch(desc.get("ProcessingEndTime")) if state.terminal else None,
                     artifact=_output_uri(desc))


def _output_uri(desc: dict) -> str:
    outputs = (desc.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    return ((outputs[0].get("S3Output") or {}).get("S3Uri", "")) if outputs else ""


class ProcessingJobRunner(SageMakerJob):
    """A handle on one scene-prediction Processing job; ``scenes_done`` sums every instance's progress."""

    log_group = "/aws/sagemaker/ProcessingJobs"

    def __init__(self, job, sagemaker_client, logs_client, s3_client):
        super().__init__(job, sagemaker_client, logs_client, s3_client)
        self.progress: dict[str, tuple[int, int]] = {}   # log stream -> (done, total) on that instance
        self._failures: str | None = None                 # read once, when the job has completed

    @property
    def scenes_done(self) -> tuple[int, int]:
        done = sum(d for d, _ in self.progress.values())
        # an instance that has not logged yet reports no total: the job's own scene count is the floor
        total = max(sum(t for _, t in self.progress.values()), int(self.job.data.get("scenes", 0)))
        return done, total

    kind = "processing job"
    describe_action, stop_action = "DescribeProcessingJob", "StopProcessingJob"

    def _describe(self) -> dict:
        return self.sagemaker.describe_processing_job(ProcessingJobName=self.job.name)

    def _request_stop(self) -> None:
        self.sagemaker.stop_processing_job(ProcessingJobName=self.job.name)

    def _status(self, desc: dict) -> JobStatus:
        status = status_from_processing(desc)
        if status.state == JobState.COMPLETED:
            if self._failures is None:
                self._failures = self._count_failures(desc, status)
            status.secondary = self._failures or status.secondary
        return status

    def _count_failures(self, desc: dict, status: JobStatus) -> str:
        """'2 of 300 scenes failed: see …/failures.json' for a completed job whose scenes partly failed."""
        from . import s3io

        output_uri = status.artifact or self.job.details.get("output_uri", "")
        cluster = (desc.get("ProcessingResources") or {}).get("ClusterConfig") or {}
        hosts = int(cluster.get("InstanceCount") or self.job.details.get("instance_count") or 1)
        try:
            rows, files = s3io.job_failures(self.s3, output_uri, hosts, since=_epoch(desc.get("CreationTime")))
        except RoadsegError as exc:
            return f"its failures files could not be read: {exc.what}"
        if not rows:
            return ""
        scenes = int(self.job.data.get("scenes", 0)) or len(rows)
        where = output_uri.rstrip("/") + "/" + (files[0] if len(files) == 1 else "failures-*.json")
        return f"{len(rows)} of {scenes} scenes failed: see {where}"

    def _read_stream(self, stream: str) -> list[str]:
        # keyed by the stream itself: poll()'s '[host] ' prefix is absent while only one stream exists,
        # so keying on it counted the first instance twice once a second one started
        lines = super()._read_stream(stream)
        for line in lines:
            match = PROGRESS.search(line)
            if match:
                self.progress[stream] = (int(match.group(1)), int(match.group(2)))
        return lines

    def fetch_artifact(self, dest: Path) -> Path:
        raise RoadsegError("a scene-prediction job has no model to bring back",
                           f"Its outputs are under {self.job.details.get('output_uri', 'the output prefix')}.")


def attach(job, session) -> ProcessingJobRunner:
    return ProcessingJobRunner(job, session.client("sagemaker"), session.client("logs"), session.client("s3"))
