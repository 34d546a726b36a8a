"""Per-epoch training checkpoints, written atomically so a spot interruption mid-write loses
nothing, and read with ``weights_only=True`` like every other file this project loads."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from .errors import RoadsegError
from .fsutil import atomic_writer

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "last.pth"
SAGEMAKER_CHECKPOINT_DIR = "/opt/ml/checkpoints"


def default_checkpoint_dir(out_dir: Path) -> Path:
    """SageMaker syncs /opt/ml/checkpoints to S3 (and back after a spot interruption);
    elsewhere the checkpoint lives beside the model it becomes."""
    if os.environ.get("SM_MODEL_DIR") or os.environ.get("SM_TRAINING_ENV"):
        return Path(SAGEMAKER_CHECKPOINT_DIR)
    return out_dir / "checkpoints"


def save_checkpoint(directory: Path, *, model, optimizer, scaler, epoch: int, step: int, config: dict,
                    history: list) -> Path:
    model = getattr(model, "module", model)
    state = {
        "format": 1,
        "epoch": epoch,  # epochs completed
        "step": step,
        "backbone": model.backbone,
        "model": model.net.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else {},
        "config": {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool, type(None)))},
        "history": history,
    }
    path = Path(directory) / CHECKPOINT_NAME
    with atomic_writer(path, "wb") as fh:
        torch.save(state, fh)
    return path


def load_checkpoint(directory: Path | None, backbone: str) -> dict | None:
    """The last checkpoint in ``directory``, or None when there is none to resume from."""
    if directory is None:
        return None
    path = Path(directory) / CHECKPOINT_NAME
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a torn file cannot happen with atomic writes, but a foreign one can
        raise RoadsegError(f"cannot read the training checkpoint ({exc.__class__.__name__})",
                           "Delete it or pass another --checkpoint-dir to start afresh.", path) from exc
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        raise RoadsegError("this is not a roadseg training checkpoint",
                           "Delete it or pass another --checkpoint-dir.", path)
    if state.get("backbone") != backbone:
        raise RoadsegError(f"the checkpoint is for backbone {state.get('backbone')}, not {backbone}",
                           "Pass the same --backbone, or another --checkpoint-dir to start afresh.", path)
    log.info("resuming from %s after epoch %d", path, state["epoch"])
    return state
