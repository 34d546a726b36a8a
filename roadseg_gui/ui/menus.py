"""Menus (each action shows its shortcut), the recent-workspaces list, and the side panels
other features provide (sync, retrain), embedded when their modules are present."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel

from . import dialogs, docks
from .workspace_events import bind_side_panel

log = logging.getLogger(__name__)


def build(window) -> None:
    a = window.actions
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a.open_workspace)
    window.recent_menu = file_menu.addMenu("Open &recent")
    file_menu.addSeparator()
    file_menu.addActions([a.import_images, a.import_scene])
    file_menu.addSeparator()
    file_menu.addAction(a.open_model)
    file_menu.addSeparator()
    file_menu.addAction(a.quit)
    rebuild_recent(window)

    edit = bar.addMenu("&Edit")
    group = window.editor.undo.group
    undo, redo = group.createUndoAction(window, "&Undo"), group.createRedoAction(window, "&Redo")
    # Explicit keys, not QKeySequence.Redo: on X11 that is also Ctrl+Shift+Z, and a key bound
    # twice is "ambiguous" to Qt, so it did nothing.
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    for action in (undo, redo):
        action.setShortcutVisibleInContextMenu(True)
    window.undo_action, window.redo_action = undo, redo
    edit.addActions([undo, redo])
    edit.addSeparator()
    edit.addActions([a.use_prediction, a.clear_mask])

    tools = bar.addMenu("&Tools")
    tools.addActions(list(a.tools.values()))
    tools.addSeparator()
    tools.addAction(a.straight_segments)
    tools.addActions([a.smaller_brush, a.bigger_brush])
    tools.addSeparator()
    tools.addAction(a.next_issue)

    view = bar.addMenu("&View")
    view.addActions([a.toggle_overlays, a.show_prediction, a.show_qa])   # Q shows or hides marks: a view
    view.addSeparator()
    view.addActions([a.fit, a.zoom_in, a.zoom_out])
    view.addSeparator()
    for dock in (window.browser_dock, window.layers_dock, window.log_dock):
        view.addAction(dock.toggleViewAction())
    window.view_menu = view

    tile = bar.addMenu("T&ile")
    tile.addActions([a.previous_tile, a.next_tile])
    tile.addSeparator()
    tile.addAction(a.accept)

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a.shortcuts_help)


def rebuild_recent(window) -> None:
    menu = window.recent_menu
    menu.clear()
    recent = dialogs.recent_workspaces()
    for path in recent:
        menu.addAction(path, lambda p=path: window.open_workspace(p))
    menu.setEnabled(bool(recent))


def _panel_class(module_name: str, class_name: str):
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    except Exception as exc:  # noqa: BLE001 - another feature's bug must not stop labeling
        log.warning("The %s panel could not be loaded: %s", module_name.rsplit(".", 1)[-1], exc)
        return None
    return getattr(module, class_name, None)


SIDE_PANELS = (("sync_dock", "S3 sync", "roadseg_gui.ui.sync_panel", "SyncPanel"),
               ("retrain_dock", "Retrain", "roadseg_gui.ui.retrain_panel", "RetrainPanel"))


def embed_side_panels(window, root: Path) -> None:
    """(Re)create the S3 sync and retrain docks for this workspace, if those features are installed.

    Their modules may import heavy libraries (torch, boto3: seconds), so they are imported on a
    pool thread and the docks appear when that is done; the window stays responsive meanwhile."""
    from .workers import submit

    def import_all():
        return {module: _panel_class(module, cls) for _a, _t, module, cls in SIDE_PANELS}

    def done(outcome) -> None:
        classes = getattr(outcome, "value", None) or {}
        if window.workspace is not None and window.workspace.root == root:
            _create_side_panels(window, root, classes)
    submit(import_all, on_done=done, context=window)


def _report_sync_to_log(window, panel) -> None:
    """Sync outcomes reach the Log panel too, not only the S3 panel's summary (which may be hidden)."""
    if hasattr(panel, "sync_failed"):
        panel.sync_failed.connect(lambda sentence: window.log_panel.error(f"Sync failed: {sentence}"))
    if hasattr(panel, "sync_finished"):
        panel.sync_finished.connect(lambda report: _log_sync_report(window.log_panel, report))


def _log_sync_report(log_panel, report) -> None:
    problems = report.errors or report.conflict_stems or report.failed
    (log_panel.warning if problems else log_panel.info)(f"Sync: {report.summary()}")
    for sentence in report.errors[:20]:
        log_panel.error(f"Sync: {sentence}")
    if report.conflict_stems:
        names = ", ".join(report.conflict_stems[:10])
        log_panel.warning(f"Sync conflicts ({len(report.conflict_stems)}): {names}. "
                          "Resolve them in the S3 sync panel.")


def _create_side_panels(window, root: Path, classes: dict) -> None:
    from PySide6.QtCore import Qt

    for attr, title, module, cls in SIDE_PANELS:
        old = getattr(window, attr)
        panel_class = classes.get(module)
        if panel_class is None and old is None:
            continue
        try:
            if panel_class is None:
                widget = QLabel(f"{title} is not available.")
            elif attr == "retrain_dock":  # a retrained model becomes the one that predicts
                widget = panel_class(root, on_model_activated=window.activate_model)
                from .scene_review import import_for_review
                widget.review_button.scenesReady.connect(lambda paths: import_for_review(window, paths))
            else:
                widget = panel_class(root)
        except Exception as exc:  # noqa: BLE001
            log.warning("The %s panel could not start: %s", title, exc)
            widget = QLabel(f"{title} could not start: {exc}")
            widget.setWordWrap(True)
        bind_side_panel(window.pairs_changed, widget)
        _report_sync_to_log(window, widget)
        if old is None:
            dock = docks.make_dock(window, title, widget, Qt.RightDockWidgetArea, object_name=attr,
                                   beside=window.layers_dock)   # or where it was at the last quit
            window.view_menu.addAction(dock.toggleViewAction())
            setattr(window, attr, dock)
            window.layers_dock.raise_()
        else:
            docks.set_panel(old, widget)
