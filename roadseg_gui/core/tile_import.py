"""Adding image files (or folders of them) to a workspace's unlabeled/ folder."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Sequence

from trainer.imageio import is_image_file

from .layout import UNLABELED


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)                   # stems
    skipped: list[tuple[str, str]] = field(default_factory=list)     # (path, reason)

    @property
    def ok(self) -> bool:
        return not self.skipped


def _expand(paths: Sequence[str | os.PathLike], report: ImportReport) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and is_image_file(p.name))
        elif path.is_file():
            if is_image_file(path.name):
                files.append(path)
            else:
                report.skipped.append((str(path), "not an image file (.jpg, .jpeg, .png, .tif, .tiff)"))
        else:
            report.skipped.append((str(path), "no such file or folder"))
    return files


def add_images(root: Path, taken: Collection[str], paths: Sequence[str | os.PathLike],
               progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Copy images into ROOT/unlabeled/; a stem in ``taken`` (the workspace's tiles) is skipped with a reason.
    Takes the workspace's root and stems, not the Workspace, which calls this (no import circle)."""
    report = ImportReport()
    files = _expand(paths, report)
    taken = set(taken)
    target_dir = Path(root) / UNLABELED
    for done, source in enumerate(files, 1):
        stem = source.stem
        if stem in taken:
            report.skipped.append((str(source), f"a tile named {stem!r} is already in the workspace; "
                                                "rename the file to add it"))
        elif source.stat().st_size == 0:
            report.skipped.append((str(source), "file is empty (0 bytes)"))
        else:
            target = target_dir / source.name
            tmp = target_dir / f".{source.name}.importing"
            try:
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)  # a half-copied file never looks like a tile
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                report.skipped.append((str(source), f"cannot copy ({exc.strerror or exc})"))
            else:
                taken.add(stem)
                report.added.append(stem)
        if progress:
            progress(done, len(files))
    return report
