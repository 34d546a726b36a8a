"""The flags of the training entry point, without importing torch (so `roadseg --help` stays fast).

SageMaker passes hyperparameters as ``--key value`` flags; the environment supplies the rest
(SM_MODEL_DIR, SM_CHANNEL_TRAINING or SM_CHANNEL_TRAIN + SM_CHANNEL_TEST, SM_CHANNEL_MODEL).
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass

from .errors import DataError
from .train_schedule import SCHEDULES

log = logging.getLogger("trainer.train")

BACKBONE_CHOICES = ("mobilenet_v3_large", "resnet50", "resnet101")  # = trainer.model.BACKBONES
# Peak AdamW learning rate: 3e-3 learned fastest per CPU-second on small sets, from scratch (IoU 0.59 vs 0.46
# for 5e-4) and when fine-tuning the starter model on new imagery (0.42 vs 0.26 for 1e-3): bench/RESULTS.md
DEFAULT_LR = 3e-3
# Fine-tuning a trained model (--init-model) at that peak wrecks it within a few steps (the starter on the demo's
# chips: test IoU 0.50 -> 0.26 after 4 steps, 0.00 after 16, BatchNorm frozen); a tenth of it keeps it:
# bench/RESULTS.md, "Short fine-tunes"
FINE_TUNE_LR_SCALE = 0.1
# Training crop by device: on a CPU 256-px crops learned faster per minute (held-out aerial tiles, 20 min: IoU 0.662
# and APLS 0.536 against 0.596 and 0.468 with 512-px crops: issue 21); a GPU keeps the 512-px recipe
CPU_CROP, GPU_CROP = 256, 512


@dataclass
class TrainConfig:
    out: str
    data: str | None = None
    train: str | None = None
    test: str | None = None
    checkpoint_dir: str | None = None
    epochs: int = 30
    batch_size: int = 8
    lr: float = DEFAULT_LR
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    warmup: float = 0.05            # share of the run spent warming the LR up
    minutes: float | None = None    # a wall-clock budget instead of a number of epochs
    steps: int | None = None        # a budget of optimizer steps instead (repeatable whatever the load)
    eval_share: float = 0.1         # most of the run's time evaluation (+ BN re-estimation) may take
    backbone: str = "mobilenet_v3_large"
    image_size: int | None = None   # training crop in px; None: CPU_CROP on a CPU, GPU_CROP on a GPU
    workers: int | None = None
    seed: int = 0
    pretrained: bool = True
    precise_bn_batches: int = 16
    freeze_bn: bool | None = None   # keep BatchNorm statistics as they are; None: when fine-tuning
    fine_tune_lr_scale: float = FINE_TUNE_LR_SCALE  # a fine-tune's peak LR is lr x this
    init_model: str | None = None
    device: str = "auto"
    cldice_weight: float = 0.0      # soft clDice term of the loss (off: bench/RESULTS.md, "Connected predictions")
    orientation_weight: float = 0.0  # auxiliary orientation head's loss (trainer.orientation; off by default)


def build_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainer.train", description="Train the road model.",
                                add_help=add_help)
    p.add_argument("--data", default=None, help="folder holding train/ and test/ (default: SageMaker channels)")
    p.add_argument("--out", default=None, help="model output folder (default: SM_MODEL_DIR)")
    p.add_argument("--checkpoint-dir", default=None,
                   help="per-epoch checkpoint folder to resume from (default: /opt/ml/checkpoints on SageMaker, "
                        "else OUT/checkpoints)")
    p.add_argument("--epochs", type=int, default=30, help="epochs to train (ignored with --minutes)")
    p.add_argument("--minutes", type=_positive, default=None,
                   help="train for this wall-clock budget instead of --epochs; the LR schedule ends with it and "
                        "the last test pass fits in it (start-up and the model write come on top)")
    p.add_argument("--steps", type=int, default=None,
                   help="train for this many optimizer steps instead of --epochs (a budget that does the same work "
                        "whatever the machine's load: benchmarks)")
    p.add_argument("--batch-size", type=int, default=8, help="tiles per step, per GPU (default 8)")
    p.add_argument("--lr", type=float, default=DEFAULT_LR,
                   help=f"peak learning rate of AdamW (default {DEFAULT_LR:g})")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    p.add_argument("--schedule", choices=SCHEDULES, default="cosine",
                   help="LR over the run's progress (steps, or time with --minutes): warm-up then cosine, poly "
                        "or one-cycle")
    p.add_argument("--warmup", type=float, default=0.05,
                   help="share of the run spent warming the LR up (onecycle: 0 means its usual 0.3)")
    p.add_argument("--backbone", choices=BACKBONE_CHOICES, default="mobilenet_v3_large",
                   help="DeepLabV3 encoder: mobilenet_v3_large is fast, resnet50/101 more accurate and slower")
    p.add_argument("--image-size", type=int, default=None,
                   help=f"training crop size in pixels (default {CPU_CROP} on a CPU, {GPU_CROP} on a GPU)")
    p.add_argument("--workers", type=int, default=None, help="data loader processes (default: by CPU count)")
    p.add_argument("--seed", type=int, default=0, help="random seed for weights, crops and order (default 0)")
    p.add_argument("--pretrained", type=_boolean, default=True,
                   help="start from ImageNet backbone weights when available (true/false)")
    p.add_argument("--precise-bn-batches", type=int, default=16,
                   help="training batches used to re-estimate BatchNorm statistics before each test (0: off)")
    p.add_argument("--freeze-bn", type=_auto_boolean, default=None,
                   help="keep the BatchNorm statistics fixed while training (auto: when fine-tuning with "
                        "--init-model; true/false)")
    p.add_argument("--fine-tune-lr-scale", type=float, default=FINE_TUNE_LR_SCALE,
                   help=f"with --init-model, the peak learning rate is --lr times this (default "
                        f"{FINE_TUNE_LR_SCALE:g}: a trained model is not wrecked in its first steps; 1: --lr as given)")
    p.add_argument("--eval-share", type=float, default=0.1,
                   help="most share of the time spent testing between epochs; skipped epochs repeat the last "
                        "metrics with metrics_epoch= (1: test every epoch)")
    p.add_argument("--init-model", default=None,
                   help="fine-tune from this model (folder, model.tar.gz or .pth; default: SM_CHANNEL_MODEL)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--cldice-weight", type=float, default=0.0,
                   help="weight of the soft clDice loss term, which rewards connected centre lines (default 0: off)")
    p.add_argument("--orientation-weight", type=float, default=0.0,
                   help="weight of an auxiliary loss that teaches the network each road's direction (a training-"
                        "only head, not saved with the model; default 0: off)")
    return p


def choose_crop(image_size: int | None, cuda: bool) -> tuple[int, str]:
    """The training crop and why: the one asked for, else the device's (CPU_CROP, GPU_CROP)."""
    if image_size is not None:
        return int(image_size), "--image-size"
    if cuda:
        return GPU_CROP, "the GPU default"
    return CPU_CROP, f"the CPU default, which learns fastest there; --image-size {GPU_CROP} for the GPU recipe"


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of minutes, got {text!r}")
    return value


