"""Edits that could not be saved in their workspace when the app quit (a full disk, a lost mount), kept
under the user's data directory until the next launch restores or discards them.

    <user data dir>/roadseg/recovery/<YYYYmmdd-HHMMSS>-<pid>/
        <n>.png          one mask per tile, 0/255 (numbered: a stem may not be a safe file name)
        recovery.json    {"workspace": "/abs/root", "created": 1765..., "reason": "...", "tiles": {"stem": "0.png"}}

The manifest is written last, atomically: a folder without one is an interrupted rescue and is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from platformdirs import user_data_dir

from trainer.fsutil import atomic_write_bytes
from trainer.imageio import read_mask, write_mask_png

MANIFEST = "recovery.json"


def recovery_root() -> Path:
    return Path(user_data_dir("roadseg", appauthor=False)) / "recovery"


@dataclass(frozen=True)
class Recovery:
    folder: Path
    workspace: Path
    created: float
    reason: str
    tiles: dict[str, str]          # stem -> mask file name in ``folder``

    def mask(self, stem: str) -> np.ndarray:
        return read_mask(self.folder / self.tiles[stem])

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created))
        count = len(self.tiles)
        return f"{count} unsaved edit{'s' if count != 1 else ''} kept in {self.folder} on {when} ({self.reason})"


def write(workspace_root: str | os.PathLike, masks: dict[str, np.ndarray], reason: str) -> Path:
    """Keep ``masks`` (stem -> bool mask) of this workspace; returns the folder. Raises OSError."""
    folder = recovery_root() / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    tiles = {}
    for number, (stem, mask) in enumerate(masks.items()):
        tiles[stem] = f"{number}.png"
        write_mask_png(folder / tiles[stem], np.asarray(mask, bool))
    _write_manifest(folder, Path(workspace_root).resolve(), time.time(), reason, tiles)
    return folder


def pending(workspace_root: str | os.PathLike) -> list[Recovery]:
    """Complete recoveries of this workspace, oldest first."""
    root, found = Path(workspace_root).resolve(), []
    base = recovery_root()
    if not base.is_dir():
        return []
    for folder in sorted(base.iterdir()):
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            recovery = Recovery(folder, Path(data["workspace"]), float(data["created"]), str(data["reason"]),
                                {str(k): str(v) for k, v in data["tiles"].items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue   # interrupted, or not ours
        if recovery.workspace == root and recovery.tiles:
            found.append(recovery)
    return found


def restore(recovery: Recovery, workspace) -> tuple[list[str], list[str]]:
    """Put each kept mask back as the tile's unsaved edit; (restored stems, stems kept back).

    A tile that is gone, or whose edit on disk is newer than the rescue (edited since), is kept back,
    never overwritten; the folder goes once nothing is left in it."""
    restored, kept = [], []
    for stem in recovery.tiles:
        edit = workspace.edit_path(stem)
        newer = edit.exists() and edit.stat().st_mtime > recovery.created
        if workspace.tile(stem) is None or newer:
            kept.append(stem)
            continue
        workspace.save_working_mask(stem, recovery.mask(stem))
        restored.append(stem)
    if kept:
        _write_manifest(recovery.folder, recovery.workspace, recovery.created, recovery.reason,
                        {stem: recovery.tiles[stem] for stem in kept})
    else:
        discard(recovery)
    return restored, kept


def discard(recovery: Recovery) -> None:
    shutil.rmtree(recovery.folder, ignore_errors=True)


def _write_manifest(folder: Path, workspace: Path, created: float, reason: str, tiles: dict[str, str]) -> None:
    data = {"workspace": str(workspace), "created": created, "reason": reason, "tiles": tiles}
    atomic_write_bytes(folder / MANIFEST, json.dumps(data, indent=1).encode("utf-8"))
