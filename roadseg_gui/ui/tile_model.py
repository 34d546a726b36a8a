"""List model over the workspace's tiles, with lazily loaded, cached thumbnails.

Nothing reads an image up front: a thumbnail is requested the first time the
view asks for a row's decoration, made on a pool thread, and cached.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QPixmap

from .workers import Failed, Succeeded, submit

STEM_ROLE = Qt.UserRole + 1
RECORD_ROLE = Qt.UserRole + 2
STATUS_ROLE = Qt.UserRole + 3
THUMB_SIZE = 96

STATUS_COLORS = {
    "new": QColor(140, 140, 140),
    "predicted": QColor(66, 133, 244),
    "edited": QColor(245, 166, 35),
    "accepted": QColor(52, 168, 83),
    "synced": QColor(0, 121, 107),
    "conflict": QColor(171, 71, 188),
    "error": QColor(219, 68, 55),
}


def status_of(record) -> str:
    status = getattr(record, "status", "new")
    return getattr(status, "value", status) or "new"


class TileListModel(QAbstractListModel):
    thumbnail_failed = Signal(str, str)   # stem, reason

    def __init__(self, thumbnailer=None, parent=None):
        """``thumbnailer(record) -> uint8 HxWx3`` runs on a pool thread; None shows no pictures."""
        super().__init__(parent)
        self._records: list = []
        self._row_of: dict[str, int] = {}
        self._thumbs: dict[str, QPixmap] = {}
        self._thumb_errors: dict[str, str] = {}
        self._pending: set[str] = set()
        self._thumbnailer = thumbnailer
        self.review_states: dict[str, str] = {}   # stem -> review state, for tiles in review (ui.review_notes)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)

    # ---- content -------------------------------------------------------
    def set_records(self, records: list) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._row_of = {r.stem: i for i, r in enumerate(self._records)}
        self.endResetModel()

    def update_record(self, record) -> None:
        row = self._row_of.get(record.stem)
        if row is None:
            return
        self._records[row] = record
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def sort_records(self, key) -> bool:
        """Re-sort in place by ``key(record)``; the view keeps its current tile, selection and scroll
        (persistent indexes follow their rows). True if the order changed."""
        order = sorted(range(len(self._records)), key=lambda i: key(self._records[i]))
        if order == list(range(len(order))):
            return False
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        stems = [self._records[index.row()].stem for index in persistent]
        self._records = [self._records[i] for i in order]
        self._row_of = {r.stem: i for i, r in enumerate(self._records)}
        self.changePersistentIndexList(persistent, [self.index(self._row_of[stem]) for stem in stems])
        self.layoutChanged.emit()
        return True

    def forget_thumbnail(self, stem: str) -> None:
        self._thumbs.pop(stem, None)
        self._thumb_errors.pop(stem, None)

    def record(self, row: int):
        return self._records[row] if 0 <= row < len(self._records) else None

    def row_of(self, stem: str) -> int:
        return self._row_of.get(stem, -1)

    def stems(self) -> list[str]:
        return [r.stem for r in self._records]

    # ---- Qt model --------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._records)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        record = self._records[index.row()]
        if role == Qt.DisplayRole:
            return record.stem
        if role == STEM_ROLE:
            return record.stem
        if role == RECORD_ROLE:
            return record
        if role == STATUS_ROLE:
            return status_of(record)
        if role == Qt.ToolTipRole:
            return self._tooltip(record)
        if role == Qt.DecorationRole:
            return self._thumbnail(record)
        return None

    def _tooltip(self, record) -> str:
        lines = [record.stem, f"status: {status_of(record)}"]
        if getattr(record, "split", None):
            lines.append(f"split: {record.split}")
        if getattr(record, "uncertainty", None) is not None:
            lines.append(f"uncertainty: {record.uncertainty:.3f}")
        if record.stem in self.review_states:
            lines.append(f"review: {self.review_states[record.stem]}")
        reason = getattr(record, "error", None) or self._thumb_errors.get(record.stem)
        if reason:
            lines.append(f"cannot read: {reason}")
        return "\n".join(lines)

    def error_reason(self, record) -> str | None:
        return getattr(record, "error", None) or self._thumb_errors.get(record.stem)

    # ---- thumbnails ----------------------------------------------------
    def _thumbnail(self, record):
        pixmap = self._thumbs.get(record.stem)
        if pixmap is not None:
            return pixmap
        if (self._thumbnailer is not None and record.stem not in self._pending
                and record.stem not in self._thumb_errors and status_of(record) != "error"):
            self._pending.add(record.stem)
            submit(self._thumbnailer, record, pool=self.pool, context=self,
                   on_done=lambda outcome, stem=record.stem: self._thumb_ready(stem, outcome))
        return None

    def _thumb_ready(self, stem: str, outcome) -> None:
        self._pending.discard(stem)
        if isinstance(outcome, Succeeded):
            self._thumbs[stem] = QPixmap.fromImage(_to_qimage(outcome.value))
        elif isinstance(outcome, Failed):
            self._thumb_errors[stem] = outcome.what
            self.thumbnail_failed.emit(stem, outcome.sentence())
        row = self._row_of.get(stem)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.DecorationRole, Qt.ToolTipRole])


def _to_qimage(value) -> QImage:
    if isinstance(value, QImage):
        return value
    from .layers import rgb_to_qimage

    # copy(): rgb_to_qimage wraps a numpy buffer, and scaled() to the same size returns that same data;
    # the pixmap made from it then painted freed memory once the array was collected.
    return rgb_to_qimage(value).scaled(QSize(THUMB_SIZE, THUMB_SIZE), Qt.KeepAspectRatio,
                                       Qt.SmoothTransformation).copy()
