"""How fast road review answers on a 1024^2 tile: one accept or reject (with the candidate list
updated around it) against the heavy part made once per tile and threshold (the predicted network).

The probability is a grid of slanted roads, blurred, with noise (no trained model needed). Printed:
the network time (the baseline, off the UI thread), the median and worst accept+update and
reject+update times over --steps actions, their ratio to the baseline, and whether the worst stays
under the issue's 100 ms target.

    python bench/bench_review.py [--size 1024] [--steps 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from roadseg_gui.core.mask_edit import MaskDocument  # noqa: E402
from roadseg_gui.core.review.accept import accept_candidate  # noqa: E402
from roadseg_gui.core.review.candidates import CandidateList, ReviewSettings  # noqa: E402
from roadseg_gui.core.review.network import predicted_network  # noqa: E402

TARGET_MS = 100.0


def grid_probability(size: int, seed: int) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    document = MaskDocument((size, size))
    for position in np.linspace(size * 0.04, size * 0.96, 12):
        bend = float(rng.uniform(-0.08, 0.08)) * size
        document.road_line([(0, position), (size - 1, position + bend)], 9)
        document.road_line([(position, 0), (position + bend, size - 1)], 9)
    p = gaussian_filter(document.mask.astype(np.float32), 2) * 0.95 + rng.normal(0, 0.06, (size, size))
    return (np.clip(p, 0, 1) * 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    probability = grid_probability(args.size, args.seed)
    started = time.perf_counter()
    network = predicted_network(probability, 0.5)
    network_ms = (time.perf_counter() - started) * 1000
    document = MaskDocument((args.size, args.size))
    settings = ReviewSettings()
    candidates = CandidateList(network, document.mask, settings)
    print(f"tile={args.size}x{args.size} edges={len(network.edges)} candidates={len(candidates)} "
          f"network_ms={network_ms:.0f}")
    accepts, rejects = [], []
    for step in range(args.steps):
        if not len(candidates):
            break
        started = time.perf_counter()
        if step % 2 == 0:
            outcome = accept_candidate(document, candidates.items[0], settings)
            candidates.update(document.mask, outcome.edit.rect if outcome.edit is not None else None)
            _ = candidates.items
            accepts.append((time.perf_counter() - started) * 1000)
        else:
            candidates.reject(candidates.items[len(candidates) // 2])
            _ = candidates.items
            rejects.append((time.perf_counter() - started) * 1000)
    for name, times in (("accept", accepts), ("reject", rejects)):
        if times:
            print(f"{name}_median_ms={np.median(times):.1f} {name}_worst_ms={max(times):.1f} "
                  f"{name}_vs_network={max(times) / network_ms:.3f} "
                  f"{name}_under_{TARGET_MS:.0f}ms={'yes' if max(times) < TARGET_MS else 'no'}")


if __name__ == "__main__":
    main()