def _boolean(text: str) -> bool:
    if str(text).strip().lower() in ("1", "true", "yes", "on"):
        return True
    if str(text).strip().lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _auto_boolean(text: str) -> bool | None:
    return None if str(text).strip().lower() == "auto" else _boolean(text)


def config_from_args(argv: list[str] | None = None) -> TrainConfig:
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:  # SageMaker may pass hyperparameters this version does not know
        log.warning("ignoring unknown arguments: %s", " ".join(unknown))
    return config_from_namespace(args)


def config_from_namespace(args: argparse.Namespace) -> TrainConfig:
    """Flags first, then the SageMaker environment (SM_MODEL_DIR, SM_CHANNEL_*)."""
    env = os.environ
    out = args.out or env.get("SM_MODEL_DIR")
    if not out:
        raise DataError("no output folder", "Pass --out DIR (SageMaker sets SM_MODEL_DIR).")
    train = test = None
    data = args.data
    if data is None:
        train, test = env.get("SM_CHANNEL_TRAIN"), env.get("SM_CHANNEL_TEST")
        data = env.get("SM_CHANNEL_TRAINING")
    init_model = args.init_model
    if init_model is None and env.get("SM_CHANNEL_MODEL"):
        init_model = env["SM_CHANNEL_MODEL"]
    return TrainConfig(out=out, data=data, train=train, test=test, checkpoint_dir=args.checkpoint_dir,
                       epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       weight_decay=args.weight_decay, schedule=args.schedule, warmup=args.warmup,
                       minutes=args.minutes, steps=args.steps, eval_share=args.eval_share, backbone=args.backbone,
                       image_size=args.image_size, workers=args.workers, seed=args.seed,
                       pretrained=args.pretrained, precise_bn_batches=args.precise_bn_batches,
                       freeze_bn=args.freeze_bn, fine_tune_lr_scale=args.fine_tune_lr_scale,
                       init_model=init_model, device=args.device, cldice_weight=args.cldice_weight,
                       orientation_weight=args.orientation_weight)
