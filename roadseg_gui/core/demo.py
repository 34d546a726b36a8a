"""The demo workspace a new user sees on first run (``roadseg-gui`` with no argument).

Its source ships in resources/demo/ (license-clean: SpaceNet CC BY-SA chips and
synthetic tiles; see resources/demo/ATTRIBUTION.md). It is copied once into the
user's data dir, so the user's edits there persist and the shipped copy stays clean.
The copy starts with the shipped starter model (resources/models/starter, built by
scripts/build_starter_model.py) registered and active, so the first launch shows predictions.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from platformdirs import user_data_dir

from trainer.errors import RoadsegError

from .layout import STATE_DIR
from .shipped import DEMO_SOURCE, STARTER_MODEL

log = logging.getLogger(__name__)

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
    if source == DEMO_SOURCE:
        try:
            install_starter_model(target)
        except (OSError, RoadsegError) as exc:  # the demo still opens; the banner offers to train one
            log.warning("The starter model could not be installed in the demo workspace: %s", exc)
    return target


def install_starter_model(workspace: str | os.PathLike, starter: Path = STARTER_MODEL) -> str | None:
    """Copy the starter model into the workspace's model registry and make it the active model.

    Returns its version, or None when this installation ships no starter model."""
    from trainer.artifact import WEIGHTS_NAME, copy_model_dir, file_version

    from .models import ModelRegistry

    if not (starter / WEIGHTS_NAME).is_file():
        return None
    version = file_version(starter / WEIGHTS_NAME)
    registry = ModelRegistry(workspace)
    try:
        # a copy inside the workspace: it keeps working when the installation moves or is upgraded
        copied = copy_model_dir(starter, registry.models_dir / version)
        registry.add_external(copied, version)
        registry.activate(version)
    finally:
        registry.close()
    return version


def model_description(model_path: str | os.PathLike | None) -> str:
    """The short honest description a model folder's model.json carries (the starter model has one)."""
    if not model_path:
        return ""
    meta = Path(model_path) / "model.json"
    try:
        return str(json.loads(meta.read_text("utf-8")).get("description", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def ensure_demo_workspace(target: str | os.PathLike | None = None) -> Path:
    """The demo workspace folder, copied from resources/demo/ on first use."""
    target = Path(target) if target is not None else default_demo_dir()
    if not (target / STATE_DIR).is_dir():
        copy_demo(target)
    return target
