"""The main window: assembles the browser, canvas, panels and menus, and wires them together."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QToolBar, QVBoxLayout, QWidget

from roadseg_gui.core.settings import LabelingSettings

from . import dialogs, docks, menus, recovery_ui
from .actions import Actions
from .banner import Banner
from .canvas import TileCanvas
from .editor import TileEditor
from .elided_label import ElidedLabel
from .field_keys import keep_enter_in_fields
from .log_panel import LogPanel, PanelLogHandler
from .panels import LayerPanel
from .prediction_bridge import PredictionBridge
from .thumbnails import thumbnailer_for
from .tile_browser import TileBrowser
from .qa_overlay import RoadQA
from .review.install import install_review
from .review_notes.install import install_tile_review
from .stats.install import install_throughput
from .toolbox import TOOL_CLASSES
from .workers import Failed, Succeeded, submit
from .workspace_events import PairsChanged

log = logging.getLogger(__name__)
PREDICT_AHEAD = 3


class MainWindow(QMainWindow):
    def __init__(self, predict: bool = True, side_panels: bool = True):
        super().__init__()
        self.setWindowTitle("roadseg — road labeling")
        self.resize(1400, 900)
        self.workspace = None
        self.ask_on_quit = True
        self.rescue = None                      # recovery_ui.Rescue when a quit could not save every edit
        self.initial_model: str | None = None   # --model on the command line
        self.side_panels = side_panels          # S3 sync and retrain docks (their imports are heavy)
        self.log_panel = LogPanel()
        self._log_handler = PanelLogHandler(self.log_panel)
        logging.getLogger("roadseg_gui").addHandler(self._log_handler)
        self.canvas = TileCanvas()
        self.panel = LayerPanel(LabelingSettings())
        self.browser = TileBrowser(thumbnailer_for(lambda: self.workspace))
        self.editor = TileEditor(self.canvas, self.panel, self)
        self.tools = {cls.name: cls(self.editor, self.canvas) for cls in TOOL_CLASSES}
        self.canvas.tool = self.tools["brush"]
        self.banner = Banner("Open model…", "Train a model…")
        self.prediction = PredictionBridge(self) if predict else None
        self.pairs_changed = PairsChanged(self)
        self.actions = Actions(self)
        self.fields_keep_enter = keep_enter_in_fields(self)   # Enter in a form field is not Accept
        self._build_layout()
        menus.build(self)
        self._wire()
        self.road_qa = RoadQA(self.editor, self.canvas, self)
        self.road_qa.install(self)
        self.review = install_review(self)   # proposed roads: Review menu, Road review dock, Y/X/Tab
        self.throughput = install_throughput(self)   # active time and actions per tile; Stats dock
        self.throughput.recorder.credit("review", self.review_actions.all(), [self.review_panel.accept_all])
        self.tile_review = install_tile_review(self)   # approve / return accepted tiles, notes; Review notes dock
        self._restore_geometry()

    # ---- layout ----------------------------------------------------------
    def _build_layout(self) -> None:
        self.tool_hint = QLabel(self.tools["brush"].hint)
        self.tool_hint.setStyleSheet("color: #aaa; padding: 2px 6px;")
        self.tool_hint.setWordWrap(True)   # a long hint wraps; unwrapped, it widened the window past a laptop screen
        center = QWidget()
        layout = QVBoxLayout(center)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.banner)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.tool_hint)
        self.setCentralWidget(center)
        self.browser_dock = self._dock("Tiles", self.browser, Qt.LeftDockWidgetArea)
        self.layers_dock = self._dock("Mask and prediction", self.panel, Qt.RightDockWidgetArea)
        self.log_dock = self._dock("Log", self.log_panel, Qt.BottomDockWidgetArea)
        self.sync_dock = self.retrain_dock = None
        self.resizeDocks([self.browser_dock, self.layers_dock], [290, 340], Qt.Horizontal)
        self.resizeDocks([self.log_dock], [110], Qt.Vertical)
        toolbar = QToolBar("Tools")
        toolbar.setObjectName("tools_toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        for action in self.actions.tools.values():
            action.setIconText(f"{action.text()} ({action.shortcut().toString()})")
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action, label in ((self.editor.undo.group.createUndoAction(self, "Undo"), "Undo"),
                              (self.editor.undo.group.createRedoAction(self, "Redo"), "Redo")):
            action.setIconText(label)   # a fixed button: "Undo Use prediction ≥ 0.50" moved the others
            toolbar.addAction(action)   # (the step's name is in the tooltip)
        toolbar.addSeparator()
        for action, text in ((self.actions.previous_tile, "◀ Previous (A)"), (self.actions.accept, "Accept ✓ (Enter)"),
                             (self.actions.next_tile, "Next (D) ▶")):
            action.setIconText(text)
            toolbar.addAction(action)
        self.addToolBar(Qt.TopToolBarArea, toolbar)
        self.status_tile = QLabel()
        self.status_save = QLabel()
        self.status_model = ElidedLabel("No model")
        self.status_cursor = QLabel()
        self.statusBar().addWidget(self.status_tile, 1)
        self.statusBar().addPermanentWidget(self.status_cursor)
        self.statusBar().addPermanentWidget(self.status_save)
        self.statusBar().addPermanentWidget(self.status_model)

    def _dock(self, title: str, widget, area) -> QDockWidget:
        return docks.make_dock(self, title, widget, area)

    # ---- wiring ----------------------------------------------------------
    def _wire(self) -> None:
        a, editor, canvas = self.actions, self.editor, self.canvas
        a.open_workspace.triggered.connect(lambda: dialogs.open_workspace(self))
        a.import_images.triggered.connect(lambda: dialogs.import_images(self))
        a.import_scene.triggered.connect(lambda: dialogs.import_scene(self))
        a.open_model.triggered.connect(lambda: dialogs.open_model(self))
        a.quit.triggered.connect(self.close)
        a.use_prediction.triggered.connect(self._use_prediction)
        a.clear_mask.triggered.connect(editor.clear)
        a.tool_group.triggered.connect(lambda action: self.set_tool(action.data()))
        a.bigger_brush.triggered.connect(lambda: self.panel.brush_size.step(+1))
        a.smaller_brush.triggered.connect(lambda: self.panel.brush_size.step(-1))
        a.straight_segments.toggled.connect(lambda on: setattr(editor, "straight_segments", on))
        a.straight_segments.toggled.connect(lambda _on: self.tool_hint.setText(self._tool_hint()))
        a.toggle_overlays.toggled.connect(canvas.set_overlays_visible)
        canvas.space_tapped.connect(a.toggle_overlays.toggle)
        a.show_prediction.toggled.connect(canvas.set_prediction_visible)
        a.show_prediction.toggled.connect(self.panel.show_prediction.setChecked)
        self.panel.show_prediction.toggled.connect(a.show_prediction.setChecked)
        a.fit.triggered.connect(canvas.fit_to_window)
        a.zoom_in.triggered.connect(lambda: canvas.zoom_by(1.25))
        a.zoom_out.triggered.connect(lambda: canvas.zoom_by(0.8))
        a.previous_tile.triggered.connect(lambda: self.browser.step(-1))
        a.next_tile.triggered.connect(lambda: self.browser.step(+1))
        a.accept.triggered.connect(self.accept_tile)
        a.shortcuts_help.triggered.connect(lambda: dialogs.show_shortcuts(self))
        self.panel.opacity.opacity_changed.connect(canvas.set_opacity)
        # The threshold moves the outline and what Take road copies; never the mask (that is Use prediction).
        self.panel.threshold.threshold_changed.connect(lambda _t: editor.refresh_prediction_layer())
        self.panel.prediction_style.currentIndexChanged.connect(lambda _i: editor.refresh_prediction_layer())
        self.panel.use_prediction.clicked.connect(self._use_prediction)
        self.panel.brush_size.valueChanged.connect(lambda _v: canvas.update())
        self.browser.tile_selected.connect(self.show_tile)
        self.banner.clicked.connect(lambda: dialogs.open_model(self))
        self.banner.secondary_clicked.connect(self.show_retrain_panel)
        editor.tile_shown.connect(self._tile_shown)
        editor.tile_failed.connect(self._tile_failed)
        editor.accepted.connect(self._accepted)
        editor.edits_discarded.connect(self._refresh_record)
        editor.accept_failed.connect(lambda stem, f: self.log_panel.error(f"Could not accept {stem}: {f.sentence()}"
                                                                          " The edit is kept as a draft."))
        editor.autosaver.saved.connect(self._saved)
        editor.autosaver.failed.connect(lambda stem, f: self.log_panel.error(
            f"Could not autosave {stem}: {f.sentence()} The edit is still in memory; it is retried."))
        editor.undo.group.cleanChanged.connect(lambda clean: self.status_save.setText("" if clean else "Edited"))
        canvas.cursor_moved.connect(self._cursor_moved)
        canvas.zoom_changed.connect(self._show_zoom)   # keys, the wheel and N zoom without a mouse move
        editor.tile_shown.connect(lambda _stem: editor.roads.prepare())
        self.panel.road_width.valueChanged.connect(lambda _v: editor.roads.prepare())
        editor.roads.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        canvas.set_opacity(self.panel.opacity.value() / 100)
        if self.prediction is not None:
            self.prediction.wire(self)
        else:
            self.banner.show_message("Predictions are off in this session.")

    def show_retrain_panel(self) -> None:
        """Bring the Retrain dock forward (it appears once its module has loaded)."""
        if self.retrain_dock is None:
            self.log_panel.info("The Retrain panel is still loading; it opens on the right in a moment.")
            return
        self.retrain_dock.show()
        self.retrain_dock.raise_()

    # ---- workspace -------------------------------------------------------
    def open_workspace(self, root: str | Path, select_first: bool = True) -> None:
        """Open (scan) the workspace on a pool thread; the window stays responsive meanwhile."""
        from roadseg_gui.core.workspace import Workspace

        self.statusBar().showMessage(f"Opening {root}…")
        submit(Workspace.open, root, context=self,
               on_done=lambda outcome: self._workspace_opened(root, outcome, select_first))

    def _workspace_opened(self, root, outcome, select_first: bool) -> None:
        if not isinstance(outcome, Succeeded):
            self.log_panel.error(f"Could not open the workspace: {outcome.sentence()}")
            return
        self.set_workspace(outcome.value, select_first)

    def set_workspace(self, workspace, select_first: bool = True) -> None:
        self.throughput.set_workspace(workspace)   # the old workspace gets its pending work first
        self.editor.set_workspace(workspace)
        self.road_qa.set_workspace(workspace)      # a tile of the same name in the new one is another tile
        self.workspace = workspace
        self._apply_labeling_settings(workspace.settings.labeling)
        self.browser.set_workspace(workspace)
        recovery_ui.offer_restore(self, workspace)   # edits an earlier quit could not save
        self.setWindowTitle(f"roadseg — {workspace.root.name}")
        self.statusBar().clearMessage()
        self.log_panel.info(f"Opened {workspace.root} ({self.browser.model.rowCount()} tiles).")
        dialogs.remember_workspace(workspace.root)
        menus.rebuild_recent(self)
        if self.side_panels:
            menus.embed_side_panels(self, workspace.root)
        if self.prediction is not None:
            self.prediction.set_workspace(workspace)
        if select_first and self.browser.model.rowCount():
            self.browser.select_first_workable()

    def _apply_labeling_settings(self, labeling) -> None:
        self.panel.brush_size.setValue(labeling.brush_size)
        self.panel.road_width.setValue(labeling.road_width_px)
        self.panel.opacity.setValue(round(labeling.overlay_opacity * 100))

    def activate_model(self, path: str) -> None:
        """Predict with this model from now on (Open model…, or a retrained model)."""
        if self.prediction is not None:
            self.prediction.load_model(str(path), remember=True)

    # ---- tiles -----------------------------------------------------------
    def show_tile(self, stem: str) -> None:
        self.editor.show_tile(stem)
        # both neighbours in the browser's order (people go back too), then the one after next
        row, model = self.browser.model.row_of(stem), self.browser.model
        ahead = self.browser.neighbours(stem, 2)
        behind = [model.record(row - 1).stem] if row > 0 else []
        self.editor.loader.prefetch(ahead[:1] + behind + ahead[1:])

    def _tile_shown(self, stem: str) -> None:
        height, width = self.editor.document.shape
        record = self.workspace.tile(stem) if self.workspace else None
        split = getattr(record, "split", None) or "unlabeled"
        self.status_tile.setText(f"{stem}  ·  {width}×{height}  ·  {split}")
        self.canvas.setFocus()
        self.update_prediction_controls()
        if self.prediction is not None:
            self.prediction.request_for(stem, self.browser.neighbours(stem, PREDICT_AHEAD),
                                        has_prediction=self.editor.probability is not None)

    def _tile_failed(self, stem: str, failure: Failed) -> None:
        self.log_panel.error(f"Cannot show {stem}: {failure.sentence()} Other tiles are not affected.")
        self._refresh_record(stem)

    def accept_tile(self) -> None:
        stem = self.editor.stem
        if stem is None or (self.editor.accept_drops_predicted_road() and not dialogs.confirm_empty_accept(self)):
            return
        if not self.editor.accept():
            return
        following = self.browser.next_to_do(stem, self.editor.accepting)   # labelme/CVAT: the next still to do
        if following:
            self.browser.select(following)
        else:
            self.statusBar().showMessage("Every other tile in this list is done.", 5000)

    def _accepted(self, stem: str, split: str) -> None:
        self.log_panel.info(f"Accepted {stem}: mask saved in {split}/masks.")
        self._refresh_record(stem)
        self.pairs_changed.notify()

    def _saved(self, stem: str) -> None:
        self.status_save.setText("All edits saved")
        self._refresh_record(stem)

    def _refresh_record(self, stem: str) -> None:
        record = self.workspace.tile(stem) if self.workspace else None
        if record is not None:
            self.browser.update_record(record)
            self.browser.update_counts()

    def update_prediction_controls(self) -> None:
        """'Use prediction' only makes sense once the tile has a prediction."""
        has = self.editor.probability is not None
        self.panel.use_prediction.setEnabled(has)
        self.actions.use_prediction.setEnabled(has)
        self.panel.use_prediction.setToolTip(
            "Replace the mask with the prediction at the threshold (undoable)" if has
            else "This tile has no prediction yet (open a model to get one)")

    def _use_prediction(self) -> None:
        if not self.editor.use_prediction():
            self.statusBar().showMessage("This tile has no prediction yet.", 4000)

    def set_tool(self, name: str) -> None:
        if self.canvas.tool is not None:
            self.canvas.tool.cancel()
        self.canvas.tool = self.tools[name]
        self.actions.tools[name].setChecked(True)
        self.tool_hint.setText(self._tool_hint())
        self.canvas.update()

    def _tool_hint(self) -> str:
        straight = "  ·  Straight segments on (S)" if self.editor.straight_segments else ""
        return self.canvas.tool.hint + straight

    def _cursor_moved(self, x: int, y: int) -> None:
        self._cursor_text = f"x {x}  y {y}  ·  "
        self._show_zoom()

    def _show_zoom(self, *_scale) -> None:
        self.status_cursor.setText(f"{getattr(self, '_cursor_text', '')}zoom {self.canvas.scale * 100:.0f}%")

    # ---- quit ------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.throughput.flush()
        if not self.editor.save_now() and self.ask_on_quit and not dialogs.confirm_quit_unsaved(self):
            event.ignore()
            return
        self.rescue = recovery_ui.rescue_unsaved(self)   # what could not be saved is kept elsewhere, and said
        QSettings("roadseg", "roadseg").setValue("geometry", self.saveGeometry())
        QSettings("roadseg", "roadseg").setValue("state", self.saveState())
        if self.prediction is not None:
            self.prediction.shutdown()
        logging.getLogger("roadseg_gui").removeHandler(self._log_handler)
        event.accept()

    def _restore_geometry(self) -> None:
        settings = QSettings("roadseg", "roadseg")
        if settings.value("geometry") is not None:
            self.restoreGeometry(settings.value("geometry"))
        if settings.value("state") is not None:  # dock widths and places (side docks: docks.make_dock)
            self.restoreState(settings.value("state"))
        self.fit_to_screen()
        QTimer.singleShot(0, self.canvas.fit_to_window)

    def fit_to_screen(self) -> None:
        """Never larger than the screen's free area (a 1366×768 laptop, a taskbar), so the log and the
        status bar stay visible; a title bar needs about 40 px more than the window itself."""
        screen = self.screen()
        if screen is None:
            return
        free = screen.availableGeometry()
        width = min(self.width(), free.width())
        height = min(self.height(), free.height() - 40)
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
            self.move(free.x() + (free.width() - width) // 2, free.y() + max(0, (free.height() - height) // 2 - 20))
