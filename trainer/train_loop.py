"""One training epoch and one evaluation pass; AMP and channels_last on CUDA, plain fp32 on the CPU."""

from __future__ import annotations

import contextlib
import logging
import sys
import time

import numpy as np
import torch
from skimage.morphology import skeletonize  # noqa: F401 - imported up front: its slow first import is not test time

from . import devices
from .data import Unreadable
from .losses import bce_dice_loss
from .metrics import Confusion
from .roadgraph.metrics import ConnectivityTotals
from .roadgraph.skeleton import skeletonize_mask
from .tiling import pad_to, plan_tiles, predict_tiled
from .torch_engine import ImageToProbability
from .train_dist import Runtime, all_reduce_sum, broadcast_value
from .train_schedule import LrSchedule, TrainingClock, decay

log = logging.getLogger(__name__)

# roadseg eval's defaults (trainer.evaluate / Predictor), so the metrics written at training time match it
EVAL_TILE, EVAL_OVERLAP, PREDICT_THRESHOLD = 512, 64, 0.5


def amp_dtype(runtime: Runtime):
    return devices.amp_dtype(runtime.device)


def autocast(runtime: Runtime):
    dtype = amp_dtype(runtime)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=dtype)


def make_scaler(runtime: Runtime):
    """Loss scaling is only needed for fp16 (bf16 has fp32's range)."""
    if amp_dtype(runtime) is torch.float16:
        return torch.amp.GradScaler("cuda")
    return None


def lr_at(step: int, total_steps: int, base_lr: float, schedule: str = "cosine", warmup: int = 0) -> float:
    """Learning rate for an optimizer step of a run counted in steps: linear warm-up over ``warmup``
    steps, then cosine (to 1 % of base) or poly(0.9) decay (``train_schedule`` has the progress form)."""
    if warmup and step < warmup:
        return base_lr * (step + 1) / warmup
    return decay((step - warmup) / max(1, total_steps - warmup), base_lr, schedule)


def _to_device(images, targets, runtime: Runtime):
    if runtime.cuda:
        images = images.to(runtime.device, non_blocking=True, memory_format=torch.channels_last)
        return images, targets.to(runtime.device, non_blocking=True)
    return images, targets


def _progress(loader, runtime: Runtime, description: str):
    """A progress bar only for a person at a terminal (never in SageMaker's logs)."""
    if not (runtime.is_main and sys.stderr.isatty()):
        return loader
    try:
        from tqdm import tqdm
    except ImportError:
        return loader
    return tqdm(loader, desc=description, leave=False, file=sys.stderr, dynamic_ncols=True)


def train_epoch(model, loader, optimizer, scaler, runtime: Runtime, *, step: int, total_steps: int = 0,
                base_lr: float = 0.0, schedule: str = "cosine", warmup: int = 0, description: str = "train",
                timings: dict | None = None, clock: TrainingClock | None = None,
                lr_schedule: LrSchedule | None = None, frozen_bn: bool = False,
                cldice_weight: float = 0.0, orientation=None) -> tuple[float, int]:
    """Returns (mean train loss over all processes, global step after the epoch).

    With a ``clock`` and ``lr_schedule`` the LR follows the clock's progress and a budget clock (time
    or steps) ends the epoch once it is spent; without them, ``lr_at`` over ``total_steps``.
    ``frozen_bn`` keeps BatchNorm layers in eval mode: they normalise with the statistics they have.
    ``orientation`` (an ``OrientationTerm``) adds its auxiliary loss to each step's."""
    train_mode(model, frozen_bn)
    loss_sum, samples = 0.0, 0
    data_seconds, step_seconds = 0.0, 0.0
    waited = time.perf_counter()
    for images, targets in _progress(loader, runtime, description):
        started = time.perf_counter()
        data_seconds += started - waited
        if images.shape[0] == 1:  # BatchNorm in the ASPP pooling branch needs two samples
            images, targets = torch.cat([images, images.flip(-1)]), torch.cat([targets, targets.flip(-1)])
        if clock is not None:
            progress = _shared_progress(clock, step, runtime)
            if progress >= 1.0:
                break  # the budget (time or steps) is spent: every process stops at the same step
            lr = lr_schedule.at(progress)
        else:
            lr = lr_at(step, total_steps, base_lr, schedule, warmup)
        images, targets = _to_device(images, targets, runtime)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast(runtime):
            logits = model(images)
        loss = bce_dice_loss(logits, targets, cldice_weight=cldice_weight)
        if orientation is not None:
            loss = loss + orientation.loss(targets)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        loss_sum += float(loss.detach()) * images.shape[0]
        samples += images.shape[0]
        step += 1
        waited = time.perf_counter()
        step_seconds += waited - started
    if timings is not None:
        timings["data_seconds"] = timings.get("data_seconds", 0.0) + data_seconds
        timings["compute_seconds"] = timings.get("compute_seconds", 0.0) + step_seconds
        timings["samples"] = timings.get("samples", 0) + samples
    total, count = all_reduce_sum([loss_sum, float(samples)], runtime)
    return total / max(count, 1.0), step


