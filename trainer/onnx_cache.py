"""Where ONNX exports live: the user's cache directory, keyed by the weights' content hash.

A cached export is an input like any other: whoever can replace it controls the
predictions. So an export is never read from beside a model (a folder others may
write to), the cache folder is private to the user (0700, owned by them), and each
export's own SHA-256 is recorded at export time in a sidecar (written atomically,
after the export) and compared with the bytes before every load. The session is
built from those same bytes, so the file cannot change between check and use.
A missing or different hash means export again, with a log line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .fsutil import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

CACHE_ENV = "ROADSEG_ONNX_CACHE"  # tests and read-only homes point this elsewhere
KEEP_EXPORTS = 12  # least recently used exports beyond this are removed (about 44 MB each for MobileNet)
_LEGACY = re.compile(r"\.(.+)\.[0-9a-f]{16}\.onnx(\.verdict\.json|\.unchecked)?$")


class UnsafeCacheError(OSError):
    """The cache folder belongs to someone else: its exports cannot be trusted."""


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    try:
        from platformdirs import user_cache_dir
        return Path(user_cache_dir("roadseg")) / "onnx"
    except ImportError:  # the SageMaker image has no platformdirs
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        return Path(tempfile.gettempdir()) / f"roadseg-onnx-{uid}"


def private_cache_dir() -> Path:
    """The cache folder, created 0700; UnsafeCacheError when another user owns it."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if hasattr(os, "getuid"):
        info = folder.stat()
        if info.st_uid != os.getuid():
            raise UnsafeCacheError(f"the ONNX cache {folder} belongs to another user")
        if info.st_mode & 0o077:
            os.chmod(folder, 0o700)
    return folder


@dataclass(frozen=True)
class CacheEntry:
    """One export: ``<key>.onnx`` with its hash in ``<key>.onnx.json`` and, after a failed check, a verdict."""

    folder: Path
    key: str

    @property
    def path(self) -> Path:
        return self.folder / f"{self.key}.onnx"

    @property
    def sidecar(self) -> Path:
        return self.folder / f"{self.key}.onnx.json"

    @property
    def verdict(self) -> Path:
        return self.folder / f"{self.key}.verdict.json"

    def candidate(self) -> Path:
        """A fresh temp path in the cache folder for an export that is not yet checked."""
        fd, name = tempfile.mkstemp(prefix=f".{self.key}.", suffix=".unchecked", dir=self.folder)
        os.close(fd)
        return Path(name)

    def read_verified(self) -> tuple[bytes, dict] | None:
        """The export's bytes and sidecar when its SHA-256 is the one recorded at export time, else None."""
        if not self.path.exists():
            return None
        try:
            record = json.loads(self.sidecar.read_text())
            data = self.path.read_bytes()
        except (OSError, ValueError) as exc:
            log.warning("cached ONNX export %s has no readable hash record (%s); exporting again", self.path, exc)
            return None
        if not isinstance(record, dict) or record.get("sha256") != hashlib.sha256(data).hexdigest():
            log.warning("cached ONNX export %s does not match the hash recorded when it was exported "
                        "(changed or torn); exporting again", self.path)
            return None
        with contextlib.suppress(OSError):
            os.utime(self.path)  # recently used: kept by prune()
        return data, record

    def store(self, data: bytes, **record) -> None:
        """Write the export, then its hash record (a crash between them leaves a mismatch: re-export)."""
        atomic_write_bytes(self.path, data)
        record["sha256"] = hashlib.sha256(data).hexdigest()
        atomic_write_text(self.sidecar, json.dumps(record, indent=1, sort_keys=True) + "\n")
        with contextlib.suppress(OSError):
            self.verdict.unlink()

    def remove(self) -> None:
        for path in (self.path, self.sidecar):
            with contextlib.suppress(OSError):
                path.unlink()


def prune(folder: Path, keep: int = KEEP_EXPORTS) -> None:
    """Remove the least recently used exports beyond ``keep`` (and their records)."""
    try:
        exports = sorted(folder.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in exports[keep:]:
        CacheEntry(folder, old.name[: -len(".onnx")]).remove()
        log.info("removed least recently used ONNX export %s", old)


def remove_legacy_exports(source: Path | None) -> None:
    """Exports that earlier versions left beside a model folder (``.<name>.<fingerprint>.onnx``)."""
    if source is None:
        return
    source = Path(source)
    with contextlib.suppress(OSError):
        for other in source.parent.iterdir():
            match = _LEGACY.match(other.name)
            if match and match.group(1) == source.name:
                with contextlib.suppress(OSError):
                    other.unlink()
                    log.info("removed %s, an ONNX export an earlier version cached beside the model "
                             "(exports now live in %s)", other, cache_dir())
