"""The demo workspace a new user sees on first run (``roadseg-gui`` with no argument).

Its source ships in resources/demo/ (license-clean: SpaceNet CC BY-SA chips and
synthetic tiles; see resources/demo/ATTRIBUTION.md). It is copied once into the
user's data dir, so the user's edits there persist and the shipped copy stays clean.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from platformdirs import user_data_dir

from trainer.errors import RoadsegError

from .layout import STATE_DIR

DEMO_SOURCE = Path(__file__).resolve().parents[2] / "resources" / "demo"
_COPIED = ("unlabeled", "train", "test", "ATTRIBUTION.md")


def default_demo_dir() -> Path:
    return Path(user_data_dir("roadseg", appauthor=False)) / "demo"


def copy_demo(target: str | os.PathLike, source: Path = DEMO_SOURCE) -> Path:
    """Copy the demo workspace into ``target`` (which must not hold a workspace yet)."""
    target = Path(target).expanduser()
    if not (source / "unlabeled").is_dir():
        raise RoadsegError("the demo workspace is missing from this installation",
                           "Reinstall roadseg, or open a workspace folder of your own.", source)
    if (target / STATE_DIR).exists():
        raise RoadsegError("already holds a roadseg workspace", "Choose an empty folder.", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Copy beside the target, then rename: a crash never leaves a half demo that looks complete.
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=target.parent))
    try:
        for name in _COPIED:
            item = source / name
            if item.is_dir():
                shutil.copytree(item, staging / name)
            elif item.is_file():
                shutil.copy2(item, staging / name)
        from .workspace import Workspace
        Workspace.open(staging).close()  # registers the tiles; the .roadseg folder marks it complete
        if target.exists() and not any(target.iterdir()):
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def ensure_demo_workspace(target: str | os.PathLike | None = None) -> Path:
    """The demo workspace folder, copied from resources/demo/ on first use."""
    target = Path(target) if target is not None else default_demo_dir()
    if not (target / STATE_DIR).is_dir():
        copy_demo(target)
    return target
