"""Connectivity QA after one brush stroke: the full check against the incremental one.

    .venv/bin/python bench/bench_qa.py [--strokes N]

Masks of 1024² and 4096² (roads 7 px wide, drawn as random straight streets):
- ``pieces``: a tile of many separate road pieces (a mask being labeled piece by piece);
- ``network``: the same streets joined into one network (each stroke then touches the big piece).
Each stroke (a 9-px disk brush, painting on a road) is checked by ``check_mask`` (the full check,
the baseline) and by ``IncrementalQA.check`` (the overlay's), and both results are compared.
Targets: <= 100 ms on 1024², <= 1 s on 4096². Last line: key=value figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402
from skimage.draw import disk, line  # noqa: E402

from roadseg_gui.core.connectivity_qa import QASettings, check_mask  # noqa: E402
from roadseg_gui.core.qa_incremental import IncrementalQA  # noqa: E402

SETTINGS = QASettings(road_width=7)


def streets(n: int, joined: bool, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lines = np.zeros((n, n), bool)
    for _ in range(n // 32):
        r0, c0 = rng.integers(0, n, 2)
        length = rng.integers(n // 16, n // 4) if not joined else n
        angle = rng.uniform(0, np.pi)
        r1, c1 = np.clip([r0 + length * np.sin(angle), c0 + length * np.cos(angle)], 0, n - 1).astype(int)
        rr, cc = line(r0, c0, r1, c1)
        lines[rr, cc] = True
    return ndimage.binary_dilation(lines, iterations=3)


def bench(n: int, joined: bool, strokes: int) -> tuple[float, float, int]:
    mask = streets(n, joined)
    checker = IncrementalQA()
    checker.check(mask, None, SETTINGS)            # the tile's first check (its state)
    rng = np.random.default_rng(1)
    road = np.argwhere(mask)
    full, incremental, pieces = [], [], 0
    for _ in range(strokes):
        r, c = road[rng.integers(len(road))]
        rr, cc = disk((r + rng.integers(-6, 7), c + rng.integers(-6, 7)), 9, shape=mask.shape)
        mask[rr, cc] = True
        start = time.perf_counter()
        fast = checker.check(mask, None, SETTINGS)
        incremental.append(time.perf_counter() - start)
        start = time.perf_counter()
        slow = check_mask(mask, None, SETTINGS)
        full.append(time.perf_counter() - start)
        assert fast == slow, "the incremental check differs from the full one"
        pieces = max(pieces, int(ndimage.label(mask, np.ones((3, 3)))[1]))
    return statistics.median(full), statistics.median(incremental), pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=5)
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    figures = []
    for n in (1024, 4096):
        for joined in (False, True):
            name = f"{n}_{'network' if joined else 'pieces'}"
            full, fast, pieces = bench(n, joined, args.strokes)
            print(f"{name}: {pieces} pieces; full {full * 1000:.0f} ms, incremental {fast * 1000:.0f} ms "
                  f"({full / fast:.1f}x faster), median of {args.strokes} strokes, results equal")
            figures.append(f"{name}_ms={fast * 1000:.0f} {name}_full_ms={full * 1000:.0f} "
                           f"{name}_speedup={full / fast:.1f}")
    print(" ".join(figures))


if __name__ == "__main__":
    main()
