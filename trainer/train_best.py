"""The best tested state of a run, the start model included: what a run returns.

A short fine-tune can end worse than it began (issue 19: a 1-minute retrain took the demo's test IoU from 0.66
to 0.10), so every test pass is a candidate and, when fine-tuning, so is the start model, tested before the
first step. Best means the higher road IoU on the test split, then the higher APLS where both passes have it,
then the lower test loss (two models that find no road at all); a full tie keeps the earlier state, so a run
that bought nothing returns its start model. The best state is kept in
memory (on the CPU) and written beside the checkpoint, so a resumed run still knows it.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch

from .fsutil import atomic_writer
from .train_lines import _fmt
from .train_loop import run_test_pass

log = logging.getLogger("trainer.train")

BEST_NAME = "best.pth"
START_EPOCH = 0  # the start model, tested before the first step


def is_better(new: dict, old: dict | None, new_loss: float | None = None, old_loss: float | None = None) -> bool:
    """Whether test metrics ``new`` beat ``old``: road IoU first, APLS to break a tie when both have it, then
    the test loss when both are known."""
    if old is None:
        return True
    if new.get("iou") != old.get("iou"):
        return float(new.get("iou") or 0.0) > float(old.get("iou") or 0.0)
    if new.get("apls") is not None and old.get("apls") is not None and new["apls"] != old["apls"]:
        return float(new["apls"]) > float(old["apls"])
    if new_loss is not None and old_loss is not None and math.isfinite(new_loss) and math.isfinite(old_loss):
        return new_loss < old_loss
    return False


class BestState:
    """The state (weights and BatchNorm statistics as tested) with the best test metrics so far."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.metrics: dict | None = None
        self.start_metrics: dict | None = None
        self.loss: float | None = None
        self._state: dict | None = None
        self._written = True

    def consider(self, epoch: int, metrics: dict, model, loss: float | None = None) -> bool:
        """Keep ``model``'s state when ``metrics`` (and test ``loss``) beat the best so far; returns whether it did."""
        if epoch == START_EPOCH:
            self.start_metrics = dict(metrics)
        if not is_better(metrics, self.metrics, loss, self.loss):
            return False
        self.epoch, self.metrics, self.loss = epoch, dict(metrics), loss
        self._state = {k: v.detach().to("cpu", copy=True) for k, v in _net(model).state_dict().items()}
        self._written = False
        return True

    def is_start(self) -> bool:
        return self.epoch == START_EPOCH

    def restore(self, model) -> None:
        _net(model).load_state_dict(self._state)

    def describe(self) -> dict:
        """What model.json's lineage records: which state was kept, and the start model's metrics."""
        kept = "start" if self.is_start() else f"epoch {self.epoch}"
        return {"epoch": self.epoch, "from": kept, "start_metrics": self.start_metrics}

    def save(self, directory: Path) -> None:
        """Write the best state beside the checkpoint (only when it changed since the last write)."""
        if self._written or self._state is None:
            return
        with atomic_writer(Path(directory) / BEST_NAME, "wb") as fh:
            torch.save({"epoch": self.epoch, "metrics": self.metrics, "start_metrics": self.start_metrics,
                        "loss": self.loss, "model": self._state}, fh)
        self._written = True

    def load(self, directory: Path) -> None:
        """The best state of the run being resumed, when it had written one."""
        path = Path(directory) / BEST_NAME
        if not path.is_file():
            return
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            self.epoch, self.metrics, self._state = int(saved["epoch"]), dict(saved["metrics"]), saved["model"]
            self.start_metrics, self.loss = saved.get("start_metrics"), saved.get("loss")
        except Exception as exc:  # noqa: BLE001 - a best state that cannot be read only narrows the choice
            log.warning("the best state %s of the resumed run cannot be read (%s); choosing among the states "
                        "tested from now on", path, exc.__class__.__name__)
            self.epoch = self.metrics = self._state = None
        self._written = True


def remove_stale(directory: Path) -> None:
    """A fresh run must not inherit an earlier run's best state."""
    (Path(directory) / BEST_NAME).unlink(missing_ok=True)


def _net(model):
    return getattr(model, "module", model).net


def start_best(config, runtime, checkpoint, checkpoint_dir: Path, model, test_loader, mean, std,
               unreadable: dict) -> BestState:
    """The best state so far: a resumed run's, or, when fine-tuning, the start model's, tested first on the
    same test split, so a run that makes it worse returns it."""
    best = BestState()
    if checkpoint is not None:
        best.load(checkpoint_dir)
        return best
    if runtime.is_main:
        remove_stale(checkpoint_dir)
    if config.init_model:
        loss, metrics = run_test_pass(model, test_loader, runtime, mean, std, unreadable, apls=True)
        best.consider(START_EPOCH, metrics, model, loss)
        if runtime.is_main:
            print("start model " + " ".join(f"test_{k}={_fmt(k, v)}" for k, v in metrics.items()), flush=True)
    return best


def keep_best(best: BestState, final: dict, last_epoch: int, model, test_loader, runtime, mean, std,
              unreadable: dict) -> dict:
    """Put the best tested state back when it is not the last one; returns its test metrics (with APLS)."""
    if best.epoch is None or best.epoch == last_epoch:
        return final
    best.restore(model)
    kept = best.metrics
    if kept.get("apls") is None:  # a pass between epochs: measure the kept state's APLS too
        _, kept = run_test_pass(model, test_loader, runtime, mean, std, unreadable, apls=True)
    if runtime.is_main:
        what = "the start model, unchanged" if best.is_start() else f"the state after epoch {best.epoch}"
        text = (f"kept {what}: test IoU {kept['iou']:.4f}, against {final['iou']:.4f} after the last epoch"
                + ("; nothing this run trained beat it" if best.is_start() else ""))
        log.info("%s", text)  # stderr, the job's log too: stdout keeps the machine-read lines
    return kept
