"""Edits that cannot be saved at quit (a full disk) are kept under the user's data directory, and the
next launch offers them back (``core.recovery`` does the files; this is the window's side)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from roadseg_gui.core import recovery

log = logging.getLogger("roadseg.app")
EXIT_EDITS_NOT_SAVED = 3   # the process's exit status when a quit left edits outside their workspace


@dataclass(frozen=True)
class Rescue:
    count: int                 # edits that could not be saved in the workspace
    folder: Path | None        # where they were kept (None: nowhere, they are lost)


def rescue_unsaved(window) -> Rescue | None:
    """At quit, after the last save: keep what is still unsaved outside the workspace and say where
    (stderr and the log file, through the log). None when everything was saved."""
    autosaver = window.editor.autosaver
    masks = autosaver.unsaved_masks()
    if not masks or window.workspace is None:
        return None
    failures = list(autosaver.failures().values())
    reason = failures[0].sentence() if failures else "The save did not finish."
    edits = f"{len(masks)} edit{'s' if len(masks) != 1 else ''}"
    try:
        folder = recovery.write(window.workspace.root, masks, reason)
    except OSError as exc:
        log.error("%s of %s could not be saved (%s) nor kept in %s (%s); they are lost.", edits,
                  window.workspace.root, reason, recovery.recovery_root(), exc.strerror or exc)
        return Rescue(len(masks), None)
    they, them = ("They were", "them") if len(masks) != 1 else ("It was", "it")
    log.error("%s of %s could not be saved: %s %s kept in %s; the next launch of roadseg-gui on this workspace "
              "offers to restore %s.", edits, window.workspace.root, reason, they, folder, them)
    return Rescue(len(masks), folder)


def offer_restore(window, workspace) -> QMessageBox | None:
    """If an earlier quit kept edits of this workspace, ask (without blocking) whether to restore them."""
    try:
        found = recovery.pending(workspace.root)
    except OSError:
        return None
    if not found:
        return None
    listed = "\n".join(f"• {r.describe()}" for r in found)
    box = QMessageBox(QMessageBox.Question, "Restore unsaved edits?",
                      f"When roadseg last quit, it could not save some edits of this workspace:\n{listed}\n\n"
                      "Restore them as the tiles' unsaved edits? (Not now keeps them for the next launch.)",
                      QMessageBox.Yes | QMessageBox.No, window)
    box.button(QMessageBox.Yes).setText("Restore")
    box.button(QMessageBox.No).setText("Not now")
    box.setDefaultButton(QMessageBox.Yes)
    box.setEscapeButton(QMessageBox.No)
    box.setWindowModality(Qt.WindowModal)
    box.finished.connect(lambda _result: _answered(window, workspace, found, box.clickedButton()
                                                   is box.button(QMessageBox.Yes)))
    box.open()
    window.recovery_box = box
    return box


def _answered(window, workspace, found: list, restore: bool) -> None:
    if not restore:
        window.log_panel.info(f"Unsaved edits from an earlier quit are kept in {recovery.recovery_root()}; "
                              "the next launch asks again.")
        return
    restored, kept = [], []
    for item in found:
        try:
            done, left = recovery.restore(item, workspace)
        except Exception as exc:  # noqa: BLE001 - said, never raised into Qt
            window.log_panel.error(f"Could not restore the edits kept in {item.folder}: {exc}")
            continue
        restored += done
        kept += left
    if restored:
        window.log_panel.info(f"Restored {len(restored)} unsaved edit(s): {', '.join(restored[:10])}.")
        _reload(window, restored)
    if kept:
        window.log_panel.warning(f"Kept back {len(kept)} edit(s) whose tile is gone or was edited since: "
                                 f"{', '.join(kept[:10])}. They stay in {recovery.recovery_root()}.")


def _reload(window, stems: list[str]) -> None:
    """Show the restored masks: refresh the tiles' records, and load the one on screen again."""
    editor = window.editor
    current = editor.stem
    if current in stems:
        editor.leave_tile()
    for stem in stems:
        editor.loader.forget(stem)
        window._refresh_record(stem)
    if current in stems:
        editor.stem = None
        window.show_tile(current)
