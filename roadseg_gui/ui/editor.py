"""The tile being edited: its MaskDocument, canvas, undo stack, autosave and accept.

Binds the current tile's state together; the main window only wires it to menus.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from roadseg_gui.core.mask_edit import MaskDocument, threshold

from .autosave import Autosaver
from .layers import legend_html, mask_to_argb, outline_to_qimage
from .road_assist import RoadAssist
from .tile_loader import TileLoader
from .undo import TileUndoStacks
from .workers import Failed, Succeeded


class TileEditor(QObject):
    tile_shown = Signal(str)             # stem, painted with its mask
    tile_failed = Signal(str, object)    # stem, Failed
    accepted = Signal(str, str)          # stem, split
    accept_failed = Signal(str, object)  # stem, Failed
    edits_discarded = Signal(str)        # stem: every edit undone, its autosave dropped
    prediction_shown = Signal(str)       # stem: a new prediction of the tile on screen (road review follows it)

    def __init__(self, canvas, panel, parent=None):
        super().__init__(parent)
        self.canvas = canvas
        self.panel = panel
        self.workspace = None
        self.stem: str | None = None
        self.document: MaskDocument | None = None
        self._tile = None                # the TileData of the tile on screen (its document is ``document``)
        self.accepting: set[str] = set()  # accepts queued behind the saves, not written yet
        self.straight_segments = False   # S: road line and connect draw straight (as Alt+click does)
        self.start_from_prediction = True   # [labeling] review_start: an untouched tile starts as the prediction
        self.probability: np.ndarray | None = None
        self.pixel_m: float | None = None   # the tile's ground size of a pixel (None: not georeferenced)
        self._from_disk = False          # the mask came from an autosave/accepted file
        self._quiet = False              # programmatic changes that are not edits
        self._heatmap = None
        self.undo = TileUndoStacks(self)
        self.undo.group.cleanChanged.connect(self._clean_changed)
        self.roads = RoadAssist(self)     # snapping cost map and predicted roads for the road tools
        self.autosaver = Autosaver(self)
        self.loader = TileLoader(self)
        self.loader.threshold = lambda: self.panel.threshold.threshold()
        self.loader.start_from_prediction = lambda: self.start_from_prediction
        panel.threshold.setToolTip("Where the prediction's outline is drawn and what Take road copies (%). "
                                   "It never changes your mask: 'Use prediction as mask' does.")
        self.loader.loaded.connect(self._loaded)
        self.loader.failed.connect(self._failed)
        self.loader.preview.connect(self._previewed)

    # ---- context for the tools -----------------------------------------
    def brush_size(self) -> int:
        return self.panel.brush_size.value()

    def road_width(self) -> int:
        return self.panel.road_width.value()

    def push(self, edit, text: str) -> None:
        if edit is not None and self.document is not None:
            self.undo.push(self.document, edit, text)

    # ---- workspace and tiles -------------------------------------------
    def set_workspace(self, workspace) -> None:
        self.leave_tile()
        self.autosaver.set_workspace(workspace)
        labeling = getattr(getattr(workspace, "settings", None), "labeling", None)
        self.start_from_prediction = getattr(labeling, "review_start", "prediction") != "labeled"
        self.loader.set_workspace(workspace)
        self.workspace = workspace
        self.stem = None
        self.document = None
        self._tile = None
        self.canvas.set_tile(None)

    def show_tile(self, stem: str) -> None:
        if stem == self.stem and self.document is not None:
            return
        self.leave_tile()
        self.stem = stem
        self.loader.request(stem)

    def leave_tile(self) -> None:
        """Autosave the tile being left (queued, off the UI thread) and keep its mask in the cache."""
        if self.canvas.tool is not None:
            self.canvas.tool.cancel()
        if self.document is not None and self.stem is not None:
            # The canvas's overlay matches the mask exactly; the next tile gets a buffer of its own.
            self.loader.update_mask(self.stem, self.canvas.mask_buffer, self._from_disk or self.document.revision > 0)
        self.autosaver.flush()

    def save_now(self) -> bool:
        """Quit: finish the tool's pending stroke and save synchronously. False if a save failed."""
        if self.canvas.tool is not None:
            self.canvas.tool.cancel()
        return self.autosaver.flush_now()

    def _loaded(self, data) -> None:
        if data.stem != self.stem:
            return
        if self.document is not None:
            self.document.remove_listener(self._changed)
        if data.fresh:
            self._use_unsaved_edits(data)
        current = self.panel.threshold.threshold()
        if data.probability is not None and data.untouched and not data.start_fixed \
                and data.mask_threshold != current and self.start_from_prediction:
            # Loaded ahead at another threshold: start as a tile loaded now would, whatever the timing.
            data.start_from_prediction(threshold(data.probability, current), current)
        data.start_fixed = data.start_fixed or data.probability is not None
        self._tile = data
        self._from_disk = data.mask_from_disk
        self.probability = data.probability
        self._heatmap = data.prediction_image
        self.document = data.document   # made on the loader thread: no 4096² copy here
        self.document.add_listener(self._changed)
        stack = self.undo.activate(data.stem, self.document)
        if not hasattr(stack, "edited_at_start"):  # what undoing every edit returns the tile to
            stack.edited_at_start = (self.workspace.edit_path(data.stem).exists()
                                     or self.autosaver.pending_mask(data.stem) is not None)
        self.canvas.set_tile(data.image, None, self.document.mask, overlay=data.overlay)
        self.panel.set_pixel_size(data.pixel_m)
        self.pixel_m = data.pixel_m
        outline_ready = data.outline_image is not None and data.threshold == self.panel.threshold.threshold()
        self.refresh_prediction_layer(data.outline_image if outline_ready else None)
        self.tile_shown.emit(data.stem)

    def _previewed(self, stem: str, image, shape) -> None:
        """A cold tile's overview: shown until its full resolution arrives (``_loaded``)."""
        if stem != self.stem or (self._tile is not None and self._tile.stem == stem):
            return
        if self.canvas.tool is not None:
            self.canvas.tool.cancel()
        self.canvas.set_preview(image, shape[1], shape[0])

    def _use_unsaved_edits(self, data) -> None:
        """A tile re-read from disk while its last edits were still being saved: show those edits."""
        data.fresh = False
        pending = self.autosaver.pending_mask(data.stem)
        if pending is not None and pending.shape == data.shape:
            data.document = MaskDocument(pending)
            data.overlay = mask_to_argb(pending)
            data.mask_from_disk = True

    def _failed(self, stem: str, failure: Failed) -> None:
        if stem != self.stem:
            return
        self.document = self._tile = None
        self.canvas.placeholder = f"This tile cannot be shown.\n\n{failure.sentence()}"
        self.canvas.set_tile(None)
        self.tile_failed.emit(stem, failure)

    def _changed(self, rect) -> None:
        self.canvas.mask_changed(self.document.mask, rect)
        if not self._quiet:
            self.autosaver.mark_dirty(self.stem, lambda d=self.document: d.mask)

    def _clean_changed(self, clean: bool) -> None:
        """Every edit of a tile undone: drop its autosave, so it is no longer 'edited'."""
        stack = self.undo.active
        if (not clean or stack is None or stack.count() == 0 or getattr(stack, "edited_at_start", True)
                or self.stem is None or self.workspace is None or self.document is None):
            return
        stem = self.stem
        self.autosaver.forget(stem)  # the dab just undone had queued a save
        self.autosaver.run_in_order(self.workspace.discard_working_mask, stem,
                                    on_done=lambda _outcome: self.edits_discarded.emit(stem))

    # ---- predictions -----------------------------------------------------
    def set_prediction(self, stem: str, layers) -> None:
        """A new prediction arrived (from the worker process), its layers made on a pool thread."""
        # Until the tile has loaded, ``document`` is still the previous tile's.
        showing = self._tile is not None and self._tile.stem == stem == self.stem
        self.loader.update_prediction(stem, layers, start_mask=not showing)
        probability = layers.probability
        if not showing or self.document is None or probability.shape != self.document.shape:
            return
        self.probability = probability
        self._heatmap = layers.heatmap
        current = self.panel.threshold.threshold()
        self.refresh_prediction_layer(layers.outline if layers.threshold == current else None)
        if not self._from_disk and self.document.revision == 0 and self.start_from_prediction:
            # Nobody has touched this tile yet: its starting mask is the prediction.
            self._quiet = True
            try:
                self.document.replace(layers.mask if layers.threshold == current else threshold(probability, current))
            finally:
                self._quiet = False
            self.document.revision = 0
            self._tile.mask_threshold, self._tile.start_fixed = current, True
        self.prediction_shown.emit(stem)

    def prediction_layer(self):
        """The prediction as the panel asks: heatmap, or outline at the current threshold."""
        if self.probability is None:
            return None
        if self.panel.prediction_style.currentData() == "heatmap":
            return self._heatmap
        return outline_to_qimage(threshold(self.probability, self.panel.threshold.threshold()))

    def refresh_prediction_layer(self, outline=None) -> None:
        """``outline``: a ready outline image for the current threshold (made on a pool thread)."""
        outline_style = self.panel.prediction_style.currentData() == "outline"
        layer = outline if (outline is not None and outline_style) else self.prediction_layer()
        self.canvas.set_prediction(layer, on_top=outline_style)
        # Over the heatmap the mask is an outline, so the two never blend into a colour of neither.
        self.canvas.set_mask_as_outline(not outline_style)
        self.panel.legend.setText(legend_html("outline" if outline_style else "heatmap"))

    def use_prediction(self) -> bool:
        if self.document is None or self.probability is None:
            return False
        t = self.panel.threshold.threshold()
        self.push(self.document.replace(threshold(self.probability, t)), f"Use prediction ≥ {t:.2f}")
        return True

    def clear(self) -> None:
        if self.document is not None:
            self.push(self.document.clear(), "Clear mask")

    # ---- accept ----------------------------------------------------------
    def accept_drops_predicted_road(self) -> bool:
        """The mask has no road although the model sees road here at the threshold (worth asking)."""
        if self.document is None or self.document.mask.any():
            return False
        predicted = self.roads.predicted_mask()
        return predicted is not None and predicted.shape == self.document.shape and bool(predicted.any())

    def accept(self) -> bool:
        """Write the mask into {split}/masks (queued behind pending saves). False if no tile is open."""
        if self.document is None or self.workspace is None:
            return False
        stem, mask = self.stem, self.document.mask.copy()
        self.autosaver.forget(stem)
        self._from_disk = True
        self.accepting.add(stem)
        self.autosaver.run_in_order(self.workspace.accept, stem, mask,
                                    on_done=lambda outcome: self._accept_done(stem, mask, outcome))
        return True

    def _accept_done(self, stem: str, mask: np.ndarray, outcome) -> None:
        self.accepting.discard(stem)
        if isinstance(outcome, Succeeded):
            self.accepted.emit(stem, outcome.value)
        elif isinstance(outcome, Failed):
            self.autosaver.mark_dirty(stem, lambda: mask)  # keep it as a draft: nothing lost
            self.accept_failed.emit(stem, outcome)
