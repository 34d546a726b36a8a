"""``MaskEdit``: the sparse diff of one mask edit, compact enough for hundreds of undo steps.

A bool mask's edit is fully described by *which* pixels changed and their new
values (the old value is the opposite). The changed pixels of the edit's box are
kept as int32 indices when few, or as a packed bitmap (1 bit per pixel of the
box) when many, whichever is smaller; the new values are packed bits, or one
bool when the edit paints a single value. A road line across a 4096^2 tile
therefore costs kilobytes, not two 16 MB box copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Rect = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True, eq=False)
class MaskEdit:
    y0: int
    x0: int
    height: int
    width: int
    count: int                      # changed pixels
    _index: np.ndarray | None       # int32 row-major indices in the box (sparse storage)
    _bitmap: np.ndarray | None      # packed changed-pixel bitmap of the box (dense storage)
    _values: np.ndarray | bool      # new values: one bool, or packed bits in row-major order

    @classmethod
    def from_change(cls, y0: int, x0: int, changed: np.ndarray,
                    values: np.ndarray | bool) -> "MaskEdit | None":
        """Build from a bool box of changed pixels and their new values (row-major order, or one bool)."""
        rows = np.flatnonzero(changed.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(changed.any(axis=0))
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        changed = changed[r0:r1, c0:c1]  # tightening keeps the row-major order of the changed pixels
        height, width = changed.shape
        index = np.flatnonzero(changed)
        count = int(index.size)
        if count * 4 < (height * width) // 8:
            index, bitmap = index.astype(np.int32), None
        else:
            index, bitmap = None, np.packbits(changed, axis=None)
        if isinstance(values, (bool, np.bool_)):
            packed = bool(values)
        else:
            values = np.asarray(values, bool)
            packed = bool(values[0]) if values.all() or not values.any() else np.packbits(values)
        return cls(y0 + r0, x0 + c0, height, width, count, index, bitmap, packed)

    @property
    def rect(self) -> Rect:
        return self.x0, self.y0, self.width, self.height

    @property
    def changed_pixels(self) -> int:
        return self.count

    @property
    def nbytes(self) -> int:
        storage = self._index if self._index is not None else self._bitmap
        values = self._values.nbytes if isinstance(self._values, np.ndarray) else 1
        return int(storage.nbytes) + values

    @property
    def changed(self) -> np.ndarray:
        """Bool (height, width): the pixels of the box this edit changes."""
        if self._bitmap is not None:
            flat = np.unpackbits(self._bitmap, count=self.height * self.width).view(bool)
        else:
            flat = np.zeros(self.height * self.width, bool)
            flat[self._index] = True
        return flat.reshape(self.height, self.width)

    def new_values(self) -> np.ndarray | bool:
        if isinstance(self._values, bool):
            return self._values
        return np.unpackbits(self._values, count=self.count).view(bool)

    def old_values(self) -> np.ndarray | bool:
        new = self.new_values()
        return (not new) if isinstance(new, bool) else ~new

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Absolute (rows, cols) of the changed pixels, row-major."""
        index = self._index if self._index is not None else np.flatnonzero(self.changed)
        rows, cols = np.divmod(index, self.width)
        return rows + self.y0, cols + self.x0

    def write(self, mask: np.ndarray, forward: bool = True) -> None:
        """Set the changed pixels of ``mask`` to their new (forward) or old values; idempotent."""
        box = mask[self.y0:self.y0 + self.height, self.x0:self.x0 + self.width]
        values = self.new_values() if forward else self.old_values()
        if self._index is not None:
            rows, cols = np.divmod(self._index, self.width)
            box[rows, cols] = values
        else:
            box[self.changed] = values


def merge_edits(edits: list[MaskEdit]) -> MaskEdit | None:
    """One edit equal to applying ``edits`` in order (pixels changed and changed back drop out)."""
    if not edits:
        return None
    y0 = min(e.y0 for e in edits)
    x0 = min(e.x0 for e in edits)
    y1 = max(e.y0 + e.height for e in edits)
    x1 = max(e.x0 + e.width for e in edits)
    width = x1 - x0
    positions, values = [], []
    for edit in edits:
        rows, cols = edit.positions()
        positions.append((rows - y0).astype(np.int64) * width + (cols - x0))
        new = edit.new_values()
        values.append(np.full(edit.count, new) if isinstance(new, bool) else new)
    pos = np.concatenate(positions)
    val = np.concatenate(values)
    unique, first = np.unique(pos, return_index=True)
    _, last_rev = np.unique(pos[::-1], return_index=True)
    last = pos.size - 1 - last_rev
    final, before = val[last], ~val[first]
    keep = final != before
    changed = np.zeros((y1 - y0) * width, bool)
    changed[unique[keep]] = True
    return MaskEdit.from_change(y0, x0, changed.reshape(y1 - y0, width), final[keep])
