"""Load tiles (image, prediction, working mask) on a pool thread, with a small cache and prefetch.

Decoding a 4096² JPEG takes longer than a frame, so the tiles either side in the queue
are decoded ahead; switching to a prefetched tile only wraps ready QImages. A big tile that was not
decoded ahead is first shown as a quick overview (a JPEG decoded at reduced scale, a GeoTIFF's
overviews), made on a thread of its own, so it is never blank while its full resolution decodes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage

from roadseg_gui.core.mask_edit import MaskDocument, threshold

from .georef import pixel_size_m
from .layers import mask_to_argb, outline_to_qimage, probability_to_qimage, rgb_to_qimage
from .workers import Failed, Succeeded, submit

CACHE_PIXELS = 70_000_000   # four 4096² tiles (the one on screen, the last, the next two), or hundreds of 512²
PREVIEW_PX = 512            # a cold tile's overview: a JPEG's 1/8-scale decode, a few ms even for 4096²


def load_preview(workspace, stem: str, size: int = PREVIEW_PX):
    """Runs on the preview thread: (QImage overview, (height, width)) of a big tile, or None."""
    from roadseg_gui.core.thumbnails import overview

    found = overview(workspace.image_path(stem), size)
    return None if found is None else (rgb_to_qimage(found[0]), found[1])


@dataclass
class TileData:
    """Everything the canvas needs for a tile, prepared off the UI thread."""
    stem: str
    image: QImage
    probability: np.ndarray | None
    prediction_image: QImage | None   # heatmap
    outline_image: QImage | None      # prediction outline at ``threshold``
    threshold: float
    document: MaskDocument            # the editable mask; kept while cached, so undo survives a revisit
    overlay: np.ndarray               # its premultiplied ARGB overlay buffer
    mask_from_disk: bool              # an autosaved edit or accepted mask (never replaced by a prediction)
    pixel_m: float | None = None      # ground size of a pixel (georeferenced tiles)
    fresh: bool = True                # read from disk, not shown yet
    mask_threshold: float | None = None   # the threshold an untouched mask was made at from the prediction
    start_fixed: bool = False         # shown with its prediction: its starting mask no longer follows the slider

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.height(), self.image.width()

    @property
    def untouched(self) -> bool:
        """Nobody has edited this tile: its mask is only ever the prediction (or empty without one)."""
        return not self.mask_from_disk and self.document.revision == 0

    def start_from_prediction(self, mask: np.ndarray, threshold_value: float) -> None:
        """An untouched tile's starting mask becomes the prediction, whenever the prediction arrives."""
        self.document.replace(mask)
        self.document.revision = 0   # not an edit: nothing to autosave or undo
        self.overlay = mask_to_argb(self.document.mask)
        self.mask_threshold = threshold_value


def load_tile(workspace, stem: str, threshold_value: float, from_prediction: bool = True) -> TileData:
    """Runs on a pool thread. Raises BadInputError for an unreadable image (the tile is marked error).
    ``from_prediction``: an untouched tile starts as the prediction (else empty: road review)."""
    rgb = workspace.read_image(stem)
    image = rgb_to_qimage(rgb)
    shape = rgb.shape[:2]
    del rgb
    probability = workspace.prediction(stem)
    if probability is not None and probability.shape != shape:
        probability = None  # a stale prediction of a replaced image: predict again
    saved = workspace.working_mask(stem)
    if saved is not None and saved.shape != shape:
        saved = None
    predicted = threshold(probability, threshold_value) if probability is not None else None
    start = predicted if from_prediction else None
    mask = saved if saved is not None else start if start is not None else np.zeros(shape, bool)
    return TileData(stem, image, probability,
                    probability_to_qimage(probability) if probability is not None else None,
                    outline_to_qimage(predicted) if predicted is not None else None,
                    threshold_value, MaskDocument(mask), mask_to_argb(mask), saved is not None,
                    pixel_size_m(workspace.image_path(stem)),
                    mask_threshold=threshold_value if saved is None and start is not None else None)


@dataclass
class PredictionLayers:
    """A new prediction, with its display layers made on a pool thread."""
    probability: np.ndarray
    heatmap: QImage
    outline: QImage
    mask: np.ndarray         # at ``threshold``
    threshold: float


def prepare_prediction(probability: np.ndarray, threshold_value: float) -> PredictionLayers:
    mask = threshold(probability, threshold_value)
    return PredictionLayers(probability, probability_to_qimage(probability), outline_to_qimage(mask), mask,
                            threshold_value)


