"""The browser's thumbnail source: core's cached thumbnails when present, else a quick downsample."""

from __future__ import annotations

from typing import Callable

import numpy as np

THUMB_PIXELS = 96


def thumbnailer_for(get_workspace: Callable[[], object]) -> Callable[[object], np.ndarray]:
    """A function (record) -> uint8 HxWx3, run on a pool thread by the tile list model."""

    def make(record) -> np.ndarray:
        workspace = get_workspace()
        try:
            from roadseg_gui.core import thumbnails as core_thumbnails
        except ImportError:
            core_thumbnails = None
        if core_thumbnails is not None and hasattr(core_thumbnails, "thumbnail"):
            return core_thumbnails.thumbnail(workspace, record.stem, THUMB_PIXELS)
        image = workspace.read_image(record.stem)
        step = max(1, max(image.shape[:2]) // THUMB_PIXELS)
        return np.ascontiguousarray(image[::step, ::step])

    return make
