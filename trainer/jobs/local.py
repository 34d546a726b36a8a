"""The local backend: ``python -m trainer.train`` in a subprocess with the SageMaker contract.

SM_CHANNEL_TRAIN / SM_CHANNEL_TEST point at the workspace's train/ and test/ folders directly
(no copy), SM_MODEL_DIR at JOB_DIR/model, the hyperparameters become flags, checkpoints go to
JOB_DIR/checkpoints, and the result is packed as JOB_DIR/output/model.tar.gz exactly as SageMaker
packs it (``trainer.artifact.pack_model``). The job runs in its own process group under
:mod:`trainer.jobs.local_supervisor`, which keeps its state in files, so a restarted app re-attaches.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import DataError, RoadsegError
from ..fsutil import atomic_write_text
from .base import Hyperparameters, JobRunner, JobState, JobStatus, TrainingJob, new_job_name
from .local_supervisor import LOG, SPEC, STATUS

CODE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the trainer package
KILL_AFTER_SECONDS = 15.0


def local_gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken CUDA install means "train on the CPU"
        return 0


def _has_pairs(split_dir: Path) -> bool:
    images = split_dir / "images"
    return images.is_dir() and any(p.is_file() for p in images.iterdir())


class LocalJob(JobRunner):
    """A training run on this machine (GPU when torch sees one)."""

    def __init__(self, job: TrainingJob, process: subprocess.Popen | None = None):
        self.job = job
        self.job_dir = Path(job.details["job_dir"])
        self._process = process   # only while this process launched it (needed to reap it)
        self._offset = 0
        self._partial = b""

    # -- launching and re-attaching ---------------------------------------------------------
    @classmethod
    def launch(cls, train_dir: str | os.PathLike, test_dir: str | os.PathLike, jobs_dir: str | os.PathLike,
               hyperparameters: Hyperparameters, *, name: str | None = None, data: dict | None = None,
               env: dict | None = None, check_data: bool = True, init_model: str | None = None) -> "LocalJob":
        hyperparameters.validate()
        train_dir, test_dir = Path(train_dir).resolve(), Path(test_dir).resolve()
        if check_data:
            for split, folder in (("train", train_dir), ("test", test_dir)):
                if not _has_pairs(folder):
                    raise DataError(f"no {split} images to train on in {folder / 'images'}",
                                    "Accept some labeled tiles first.", folder)
        name = name or new_job_name()
        job_dir = Path(jobs_dir).resolve() / name
        if job_dir.exists():
            raise RoadsegError(f"a job named {name} already exists", "Choose another name.", job_dir)
        job_dir.mkdir(parents=True)
        num_gpus = local_gpu_count()
        values = hyperparameters.as_hyperparameters()
        if init_model:  # fine-tune from this model (trainer.train --init-model)
            values["init-model"] = str(Path(init_model).resolve())
        spec = {"name": name, "train": str(train_dir), "test": str(test_dir),
                "hyperparameters": values, "num_gpus": num_gpus,
                "env": env or {}}
        atomic_write_text(job_dir / SPEC, json.dumps(spec, indent=1))
        started = time.time()
        atomic_write_text(job_dir / STATUS, json.dumps({"state": "Starting", "secondary": "Starting",
                                                        "started": started}))
        process = _start_supervisor(job_dir)
        _reap_when_done(process)
        atomic_write_text(job_dir / "pid", str(process.pid))
        job = TrainingJob(name=name, backend="local", hyperparameters=hyperparameters.to_dict(),
                          created=started, data=dict(data or {}),
                          status=JobStatus(JobState.STARTING, "Starting", started=started),
                          details={"job_dir": str(job_dir), "pid": process.pid, "log": str(job_dir / LOG),
                                   "init_model": values.get("init-model", ""),
                                   "device": f"{num_gpus} CUDA GPU(s)" if num_gpus else "CPU"})
        return cls(job, process)

    @classmethod
    def attach(cls, job: TrainingJob) -> "LocalJob":
        """A handle on a job started earlier (by this or another process); log lines replay from the start."""
        runner = cls(job)
        runner.refresh()
        return runner

    # -- following --------------------------------------------------------------------------
    def _alive(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        pid = int(self.job.details.get("pid") or 0)
        if pid <= 0:
            return False
        if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would terminate it there; trust status.json
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists():  # a recycled pid belongs to some other program
            try:
                return str(self.job_dir).encode() in cmdline.read_bytes()
            except OSError:
                return False
        return True

    def _read_status(self) -> dict:
        try:
            return json.loads((self.job_dir / STATUS).read_text("utf-8"))
        except (OSError, ValueError):
            return {}

    def refresh(self) -> JobStatus:
        data = self._read_status()
        status = JobStatus.from_dict({**self.job.status.to_dict(), **data})
        if not status.terminal and not self._alive():
            data = self._read_status()  # it may have finished between the two reads
            status = JobStatus.from_dict({**self.job.status.to_dict(), **data})
            if not status.terminal:
                stopped = (self.job_dir / "stop_requested").exists()
                status.state = JobState.STOPPED if stopped else JobState.FAILED
                status.secondary = status.state.value
                status.ended = time.time()
                if not stopped:
                    status.failure_reason = ("InternalServerError: the local training process ended without "
                                             "reporting a result (killed, or the machine restarted)")
        if status.state == JobState.STOPPING:
            self._escalate_stop()
        self.job.status = status
        return status

    def poll(self) -> list[str]:
        try:
            with open(self.job_dir / LOG, "rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        if self._partial and self.job.status.terminal:
            lines.append(self._partial)
            self._partial = b""
        return [line.decode("utf-8", errors="replace").rstrip("\r") for line in lines]

    def stop(self) -> None:
        if self.job.status.terminal:
            return
        atomic_write_text(self.job_dir / "stop_requested", str(time.time()))
        self._signal(signal.SIGTERM)
        self.job.status.state = JobState.STOPPING
        self.job.status.secondary = "Stop requested"

    def _escalate_stop(self) -> None:
        try:
            asked = float((self.job_dir / "stop_requested").read_text("utf-8"))
        except (OSError, ValueError):
            return
        if time.time() - asked > KILL_AFTER_SECONDS and self._alive():
            self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))

    def _signal(self, signum: int) -> None:
        pid = int(self.job.details.get("pid") or 0)
        if pid <= 0 or not self._alive():
            return
        try:
            if hasattr(os, "killpg"):
                os.killpg(pid, signum)  # the supervisor leads its own group: it and trainer.train
            else:  # pragma: no cover - Windows
                os.kill(pid, signal.CTRL_BREAK_EVENT if signum == signal.SIGTERM else signum)
        except (ProcessLookupError, PermissionError):
            pass

    def fetch_artifact(self, dest: Path) -> Path:
        status = self.refresh()
        if status.state != JobState.COMPLETED or not status.artifact:
            raise RoadsegError(f"job {self.job.name} has no model ({status.describe()})",
                               "Only a completed job has a model.tar.gz.")
        source, dest = Path(status.artifact), Path(dest)
        if source.resolve() != dest.resolve():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
        return dest


def _reap_when_done(process: subprocess.Popen) -> None:
    """Wait for the supervisor on a daemon thread, so a finished job never stays a zombie under the app
    (nobody polls a job once its status file says it is over)."""
    threading.Thread(target=process.wait, name=f"reap-local-job-{process.pid}", daemon=True).start()


def _start_supervisor(job_dir: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(CODE_ROOT)] + [p for p in [env.get("PYTHONPATH", "")] if p])
    env["PYTHONUNBUFFERED"] = "1"
    kwargs: dict = {}
    if os.name == "nt":  # pragma: no cover
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True  # its own process group: stop = kill the group
    with open(job_dir / LOG, "ab") as log:
        return subprocess.Popen([sys.executable, "-u", "-m", "trainer.jobs.local_supervisor", str(job_dir)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(CODE_ROOT), env=env, **kwargs)
