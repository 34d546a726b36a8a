"""S3 keys <-> workspace paths. Every remote key is validated before it can touch the disk.

The remote layout mirrors the workspace: ``PREFIX/{train,test}/{images,masks}/NAME``.
A key is accepted only when it is exactly that shape with NAME a plain file name:
no ``..``/``.``, no empty segments, no backslashes, no control characters, and the
resulting path resolves inside the workspace. NAME must also work on every annotator's
machine: at most 255 bytes, nothing Windows cannot hold (reserved device names, <>:"|?*,
a trailing dot or space), and no bidirectional-override characters, which can make
``x\u202egnp.exe`` look like ``xexe.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from trainer.errors import BadInputError

from ..layout import SPLITS

KINDS = ("images", "masks")
NAME_MAX_BYTES = 255     # ext4, APFS, NTFS (in UTF-16 units, which UTF-8 bytes bound)
WINDOWS_FORBIDDEN = frozenset('<>:"|?*')
WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                              *(f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3")})
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class UnsafeKeyError(BadInputError):
    """A remote key that would land outside the workspace or is not a plain file name."""


@dataclass(frozen=True)
class LayoutPath:
    split: str
    kind: str      # "images" or "masks"
    name: str

    @property
    def relpath(self) -> str:
        return f"{self.split}/{self.kind}/{self.name}"

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem


def normalize_prefix(prefix: str) -> str:
    return "/".join(part for part in (prefix or "").replace("\\", "/").split("/") if part)


def object_key(prefix: str, relpath: str) -> str:
    prefix = normalize_prefix(prefix)
    return f"{prefix}/{relpath}" if prefix else relpath


def check_name(name: str) -> None:
    """Refuse anything that is not a plain file name usable on every OS."""
    if not name or name in (".", ".."):
        raise UnsafeKeyError(f"file name {name!r} is empty or a directory reference")
    if "/" in name or "\\" in name:
        raise UnsafeKeyError(f"file name {name!r} contains a path separator")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in name):
        raise UnsafeKeyError(f"file name {name!r} contains control characters")
    if name.startswith(".") or name.endswith((" ", ".")):
        raise UnsafeKeyError(f"file name {name!r} is hidden or ends with a dot or space, which Windows drops")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > NAME_MAX_BYTES:
        raise UnsafeKeyError(f"file name {name[:40]!r}... is {size} bytes long; file systems hold at most "
                             f"{NAME_MAX_BYTES}")
    if any(ch in WINDOWS_FORBIDDEN for ch in name):
        raise UnsafeKeyError(f"file name {name!r} contains one of <>:\"|?*, which Windows cannot hold")
    if name.split(".")[0].rstrip(" ").upper() in WINDOWS_RESERVED:
        raise UnsafeKeyError(f"file name {name!r} is a reserved device name on Windows")
    if any(ch in BIDI_CONTROLS for ch in name):
        raise UnsafeKeyError(f"file name {name!r} contains bidirectional-override characters, "
                             "which can disguise its real extension")


def parse_key(prefix: str, key: str) -> LayoutPath | None:
    """Map a remote key under ``prefix`` to its layout path.

    Returns None for keys that are safe but not part of the layout (other folders,
    folder markers); raises UnsafeKeyError for keys that are hostile or malformed.
    """
    prefix = normalize_prefix(prefix)
    head = f"{prefix}/" if prefix else ""
    if not key.startswith(head):
        raise UnsafeKeyError(f"key {key!r} is not under the prefix {prefix!r}")
    rest = key[len(head):]
    if "\\" in rest:
        raise UnsafeKeyError(f"key {key!r} contains a backslash")
    if rest.startswith("/"):
        raise UnsafeKeyError(f"key {key!r} is an absolute path after the prefix")
    parts = rest.split("/")
    if any(part in (".", "..") for part in parts):
        raise UnsafeKeyError(f"key {key!r} contains '.' or '..' segments")
    if rest.endswith("/") and "" not in parts[:-1]:
        return None  # a folder marker, not a file
    if "" in parts:
        raise UnsafeKeyError(f"key {key!r} has an empty path segment")
    if len(parts) != 3 or parts[0] not in SPLITS or parts[1] not in KINDS:
        return None
    try:
        check_name(parts[2])
    except UnsafeKeyError as exc:
        raise UnsafeKeyError(f"key {key!r}: {exc.what}") from None
    return LayoutPath(parts[0], parts[1], parts[2])


def local_path(root: Path, relpath: str) -> Path:
    """The workspace path for a layout relpath; refuses anything resolving outside ``root``."""
    root = Path(root).resolve()
    target = (root / relpath).resolve()
    if root != target and root not in target.parents:
        raise UnsafeKeyError(f"{relpath!r} resolves outside the workspace", path=target)
    return target