def batchnorm_layers(model) -> list:
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def train_mode(model, frozen_bn: bool = False) -> None:
    """Training mode; with ``frozen_bn`` the BatchNorm layers stay in eval mode (their affine weights still
    train). Fine-tuning needs it: re-estimating statistics from a few small batches of crops throws away
    the ones the model was trained with (bench/RESULTS.md, "Short fine-tunes")."""
    model.train()
    if frozen_bn:
        for layer in batchnorm_layers(model):
            layer.eval()


def _shared_progress(clock: TrainingClock, step: int, runtime: Runtime) -> float:
    """Rank 0's progress on every process, so a timed run stops all of them at the same step."""
    progress = clock.progress(step)
    if clock.timed and runtime.distributed:
        progress = broadcast_value(progress, runtime)
    return progress


@torch.no_grad()
def recalibrate_batchnorm(model, loader, runtime: Runtime, max_batches: int) -> None:
    """Re-estimate BatchNorm running statistics with the current weights ("precise BN").

    Early in training the weights move faster than BN's running averages follow, so eval-mode
    predictions lag far behind train-mode ones; a short forward pass over training crops fixes
    that before each evaluation, at the cost of ``max_batches`` forward passes."""
    norms = batchnorm_layers(model)
    if not norms or max_batches <= 0:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    for index, (images, _) in enumerate(loader):
        if index >= max_batches:
            break
        if images.shape[0] == 1:
            images = torch.cat([images, images.flip(-1)])
        images, _ = _to_device(images, images, runtime)
        with autocast(runtime):
            model(images)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


@torch.no_grad()
def evaluate_epoch(model, loader, runtime: Runtime, mean, std, reported: dict | None = None,
                   roads: ConnectivityTotals | None = None, apls: bool = False) -> tuple[float, Confusion]:
    """Mean test loss and the confusion counts of the whole test set (summed over processes).

    ``roads`` (optional) collects clDice's skeleton counts per tile, cheap enough for every test pass,
    and APLS too when ``apls`` (graphs and shortest paths: the final pass only), as ``roadseg eval`` does.

    Each tile is predicted as ``roadseg eval`` predicts it (``Predictor``: reflect padded to a multiple
    of 32, 512-px windows blended beyond that, probability >= 0.5), never padded to a batch
    neighbour's size, so batch size cannot change the numbers. ``loader`` yields lists of
    ``EvalTiles`` items of one size; an unreadable tile is left out and reported once (its name and
    reason go into ``reported``)."""
    model.eval()
    reported = {} if reported is None else reported
    to_probability = ImageToProbability(model, mean, std).to(runtime.device)
    confusion = Confusion()
    loss_sum, samples = 0.0, 0
    for items in _progress(loader, runtime, "test"):
        tiles = []
        for item in items:
            if isinstance(item, Unreadable):
                if item.name not in reported:
                    reported[item.name] = item.reason
                    log.warning("skipped test tile %s: %s", item.name, item.reason)
            else:
                tiles.append(item)
        if not tiles:
            continue
        targets = torch.from_numpy(np.stack([target for _, _, target in tiles])).to(runtime.device)
        logits, probability = _predict_tiles(to_probability, [image for _, image, _ in tiles], runtime)
        loss_sum += float(bce_dice_loss(logits, targets)) * len(tiles)
        samples += len(tiles)
        confusion.add(probability >= PREDICT_THRESHOLD, targets == 1)
        if roads is not None:
            _add_roads(roads, probability.cpu().numpy(), (targets == 1).cpu().numpy(), apls)
    road_counts = _ROAD_COUNTS if roads is not None else ()
    summed = all_reduce_sum([loss_sum, float(samples), *confusion.as_list(),
                             *(getattr(roads, name) for name in road_counts)], runtime)
    for name, value in zip(road_counts, summed[7:]):
        setattr(roads, name, value if name in ("apls_sum", "apls_raw_sum") else int(value))
    return summed[0] / max(summed[1], 1.0), Confusion.from_list(summed[2:7])


