"""Crash-safe file writes: a kill -9 at any instant leaves the old file or the new one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


_NAME_ROOM = 255 - len("..") - 8 - len(".tmp")   # file-name bytes left beside mkstemp's 8 random characters


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb", tmp_dir: str | os.PathLike | None = None) -> Iterator[IO]:
    """Yield a temp file beside ``path`` (or in ``tmp_dir``, which must be on the same file system: a folder
    whose every file is uploaded, like a Processing job's Continuous output, must never see temp files);
    on success fsync it and rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the temp name embeds the target's (easy to trace) unless that would pass 255 bytes
    prefix = f".{path.name}." if len(path.name.encode("utf-8", "surrogateescape")) <= _NAME_ROOM else ".tmp-"
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=tmp_dir or path.parent)
    try:
        # mkstemp makes 0600 files; keep the old file's mode, or the usual 0644 for a new one.
        os.chmod(tmp, _existing_mode(path, default=0o644))
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, tmp_dir: str | os.PathLike | None = None) -> None:
    with atomic_writer(path, "wb", tmp_dir) as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _existing_mode(path: Path, default: int) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return default


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not supported on every platform (e.g. Windows).
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
