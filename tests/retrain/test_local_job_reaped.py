"""A finished local training job leaves no zombie under the app, even when nobody polls it again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trainer.jobs.base import JobState
from trainer.jobs.local import LocalJob

from retrain_helpers import ONE_THREAD, tiny_hyperparameters


def _state(pid: int) -> str | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None  # gone: reaped
    return fields[0]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see zombies")
def test_a_finished_local_job_is_reaped_without_polling(tiny_workspace, tmp_path):
    empty = tmp_path / "empty"
    (empty / "images").mkdir(parents=True)  # trainer.train fails at once: a quick, finished job
    runner = LocalJob.launch(empty, tiny_workspace / "test", tmp_path / "jobs", tiny_hyperparameters(),
                             env=ONE_THREAD, check_data=False)
    pid = runner.job.details["pid"]
    deadline = time.monotonic() + 120
    while runner._read_status().get("state") not in ("Failed", "Completed") and time.monotonic() < deadline:
        time.sleep(0.2)  # reads the status file only: no poll() of the process that could reap it
    deadline = time.monotonic() + 15
    while _state(pid) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    assert _state(pid) is None, f"the supervisor {pid} is left as state {_state(pid)}"
    assert runner.refresh().state == JobState.FAILED