_ROAD_COUNTS = ("pred_skeleton", "pred_inside", "truth_skeleton", "truth_inside", "apls_sum", "apls_raw_sum",
                "apls_count")


def _add_roads(roads: ConnectivityTotals, probabilities: np.ndarray, truths: np.ndarray, apls: bool) -> None:
    for probability, truth in zip(probabilities, truths):
        pred = probability >= PREDICT_THRESHOLD
        if apls:   # apls of the bridged network (over this probability) and apls_raw of the skeleton
            roads.add(pred, truth, probability)
            continue
        # clDice's counts alone, as ConnectivityTotals.add keeps them (without its APLS graphs)
        pred_skeleton, truth_skeleton = skeletonize_mask(pred), skeletonize_mask(truth)
        roads.pred_skeleton += int(np.count_nonzero(pred_skeleton))
        roads.pred_inside += int(np.count_nonzero(pred_skeleton & truth))
        roads.truth_skeleton += int(np.count_nonzero(truth_skeleton))
        roads.truth_inside += int(np.count_nonzero(truth_skeleton & pred))


def _predict_tiles(to_probability: ImageToProbability, images: list, runtime: Runtime
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """(float32 logits N x 1 x H x W, probability N x H x W) for same-size uint8 images, windowed
    as the Predictor does."""
    height, width = images[0].shape[:2]
    plan = plan_tiles(height, width, EVAL_TILE, EVAL_OVERLAP)
    if plan.count > 1:  # larger than a window: the Predictor's blended probability, as logits
        def engine(batch):
            with autocast(runtime):
                return to_probability(torch.from_numpy(batch).to(runtime.device)).float().cpu().numpy()
        probs = [predict_tiled(image, engine, EVAL_TILE, EVAL_OVERLAP, 1) for image in images]
        probability = torch.from_numpy(np.stack(probs)).to(runtime.device)
        return torch.logit(probability.double(), eps=1e-7).float()[:, None], probability
    batch = torch.from_numpy(np.stack([pad_to(image, plan.window_h, plan.window_w) for image in images]))
    batch = batch.to(runtime.device, non_blocking=runtime.cuda)
    x = batch.permute(0, 3, 1, 2).float() * to_probability.scale - to_probability.shift
    with autocast(runtime):
        logits = to_probability.model(x)
    logits = logits.float()
    # the whole window's sigmoid, cropped: exactly ImageToProbability.forward, then the Predictor's crop
    return logits[:, :, :height, :width], torch.sigmoid(logits)[:, 0, :height, :width]


def run_test_pass(model, test_loader, runtime: Runtime, mean, std, unreadable: dict, *, apls: bool
                  ) -> tuple[float, dict]:
    """(test loss, metrics): the pixel metrics and clDice every time, APLS on the final pass only (it builds
    graphs and shortest paths per tile)."""
    roads = ConnectivityTotals()
    test_loss, confusion = evaluate_epoch(model, test_loader, runtime, mean, std, unreadable, roads, apls=apls)
    connectivity = roads.as_dict()
    metrics = {**confusion.as_dict(), "cldice": connectivity["cldice"]}
    if apls:   # apls: the network a user gets (bridged); apls_raw: the raw skeleton's
        metrics["apls"], metrics["apls_raw"] = connectivity["apls"], connectivity["apls_raw"]
    return test_loss, metrics
