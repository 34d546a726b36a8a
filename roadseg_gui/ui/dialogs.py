"""File dialogs and questions: open workspace/model, import images/scene, shortcuts, quit."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from roadseg_gui.core.settings import UserSettings

from .workers import CancelToken, Failed, Succeeded, submit

log = logging.getLogger(__name__)


def remember_workspace(root: Path) -> None:
    try:
        settings = UserSettings.load()
        settings.remember_workspace(root)
        settings.save()
    except OSError as exc:  # a read-only home must not stop the app
        log.warning("Could not remember the workspace in the recent list: %s", exc)


def recent_workspaces() -> list[str]:
    try:
        return [p for p in UserSettings.load().recent_workspaces if Path(p).is_dir()]
    except OSError:
        return []


def start_folder(window, kind: str) -> str:
    """Where a file dialog opens: the last folder used for this kind, else the workspace, else home
    (never the process's working directory)."""
    from PySide6.QtCore import QSettings

    last = QSettings("roadseg", "roadseg").value(f"dialogs/{kind}")
    if last and Path(str(last)).is_dir():
        return str(last)
    workspace = getattr(window, "workspace", None)
    if workspace is not None:
        return str(workspace.root)
    return str(Path.home())


def remember_folder(kind: str, chosen: str) -> None:
    from PySide6.QtCore import QSettings

    path = Path(chosen)
    QSettings("roadseg", "roadseg").setValue(f"dialogs/{kind}", str(path if path.is_dir() else path.parent))


def open_workspace(window) -> None:
    start = start_folder(window, "workspace")
    if window.workspace is not None and start == str(window.workspace.root):
        start = str(window.workspace.root.parent)  # workspaces usually sit side by side
    folder = QFileDialog.getExistingDirectory(window, "Open workspace folder", start)
    if folder:
        remember_folder("workspace", str(Path(folder).parent))
        window.open_workspace(folder)


def _progress(window, title: str, cancel: CancelToken) -> QProgressDialog:
    dialog = QProgressDialog(title, "Cancel", 0, 0, window)
    dialog.setWindowTitle(title)
    dialog.setMinimumDuration(500)
    dialog.canceled.connect(cancel.cancel)
    return dialog


def _report_import(window, what: str, report) -> None:
    added = getattr(report, "added", [])
    skipped = getattr(report, "skipped", [])
    window.log_panel.info(f"{what}: {len(added)} added, {len(skipped)} skipped.")
    for path, reason in skipped[:50]:
        window.log_panel.warning(f"Skipped {path}: {reason}")


def import_images(window) -> None:
    if window.workspace is None:
        window.log_panel.warning("Open a workspace before importing images.")
        return
    files, _ = QFileDialog.getOpenFileNames(window, "Import images", start_folder(window, "images"),
                                            "Images (*.jpg *.jpeg *.png *.tif *.tiff)")
    if not files:
        return
    remember_folder("images", files[0])
    cancel = CancelToken()
    dialog = _progress(window, "Importing images…", cancel)
    relay_progress = _ProgressRelay(dialog)
    workspace = window.workspace

    def done(outcome) -> None:
        dialog.close()
        if isinstance(outcome, Succeeded):
            _report_import(window, "Import images", outcome.value)
            window.browser.refresh()
        elif isinstance(outcome, Failed):
            window.log_panel.error(f"Import failed: {outcome.sentence()}")
        else:
            window.log_panel.info("Import cancelled; the images copied so far are in the workspace.")
            window.browser.refresh()
    submit(workspace.add_images, files, progress=relay_progress, on_done=done, context=window)


def import_scene(window) -> None:
    if window.workspace is None:
        window.log_panel.warning("Open a workspace before importing a scene.")
        return
    try:
        from roadseg_gui.core import scene_import  # noqa: F401 - only checks it is there
    except ImportError:
        window.log_panel.warning("Scene import is not available in this build; use `roadseg import-scene`.")
        return
    path, _ = QFileDialog.getOpenFileName(window, "Import scene (GeoTIFF)", start_folder(window, "scene"),
                                          "Rasters (*.tif *.tiff *.vrt *.img)")
    if not path:
        return
    remember_folder("scene", path)
    from .scene_import_dialog import SceneImportOptions, run_scene_import

    options = SceneImportOptions(window, Path(path).name)
    if options.exec() != SceneImportOptions.Accepted:
        return
    chip, overlap = options.values()
    run_scene_import(window, path, chip=chip, overlap=overlap)


class _ProgressRelay:
    """A progress(done, total) callback for pool threads that updates the dialog on the UI thread."""

    def __init__(self, dialog: QProgressDialog):
        from PySide6.QtCore import QObject, Signal

        class Relay(QObject):
            step = Signal(int, int)

        self._relay = Relay()
        self._relay.step.connect(lambda done, total: (dialog.setMaximum(total), dialog.setValue(done)))

    def __call__(self, done: int, total: int) -> None:
        self._relay.step.emit(int(done), int(total))


def open_model(window) -> None:
    path, _ = QFileDialog.getOpenFileName(
        window, "Open model (model.tar.gz, model.pth or a file inside a model folder)", start_folder(window, "model"),
        "Models (*.tar.gz *.pth *.pt *.json);;All files (*)")
    if not path:
        return
    remember_folder("model", path)
    if Path(path).name == "model.json":
        path = str(Path(path).parent)  # a model directory
    window.activate_model(path)


# Mouse gestures and modifiers have no QAction; the keys come from the menus themselves.
MOUSE_HELP = (("Shift + any tool", "erase with that tool"),
              ("Road line", "click along the road, the line follows the prediction; double-click or Enter ends, "
                            "Esc cancels"),
              ("S, or Alt + click (road line, connect)",
               "straight segments instead of following the prediction: S toggles it for every click (where the "
               "window manager takes Alt+click, as openbox, Xfce and KDE do), Alt + click for one click"),
              ("Ctrl + click (road line)", "take the connected predicted road under the click"),
              ("Connect", "click two road ends: they are joined at the road width"),
              ("Review roads (R)", "click a proposed road to select it; drag a rectangle to accept every road "
                                   "above the confidence inside it; Shift + wheel changes the selected road's width"),
              ("Review note (M)", "click the tile to pin a note there with a line of text; a returned tile shows its "
                                  "notes as numbered marks and in the Review notes panel, N jumps between them"),
              ("Esc", "dismiss the connectivity warning after accepting"),
              ("Hold Space + drag", "pan"),
              ("Wheel, middle drag", "zoom, pan"))


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(keys, what) for every menu action with a shortcut, in menu order, so F1 never falls behind."""
    from PySide6.QtGui import QKeySequence

    rows, seen = [], set()
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        for action in (menu.actions() if menu is not None else []):
            keys = [k.toString(QKeySequence.NativeText) for k in action.shortcuts() if not k.isEmpty()]
            if keys and id(action) not in seen:
                seen.add(id(action))
                rows.append((" or ".join(keys), action.text().replace("&", "").rstrip("…")))
    return rows


def shortcuts_html(window) -> str:
    from html import escape

    cells = [f"<tr><td><b>{escape(k)}</b></td><td>{escape(w)}</td></tr>"
             for k, w in shortcut_rows(window) + list(MOUSE_HELP)]
    return "<table cellpadding=2>" + "".join(cells) + "</table>"


def show_shortcuts(window) -> None:
    """A scrolling, non-modal list sized to the screen (a message box grew taller than a laptop's)."""
    from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

    box = getattr(window, "shortcuts_box", None)
    if box is None:
        box = QDialog(window)
        box.setWindowTitle("Keyboard shortcuts")
        box.text = QTextBrowser()
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(box.close)
        layout = QVBoxLayout(box)
        layout.addWidget(box.text)
        layout.addWidget(buttons)
        window.shortcuts_box = box
    box.text.setHtml(shortcuts_html(window))
    free = window.screen().availableGeometry() if window.screen() else None
    box.resize(560, min(680, free.height() - 80) if free else 600)
    box.show()
    box.raise_()


def confirm_empty_accept(window) -> bool:
    """Accepting a mask with no road where the model sees road: ask first (Esc and Enter cancel)."""
    box = QMessageBox(QMessageBox.Warning, "Accept an empty mask?",
                      "Accept an empty mask? This tile's mask has no road, but the model sees road here. "
                      "Accepting saves it as training data that says there is no road.", parent=window)
    accept = box.addButton("Accept empty mask", QMessageBox.AcceptRole)
    cancel = box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(cancel)   # a second Enter does not confirm by habit
    box.setEscapeButton(cancel)
    window.empty_accept_box = box  # tests and screenshots find it
    box.exec()
    window.empty_accept_box = None
    return box.clickedButton() is accept


def confirm_quit_unsaved(window) -> bool:
    failures = window.editor.autosaver.failures()
    names = ", ".join(sorted(failures)[:5]) or "the current tile"
    reason = next(iter(failures.values())).sentence() if failures else ""
    answer = QMessageBox.warning(
        window, "Edits not saved",
        f"Edits to {names} could not be saved.\n{reason}\n\nQuit anyway and lose them?",
        QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Cancel)
    return answer == QMessageBox.Discard
