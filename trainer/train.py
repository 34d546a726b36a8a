"""Training entry point: ``python -m trainer.train`` locally, ``train.py`` as the SageMaker entry point.

SageMaker passes hyperparameters as flags (``--epochs 10 --batch-size 8``), the data as
channels (SM_CHANNEL_TRAINING holding train/ and test/, or SM_CHANNEL_TRAIN + SM_CHANNEL_TEST)
and the output folder as SM_MODEL_DIR. Each epoch prints one ``key=value`` line on stdout for
``metric_definitions``; the run checkpoints every epoch and resumes after a spot interruption.
"""

from __future__ import annotations

if __name__ == "__main__" and not __package__:  # SageMaker runs `python train.py` inside source_dir
    import importlib.util as _util
    import os as _os
    import sys as _sys

    _here = _os.path.dirname(_os.path.abspath(__file__))
    _spec = _util.spec_from_file_location("trainer", _os.path.join(_here, "__init__.py"),
                                          submodule_search_locations=[_here])
    _package = _util.module_from_spec(_spec)
    _sys.modules["trainer"] = _package
    _spec.loader.exec_module(_package)
    from trainer.train import main as _main

    _sys.exit(_main())

import dataclasses
import itertools
import logging
import os
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, RandomSampler
from torch.utils.data.distributed import DistributedSampler

from .artifact import ModelMeta, load_model, save_model_dir
from .data import EvalTiles, RoadDataset, as_list, batches_by_size, resolve_splits
from .errors import DataError, RoadsegError
from .failure_reason import write_failure_reason
from .metrics import rounded
from .model import IMAGENET_MEAN, IMAGENET_STD, build_model, check_backbone
from .orientation import OrientationTerm
from .train_args import TrainConfig, build_parser, choose_crop, config_from_args, config_from_namespace  # noqa: F401
from .train_checkpoint import default_checkpoint_dir, load_checkpoint, save_checkpoint
from .train_best import keep_best, start_best
from .train_dist import Runtime, barrier, broadcast_flag, is_model_writer, setup_runtime, shutdown
from .train_lines import EPOCH_KEYS, _epoch_line, _fmt  # noqa: F401 - EPOCH_KEYS, _epoch_line: their old home
from .train_loop import make_scaler, recalibrate_batchnorm, run_test_pass, train_epoch
from .train_plan import (describe_epoch, freezes_bn, hyperparameters, is_last_epoch, loss_description, peak_lr,
                         run_is_over)
from .train_schedule import LrSchedule, Throttle, TrainingClock

log = logging.getLogger("trainer.train")
# Checkpoints are written after the first and last epochs and in between while they take at most this share
# of the time: every epoch when epochs are long, and a spot interruption then loses little.
CHECKPOINT_SHARE = 0.05
MIN_TIMED_EPOCH_STEPS = 16  # a --minutes epoch of a small set repeats its tiles up to this many steps


def _epoch_samples(config: TrainConfig, tiles: int) -> int:
    """Crops per epoch: one pass over the tiles, and at least MIN_TIMED_EPOCH_STEPS batches in a --minutes or
    --steps run.

    A budget run has no epoch count to honour, and one-batch epochs of a small set (14 tiles at batch 8) each
    wait for their first batch, print a line and may checkpoint: 10 % of a 20-minute CPU run went there."""
    if config.minutes is None and config.steps is None:
        return tiles
    return max(tiles, MIN_TIMED_EPOCH_STEPS * config.batch_size)


def _default_workers(runtime: Runtime) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_process = cpus // max(1, torch.cuda.device_count() if runtime.cuda else 1)
    return max(0, min(8 if runtime.cuda else 2, per_process - 1))


def _initial_model(config: TrainConfig):
    """A fresh model, or the one to fine-tune; returns (model, mean, std, parent_version)."""
    if config.init_model:
        loaded = load_model(_model_in(config.init_model))
        for note in loaded.notes:
            log.info("init model: %s", note)
        if loaded.meta.backbone != config.backbone:
            log.info("fine-tuning a %s model (the --backbone flag is ignored)", loaded.meta.backbone)
        config.backbone = loaded.meta.backbone
        return loaded.model, loaded.meta.mean, loaded.meta.std, loaded.meta.version
    model = build_model(config.backbone, pretrained_backbone=config.pretrained)
    return model, list(IMAGENET_MEAN), list(IMAGENET_STD), None