class TileLoader(QObject):
    loaded = Signal(object)         # TileData
    failed = Signal(str, object)    # stem, Failed
    preview = Signal(str, object, object)   # stem, overview QImage, full (height, width): before ``loaded``

    def __init__(self, parent=None):
        super().__init__(parent)
        self.workspace = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.preview_pool = QThreadPool(self)   # never queued behind the decodes it stands in for
        self.preview_pool.setMaxThreadCount(1)
        self._cache: OrderedDict[str, TileData] = OrderedDict()
        self._inflight: set[str] = set()
        self._arrived: dict[str, PredictionLayers] = {}   # predictions that came while their tile was loading
        self._wanted: str | None = None
        self._after_wanted: list[str] = []   # prefetches held back until the wanted tile is decoded
        self.threshold = lambda: 0.5   # the editor supplies the panel's threshold
        self.start_from_prediction = lambda: True   # and the [labeling] review_start flow

    def set_workspace(self, workspace) -> None:
        self.workspace = workspace
        self._cache.clear()
        self._arrived.clear()
        self._wanted = None
        self._after_wanted = []

    def request(self, stem: str) -> bool:
        """Ask for a tile; ``loaded`` fires (now, if cached). Returns True if it was cached."""
        self._wanted = stem
        data = self._cache.get(stem)
        if data is not None:
            self._cache.move_to_end(stem)
            self.loaded.emit(data)
            return True
        self._start(stem, priority=1)  # ahead of queued prefetches
        if stem in self._inflight and self.workspace is not None:
            submit(load_preview, self.workspace, stem, pool=self.preview_pool, context=self,
                   on_done=lambda outcome, s=stem, ws=self.workspace: self._previewed(s, ws, outcome))
        return False

    def prefetch(self, stems: list[str]) -> None:
        """Decode these tiles ahead, in this order; after the wanted tile, not beside it (2 cores)."""
        if self._wanted in self._inflight:
            self._after_wanted = list(stems)
            return
        for stem in stems:
            if stem not in self._cache:
                self._start(stem)

    def cached(self, stem: str) -> TileData | None:
        return self._cache.get(stem)

    def forget(self, stem: str) -> None:
        self._cache.pop(stem, None)

    def update_mask(self, stem: str, overlay: np.ndarray | None, from_disk: bool) -> None:
        """The tile is being left: keep the overlay that matches its document's mask now."""
        data = self._cache.get(stem)
        if data is not None:
            data.mask_from_disk = from_disk
            data.overlay = overlay if overlay is not None else mask_to_argb(data.document.mask)

    def update_prediction(self, stem: str, layers: PredictionLayers, start_mask: bool = True) -> None:
        """A new prediction for a cached (or loading) tile. ``start_mask``: an untouched tile's mask becomes
        it, as it would had the tile loaded after it (False for the tile on screen: the editor does that)."""
        data = self._cache.get(stem)
        if data is None:
            if stem in self._inflight:
                self._arrived[stem] = layers   # the loading thread may have read the disk before it was saved
            return
        if data.shape != layers.probability.shape:
            return
        data.probability, data.prediction_image = layers.probability, layers.heatmap
        data.outline_image, data.threshold = layers.outline, layers.threshold
        if start_mask and data.untouched and self.start_from_prediction():
            data.start_from_prediction(layers.mask, layers.threshold)

    def _start(self, stem: str, priority: int = 0) -> None:
        if stem in self._inflight or self.workspace is None:
            return
        self._inflight.add(stem)
        submit(load_tile, self.workspace, stem, self.threshold(), self.start_from_prediction(), pool=self.pool,
               priority=priority,
               context=self,
               on_done=lambda outcome, s=stem, ws=self.workspace: self._done(s, ws, outcome))

    def _previewed(self, stem: str, workspace, outcome) -> None:
        if (workspace is self.workspace and stem == self._wanted and stem not in self._cache
                and isinstance(outcome, Succeeded) and outcome.value is not None):
            self.preview.emit(stem, *outcome.value)

    def _done(self, stem: str, workspace, outcome) -> None:
        self._inflight.discard(stem)
        if workspace is not self.workspace:
            return  # a tile of the previous workspace
        arrived = self._arrived.pop(stem, None)
        if isinstance(outcome, Succeeded):
            self._store(outcome.value)
            if arrived is not None:
                self.update_prediction(stem, arrived)
            if stem == self._wanted:
                self.loaded.emit(outcome.value)
        elif isinstance(outcome, Failed) and stem == self._wanted:
            self.failed.emit(stem, outcome)
        if stem == self._wanted and self._after_wanted:
            later, self._after_wanted = self._after_wanted, []
            self.prefetch(later)

    def _store(self, data: TileData) -> None:
        self._cache[data.stem] = data
        self._cache.move_to_end(data.stem)
        while len(self._cache) > 1 and sum(d.shape[0] * d.shape[1] for d in self._cache.values()) > CACHE_PIXELS:
            oldest = next(iter(self._cache))
            if oldest == self._wanted:  # never the tile on screen
                self._cache.move_to_end(oldest)
                oldest = next(iter(self._cache))
            del self._cache[oldest]
