"""Where a scene job stages its work, so that neither an upload nor a kill -9 sees half of it.

Each scene is predicted in a folder of its own under the run's work folder, then moved into the
output tree, and markers are written there through a temp file. The work folder lies beside the
output folder, on its file system (moves and atomic writes stay renames), but outside it:
SageMaker's Continuous upload copies every file that appears under the output, temp files included.
For an s3:// output it lies in the temp directory. Each run works in a folder named after its host
and process; a run removes those its host's dead processes left behind (a kill -9 cannot clean up).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Iterator

S3_PREFIX = "roadseg-scenejob-"        # in the temp directory, for s3:// outputs
STALE_WITHOUT_PID_CHECK = 7 * 24 * 3600  # where a process cannot be looked up (Windows without psutil)


def work_base(output_uri: str) -> tuple[Path, str]:
    """(the folder that holds the runs' work folders, their name prefix) for an output folder or s3:// prefix."""
    if output_uri.startswith("s3://"):
        return Path(tempfile.gettempdir()), S3_PREFIX
    output = Path(output_uri).absolute()
    return output.parent / f".{output.name}.roadseg-work", ""


def _host() -> str:
    return socket.gethostname().replace("-", "_") or "host"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":
        try:
            import psutil
        except ImportError:
            return True    # cannot tell: only the age test applies
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:        # EPERM: alive, owned by someone else
        return True
    return True


def remove_stale(base: Path, prefix: str = "") -> list[Path]:
    """Remove work folders under ``base`` that this host's dead processes left behind; returns them."""
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    host = _host()
    for entry in entries:
        name = entry.name[len(prefix):] if entry.name.startswith(prefix) else None
        parts = (name or "").split("-")
        if name is None or len(parts) < 3 or parts[0] != host or not parts[1].isdigit() or not entry.is_dir():
            continue
        dead = not _alive(int(parts[1]))
        if os.name == "nt" and not dead:
            with contextlib.suppress(OSError):
                dead = time.time() - entry.stat().st_mtime > STALE_WITHOUT_PID_CHECK
        if dead:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def work_folder(output_uri: str) -> Iterator[Path]:
    """This run's work folder (removed at the end), after removing stale ones."""
    base, prefix = work_base(output_uri)
    base.mkdir(parents=True, exist_ok=True)
    for stale in remove_stale(base, prefix):
        print(f"removed {stale}, left by an earlier run that was killed", flush=True)
    work = Path(tempfile.mkdtemp(prefix=f"{prefix}{_host()}-{os.getpid()}-", dir=base))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not prefix:
            with contextlib.suppress(OSError):
                base.rmdir()   # only when no other run is using it
