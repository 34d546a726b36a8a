"""Measure an accepted tile's road and store it (runs on a pool thread, with that thread's connection)."""

from __future__ import annotations

from trainer.imageio import read_mask

from . import store
from .road_length import RoadLength, georeference_of, road_length


def measure_accepted(workspace, stem: str, annotator: str, day: str) -> RoadLength | None:
    """The road of the mask in {split}/masks, stored on the accept's record; None if the mask is gone."""
    mask_path = workspace.mask_path(stem)
    if mask_path is None:
        return None
    road = road_length(read_mask(mask_path), georeference_of(workspace.image_path(stem)))
    store.set_road(workspace.db, stem, annotator, day, road)
    return road
