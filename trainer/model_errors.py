"""One sentence for each way a model file fails to load, instead of Python's own text: tarfile's
four-line list of the compressions it tried, or json's hint to call sys.set_int_max_str_digits()."""

from __future__ import annotations

import json
import os
import tarfile

_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZ": "bzip2", b"\xfd7": "xz"}


def archive_reason(exc: BaseException, path: str | os.PathLike) -> str:
    """Why ``path`` is not a model archive, in one sentence."""
    if not isinstance(exc, tarfile.TarError) or "\n" not in str(exc):
        return f"not a readable model archive ({' '.join(str(exc).split()) or exc.__class__.__name__})"
    try:   # tarfile tried each compression in turn and lists every failure: say what the file is
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except OSError:
        magic = b""
    kind = _COMPRESSED.get(magic)
    if kind:
        return f"not a readable model archive: it is {kind}-compressed but holds no complete tar archive " \
               f"(truncated, or not a tar inside)"
    return "not a model archive: it is neither a tar archive nor a gzip, bzip2 or xz-compressed one"


def metadata_reason(exc: BaseException) -> str:
    """Why a model.json cannot be read, in one sentence."""
    if isinstance(exc, OSError):
        return f"cannot be read ({exc.strerror or exc})"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return "it holds a number thousands of digits long, which no model metadata has (a damaged or hostile file)"
    if isinstance(exc, RecursionError):
        return "it is nested too deeply to be model metadata (a damaged or hostile file)"
    return f"not valid model metadata ({' '.join(str(exc).split())})"
