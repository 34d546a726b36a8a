"""Tile browser: thumbnails with status badges, filter by status/split, sort, counts.

It binds to one piece of state, the workspace's tile list; it emits
``tile_selected(stem)`` and offers ``step(+1/-1)`` for next/previous.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QListView,
                               QStyle, QStyledItemDelegate, QVBoxLayout, QWidget)

from .tile_model import RECORD_ROLE, STATUS_COLORS, THUMB_SIZE, TileListModel, status_of

STATUSES = ("new", "predicted", "edited", "accepted", "synced", "conflict", "error")
REVIEW_FILTERS = (("To review", "to_review"), ("Returned to me", "returned_to_me"))   # core.review_state
SPLIT_CHOICES = (("All splits", None), ("Unlabeled", "unlabeled"), ("Train", "train"), ("Test", "test"))
SORT_CHOICES = (("Most uncertain first", "uncertainty"), ("Name", "name"))
ROW_HEIGHT = 64
TO_DO = ("new", "predicted", "edited")   # what Enter moves on to; accepted, synced, conflict and error are not
# The same orders as Workspace.tiles(order=...), applied to the records already listed.
SORT_KEYS = {"uncertainty": lambda r: (r.uncertainty is None, -(r.uncertainty or 0.0), r.stem),
             "name": lambda r: r.stem}
RESORT_DELAY_MS = 300   # a burst of predictions re-sorts the list once


class TileDelegate(QStyledItemDelegate):
    """Thumbnail, name, and a coloured status badge (with the reason for errors)."""

    def __init__(self, model: TileListModel, parent=None):
        super().__init__(parent)
        self._model = model

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, ROW_HEIGHT)

    def paint(self, painter: QPainter, option, index) -> None:
        record = index.data(RECORD_ROLE)
        painter.save()
        if option.state & QStyle.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
            text_color = option.palette.highlightedText().color()
        else:
            text_color = option.palette.text().color()
        rect = option.rect.adjusted(4, 4, -4, -4)
        thumb_rect = QRect(rect.left(), rect.top(), rect.height(), rect.height())
        pixmap = index.data(Qt.DecorationRole)
        if pixmap is not None:
            scaled = pixmap.scaled(thumb_rect.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation)
            painter.drawPixmap(thumb_rect.topLeft(), scaled)
        else:
            painter.fillRect(thumb_rect, QColor(60, 60, 64))
        status = status_of(record)
        reason = self._model.error_reason(record)
        if reason:
            status = "error"
        text_left = thumb_rect.right() + 8
        painter.setPen(text_color)
        name_rect = QRect(text_left, rect.top(), rect.right() - text_left, rect.height() // 2)
        painter.drawText(name_rect, Qt.AlignLeft | Qt.AlignVCenter,
                         painter.fontMetrics().elidedText(record.stem, Qt.ElideMiddle, name_rect.width()))
        badge_text = status if not reason else f"error: {reason}"
        self._badge(painter, QRect(text_left, rect.center().y() + 2, rect.right() - text_left, 18),
                    badge_text, STATUS_COLORS.get(status, QColor(120, 120, 120)), record,
                    text_color if option.state & QStyle.State_Selected else QColor(150, 150, 150))
        painter.restore()

    def _badge(self, painter: QPainter, area: QRect, text: str, color: QColor, record, muted: QColor) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        extra = ""
        uncertainty = getattr(record, "uncertainty", None)
        if uncertainty is not None and not text.startswith("error"):
            extra = f"  uncertainty {uncertainty:.2f}"
        review = self._model.review_states.get(record.stem)
        if review and not text.startswith("error"):
            extra = f"  {review}{extra}"
        text = metrics.elidedText(text, Qt.ElideRight, area.width() - 12)
        width = min(area.width(), metrics.horizontalAdvance(text) + 12)
        pill = QRect(area.left(), area.top(), width, area.height())
        painter.setPen(Qt.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(pill, 8, 8)
        painter.setPen(QPen(QColor("white")))
        painter.drawText(pill, Qt.AlignCenter, text)
        if extra:
            painter.setPen(QPen(muted))
            painter.drawText(QRect(pill.right() + 4, area.top(), area.right() - pill.right(), area.height()),
                             Qt.AlignLeft | Qt.AlignVCenter, extra)


class TileBrowser(QWidget):
    tile_selected = Signal(str)
    filters_changed = Signal()

    def __init__(self, thumbnailer=None, parent=None):
        super().__init__(parent)
        self.workspace = None
        self.model = TileListModel(thumbnailer, self)
        self.status_filter = QComboBox()
        self.status_filter.addItem("All statuses", None)
        for status in STATUSES:
            self.status_filter.addItem(status.capitalize(), status)
        self.status_filter.insertSeparator(self.status_filter.count())
        for label, value in REVIEW_FILTERS:
            self.status_filter.addItem(label, value)
        self.review_stems = lambda _kind: set()   # set by ui.review_notes: the stems a review filter shows
        self.split_filter = QComboBox()
        for label, value in SPLIT_CHOICES:
            self.split_filter.addItem(label, value)
        self.sort_order = QComboBox()
        for label, value in SORT_CHOICES:
            self.sort_order.addItem(label, value)
        self._resort = QTimer(self, singleShot=True, interval=RESORT_DELAY_MS)
        self._resort.timeout.connect(self.resort)
        self.counts_label = QLabel()
        self.counts_label.setWordWrap(True)
        self.counts_label.setTextFormat(Qt.RichText)
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(TileDelegate(self.model, self.view))
        self.view.setUniformItemSizes(True)  # lets Qt skip measuring 10,000 rows
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        filters = QHBoxLayout()
        filters.addWidget(self.status_filter)
        filters.addWidget(self.split_filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(self.sort_order)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.counts_label)
        for combo in (self.status_filter, self.split_filter, self.sort_order):
            combo.currentIndexChanged.connect(self._filters_changed)

    # ---- state ---------------------------------------------------------
    def set_workspace(self, workspace) -> None:
        self.workspace = workspace
        self.refresh(keep="")   # another workspace's tile of the same name is another tile: select it anew

    def refresh(self, keep: str | None = None) -> None:
        """Reload the tile list from the workspace with the current filter and order."""
        if self.workspace is None:
            self.model.set_records([])
            self.counts_label.clear()
            return
        keep = keep if keep is not None else self.current_stem()
        status = self.status_filter.currentData()
        review = status in dict(REVIEW_FILTERS).values()
        records = self.workspace.tiles(status=None if review else status, split=self.split_filter.currentData(),
                                       order=self.sort_order.currentData())
        if review:
            stems = self.review_stems(status)
            records = [r for r in records if r.stem in stems]
        self.model.set_records(records)
        self.update_counts()
        if keep is not None and self.model.row_of(keep) >= 0:
            self.select(keep, emit=False)

    def update_counts(self) -> None:
        if self.workspace is None:
            return
        counts = self.workspace.counts()
        # nowrap: a wrapped line breaks between entries, never between a dot and its status
        parts = [f"<span style='white-space:nowrap'><span style='color:{STATUS_COLORS[s].name()}'>&#9679;</span> "
                 f"{s} {counts.get(s, 0)}</span>" for s in STATUSES if counts.get(s, 0)]
        total = sum(counts.values())
        self.counts_label.setText(f"<b>{total} tiles</b> &nbsp; " + " &nbsp; ".join(parts))

    def show_review_states(self, states: dict[str, str]) -> None:
        """Each reviewed tile's review state (approved, returned…), written beside its status badge."""
        if states != self.model.review_states:
            self.model.review_states = dict(states)
            self.view.viewport().update()

    def update_record(self, record) -> None:
        """A tile's state changed (predicted, edited, accepted): the order stays live, not only at launch."""
        self.model.update_record(record)
        self._resort.start()

    def resort(self) -> None:
        """Re-sort the listed tiles by their current values; the tile on screen stays selected."""
        key = SORT_KEYS.get(self.sort_order.currentData())
        if key is not None:
            self.model.sort_records(key)

    def current_stem(self) -> str | None:
        record = self.model.record(self.view.currentIndex().row())
        return record.stem if record is not None else None

    def select(self, stem: str, emit: bool = True) -> bool:
        row = self.model.row_of(stem)
        if row < 0:
            return False
        self._set_row(row, emit)
        return True

    def step(self, delta: int) -> str | None:
        """Select the next (+1) or previous (-1) tile in the current order; None at the ends."""
        rows = self.model.rowCount()
        if rows == 0:
            return None
        current = self.view.currentIndex().row()
        row = (0 if delta > 0 else rows - 1) if current < 0 else current + delta
        if not 0 <= row < rows:
            return None
        self._set_row(row, True)
        return self.model.record(row).stem

    def select_first_workable(self) -> str | None:
        """The start of a session: the first tile still to do in the current order, else the first readable
        one (every tile done), else the first."""
        for wanted in (lambda r: status_of(r) in TO_DO and not self.model.error_reason(r),
                       lambda r: status_of(r) != "error"):
            for row in range(self.model.rowCount()):
                record = self.model.record(row)
                if wanted(record):
                    self._set_row(row, True)
                    return record.stem
        return self.step(+1)

    def next_to_do(self, after: str, done=()) -> str | None:
        """The first tile after ``after`` in the current order that is still to do, wrapping round to the
        top; None when every other listed tile is done (accepted, synced, or in ``done``: being accepted)
        or cannot be read."""
        rows, start = self.model.rowCount(), self.model.row_of(after)
        for step in range(1, rows + 1):
            record = self.model.record((start + step) % rows)
            if record.stem != after and record.stem not in done and status_of(record) in TO_DO \
                    and not self.model.error_reason(record):
                return record.stem
        return None

    def neighbours(self, stem: str, count: int) -> list[str]:
        """The next ``count`` tiles after ``stem`` in the current order (for predicting ahead)."""
        row = self.model.row_of(stem)
        return [self.model.record(r).stem for r in range(row + 1, min(row + 1 + count, self.model.rowCount()))]

    def _set_row(self, row: int, emit: bool) -> None:
        index = self.model.index(row)
        self.view.blockSignals(not emit)
        self.view.selectionModel().blockSignals(not emit)
        self.view.setCurrentIndex(index)
        self.view.selectionModel().blockSignals(False)
        self.view.blockSignals(False)
        self.view.scrollTo(index)

    def _current_changed(self, current, _previous) -> None:
        record = self.model.record(current.row())
        if record is not None:
            self.tile_selected.emit(record.stem)

    def _filters_changed(self) -> None:
        self.refresh()
        self.filters_changed.emit()
