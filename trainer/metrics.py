"""Honest road metrics: pixel counts summed over a whole set, never averaged per batch.

Pixel accuracy is only ever reported beside ``background_accuracy``, the score an
all-background prediction gets on the same pixels (about 96 % on DeepGlobe), so a
model that never predicts a road cannot look good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METRIC_KEYS = ("iou", "f1", "precision", "recall", "accuracy", "background_accuracy", "tiles")


def _ratio(numerator: int, denominator: int, empty: float) -> float:
    return numerator / denominator if denominator else empty


@dataclass
class Confusion:
    """Road-class confusion counts (pixels) accumulated over a set of tiles."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    tiles: int = 0

    def add(self, pred, target, valid=None) -> "Confusion":
        """Add boolean predictions and targets: H x W (one tile) or N x H x W; numpy or torch.

        ``valid`` (same shape, optional) excludes pixels such as padding from every count."""
        if pred.shape != target.shape:
            raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
        tiles = 1 if pred.ndim == 2 else int(pred.shape[0])
        if valid is not None:
            keep = valid.astype(bool) if isinstance(valid, np.ndarray) else valid.bool()
            pred, target = pred[keep], target[keep]
        if isinstance(pred, np.ndarray):
            pred, target = pred.astype(bool, copy=False), target.astype(bool, copy=False)
            tp = int(np.count_nonzero(pred & target))
            fp = int(np.count_nonzero(pred & ~target))
            fn = int(np.count_nonzero(~pred & target))
        else:  # torch tensors: count on their device, one sync at the end
            import torch
            pred, target = pred.bool(), target.bool()
            counts = torch.stack([(pred & target).sum(), (pred & ~target).sum(), (~pred & target).sum()])
            tp, fp, fn = (int(v) for v in counts.tolist())
        total = int(np.prod(pred.shape))
        self.tp += tp
        self.fp += fp
        self.fn += fn
        self.tn += total - tp - fp - fn
        self.tiles += tiles
        return self

    def __iadd__(self, other: "Confusion") -> "Confusion":
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn
        self.tiles += other.tiles
        return self

    def as_list(self) -> list[int]:
        return [self.tp, self.fp, self.fn, self.tn, self.tiles]

    @classmethod
    def from_list(cls, values) -> "Confusion":
        tp, fp, fn, tn, tiles = (int(v) for v in values)
        return cls(tp, fp, fn, tn, tiles)

    @property
    def pixels(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def as_dict(self) -> dict:
        """Metrics of the road class. An undefined ratio (e.g. precision when nothing was
        predicted) is 1.0 when there was nothing to get wrong and 0.0 otherwise."""
        tp, fp, fn, tn = self.tp, self.fp, self.fn, self.tn
        nothing_wrong = 1.0 if fp == 0 and fn == 0 else 0.0
        precision = _ratio(tp, tp + fp, 1.0 if fn == 0 else 0.0)
        recall = _ratio(tp, tp + fn, 1.0 if fp == 0 else 0.0)
        return {
            "iou": _ratio(tp, tp + fp + fn, nothing_wrong),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn, nothing_wrong),
            "precision": precision,
            "recall": recall,
            "accuracy": _ratio(tp + tn, self.pixels, 0.0),
            "background_accuracy": _ratio(tn + fp, self.pixels, 0.0),
            "tiles": self.tiles,
        }


def rounded(metrics: dict, digits: int = 4) -> dict:
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in metrics.items()}
