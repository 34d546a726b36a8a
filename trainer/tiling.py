"""Sliding-window prediction of images of any size, with overlap and weighted blending.

The model sees fixed-size windows (``tile``); neighbouring windows overlap by
``overlap`` pixels and are blended with weights that fall quadratically towards each
window's edges, so there are no seams. Images smaller than a window are reflect
padded (bottom/right) to a multiple of 32, so tiny and odd sizes (1x1, 513x1000) work.

The engine is any callable ``batch_fn(uint8 N x h x w x 3) -> float32 N x h x w``
probabilities; this module knows nothing about torch or ONNX.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

BatchFn = Callable[[np.ndarray], np.ndarray]
CancelFn = Callable[[], bool]

SIZE_MULTIPLE = 32  # DeepLabV3's output stride is 8 or 16; whole multiples keep outputs aligned


class Cancelled(Exception):
    """Raised inside a prediction when its cancel callback returned True."""


def round_up(value: int, multiple: int = SIZE_MULTIPLE) -> int:
    return max(multiple, -(-value // multiple) * multiple)


def window_positions(length: int, window: int, stride: int) -> list[int]:
    """Start offsets of windows covering [0, length); the last one ends exactly at ``length``."""
    if length <= window:
        return [0]
    positions = list(range(0, length - window, stride))
    positions.append(length - window)
    return positions


def ramp(length: int, overlap: int) -> np.ndarray:
    """1-D blending weights: 1 in the middle, falling towards each edge over ``overlap`` pixels.

    The fall is quadratic: a CNN's predictions are worst right at a window's edge (zero
    padding), so those pixels should count far less than a neighbour's interior, while
    pixels only one window covers (image borders) still get a value: weights are never 0.
    """
    if overlap <= 0:
        return np.ones(length, np.float32)
    distance = np.minimum(np.arange(length), np.arange(length)[::-1]).astype(np.float32)
    return np.clip((distance + 0.5) / overlap, 1e-3, 1.0) ** 2


@dataclass(frozen=True)
class TilePlan:
    """Where the windows go for an image of ``height`` x ``width``."""

    height: int
    width: int
    window_h: int
    window_w: int
    overlap: int
    ys: tuple[int, ...]
    xs: tuple[int, ...]

    @property
    def padded_h(self) -> int:
        return max(self.height, self.window_h)

    @property
    def padded_w(self) -> int:
        return max(self.width, self.window_w)

    @property
    def count(self) -> int:
        return len(self.ys) * len(self.xs)

    def weights(self) -> np.ndarray:
        return np.outer(ramp(self.window_h, self.overlap), ramp(self.window_w, self.overlap))


def plan_tiles(height: int, width: int, tile: int = 512, overlap: int = 64) -> TilePlan:
    if height <= 0 or width <= 0:
        raise ValueError(f"image has no pixels ({width}x{height})")
    if tile < SIZE_MULTIPLE or not 0 <= overlap <= tile // 2:
        raise ValueError(f"need tile >= {SIZE_MULTIPLE} and 0 <= overlap <= tile/2 (got {tile}, {overlap})")
    window_h = min(tile, round_up(height))
    window_w = min(tile, round_up(width))
    # a window smaller than the tile covers the whole (padded) side, so its stride never matters
    ys = window_positions(max(height, window_h), window_h, tile - overlap)
    xs = window_positions(max(width, window_w), window_w, tile - overlap)
    return TilePlan(height, width, window_h, window_w, overlap, tuple(ys), tuple(xs))


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Reflect-pad an H x W (x C) array at the bottom/right up to ``height`` x ``width``."""
    pad_h, pad_w = max(0, height - image.shape[0]), max(0, width - image.shape[1])
    if not pad_h and not pad_w:
        return image
    pads = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (image.ndim - 2)
    if min(image.shape[:2]) == 1:  # reflect needs two pixels; a single row/column repeats
        return np.pad(image, pads, mode="edge")
    return np.pad(image, pads, mode="reflect")


def batched(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def run_windows(image: np.ndarray, origins: Sequence[tuple[int, int]], window: tuple[int, int],
                batch_fn: BatchFn, batch_size: int, cancel: CancelFn | None = None
                ) -> Iterable[tuple[tuple[int, int], np.ndarray]]:
    """Yield ((y, x), probability window) for each origin, calling ``batch_fn`` in batches."""
    wh, ww = window
    for group in batched(origins, max(1, batch_size)):
        if cancel is not None and cancel():
            raise Cancelled()
        batch = np.stack([image[y:y + wh, x:x + ww] for y, x in group])
        probs = np.asarray(batch_fn(batch), dtype=np.float32)
        if probs.shape != (len(group), wh, ww):
            raise RuntimeError(f"engine returned shape {probs.shape}, expected {(len(group), wh, ww)}")
        yield from zip(group, probs)


def predict_tiled(image: np.ndarray, batch_fn: BatchFn, tile: int = 512, overlap: int = 64,
                  batch_size: int = 4, cancel: CancelFn | None = None) -> np.ndarray:
    """Road probability (float32 H x W, 0..1) for a uint8 H x W x 3 image of any size."""
    height, width = image.shape[:2]
    plan = plan_tiles(height, width, tile, overlap)
    padded = pad_to(image, plan.padded_h, plan.padded_w)
    window = (plan.window_h, plan.window_w)
    origins = [(y, x) for y in plan.ys for x in plan.xs]
    if len(origins) == 1:  # one window: nothing to blend
        (_, prob), = run_windows(padded, origins, window, batch_fn, 1, cancel)
        return np.ascontiguousarray(prob[:height, :width])
    weights = plan.weights()
    total = np.zeros((plan.padded_h, plan.padded_w), np.float32)
    weight_sum = np.zeros_like(total)
    for (y, x), prob in run_windows(padded, origins, window, batch_fn, batch_size, cancel):
        total[y:y + plan.window_h, x:x + plan.window_w] += prob * weights
        weight_sum[y:y + plan.window_h, x:x + plan.window_w] += weights
    total /= weight_sum
    return total[:height, :width]
