"""Import scene in the GUI: chip size and overlap choices, then cutting on a worker with an ETA.

The same cut as ``roadseg import-scene SCENE.tif WORKSPACE --chip N --overlap M``.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QProgressDialog, QSpinBox

from .workers import CancelToken, Failed, Succeeded, submit

DEFAULT_CHIP = 512
DEFAULT_OVERLAP = 0


class SceneImportOptions(QDialog):
    """Asks for the chip size and the overlap between neighbouring chips (pixels)."""

    def __init__(self, parent=None, scene_name: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Import scene")
        form = QFormLayout(self)
        if scene_name:
            form.addRow(QLabel(f"Cut <b>{scene_name}</b> into chips in unlabeled/."))
        self.chip = QSpinBox()
        self.chip.setRange(64, 4096)
        self.chip.setSingleStep(64)
        self.chip.setSuffix(" px")
        self.chip.setValue(DEFAULT_CHIP)
        self.overlap = QSpinBox()
        self.overlap.setSuffix(" px")
        self.overlap.setSingleStep(16)
        self.overlap.setToolTip("Pixels shared by neighbouring chips (0: chips touch edge to edge).")
        self.chip.valueChanged.connect(self._limit_overlap)
        self._limit_overlap(self.chip.value())
        self.overlap.setValue(DEFAULT_OVERLAP)
        form.addRow("Chip size:", self.chip)
        form.addRow("Overlap:", self.overlap)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _limit_overlap(self, chip: int) -> None:
        self.overlap.setRange(0, chip - 1)  # an overlap of a whole chip would never advance

    def values(self) -> tuple[int, int]:
        return self.chip.value(), self.overlap.value()


def eta_text(done: int, total: int, elapsed: float) -> str:
    """'N of M chips, about T s left' (the estimate from the mean time per chip so far)."""
    text = f"{done} of {total} chips"
    if 0 < done < total:
        left = elapsed / done * (total - done)
        text += f", about {left:.0f} s left" if left < 120 else f", about {left / 60:.0f} min left"
    elif total and done < total:
        text += ", estimating time left…"
    return text


class EtaProgress(QObject):
    """A progress(done, total) callback for pool threads; updates the dialog's bar and ETA on the UI thread."""

    step = Signal(int, int)

    def __init__(self, dialog: QProgressDialog, clock=time.monotonic):
        super().__init__(dialog)
        self._dialog = dialog
        self._clock = clock
        self._started = clock()
        self.step.connect(self._show)

    def _show(self, done: int, total: int) -> None:
        self._dialog.setMaximum(max(total, 1))
        self._dialog.setValue(done)
        self._dialog.setLabelText(eta_text(done, total, self._clock() - self._started))

    def __call__(self, done: int, total: int) -> None:
        self.step.emit(int(done), int(total))


def run_scene_import(window, path: str | Path, chip: int = DEFAULT_CHIP, overlap: int = DEFAULT_OVERLAP,
                     on_finished=None) -> tuple[QProgressDialog, CancelToken]:
    """Cut ``path`` into chips on a pool thread; the outcome goes to the log and the browser refreshes.
    ``on_finished(outcome)`` (optional) runs after that, on the UI thread."""
    from roadseg_gui.core import scene_import

    path = Path(path)
    cancel = CancelToken()
    dialog = QProgressDialog(f"Cutting {path.name} into {chip}-pixel chips…", "Cancel", 0, 0, window)
    dialog.setWindowTitle("Importing scene")
    dialog.setMinimumDuration(500)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.canceled.connect(cancel.cancel)
    progress = EtaProgress(dialog)
    workspace = window.workspace

    def work():
        report = scene_import.import_scene(path, workspace.root, chip=chip, overlap=overlap,
                                           progress=progress, cancel=cancel)
        workspace.scan()
        return report

    def done(outcome) -> None:
        dialog.close()
        if isinstance(outcome, Succeeded):
            report = outcome.value
            window.log_panel.info(
                f"Import scene {path.name} ({chip} px chips, {overlap} px overlap): {len(report.written)} chips "
                f"written, {report.existing} were already there, {report.skipped_nodata} empty (all nodata) "
                f"chips skipped.")
        elif isinstance(outcome, Failed):
            window.log_panel.error(f"Scene import failed: {outcome.sentence()}")
        else:
            window.log_panel.info("Scene import cancelled; importing the scene again resumes where it stopped.")
        if not isinstance(outcome, Failed):
            window.browser.refresh()
        if on_finished is not None:
            on_finished(outcome)

    submit(work, on_done=done, cancel=cancel, context=window)
    return dialog, cancel
