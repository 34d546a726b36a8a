"""What the orientation auxiliary term (``--orientation-weight``) costs per training step on the CPU.

    taskset -c 0 .venv/bin/python bench/bench_orientation.py [--batch 8 --size 256 --steps 6 --threads 1]

Times full training steps (MobileNetV3 DeepLabV3 from scratch, forward, BCE + Dice, backward, AdamW) on a
batch of synthetic tiles, without and with the orientation term, alternating so that load drifts hit both,
the target computation alone (on the loss's 4 x 4 cells) and the term alone (head, targets, loss, backward).
Last line: ``plain_step_s=… orientation_step_s=… overhead=… targets_s=… term_s=… term_share=…`` (overhead:
the step's extra time as a share of the plain step; term_share: the term alone's, steadier under load).
Figures, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.losses import bce_dice_loss  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.orientation import LOSS_STRIDE, OrientationTerm, orientation_loss, orientation_targets  # noqa: E402
from trainer.synthetic import make_tile  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=6, help="timed steps of each kind (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tiles = [make_tile(args.size, seed) for seed in range(args.batch)]
    images = torch.from_numpy(np.stack([t[0] for t in tiles])).permute(0, 3, 1, 2).float() / 255.0
    targets = torch.from_numpy(np.stack([t[1] for t in tiles]).astype(np.uint8))
    plain_model, oriented_model = build_model("mobilenet_v3_large").train(), build_model("mobilenet_v3_large").train()
    term = OrientationTerm(oriented_model, 0.5)
    runs = {False: (plain_model, torch.optim.AdamW(plain_model.parameters(), lr=1e-4)),
            True: (oriented_model, torch.optim.AdamW([*oriented_model.parameters(), *term.parameters()], lr=1e-4))}

    def step(with_orientation: bool) -> float:
        model, optimizer = runs[with_orientation]
        started = time.perf_counter()
        loss = bce_dice_loss(model(images), targets)
        if with_orientation:
            loss = loss + term.loss(targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return time.perf_counter() - started

    step(False), step(True)   # warm-up
    plain, oriented = [], []
    for _ in range(args.steps):   # alternating: a change of load hits both
        plain.append(step(False))
        oriented.append(step(True))
    target_times = []
    for _ in range(args.steps):
        started = time.perf_counter()
        orientation_targets(targets, stride=LOSS_STRIDE)
        target_times.append(time.perf_counter() - started)
    features = torch.randn(args.batch, 256, args.size // 16, args.size // 16, requires_grad=True)
    term_times = []   # the term alone (head, targets, loss, backward): a figure the load's noise does not drown
    for _ in range(args.steps):
        started = time.perf_counter()
        orientation_loss(term.head(features), targets).backward()
        term_times.append(time.perf_counter() - started)
    plain_s, oriented_s, targets_s, term_s = (statistics.median(x) for x in (plain, oriented, target_times, term_times))
    print(f"{args.batch} x {args.size}^2 batch, {args.threads} thread(s), load {os.getloadavg()[0]:.1f}: "
          f"plain step {plain_s:.3f} s, with orientation {oriented_s:.3f} s, targets alone {targets_s * 1000:.1f} ms, "
          f"the term alone {term_s * 1000:.1f} ms")
    print(f"plain_step_s={plain_s:.4f} orientation_step_s={oriented_s:.4f} "
          f"overhead={oriented_s / plain_s - 1.0:.3f} targets_s={targets_s:.4f} term_s={term_s:.4f} "
          f"term_share={term_s / plain_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
