"""Following a SageMaker training job through plain boto3 clients: status, CloudWatch logs, stop, artifact.

Everything here goes through three boto3 clients (sagemaker, logs, s3) passed in, so the
calls are the documented API and a test can stand a recorded double at that boundary.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

from botocore.exceptions import ClientError

from ..errors import RoadsegError
from .aws_errors import describe_aws_error, server_side
from .base import JobRunner, JobState, JobStatus, TrainingJob
from .pricing import PRICE_NOTE, estimate_cost

LOG_GROUP = "/aws/sagemaker/TrainingJobs"

# every in-progress SecondaryStatus of the SageMaker API (botocore's enum); the terminal ones follow the primary status
_SECONDARY_TO_STATE = {
    "Starting": JobState.STARTING, "Pending": JobState.STARTING, "LaunchingMLInstances": JobState.STARTING,
    "PreparingTrainingStack": JobState.STARTING, "Restarting": JobState.STARTING,
    "Downloading": JobState.DOWNLOADING, "DownloadingTrainingImage": JobState.DOWNLOADING,
    "Training": JobState.TRAINING, "Interrupted": JobState.TRAINING, "Updating": JobState.TRAINING,
    "Uploading": JobState.UPLOADING, "Stopping": JobState.STOPPING,
}


def _epoch(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def status_from_description(desc: dict) -> JobStatus:
    """Map DescribeTrainingJob to the backend-neutral status."""
    primary = desc.get("TrainingJobStatus", "InProgress")
    secondary = desc.get("SecondaryStatus", "")
    transitions = desc.get("SecondaryStatusTransitions") or []
    last = transitions[-1] if transitions else {}
    message = last.get("StatusMessage", "") if last.get("Status") == secondary else ""
    if primary == "Completed":
        state = JobState.COMPLETED
    elif primary == "Failed":
        state = JobState.FAILED
    elif primary == "Stopped":
        state = JobState.STOPPED
    elif primary == "Stopping":
        state = JobState.STOPPING
    else:
        state = _SECONDARY_TO_STATE.get(secondary, JobState.STARTING)
    detail = secondary + (f": {message}" if message and message != secondary else "")
    if secondary == "Interrupted":
        detail = "Interrupted: spot capacity was reclaimed; SageMaker resumes from the last checkpoint"
    return JobStatus(
        state=state, secondary=detail,
        failure_reason=desc.get("FailureReason", "") if state == JobState.FAILED else "",
        started=_epoch(desc.get("CreationTime")),
        ended=_epoch(desc.get("TrainingEndTime")) if state.terminal else None,
        artifact=(desc.get("ModelArtifacts") or {}).get("S3ModelArtifacts", ""),
        billable_seconds=desc.get("BillableTimeInSeconds"))


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise RoadsegError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class SageMakerJob(JobRunner):
    """A handle on one SageMaker training job."""

    log_group = LOG_GROUP
    kind = "training job"            # the words and API names below are what a processing job overrides
    describe_action, stop_action = "DescribeTrainingJob", "StopTrainingJob"

    def _describe(self) -> dict:
        return self.sagemaker.describe_training_job(TrainingJobName=self.job.name)

    def _request_stop(self) -> None:
        self.sagemaker.stop_training_job(TrainingJobName=self.job.name)

    def _status(self, desc: dict) -> JobStatus:
        return status_from_description(desc)

    def __init__(self, job: TrainingJob, sagemaker_client, logs_client, s3_client):
        self.job = job
        self.sagemaker = sagemaker_client
        self.logs = logs_client
        self.s3 = s3_client
        self._tokens: dict[str, str | None] = {}   # log stream -> nextForwardToken
        self.last_description: dict = {}

    def refresh(self) -> JobStatus:
        doing = f"read the status of {self.kind} {self.job.name}"
        try:
            desc = self._describe()
        except ClientError as exc:
            if server_side(exc):
                raise describe_aws_error(exc, doing) from exc
            raise RoadsegError(f"cannot {doing}: {exc.response.get('Error', {}).get('Message', exc)}",
                               f"Check the region and that your user may call sagemaker:{self.describe_action}.") from exc
        except Exception as exc:  # connection errors, an HTML page instead of SageMaker's answer...
            raise describe_aws_error(exc, doing) from exc
        self.last_description = desc
        status = self._status(desc)
        if self.job.status.state == JobState.STOPPING and not status.terminal:
            status.state = JobState.STOPPING  # Describe* can lag a Stop* for a moment
        self.job.status = status
        return status

    def poll(self) -> list[str]:
        """New CloudWatch lines of every stream of this job (``<job>/algo-N-...``), oldest first."""
        try:
            streams = self._streams()
            lines: list[str] = []
            for stream in streams:
                prefix = f"[{stream.split('/', 1)[-1]}] " if len(streams) > 1 else ""
                lines += [prefix + line for line in self._read_stream(stream)]
            return lines
        except ClientError as exc:
            if server_side(exc):
                raise describe_aws_error(exc, f"read the logs of {self.job.name}") from exc
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return []  # no log group/stream until the container starts
            raise RoadsegError(f"cannot read the logs of {self.job.name}: "
                               f"{exc.response.get('Error', {}).get('Message', exc)}",
                               "Your user needs logs:DescribeLogStreams and logs:GetLogEvents.") from exc
        except Exception as exc:
            raise describe_aws_error(exc, f"read the logs of {self.job.name}") from exc

    def _streams(self) -> list[str]:
        names, token = [], None
        while True:
            kwargs = {"logGroupName": self.log_group, "logStreamNamePrefix": f"{self.job.name}/"}
            if token:
                kwargs["nextToken"] = token
            page = self.logs.describe_log_streams(**kwargs)
            names += [s["logStreamName"] for s in page.get("logStreams", [])]
            token = page.get("nextToken")
            if not token:
                return sorted(names)

    def _read_stream(self, stream: str) -> list[str]:
        lines = []
        for _ in range(100):  # pages per poll; the rest comes on the next poll
            kwargs = {"logGroupName": self.log_group, "logStreamName": stream, "startFromHead": True}
            token = self._tokens.get(stream)
            if token:
                kwargs["nextToken"] = token
            page = self.logs.get_log_events(**kwargs)
            for event in page.get("events", []):
                lines += event.get("message", "").rstrip("\n").split("\n")
            new_token = page.get("nextForwardToken")
            self._tokens[stream] = new_token
            if not page.get("events") or new_token == token:
                break
        return lines

    def stop(self) -> None:
        if self.job.status.terminal:
            return
        doing = f"stop {self.kind} {self.job.name}"
        try:
            self._request_stop()
        except ClientError as exc:
            if server_side(exc):
                raise describe_aws_error(exc, doing) from exc
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ValidationException":  # it already ended; the next refresh tells how
                return
            raise RoadsegError(f"cannot {doing}: {exc.response.get('Error', {}).get('Message', exc)}",
                               f"Your user needs sagemaker:{self.stop_action}.") from exc
        except Exception as exc:
            raise describe_aws_error(exc, doing) from exc
        self.job.status.state = JobState.STOPPING
        self.job.status.secondary = "Stop requested"

    def fetch_artifact(self, dest: Path) -> Path:
        status = self.refresh()
        if status.state != JobState.COMPLETED or not status.artifact:
            raise RoadsegError(f"job {self.job.name} has no model ({status.describe()})",
                               "Only a completed job has a model.tar.gz.")
        bucket, key = _split_s3(status.artifact)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".tar.gz.part", dir=dest.parent)
        os.close(fd)
        try:
            self.s3.download_file(bucket, key, tmp)
            os.replace(tmp, dest)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", exc))
            missing = code in ("404", "NoSuchKey", "NotFound")
            raise RoadsegError(f"the job reports its model at {status.artifact}, but "
                               + ("there is no such object" if missing else f"it cannot be downloaded ({code})"),
                               "Check the bucket, and that your user may s3:GetObject there.") from exc
        except OSError:
            raise  # the local disk: the CLI and the app word OSError themselves
        except Exception as exc:
            raise describe_aws_error(exc, f"download the model of {self.job.name}", status.artifact) from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return dest

    def cost_estimate(self, now: float | None = None):
        details = self.job.details
        status = self.job.status
        if status.billable_seconds and status.terminal:
            seconds, basis = float(status.billable_seconds), "billable time reported by SageMaker"
        else:
            seconds, basis = status.elapsed(now or time.time()), "elapsed time so far (upper bound)"
        return estimate_cost(details.get("instance_type", ""), int(details.get("instance_count", 1)),
                             seconds, bool(details.get("use_spot")), f"{basis}; {PRICE_NOTE}")