def _model_in(path: str) -> Path:
    """A SageMaker model channel is a folder holding model.tar.gz (or an unpacked model)."""
    path = Path(path)
    if path.is_dir() and not (path / "model.pth").exists() and (path / "model.tar.gz").exists():
        return path / "model.tar.gz"
    return path


def _loaders(config: TrainConfig, runtime: Runtime, train_pairs, test_pairs, mean, std):
    workers = config.workers if config.workers is not None else _default_workers(runtime)
    common = dict(num_workers=workers, pin_memory=runtime.cuda, persistent_workers=workers > 0)
    train_set = RoadDataset(train_pairs, config.image_size, augment=True, mean=mean, std=std)
    if runtime.distributed:
        sampler = DistributedSampler(train_set, runtime.world_size, runtime.rank, shuffle=True, seed=config.seed)
    else:
        sampler = RandomSampler(train_set, num_samples=_epoch_samples(config, len(train_set)))
    train_loader = DataLoader(train_set, batch_size=config.batch_size, sampler=sampler,
                              drop_last=len(train_set) // runtime.world_size > config.batch_size, **common)
    # every process evaluates its own share of the test tiles, without the padding a sampler would add;
    # batches hold tiles of one size (one tile on the CPU, as roadseg eval predicts), never padded
    test_set = EvalTiles(test_pairs)
    shard = range(runtime.rank, len(test_set), runtime.world_size)
    batches = batches_by_size(test_set.pairs, shard, config.batch_size if runtime.cuda else 1)
    test_loader = DataLoader(test_set, batch_sampler=batches, collate_fn=as_list, **common)
    return train_loader, test_loader


def fit(config: TrainConfig, on_epoch=None) -> dict:
    """Train, checkpointing every epoch; write the model folder. Returns the final test metrics."""
    check_backbone(config.backbone)
    if config.epochs < 1 or config.batch_size < 1 or (config.image_size is not None and config.image_size < 32):
        raise DataError("--epochs and --batch-size must be at least 1 and --image-size at least 32")
    if config.minutes is not None and not config.minutes > 0:
        raise DataError(f"--minutes must be more than 0 (got {config.minutes})")
    if config.steps is not None and (config.steps < 1 or config.minutes is not None):
        raise DataError(f"--steps must be at least 1 and cannot go with --minutes (got {config.steps})")
    if not 0 < config.eval_share <= 1 or not 0 <= config.warmup < 1:
        raise DataError(f"--eval-share must be in (0, 1] and --warmup in [0, 1) "
                        f"(got {config.eval_share} and {config.warmup})")
    _check_writable_folder(Path(config.out), "--out")
    if config.checkpoint_dir:
        _check_writable_folder(Path(config.checkpoint_dir), "--checkpoint-dir")
    runtime = setup_runtime(config.device)
    try:
        return _fit(config, runtime, on_epoch)
    finally:
        shutdown(runtime)


def _check_writable_folder(folder: Path, flag: str) -> None:
    """Fail before the first epoch, not after it, when the output cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{flag} {folder} cannot be used as a folder ({exc.strerror or exc})",
                        "Pass a folder path that can be created or written.", folder) from exc
    if not os.access(folder, os.W_OK):
        raise DataError(f"{flag} {folder} is not writable", "Pass a folder you can write to.", folder)


def _fit(config: TrainConfig, runtime: Runtime, on_epoch) -> dict:
    started = time.perf_counter()
    config.image_size, why = choose_crop(config.image_size, runtime.cuda)
    if runtime.is_main:   # the first line of the log: the crop decides how fast a CPU run learns
        log.info("training crop %d px (%s); device %s", config.image_size, why, runtime.device)
        if loss_description(config):
            log.info("loss: %s", loss_description(config))
    torch.manual_seed(config.seed)
    train_files, test_files = resolve_splits(config.data, config.train, config.test)
    model, mean, std, parent = _initial_model(config)
    out_dir = Path(config.out)
    checkpoint_dir = Path(config.checkpoint_dir) if config.checkpoint_dir else default_checkpoint_dir(out_dir)
    checkpoint = load_checkpoint(checkpoint_dir, dataclasses.asdict(config))
    if checkpoint is not None:
        model.net.load_state_dict(checkpoint["model"])
    if runtime.is_main:
        log.info("train: %d tiles from %s; test: %d tiles from %s; device %s x%d", len(train_files.pairs),
                 train_files.directory, len(test_files.pairs), test_files.directory, runtime.device,
                 runtime.world_size)
    model.to(runtime.device)
    if runtime.cuda:
        torch.backends.cudnn.benchmark = True
        model = model.to(memory_format=torch.channels_last)
        if runtime.distributed:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    net = model
    if runtime.distributed:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[runtime.local_rank] if runtime.cuda else None)
    top_lr = peak_lr(config)
    if config.init_model and runtime.is_main:
        log.info("fine-tuning: peak lr %g (--lr %g x --fine-tune-lr-scale %g); BatchNorm statistics %s", top_lr,
                 config.lr, config.fine_tune_lr_scale, "kept" if freezes_bn(config) else "re-estimated")
    orientation = OrientationTerm(model, config.orientation_weight, distributed=runtime.distributed)
    optimizer = torch.optim.AdamW([*model.parameters(), *orientation.parameters()], lr=top_lr,
                                  weight_decay=config.weight_decay)
    scaler = make_scaler(runtime)
    history, first_epoch, step, spent, budget_done = [], 1, 0, 0.0, False
    unreadable_tests: dict = {}  # name -> reason, each reported once however many epochs meet it
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        if scaler is not None and checkpoint.get("scaler"):
            scaler.load_state_dict(checkpoint["scaler"])
        history, first_epoch, step = list(checkpoint["history"]), checkpoint["epoch"] + 1, checkpoint["step"]
        spent = float(checkpoint.get("elapsed_seconds", 0.0))
        budget_done = bool(checkpoint.get("budget_done")) and checkpoint["config"].get("minutes") == config.minutes
    train_loader, test_loader = _loaders(config, runtime, train_files.pairs, test_files.pairs, mean, std)
    best = start_best(config, runtime, checkpoint, checkpoint_dir, model, test_loader, mean, std, unreadable_tests)
    if config.minutes is not None:
        clock = TrainingClock(budget_seconds=config.minutes * 60.0, spent_seconds=spent)
    elif config.steps is not None:
        clock = TrainingClock(total_steps=config.steps)
    else:
        clock = TrainingClock(total_steps=config.epochs * len(train_loader))
    lr_schedule = LrSchedule(top_lr, config.schedule, config.warmup)
    testing = Throttle(config.eval_share, cold_start=runtime.cuda)
    checkpointing = Throttle(CHECKPOINT_SHARE)
    # re-estimating BN over more batches than half a pass over the tiles costs more than it helps on a small set
    pass_batches = len(train_loader.dataset) // max(1, runtime.world_size) // config.batch_size
    bn_batches = min(config.precise_bn_batches, max(1, pass_batches // 2))
    frozen_bn = freezes_bn(config)
    final, measured = None, None
    line_at = time.perf_counter()
    # checked once: after that only the last epoch (which is always tested) ends the run
    over = run_is_over(config, clock, first_epoch, step, budget_done)
    for epoch in () if over else itertools.count(first_epoch):
        torch.manual_seed(config.seed * 1000 + epoch)  # a resumed epoch sees the same crops and flips
        if isinstance(train_loader.sampler, DistributedSampler):
            train_loader.sampler.set_epoch(epoch)
        timings: dict = {}
        train_started = time.perf_counter()
        train_loss, step = train_epoch(net, train_loader, optimizer, scaler, runtime, step=step, clock=clock,
                                       lr_schedule=lr_schedule, timings=timings, frozen_bn=frozen_bn,
                                       cldice_weight=config.cldice_weight, orientation=orientation,
                                       description=describe_epoch(config, epoch))
        last = is_last_epoch(config, clock, epoch, step, time.perf_counter() - train_started, runtime)
        if broadcast_flag(testing.due(clock.elapsed(), force=last), runtime):
            eval_started = time.perf_counter()
            # the unwrapped model: no DDP bookkeeping for forward-only passes (SyncBN still syncs in train mode)
            if not frozen_bn:
                recalibrate_batchnorm(model, train_loader, runtime, bn_batches)
            test_loss, final = run_test_pass(model, test_loader, runtime, mean, std, unreadable_tests, apls=last)
            measured = {"test_loss": test_loss, **{f"test_{k}": v for k, v in final.items()}, "metrics_epoch": epoch}
            best.consider(epoch, final, model, test_loss)
            testing.record(time.perf_counter() - eval_started)
            if testing.measured:
                clock.reserve(testing.cost)  # the last epoch's test pass must fit in the budget too
        now = time.perf_counter()
        wall, line_at = now - line_at, now  # the checkpoint write below counts in the next epoch's overhead
        record = {"epoch": epoch, "train_loss": train_loss, **measured, "lr": optimizer.param_groups[0]["lr"],
                  "seconds": wall, "overhead": max(0.0, 1.0 - timings.get("compute_seconds", 0.0) / max(wall, 1e-9)),
                  "progress": clock.progress(step)}
        history.append(rounded(record, 6))
        if runtime.is_main:
            print(_epoch_line(record), flush=True)
            if checkpointing.due(clock.elapsed(), force=last):
                save_started = time.perf_counter()
                best.save(checkpoint_dir)  # first: a checkpoint never refers to a best state not yet written
                save_checkpoint(checkpoint_dir, model=model, optimizer=optimizer, scaler=scaler, epoch=epoch,
                                step=step, config=dataclasses.asdict(config), history=history,
                                elapsed_seconds=clock.elapsed(), budget_done=last and clock.timed)
                checkpointing.record(time.perf_counter() - save_started)
        barrier(runtime)
        if on_epoch is not None:
            on_epoch(record)
        if last:
            break
    orientation.detach()
    if final is None:  # resumed after the last epoch had already finished
        _, final = run_test_pass(model, test_loader, runtime, mean, std, unreadable_tests, apls=True)
    epochs_run = history[-1]["epoch"] if history else 0
    best.consider(epochs_run, final, model)
    final = keep_best(best, final, epochs_run, model, test_loader, runtime, mean, std, unreadable_tests)
    result = rounded(final)
    if unreadable_tests:  # the summary lists what was left out of the metrics, as list_pairs' skips are
        test_files.skipped.extend(unreadable_tests.items())
        test_files.pairs = [pair for pair in test_files.pairs if pair.image.name not in unreadable_tests]
    if is_model_writer(runtime):
        meta = ModelMeta(backbone=config.backbone, mean=list(mean), std=list(std), threshold=0.5,
                         image_size=config.image_size, metrics=result,
                         data={"train": train_files.summary(), "test": test_files.summary()},
                         hyperparameters=hyperparameters(config, epochs_run),
                         lineage={"parent": parent, "history": history, "kept": best.describe()})
        save_model_dir(model.cpu(), meta, out_dir)
        seconds = time.perf_counter() - started
        budget = f" minutes={config.minutes:g}" if config.minutes else ""
        print("final " + " ".join(f"test_{k}={_fmt(k, v)}" for k, v in final.items())
              + f" epochs={epochs_run}{budget} kept_epoch={best.epoch} seconds={seconds:.1f} version={meta.version}",
              flush=True)
        result = {**result, "version": meta.version, "model_dir": str(out_dir), "kept_epoch": best.epoch}
        if best.start_metrics:
            result["start_iou"] = best.start_metrics["iou"]
    barrier(runtime)
    return result


def main(argv: list[str] | None = None) -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        fit(config_from_args(argv))
    except RoadsegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        write_failure_reason(str(exc))
        return 1
    except Exception as exc:  # the traceback goes to the log; the job's FailureReason gets one sentence
        first_line = (str(exc).strip().splitlines() or [""])[0]
        write_failure_reason(f"training stopped on an unexpected {type(exc).__name__}: {first_line} "
                             "(the job's CloudWatch log has the traceback)")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
