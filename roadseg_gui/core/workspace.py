"""A workspace: a folder mirroring the S3 layout, plus per-tile state in SQLite.

Opening never decodes an image: ``scan()`` lists files with ``os.scandir`` and
registers them in one transaction, so 10,000 tiles open in about a second.
Every mask write is atomic; ``accept`` writes the mask before it moves the
image, and ``scan`` finishes an accept that a crash interrupted.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from trainer import imageio
from trainer.errors import BadInputError, RoadsegError
from trainer.fsutil import atomic_write_bytes

from . import statedb
from .layout import UNLABELED, ensure_layout, images_dir, masks_dir, state_dir
from .settings import WorkspaceSettings
from .statedb import TileStatus
from .thumbnails import ThumbnailCache
from .tile_import import add_images
from .workspace_scan import scan_workspace

ORDERS = ("name", "uncertainty")


def split_for(stem: str, test_fraction: float) -> str:
    """Stable split of a tile: sha1(stem) as a fraction of 2**160 below test_fraction -> "test"."""
    value = int.from_bytes(hashlib.sha1(stem.encode("utf-8")).digest(), "big")
    return "test" if value / 2 ** 160 < test_fraction else "train"


@dataclass(frozen=True)
class TileRecord:
    stem: str
    image: str                   # path relative to the workspace root (posix)
    split: str | None            # "train", "test" or None while unlabeled
    status: TileStatus
    uncertainty: float | None
    model_version: str | None
    edited_at: float | None
    accepted_at: float | None
    error: str | None
    remote_split: str | None = None   # where S3 holds a pulled unlabeled image; accept keeps that split

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "TileRecord":
        return cls(row["stem"], row["image"], row["split"], TileStatus(row["status"]), row["uncertainty"],
                   row["model_version"], row["edited_at"], row["accepted_at"], row["error"], row["remote_split"])


class StatusCounts(dict):
    """Tile counts per status; indexable by TileStatus or by its string value."""

    def __getitem__(self, key):
        return super().__getitem__(TileStatus(key).value)

    def get(self, key, default=None):
        return super().get(TileStatus(key).value, default)

    def __contains__(self, key):
        return super().__contains__(TileStatus(key).value)

    @property
    def total(self) -> int:
        return sum(self.values())


class Workspace:
    """The tiles of one workspace folder and their state. Safe to use from several threads."""

    def __init__(self, root: Path, settings: WorkspaceSettings):
        self.root = root
        self.settings = settings
        self._local = threading.local()
        self._thumbnails = ThumbnailCache(root)

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | os.PathLike, create: bool = True, scan: bool = True) -> "Workspace":
        root = Path(root).expanduser().resolve()
        if not create and not state_dir(root).is_dir():
            raise RoadsegError("is not a roadseg workspace (no .roadseg folder)",
                               "Open the workspace folder itself, or create a new workspace.", root)
        if root.exists() and not root.is_dir():
            raise RoadsegError("is a file, not a folder", "Choose a folder for the workspace.", root)
        ensure_layout(root)
        for name in ("edits", "predictions", "thumbs"):
            (state_dir(root) / name).mkdir(exist_ok=True)
        workspace = cls(root, WorkspaceSettings.load(root))
        workspace.db  # create the schema now, not on first use in some worker thread
        if scan:
            workspace.scan()
        return workspace

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections must not cross threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = statedb.connect(self.root)
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def save_settings(self) -> None:
        self.settings.save(self.root)

    def scan(self) -> int:
        """Register image files found on disk; forget rows whose image is gone. Returns new tiles."""
        return scan_workspace(self.root, self.db)

    # -- queries ---------------------------------------------------------------------------
    def tiles(self, status: TileStatus | str | Iterable[TileStatus | str] | None = None,
              split: str | None = None, order: str = "name") -> list[TileRecord]:
        """Tiles filtered by status (one or several) and split ("train", "test" or "unlabeled")."""
        where, params = [], []
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            values = [TileStatus(s).value for s in statuses]
            where.append(f"status IN ({','.join('?' * len(values))})")
            params += values
        if split == UNLABELED:
            where.append("split IS NULL")
        elif split is not None:
            where.append("split = ?")
            params.append(split)
        if order == "uncertainty":  # most uncertain first; never-predicted tiles last
            order_sql = "uncertainty IS NULL, uncertainty DESC, stem"
        elif order == "name":
            order_sql = "stem"
        else:
            raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
        sql = "SELECT * FROM tiles" + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order_sql}"
        return [TileRecord.from_row(row) for row in self.db.execute(sql, params)]

    def tile(self, stem: str) -> TileRecord | None:
        row = self.db.execute("SELECT * FROM tiles WHERE stem=?", (stem,)).fetchone()
        return TileRecord.from_row(row) if row else None

    def counts(self) -> StatusCounts:
        counts = StatusCounts({s.value: 0 for s in TileStatus})
        for row in self.db.execute("SELECT status, COUNT(*) FROM tiles GROUP BY status"):
            counts[row[0]] = row[1]
        return counts

    def _require(self, stem: str) -> TileRecord:
        record = self.tile(stem)
        if record is None:
            raise BadInputError(f"no tile named {stem!r} in this workspace", "Rescan the workspace.", self.root)
        return record

    # -- files of a tile -------------------------------------------------------------------
    def image_path(self, stem: str) -> Path:
        return self.root / self._require(stem).image

    def mask_path(self, stem: str) -> Path | None:
        """The accepted mask file, if the tile has one."""
        record = self._require(stem)
        if record.split is None:
            return None
        path = masks_dir(self.root, record.split) / f"{stem}.png"
        return path if path.exists() else None

    def edit_path(self, stem: str) -> Path:
        return state_dir(self.root) / "edits" / f"{stem}.png"

    def prediction_path(self, stem: str) -> Path:
        return state_dir(self.root) / "predictions" / f"{stem}.png"

    def read_image(self, stem: str) -> np.ndarray:
        """The tile as uint8 RGB; an unreadable file marks the tile as error and raises BadInputError."""
        record = self._require(stem)
        try:
            image = imageio.read_image(self.root / record.image)
        except BadInputError as exc:
            self.mark_error(stem, exc.what)
            raise
        if record.error is not None:
            self.clear_error(stem)
        return image

    @property
    def thumbnails(self) -> ThumbnailCache:
        return self._thumbnails

    def thumbnail(self, stem: str) -> Path:
        """The tile's cached thumbnail (JPEG), made now if needed: call it from a worker thread.

        An unreadable image marks the tile as error and raises BadInputError."""
        try:
            return self._thumbnails.get(self.image_path(stem))
        except BadInputError as exc:
            self.mark_error(stem, exc.what)
            raise

    def image_size(self, stem: str) -> tuple[int, int]:
        """(height, width) from the file header."""
        return imageio.image_size(self.image_path(stem))

    # -- masks -----------------------------------------------------------------------------
    def working_mask(self, stem: str) -> np.ndarray | None:
        """The autosaved edit, else the accepted mask, else None."""
        edit = self.edit_path(stem)
        if edit.exists():
            return imageio.read_mask(edit)
        accepted = self.mask_path(stem)
        return imageio.read_mask(accepted) if accepted else None

    def save_working_mask(self, stem: str, mask: np.ndarray) -> None:
        """Autosave an unaccepted edit (atomic) and mark the tile edited."""
        self._require(stem)
        imageio.write_mask_png(self.edit_path(stem), np.asarray(mask, bool))
        self.db.execute("UPDATE tiles SET status=?, edited_at=? WHERE stem=?",
                        (TileStatus.EDITED.value, time.time(), stem))

    def discard_working_mask(self, stem: str) -> None:
        """Drop the autosaved edit; the tile goes back to accepted/predicted/new."""
        record = self._require(stem)
        self.edit_path(stem).unlink(missing_ok=True)
        if record.status == TileStatus.EDITED:
            status = (TileStatus.ACCEPTED if self.mask_path(stem)
                      else TileStatus.PREDICTED if self.prediction_path(stem).exists() else TileStatus.NEW)
            self.db.execute("UPDATE tiles SET status=? WHERE stem=?", (status.value, stem))

    def accept(self, stem: str, mask: np.ndarray) -> str:
        """File the mask under {split}/masks and the image under {split}/images; returns the split."""
        record = self._require(stem)
        mask = np.asarray(mask, bool)
        image = self.root / record.image
        height, width = imageio.image_size(image)
        if mask.shape != (height, width):
            raise BadInputError(
                f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is {width}x{height}",
                "Redraw the mask on this image.", image)
        # A pulled image keeps its remote split: hashing it elsewhere would leave a stale copy on S3
        # in the other split (the same tile in train and test).
        split = record.split or record.remote_split or split_for(stem, self.settings.labeling.test_fraction)
        # Mask first, then move the image: a crash in between is repaired by scan().
        imageio.write_mask_png(masks_dir(self.root, split) / f"{stem}.png", mask)
        target = images_dir(self.root, split) / image.name
        if image != target:
            if target.exists():
                raise BadInputError(f"{target.relative_to(self.root)} already exists",
                                    "Two tiles share this name; rename one of them.", image)
            os.replace(image, target)
        now = time.time()
        self.db.execute(
            "UPDATE tiles SET image=?, split=?, status=?, accepted_at=?, error=NULL WHERE stem=?",
            (target.relative_to(self.root).as_posix(), split, TileStatus.ACCEPTED.value, now, stem))
        self.edit_path(stem).unlink(missing_ok=True)
        return split

    # -- predictions and errors --------------------------------------------------------------
    def save_prediction(self, stem: str, probability: np.ndarray, uncertainty: float,
                        model_version: str) -> None:
        """Store the model's probability map (uint8 L PNG); a new tile becomes predicted."""
        self._require(stem)
        probability = np.asarray(probability)
        if probability.dtype != np.uint8 or probability.ndim != 2:
            raise BadInputError(f"a probability map must be uint8 HxW, not {probability.dtype} "
                                f"{probability.shape}", path=self.prediction_path(stem))
        buf = io.BytesIO()
        Image.fromarray(probability, mode="L").save(buf, format="PNG", compress_level=1)
        atomic_write_bytes(self.prediction_path(stem), buf.getvalue())
        self.db.execute(
            "UPDATE tiles SET uncertainty=?, model_version=?, "
            "status=CASE WHEN status='new' THEN 'predicted' ELSE status END WHERE stem=?",
            (float(uncertainty), model_version, stem))
        self.clear_error(stem)  # the model read the image, so it is readable again

    def prediction(self, stem: str) -> np.ndarray | None:
        path = self.prediction_path(stem)
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("L"))
        except FileNotFoundError:
            return None
        except OSError:  # a damaged cache file: predict again
            path.unlink(missing_ok=True)
            return None

    def mark_error(self, stem: str, reason: str) -> None:
        """Record why the image cannot be read. Only a new or predicted tile becomes 'error':
        an edited, accepted or synced tile keeps its workflow status (its mask still exists)."""
        self.db.execute("UPDATE tiles SET error=?, status=CASE WHEN status IN ('new', 'predicted') "
                        "THEN 'error' ELSE status END WHERE stem=?", (reason, stem))

    def clear_error(self, stem: str) -> None:
        """The image reads again: forget the error and give an 'error' tile back the status its files show."""
        record = self.tile(stem)
        if record is None or (record.error is None and record.status != TileStatus.ERROR):
            return
        status = record.status
        if status == TileStatus.ERROR:
            status = (TileStatus.EDITED if self.edit_path(stem).exists()
                      else TileStatus.ACCEPTED if self.mask_path(stem)
                      else TileStatus.PREDICTED if self.prediction_path(stem).exists() else TileStatus.NEW)
        self.db.execute("UPDATE tiles SET status=?, error=NULL WHERE stem=?", (status.value, stem))

    # -- import ------------------------------------------------------------------------------
    def add_images(self, paths: Sequence[str | os.PathLike],
                   progress: Callable[[int, int], None] | None = None):
        """Copy image files (or folders of them) into unlabeled/; see tile_import.add_images."""
        report = add_images(self.root, self.known_stems(), paths, progress=progress)
        self.scan()
        return report

    def known_stems(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT stem FROM tiles")}
