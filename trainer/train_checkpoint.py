"""Per-epoch training checkpoints, written atomically so a spot interruption mid-write loses
nothing, and read with ``weights_only=True`` like every other file this project loads."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import torch

from .errors import RoadsegError
from .fsutil import atomic_writer

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "last.pth"
# The settings that define a run: resuming with any other value would mix two runs in one model.
RUN_SETTINGS = ("backbone", "image_size", "lr", "batch_size", "seed", "schedule", "warmup", "weight_decay",
                "pretrained", "init_model", "fine_tune_lr_scale", "freeze_bn")
SAGEMAKER_CHECKPOINT_DIR = "/opt/ml/checkpoints"


def default_checkpoint_dir(out_dir: Path) -> Path:
    """SageMaker syncs /opt/ml/checkpoints to S3 (and back after a spot interruption);
    elsewhere the checkpoint lives beside the model it becomes."""
    if os.environ.get("SM_MODEL_DIR") or os.environ.get("SM_TRAINING_ENV"):
        return Path(SAGEMAKER_CHECKPOINT_DIR)
    return out_dir / "checkpoints"


def save_checkpoint(directory: Path, *, model, optimizer, scaler, epoch: int, step: int, config: dict,
                    history: list, elapsed_seconds: float = 0.0, budget_done: bool = False) -> Path:
    model = getattr(model, "module", model)
    state = {
        "format": 1,
        "epoch": epoch,  # epochs completed
        "step": step,
        "elapsed_seconds": float(elapsed_seconds),  # of the run so far: a resumed --minutes budget goes on from it
        "budget_done": bool(budget_done),  # a --minutes run whose last epoch this was
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


def load_checkpoint(directory: Path | None, config: dict) -> dict | None:
    """The last checkpoint in ``directory``, or None when there is none to resume from.

    Refuses a checkpoint written with other run settings (``config`` is the new run's, as a dict);
    only ``epochs`` (or a ``minutes`` budget) may grow."""
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
    differences = setting_differences(state, config)
    if differences:
        raise RoadsegError(
            f"this folder holds a checkpoint of another training run ({'; '.join(differences)}), "
            "so it cannot be resumed with these settings",
            "Pass a fresh --checkpoint-dir (or --out), or delete the checkpoint to start afresh; "
            "to resume it, pass the settings it was started with.", path)
    log.info("resuming from %s after epoch %d", path, state["epoch"])
    return state


def setting_differences(state: dict, config: dict) -> list[str]:
    """'name was OLD, now NEW' for each run setting that differs from the checkpoint's."""
    saved = dict(state.get("config") or {})
    saved.setdefault("backbone", state.get("backbone"))
    differences = []
    for key in RUN_SETTINGS:
        if key in saved and key in config and not _same(saved[key], config[key]):
            differences.append(f"{key} was {saved[key]}, now {config[key]}")
    old_epochs, new_epochs = saved.get("epochs"), config.get("epochs")
    if isinstance(old_epochs, int) and isinstance(new_epochs, int) and new_epochs < old_epochs:
        differences.append(f"epochs was {old_epochs}, now {new_epochs} (epochs may only grow)")
    if "minutes" in saved or "minutes" in config:
        differences += _budget_difference(saved.get("minutes"), config.get("minutes"))
    old_steps, new_steps = saved.get("steps"), config.get("steps")
    if "steps" in saved and (old_steps is None) != (new_steps is None):
        differences.append(f"the run was counted in {'steps' if old_steps else 'epochs'}, "
                           f"now {'steps' if new_steps else 'epochs'}")
    elif isinstance(old_steps, int) and isinstance(new_steps, int) and new_steps < old_steps:
        differences.append(f"steps was {old_steps}, now {new_steps} (a budget may only grow)")
    return differences


def _budget_difference(old, new) -> list[str]:
    """A run counted in epochs cannot go on as one timed in minutes (the LR schedules differ), nor the
    reverse; a budget may grow."""
    if old is None and new is None:
        return []
    if old is None or new is None:
        return [f"the run was counted in {_unit(old)}, now {_unit(new)}"]
    if float(new) < float(old) and not math.isclose(float(new), float(old)):
        return [f"minutes was {old}, now {new} (a budget may only grow)"]
    return []


def _unit(minutes) -> str:
    return "epochs" if minutes is None else f"{minutes} minutes"


def _same(old, new) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        try:
            return math.isclose(float(old), float(new), rel_tol=1e-9, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    return old == new
