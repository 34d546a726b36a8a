"""Bridges the core PredictionService (model in a child process) to the window.

A QTimer drains the service's result queue on the UI thread, so results arrive
as plain values; nothing blocks while a tile is predicted. The tile on screen
is requested first and the next tiles in the current order are predicted ahead.
"""

from __future__ import annotations

import html
import logging
import queue
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from roadseg_gui.core.settings import UserSettings

from .tile_loader import prepare_prediction
from .workers import Succeeded, submit

log = logging.getLogger(__name__)

NO_MODEL = ("<b>No model is configured</b>, so tiles show no prediction and you label from scratch. "
            "Open a model folder, a <code>model.tar.gz</code> or a seed <code>.pth</code> checkpoint, "
            "or train one on this workspace's labeled tiles.")
LOADING = "<b>Loading model…</b> {name}: predictions appear when it is ready (a large model takes a while)."


class PredictionBridge(QObject):
    prediction_ready = Signal(str, object)   # stem, tile_loader.PredictionLayers
    model_loaded = Signal(str, str)          # version, device description
    model_failed = Signal(str)               # sentence
    tile_failed = Signal(str, str, str)      # stem, stage, sentence

    def __init__(self, parent=None, poll_ms: int = 50):
        super().__init__(parent)
        self.service = None
        self.workspace = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)

    # ---- setup -----------------------------------------------------------
    def wire(self, window) -> None:
        self.window = window
        self.prediction_ready.connect(window.editor.set_prediction)
        self.prediction_ready.connect(lambda stem, _layers: window._refresh_record(stem))
        self.prediction_ready.connect(lambda _stem, _layers: window.update_prediction_controls())
        self.model_loaded.connect(self._show_model)
        self.model_failed.connect(self._show_model_failure)
        self.tile_failed.connect(self._show_tile_failure)
        # Which banner (none, loading, no model) is decided when the workspace's model is known.

    def set_workspace(self, workspace) -> None:
        self.workspace = workspace
        model = getattr(self.window, "initial_model", None) or workspace.settings.active_model or _last_model()
        if self.service is not None:
            self.service.cancel()
            self.service.workspace = workspace
        if model:
            self.load_model(model, remember=False)
        elif self.service is None:
            self.window.banner.show_message(NO_MODEL)

    def load_model(self, path: str, remember: bool = True) -> None:
        from roadseg_gui.core.prediction_service import PredictionService

        self.window.status_model.setText("Loading model…")
        self.window.banner.show_message(LOADING.format(name=html.escape(_model_name(path))), with_buttons=False)
        if self.service is None:
            # One torch thread in the child leaves the UI and the image decoders their cores.
            self.service = PredictionService(path, workspace=self.workspace, prefetch=3, threads=1)
            self._timer.start()
        else:
            self.service.reload(path)
        if remember:
            self._remember(path)

    def _remember(self, path: str) -> None:
        try:
            if self.workspace is not None:
                self.workspace.settings.active_model = str(path)
                self.workspace.save_settings()
            settings = UserSettings.load()
            settings.last_model = str(path)
            settings.save()
        except OSError as exc:
            log.warning("Could not remember the model choice: %s", exc)

    # ---- requests ----------------------------------------------------------
    def request_for(self, stem: str, ahead: list[str], has_prediction: bool) -> None:
        service, workspace = self.service, self.workspace
        if service is None or workspace is None:
            return
        record = workspace.tile(stem)
        current = service.model_version
        stale = record is not None and current is not None and record.model_version != current
        try:
            if not has_prediction or stale:
                service.request(stem, str(workspace.image_path(stem)))
            service.prefetch([(s, str(workspace.image_path(s))) for s in ahead])
        except Exception as exc:  # noqa: BLE001 - e.g. the tile vanished from disk meanwhile
            log.warning("Could not queue %s for prediction: %s", stem, exc)

    # ---- results -------------------------------------------------------------
    def poll(self) -> None:
        from roadseg_gui.core import prediction_service as ps

        service = self.service
        if service is None:
            return
        for _ in range(20):  # bounded per tick so a burst cannot stall the UI
            try:
                result = service.results.get_nowait()
            except queue.Empty:
                return
            if isinstance(result, ps.ModelLoaded):
                self.model_loaded.emit(result.version, result.device_description)
            elif isinstance(result, ps.Succeeded):
                # Heatmap, outline and mask of a 4096² tile take ~0.2 s: made on a pool thread.
                submit(prepare_prediction, result.probability, self.window.panel.threshold.threshold(),
                       context=self,
                       on_done=lambda outcome, stem=result.stem: self._prepared(stem, outcome))
            elif isinstance(result, ps.Failed):
                if result.stem is None:
                    self.model_failed.emit(result.message)
                else:
                    self.tile_failed.emit(result.stem, result.stage, result.message)

    def _prepared(self, stem: str, outcome) -> None:
        if isinstance(outcome, Succeeded):
            self.prediction_ready.emit(stem, outcome.value)

    def _show_model(self, version: str, device: str) -> None:
        from roadseg_gui.core.demo import model_description

        self.window.banner.hide()
        # e.g. the starter model says how weak it is, in the status bar and the log
        description = model_description(self.service.model_path if self.service else None)
        label = f"Model {version[:12]} ({description})" if description else f"Model {version[:12]}"
        self.window.status_model.setText(f"{label}  ·  {device}")
        self.window.log_panel.info(f"{label} loaded on {device}.")
        editor = self.window.editor
        if editor.stem is not None:
            # A tile that could not be shown is not asked for, but the next ones are predicted ahead.
            self.request_for(editor.stem, self.window.browser.neighbours(editor.stem, 3),
                             has_prediction=editor.document is None or editor.probability is not None)

    def _show_model_failure(self, sentence: str) -> None:
        self.window.status_model.setText("No model")
        self.window.banner.show_message(f"<b>The model could not be loaded:</b> {sentence} "
                                        "You can keep labeling without predictions, or open another model.")
        self.window.log_panel.error(f"Model not loaded: {sentence}")

    def _show_tile_failure(self, stem: str, stage: str, sentence: str) -> None:
        if stage == "load":
            return  # the banner already says so
        self.window.log_panel.warning(f"No prediction for {stem}: {sentence}")
        if stage == "input":
            self.window._refresh_record(stem)

    def shutdown(self) -> None:
        self._timer.stop()
        if self.service is not None:
            self.service.close(timeout=2.0)
            self.service = None


def _model_name(path: str) -> str:
    """The model folder's name ("v0003"), not "model.tar.gz" or "model.pth"."""
    p = Path(path)
    return p.parent.name if p.name.startswith("model") and p.parent.name else p.name


def _last_model() -> str:
    try:
        path = UserSettings.load().last_model
    except OSError:
        return ""
    return path if path and Path(path).exists() else ""
