"""The one sentence a failed SageMaker job shows as its FailureReason.

SageMaker reads the FailureReason from ``/opt/ml/output/failure``. The SDK's container driver
writes the ``CalledProcessError`` traceback of the launcher there, but only when the file is
absent (``sagemaker/train/container_drivers/common/utils.py: write_failure_file``), so the
training script writes its own sentence first. Outside SageMaker nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path

FAILURE_FILE = "/opt/ml/output/failure"  # the drivers' path; also exported to the script as SM_OUTPUT_FAILURE
MAX_CHARS = 1000  # SageMaker keeps up to 1024 characters of FailureReason


def failure_file() -> Path | None:
    """Where to write, or None when not running as a SageMaker training job."""
    if os.environ.get("SM_OUTPUT_FAILURE"):
        return Path(os.environ["SM_OUTPUT_FAILURE"])
    if os.environ.get("TRAINING_JOB_NAME") or os.environ.get("SM_TRAINING_ENV"):
        return Path(FAILURE_FILE)
    return None


def write_failure_reason(sentence: str) -> bool:
    """Write ``sentence`` unless a reason is already there (another rank, or an earlier writer wins)."""
    path = failure_file()
    if path is None:
        return False
    text = " ".join(sentence.split())
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS - 1] + "…"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:  # exists already, or no output folder: the job fails either way, with some reason
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return True
