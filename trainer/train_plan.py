"""What a training run is, beside its loop: when it ends (epochs, a step budget or a time budget), its peak
learning rate and BatchNorm handling when fine-tuning, and the settings model.json records."""

from __future__ import annotations

from .train_args import TrainConfig
from .train_dist import Runtime, broadcast_flag
from .train_schedule import TrainingClock


def run_is_over(config: TrainConfig, clock: TrainingClock, epoch: int, step: int, budget_done: bool) -> bool:
    """Before an epoch: nothing left to train (a resume after the run had finished)."""
    if clock.timed:
        return budget_done or clock.remaining() <= 0
    return step >= config.steps if config.steps else epoch > config.epochs


def is_last_epoch(config: TrainConfig, clock: TrainingClock, epoch: int, step: int, train_seconds: float,
                   runtime: Runtime) -> bool:
    """After an epoch's steps: a budget run ends when less than half an epoch's training fits in what is
    left (the last epoch is cut short by the budget, not begun for a few steps); rank 0 decides for all."""
    if config.steps:
        return step >= config.steps
    if not clock.timed:
        return epoch >= config.epochs
    return broadcast_flag(clock.remaining() < 0.5 * train_seconds, runtime)


def describe_epoch(config: TrainConfig, epoch: int) -> str:
    if config.steps:
        return f"epoch {epoch} ({config.steps} step budget)"
    return f"epoch {epoch} ({config.minutes:g} min budget)" if config.minutes else f"epoch {epoch}/{config.epochs}"


def freezes_bn(config: TrainConfig) -> bool:
    """Fine-tuning keeps the start model's BatchNorm statistics unless told otherwise: re-estimated from a few
    small batches they wrecked a short fine-tune (bench/RESULTS.md, "Short fine-tunes")."""
    return config.freeze_bn if config.freeze_bn is not None else bool(config.init_model)


def peak_lr(config: TrainConfig) -> float:
    """--lr, or a share of it when fine-tuning: the from-scratch peak wrecks a trained model in a few steps."""
    return config.lr * config.fine_tune_lr_scale if config.init_model else config.lr


def loss_description(config: TrainConfig) -> str | None:
    """The loss when it is not the recipe's BCE + Dice (for the log)."""
    extra = [f"{weight:g} x {name}" for weight, name in ((config.cldice_weight, "soft clDice"),
                                                         (config.orientation_weight, "orientation")) if weight]
    return " + ".join(["BCE + Dice", *extra]) if extra else None


def hyperparameters(config: TrainConfig, epochs_run: int) -> dict:
    """The run's settings; a --minutes run records the epochs it had time for."""
    keep = ("epochs", "minutes", "steps", "batch_size", "lr", "weight_decay", "schedule", "warmup", "backbone",
            "image_size", "seed", "pretrained", "init_model", "cldice_weight", "orientation_weight")
    values = {k: getattr(config, k) for k in keep}
    values["freeze_bn"], values["peak_lr"] = freezes_bn(config), peak_lr(config)
    if config.minutes is not None or config.steps is not None:
        values["epochs"] = epochs_run
    return values
