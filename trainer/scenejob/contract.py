"""The contract between a scene-prediction job and whatever runs it.

SageMaker Processing mounts inputs under ``/opt/ml/processing/input/<name>`` and uploads
``/opt/ml/processing/output/<name>`` when the job ends; ``--backend local`` uses the same
layout in any folder. Each finished scene gets a ``<stem>.done.json`` marker, written last,
that lists its outputs with their sizes: a scene counts as complete only when the marker
exists and every file it lists has that size, so a rerun skips exactly the finished scenes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

# ROADSEG_PROCESSING_ROOT moves the whole tree (tests, or a run outside a container)
def processing_root() -> Path:
    return Path(os.environ.get("ROADSEG_PROCESSING_ROOT", "/opt/ml/processing"))


def resource_config() -> Path:
    """SageMaker's /opt/ml/config/resourceconfig.json (beside the processing tree)."""
    return processing_root().parent / "config" / "resourceconfig.json"


def input_scenes() -> Path:
    return processing_root() / "input" / "scenes"


def input_model() -> Path:
    return processing_root() / "input" / "model"


def output_dir() -> Path:
    return processing_root() / "output" / "predictions"


SCENE_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2", ".img"}
MARKER_SUFFIX = ".done.json"
FAILURES = "failures.json"
# the line the follower counts: one per scene finished (or skipped) on this host
PROGRESS_FORMAT = "scenes_done={done} scenes_total={total} scene={name}"


def is_scene_name(name: str) -> bool:
    return not name.startswith(".") and PurePosixPath(name).suffix.lower() in SCENE_SUFFIXES


def marker_name(relative: str) -> str:
    """``city/a.tif`` -> ``city/a.done.json`` (the scene's relative path is kept)."""
    path = PurePosixPath(relative)
    return str(path.with_name(path.stem + MARKER_SUFFIX))


def same_outputs(recorded, signature: dict) -> bool:
    """Whether a marker's recorded ``outputs`` match every key of ``signature`` (a launch may know fewer:
    not the version of a model on S3)."""
    return isinstance(recorded, dict) and all(recorded.get(key) == value for key, value in signature.items())


def output_stem(relative: str) -> PurePosixPath:
    path = PurePosixPath(relative)
    return path.with_name(path.stem)


def shared_outputs(scenes: list[str]) -> dict[str, str]:
    """{scene: the earlier scene whose output names it would reuse}: ``a.tif`` and ``a.vrt`` in one
    folder both make ``a_mask.tif`` and ``a.done.json``, so the second could overwrite the first's
    outputs, or be taken for complete on its marker."""
    owners: dict[str, str] = {}
    shared = {}
    for relative in scenes:
        owner = owners.setdefault(str(output_stem(relative)), relative)
        if owner != relative:
            shared[relative] = owner
    return shared


def shared_reason(owner: str) -> str:
    return (f"its outputs would have the same names as those of {owner} (same folder and name but for the "
            f"extension); rename one of them")


def output_inside_input(input_uri: str, output_uri: str) -> bool:
    """Whether the outputs would land under the scenes (two s3:// prefixes, or two local folders):
    a rerun would then read the masks as scenes."""
    if input_uri.startswith("s3://") != output_uri.startswith("s3://"):
        return False
    if input_uri.startswith("s3://"):
        # compared as S3 reads them: s3://b//x and s3://b/x/ are the prefix s3://b/x/
        inside, outside = (_normal_prefix(u) for u in (input_uri, output_uri))
        return outside.startswith(inside)
    inside, outside = Path(input_uri).resolve(), Path(output_uri).resolve()
    return outside == inside or inside in outside.parents


def _normal_prefix(uri: str) -> str:
    bucket, _, key = uri[5:].partition("/")
    key = "/".join(part for part in key.split("/") if part)
    return f"{bucket}/{key}/" if key else f"{bucket}/"


def manifest_key_prefix(manifest_prefix: str) -> str:
    """``s3://bucket/scenes/`` (the manifest's prefix, as the container is told it) -> ``scenes/``."""
    key = manifest_prefix[5:].partition("/")[2] if manifest_prefix.startswith("s3://") else manifest_prefix
    key = "/".join(part for part in key.split("/") if part)
    return key + "/" if key else ""


def current_host() -> tuple[str, int]:
    """(this host's name, number of hosts) from SageMaker's resource config; ("local", 1) elsewhere."""
    try:
        config = json.loads(resource_config().read_text("utf-8"))
        return str(config["current_host"]), len(config.get("hosts") or [1])
    except (OSError, ValueError, KeyError, TypeError):
        return "local", 1


def failures_name(host: str, hosts: int) -> str:
    """One failures file per host, so instances sharing an output prefix never overwrite each other."""
    return FAILURES if hosts <= 1 else f"failures-{host}.json"


def model_path(directory: str | os.PathLike) -> Path:
    """The model inside a mounted model input: its single model.tar.gz, else the folder itself."""
    directory = Path(directory)
    if directory.is_file():
        return directory
    archives = sorted(directory.glob("*.tar.gz"))
    return archives[0] if len(archives) == 1 else directory
