"""A failed SageMaker job's FailureReason is trainer.train's sentence, not the SDK driver's traceback.

REAL: the SDK's own container-driver code (execute_commands, then write_failure_file, as
basic_script_driver.main does) runs the real entry point in a subprocess. Only the driver's
hard-coded /opt/ml/output/failure is pointed at a temp file (no /opt/ml here), and the script
gets the same path as SM_OUTPUT_FAILURE, as the driver's environment.py exports it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from trainer.failure_reason import write_failure_reason

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def failure_path(tmp_path, monkeypatch):
    from sagemaker.train.container_drivers.common import utils

    path = tmp_path / "output" / "failure"
    path.parent.mkdir()
    monkeypatch.setattr(utils, "FAILURE_FILE", str(path))
    monkeypatch.setenv("SM_OUTPUT_FAILURE", str(path))
    return path


def test_the_job_failure_reason_is_the_scripts_sentence(tmp_path, failure_path, monkeypatch):
    from sagemaker.train.container_drivers.common import utils

    data = tmp_path / "data"
    for split in ("train", "test"):
        (data / split / "images").mkdir(parents=True)
        (data / split / "masks").mkdir()
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    command = [sys.executable, "-m", "trainer.train", "--data", str(data), "--out", str(tmp_path / "model"),
               "--epochs", "1"]
    exit_code, traceback = utils.execute_commands(command)
    assert exit_code == 1 and "CalledProcessError" in traceback
    utils.write_failure_file(traceback)  # what the driver does next; it must not replace the sentence
    reason = failure_path.read_text("utf-8")
    assert reason.startswith(f"{data / 'train'}: no usable image/mask pair in the train split"), reason
    assert "\n" not in reason and "Traceback" not in reason


def test_the_first_reason_wins_and_nothing_is_written_outside_sagemaker(failure_path, monkeypatch):
    assert write_failure_reason("rank 0: the data is unusable.\n  second line")
    assert not write_failure_reason("rank 1: the same, later")
    assert failure_path.read_text("utf-8") == "rank 0: the data is unusable. second line"
    os.unlink(failure_path)
    for var in ("SM_OUTPUT_FAILURE", "TRAINING_JOB_NAME", "SM_TRAINING_ENV"):
        monkeypatch.delenv(var, raising=False)
    assert not write_failure_reason("a local run")
    assert not failure_path.exists()
