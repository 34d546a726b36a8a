"""``model.json``: what a model needs besides its weights, each field checked by type and range on load.

A model file may come from anywhere (a colleague, S3, a download), so a value such as
``"image_size": 1e400`` (infinity once parsed) or ``"threshold": NaN`` must become one sentence
naming the field, never an OverflowError deep inside prediction.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .model import BACKBONES, IMAGENET_MEAN, IMAGENET_STD

MAX_IMAGE_SIZE = 16384  # a training crop larger than this is not a crop


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class MetaFieldError(ValueError):
    """One model.json field that is wrong: the message names the field and what it should be."""


@dataclass
class ModelMeta:
    backbone: str = "mobilenet_v3_large"
    mean: list = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list = field(default_factory=lambda: list(IMAGENET_STD))
    threshold: float = 0.5
    image_size: int = 512
    metrics: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    hyperparameters: dict = field(default_factory=dict)
    created: str = field(default_factory=_now)
    version: str = ""
    lineage: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data) -> "ModelMeta":
        """A checked ModelMeta; MetaFieldError names the first field that is wrong. Newer keys are ignored."""
        if not isinstance(data, dict):
            raise MetaFieldError(f"it holds a JSON {_json_type(data)}, not an object of fields")
        known = {f.name for f in dataclasses.fields(cls)}
        meta = cls(**{k: v for k, v in data.items() if k in known})
        if meta.backbone not in BACKBONES:
            raise MetaFieldError(f"backbone {meta.backbone!r} is not one of {', '.join(BACKBONES)}")
        meta.mean = _three_numbers("mean", meta.mean, low=-1.0, high=2.0)
        meta.std = _three_numbers("std", meta.std, low=0.0, high=10.0, low_open=True)
        meta.threshold = _number("threshold", meta.threshold, 0.0, 1.0)
        meta.image_size = _whole_number("image_size", meta.image_size, 1, MAX_IMAGE_SIZE)
        for name in ("metrics", "data", "hyperparameters", "lineage"):
            if not isinstance(getattr(meta, name), dict):
                raise MetaFieldError(f"{name} is a JSON {_json_type(getattr(meta, name))}, not an object")
        for name in ("created", "version"):
            if not isinstance(getattr(meta, name), str):
                raise MetaFieldError(f"{name} is a JSON {_json_type(getattr(meta, name))}, not a string")
        return meta


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number"}.get(type(value), "value")


def _number(name: str, value, low: float, high: float, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MetaFieldError(f"{name} is a JSON {_json_type(value)}, not a number")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        raise MetaFieldError(f"{name} {value} is outside {low:g}..{high:g}") from None
    if not math.isfinite(number):
        raise MetaFieldError(f"{name} is {number}, not a finite number")
    if number > high or number < low or (low_open and number == low):
        bounds = f"{low:g} (exclusive)..{high:g}" if low_open else f"{low:g}..{high:g}"
        raise MetaFieldError(f"{name} {value} is outside {bounds}")
    return number


def _whole_number(name: str, value, low: int, high: int) -> int:
    number = _number(name, value, low, high)
    if number != int(number):
        raise MetaFieldError(f"{name} {number:g} is not a whole number")
    return int(number)


def _three_numbers(name: str, value, low: float, high: float, low_open: bool = False) -> list:
    if not isinstance(value, list) or len(value) != 3:
        raise MetaFieldError(f"{name} needs a list of three numbers (R, G, B), not {_json_type(value)} "
                             f"{str(value)[:40]}")
    return [_number(f"{name}[{i}]", v, low, high, low_open) for i, v in enumerate(value)]
