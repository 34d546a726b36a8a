"""The Sync panel: a Sync button, progress (files, bytes, ETA), the summary, and the conflicts
with keep mine / take theirs / compare side by side.

Every S3 call runs on a pool thread through ``workers.submit``; results come back as
values (Succeeded / Failed / Cancelled) on the UI thread. Progress is relayed by a
QObject created here, so its emits from the pool thread are queued to the UI thread.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from shiboken6 import isValid
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QProgressBar, QPushButton, QVBoxLayout, QWidget)

from ..core.settings import WorkspaceSettings
from ..core.sync import fetch_theirs, keep_mine, list_conflicts, pending_pairs, push, take_theirs
from ..core.sync.report import SyncProgress, SyncReport
from .workers import CancelToken, Cancelled, Failed, Succeeded, submit


class _ProgressRelay(QObject):
    progress = Signal(object)


def describe_progress(p: SyncProgress) -> str:
    eta = "" if p.eta_seconds is None else f" · ETA {p.eta_seconds:.0f} s"
    return (f"{p.files_done}/{p.files_total} files · {p.bytes_done / 2**20:.1f}/"
            f"{p.bytes_total / 2**20:.1f} MiB{eta}")


class SyncPanel(QWidget):
    sync_started = Signal()
    sync_finished = Signal(object)      # SyncReport (also after a partial, failed or cancelled run)
    sync_failed = Signal(str)           # one sentence: S3 could not be used at all
    conflicts_changed = Signal(list)    # stems in conflict
    pending_changed = Signal(int)       # pairs not yet on S3 as they are now
    busy_changed = Signal(bool)

    def __init__(self, root: str | Path, parent: QWidget | None = None, *, pool: QThreadPool | None = None):
        super().__init__(parent)
        self.root = Path(root)
        self._pool = pool or QThreadPool.globalInstance()
        self._token: CancelToken | None = None
        self._busy = False
        # Not parented: a sync outliving the panel must still be able to emit (to no one).
        self._relay = _ProgressRelay()
        self._relay.progress.connect(self._on_progress)
        self._compare: QDialog | None = None
        self.last_report: SyncReport | None = None

        self.destination = QLineEdit(WorkspaceSettings.load(self.root).s3.uri)
        self.destination.setPlaceholderText("s3://BUCKET/PREFIX")
        self.settings_button = QPushButton("S3 settings…")
        self.settings_button.setToolTip("Destination, AWS profile, region, endpoint and encryption")
        self.sync_button = QPushButton("Sync")
        self.sync_button.setToolTip("Send the pairs changed since the last sync (conditional writes)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress_label = QLabel("")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.conflict_list = QListWidget()
        self.keep_button = QPushButton("Keep mine")
        self.theirs_button = QPushButton("Take theirs")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Show mine and theirs side by side")

        # Two rows, so the destination is readable in a dock a third of a laptop screen wide.
        top = QVBoxLayout()
        top.addWidget(self.destination)
        actions = QHBoxLayout()
        actions.addWidget(self.settings_button)
        actions.addStretch(1)
        actions.addWidget(self.sync_button)
        actions.addWidget(self.cancel_button)
        top.addLayout(actions)
        buttons = QHBoxLayout()
        for button in (self.keep_button, self.theirs_button, self.compare_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("Conflicts"))
        layout.addWidget(self.conflict_list, 1)
        layout.addLayout(buttons)

        self.sync_button.clicked.connect(lambda: self.start_sync())
        self.settings_button.clicked.connect(self.edit_settings)
        self.cancel_button.clicked.connect(self.cancel)
        self.keep_button.clicked.connect(lambda: self._resolve(keep_mine, "kept"))
        self.theirs_button.clicked.connect(lambda: self._resolve(take_theirs, "took theirs for"))
        self.compare_button.clicked.connect(self.compare_selected)
        self.conflict_list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()
        self.refresh()

    # -- public ---------------------------------------------------------------------------------
    def is_busy(self) -> bool:
        return self._busy

    def start_sync(self, dry_run: bool = False) -> bool:
        if self._busy:
            return False
        problem = self._remember_destination()
        if problem:
            self.summary.setText(f"Not synced: {problem}")
            self.sync_failed.emit(problem)
            return False
        destination = self.destination.text().strip() or None
        self._token = CancelToken()
        self.progress.setValue(0)
        self.progress_label.setText("starting…")
        job = functools.partial(push, self.root, destination, dry_run=dry_run, progress=self._relay.progress.emit,
                                cancel=self._token)
        self._set_busy(True)
        self.sync_started.emit()
        submit(job, on_done=self._on_sync_done, pool=self._pool)
        return True

    def edit_settings(self) -> bool:
        """The S3 settings dialog; True when new settings were saved."""
        from .s3_settings_dialog import S3SettingsDialog

        dialog = S3SettingsDialog(self.root, self.destination.text(), self)
        self._settings_dialog = dialog  # tests fill it in
        if dialog.exec() != QDialog.Accepted:
            return False
        self.destination.setText(WorkspaceSettings.load(self.root).s3.uri)
        self.summary.setText("S3 settings saved.")
        self.refresh()
        return True

    def _remember_destination(self) -> str:
        """Check the destination field with the other S3 settings and remember it; a sentence if it
        cannot work (worded for the app: there is no --to here)."""
        from .s3_settings_dialog import s3_settings_with_destination
        from .workers import failure_from

        settings = WorkspaceSettings.load(self.root)
        if not self.destination.text().strip():
            return ("this workspace has no S3 destination yet. Type one (s3://BUCKET/PREFIX) in the field "
                    "above Sync, or set it in S3 settings…")
        try:
            s3 = s3_settings_with_destination(settings.s3, self.destination.text())
            if s3 != settings.s3:
                from roadseg_gui.core.settings import validate_s3_settings

                validate_s3_settings(s3)
                settings.s3 = s3
                settings.save(self.root)
        except Exception as exc:  # noqa: BLE001 - one sentence for the person
            return failure_from(exc).sentence()
        return ""

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
            self.progress_label.setText("cancelling after the files in flight…")

    def refresh(self) -> None:
        """Reload the pending count and the conflict list (off the UI thread)."""
        submit(lambda: (pending_pairs(self.root), list_conflicts(self.root)), on_done=self._on_refreshed,
               pool=self._pool)

    def selected_stem(self) -> str | None:
        item = self.conflict_list.currentItem()
        return item.data(Qt.UserRole) if item else None

    def compare_selected(self) -> None:
        stem = self.selected_stem()
        if stem is None or self._busy:
            return
        self._set_busy(True)
        submit(fetch_theirs, self.root, stem, on_done=functools.partial(self._on_fetched, stem), pool=self._pool)

    # -- slots ----------------------------------------------------------------------------------
    @Slot(object)
    def _on_progress(self, p: SyncProgress) -> None:
        self.progress.setValue(int(p.fraction * 1000))
        self.progress_label.setText(describe_progress(p))

    def _on_sync_done(self, outcome) -> None:
        if not isValid(self):
            return
        self._set_busy(False)
        self._token = None
        if isinstance(outcome, Succeeded):
            report: SyncReport = outcome.value
            self.last_report = report
            if not report.failed and not report.cancelled:
                self.progress.setValue(1000)
            text = report.summary() + (" (cancelled)" if report.cancelled else "")
            if report.errors:
                text += "\n" + "\n".join(report.errors[:5])
            self.summary.setText(text)
            self.sync_finished.emit(report)
        elif isinstance(outcome, Failed):
            self.summary.setText(f"Sync failed: {outcome.sentence()}")
            self.sync_failed.emit(outcome.sentence())
        elif isinstance(outcome, Cancelled):
            self.summary.setText("Sync cancelled")
        self.refresh()

    def _on_refreshed(self, outcome) -> None:
        if not isValid(self):
            return
        if not isinstance(outcome, Succeeded):
            if isinstance(outcome, Failed):
                self.progress_label.setText(outcome.sentence())
            return
        pending, conflicts = outcome.value
        self.pending_changed.emit(len(pending))
        if not self._busy:
            self.progress_label.setText(f"{len(pending)} pair{'' if len(pending) == 1 else 's'} to sync")
        current = self.selected_stem()
        self.conflict_list.clear()
        for conflict in conflicts:
            item = QListWidgetItem(f"{conflict.stem} — {conflict.reason}")
            item.setData(Qt.UserRole, conflict.stem)
            self.conflict_list.addItem(item)
            if conflict.stem == current:
                self.conflict_list.setCurrentItem(item)
        if self.conflict_list.currentItem() is None and self.conflict_list.count():
            self.conflict_list.setCurrentRow(0)
        self._update_buttons()
        self.conflicts_changed.emit([c.stem for c in conflicts])

    def _resolve(self, action, verb: str) -> None:
        stem = self.selected_stem()
        if stem is None or self._busy:
            return
        self._set_busy(True)

        def done(outcome) -> None:
            if not isValid(self):
                return
            self._set_busy(False)
            if isinstance(outcome, Failed):
                self.summary.setText(f"{stem}: {outcome.sentence()}")
            else:
                self.summary.setText(f"{verb} {stem}" + ("; sync to upload it" if action is keep_mine else ""))
            self.refresh()

        submit(action, self.root, stem, on_done=done, pool=self._pool)

    def _on_fetched(self, stem: str, outcome) -> None:
        if not isValid(self):
            return
        self._set_busy(False)
        if not isinstance(outcome, Succeeded):
            if isinstance(outcome, Failed):
                self.summary.setText(f"{stem}: {outcome.sentence()}")
            return
        theirs_image, theirs_mask = outcome.value
        mine = next(((p, p.parent.parent / "masks" / f"{stem}.png") for split in ("train", "test")
                     if (self.root / split / "images").is_dir()
                     for p in (self.root / split / "images").iterdir() if p.stem == stem), (None, None))
        self._compare = CompareDialog(stem, mine, (theirs_image, theirs_mask), self)
        self._compare.show()

    # -- helpers --------------------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.sync_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy and self._token is not None)
        self.destination.setEnabled(not busy)
        self.settings_button.setEnabled(not busy)
        self._update_buttons()
        self.busy_changed.emit(busy)

    def _update_buttons(self) -> None:
        has = self.conflict_list.currentItem() is not None and not self._busy
        for button in (self.keep_button, self.theirs_button, self.compare_button):
            button.setEnabled(has)


class CompareDialog(QDialog):
    """Mine and theirs side by side: each image with its mask as a red overlay."""

    def __init__(self, stem: str, mine: tuple, theirs: tuple, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"{stem}: mine vs theirs")
        layout = QHBoxLayout(self)
        self.views: list[QLabel] = []
        for title, (image, mask) in (("Mine", mine), ("Theirs", theirs)):
            column = QVBoxLayout()
            column.addWidget(QLabel(title))
            view = QLabel()
            view.setPixmap(overlay_pixmap(image, mask))
            column.addWidget(view)
            layout.addLayout(column)
            self.views.append(view)


def overlay_pixmap(image_path, mask_path, max_side: int = 512) -> QPixmap:
    import numpy as np

    from trainer.imageio import read_image, read_mask

    if image_path is None:
        return QPixmap()
    rgb = read_image(image_path).copy()
    if mask_path is not None and Path(mask_path).exists():
        mask = read_mask(mask_path)
        if mask.shape == rgb.shape[:2]:
            rgb[mask] = (0.5 * rgb[mask] + 0.5 * np.array([255, 0, 0])).astype(np.uint8)
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    pixmap = QPixmap.fromImage(qimage)
    if max(h, w) > max_side:
        pixmap = pixmap.scaled(max_side, max_side, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    return pixmap
