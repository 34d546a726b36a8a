"""The per-scene loop of a prediction job: skip complete scenes, predict, publish, record failures.

Each scene is predicted into a private staging folder, its files are then moved into the
output tree under the scene's relative path, and its ``.done.json`` marker is written last.
A job killed at any instant leaves each scene either complete (marker present, sizes match)
or incomplete, which the next run predicts again. A scene that fails is reported by name
with its reason and the others go on.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..errors import RoadsegError
from ..fsutil import atomic_write_bytes
from . import contract

log = logging.getLogger(__name__)


@dataclass
class JobOptions:
    cog: bool = True
    probability: bool = False
    vector: bool = False
    bridge: bool = True        # the vector network post-processed (gaps bridged) as predict --vector does
    wgs84: bool = False
    tile: int = 512
    overlap: int = 64
    threshold: float | None = None
    device: str = "auto"

    def signature(self, model_version: str, threshold: float) -> dict:
        """What shapes a scene's outputs, as its marker records it: a rerun redoes scenes whose marker differs."""
        return {"model": model_version, "threshold": round(float(threshold), 6), "tile": self.tile,
                "overlap": self.overlap, "cog": self.cog, "probability": self.probability, "vector": self.vector,
                "bridge": self.bridge and self.vector, "wgs84": self.wgs84}


@dataclass
class JobSummary:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.done) + len(self.skipped) + len(self.failed)

    def describe(self) -> str:
        return (f"{len(self.done)} scene(s) predicted, {len(self.skipped)} already complete, "
                f"{len(self.failed)} failed")


def list_scenes(input_dir: Path, exclude: Path | None = None,
                key_prefix: str = "") -> tuple[list[str], dict[str, str], Path]:
    """(scene files under ``input_dir``, recursively, as sorted POSIX paths relative to it; unreadable
    entries named like scenes - dangling or looping links, pipes - with their reason; the folder they are
    relative to). Hidden and looping folders, and ``exclude`` (the output, even through a link), are
    reported on stdout and skipped.

    ``key_prefix`` is the S3 prefix of a manifest's scenes (``scenes/``): SageMaker may place each object
    under its key relative to that prefix or under its full key; in the second layout every file lies
    under ``input_dir/scenes/`` and paths are taken relative to that folder instead."""
    from ..listing import walk_folder

    input_dir = Path(input_dir)
    listing, notes = walk_folder(input_dir, contract.is_scene_name, exclude=exclude)
    for folder, reason in notes:
        print(f"{folder.relative_to(input_dir).as_posix()}/: {reason}", flush=True)
    paths = list(listing.files) + [path for path, _ in listing.skipped]
    base = input_dir / key_prefix if key_prefix else input_dir
    if key_prefix and not (paths and all(base in Path(p).parents for p in paths)):
        base = input_dir
    elif key_prefix:
        print(f"the scenes arrived under their full S3 keys; paths are taken relative to {key_prefix}", flush=True)
    relative = lambda path: Path(path).relative_to(base).as_posix()  # noqa: E731
    return (sorted(relative(p) for p in listing.files),
            {relative(path): reason for path, reason in listing.skipped}, base)


def is_complete(output_dir: Path, relative: str, signature: dict | None = None) -> bool:
    """Whether the scene's marker exists, lists files that all have their size, and records ``signature``.
    A marker that exists but cannot be read is an error, not "incomplete": redoing every scene because
    of a permission would silently re-predict (and re-bill) finished work."""
    marker = Path(output_dir) / contract.marker_name(relative)
    try:
        record = json.loads(marker.read_text("utf-8"))
    except FileNotFoundError:
        return False
    except (ValueError, UnicodeDecodeError):
        return False    # torn or foreign: the scene is predicted again
    except OSError as exc:
        raise RoadsegError(f"cannot read the marker {marker} ({exc.strerror or exc})",
                           "Let this user read the output folder; nothing more was predicted, so finished scenes "
                           "are not done twice.") from exc
    try:
        if signature is not None and not contract.same_outputs(record.get("outputs"), signature):
            return False
        return all((marker.parent / name).stat().st_size == size for name, size in record["files"].items())
    except (OSError, KeyError, TypeError, AttributeError):
        return False


def predict_scene_files(predictor, source: Path, relative: str, staging: Path, options: JobOptions) -> list[Path]:
    """Predict one scene into ``staging``; returns the files written (mask, probability, vectors)."""
    stem = contract.output_stem(relative).name
    result = predictor.predict_scene(source, staging, write_mask=True, write_probability=options.probability,
                                     cog=options.cog)
    files = [p for p in (result.mask, result.probability) if p is not None]
    if options.vector:
        from ..roadgraph.vectorize import vectorize_raster

        vectors = vectorize_raster(result.mask, staging, wgs84=options.wgs84, stem=stem, bridge=options.bridge,
                                   probability=result.probability)
        files += [vectors.polygons, vectors.lines, vectors.nodes]
    return files


def publish(files: Iterable[Path], output_dir: Path, relative: str, signature: dict | None = None,
            tmp_dir: Path | None = None) -> Path:
    """Move a scene's files under its relative folder, then write its marker (last), through ``tmp_dir``."""
    target_dir = (Path(output_dir) / contract.output_stem(relative)).parent
    target_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for path in files:
        destination = target_dir / Path(path).name
        shutil.move(str(path), destination)
        sizes[destination.name] = destination.stat().st_size
    marker = Path(output_dir) / contract.marker_name(relative)
    record = {"scene": relative, "files": sizes, "finished": time.time(), "outputs": signature or {}}
    atomic_write_bytes(marker, json.dumps(record, indent=1).encode("utf-8"), tmp_dir)
    return marker


def run_scenes(scenes: list[str], fetch: Callable[[str, Path], Path], output_dir: Path, predictor,
               options: JobOptions, *, on_published: Callable[[str, Path], None] | None = None,
               host: tuple[str, int] = ("local", 1), failed: dict[str, str] | None = None,
               signature: dict | None = None, work: Path | None = None) -> JobSummary:
    """Predict each scene (``fetch(relative, folder)`` puts it on local disk and returns its path).

    ``on_published(relative, marker)`` runs after a scene is complete in ``output_dir`` (the S3
    variant uploads it there). Progress lines follow ``contract.PROGRESS_FORMAT``. Scenes are staged
    and temp files written under ``work`` (see ``staging``), which must share the output's file system.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = JobSummary(failed=dict(failed or {}))   # ``failed``: scenes already known to be unreadable
    total = len(scenes) + len(summary.failed)
    shared = contract.shared_outputs(scenes)
    for relative in scenes:
        if relative in shared:
            summary.failed[relative] = contract.shared_reason(shared[relative])
            print(f"{relative}: FAILED: {summary.failed[relative]}", flush=True)
        elif is_complete(output_dir, relative, signature):
            summary.skipped.append(relative)
            print(f"{relative}: outputs already complete, skipped", flush=True)
        else:
            started = time.monotonic()
            with tempfile.TemporaryDirectory(prefix="scene-", dir=work) as scene_work:
                try:
                    source = fetch(relative, Path(scene_work) / "in")
                    staging = Path(scene_work) / "out"
                    staging.mkdir()
                    marker = publish(predict_scene_files(predictor, source, relative, staging, options),
                                     output_dir, relative, signature, work)
                    if on_published:
                        on_published(relative, marker)
                    summary.done.append(relative)
                    print(f"{relative}: predicted in {time.monotonic() - started:.1f} s", flush=True)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as exc:  # one broken scene must not stop the archive
                    reason = _reason(exc)
                    log.debug("scene %s failed", relative, exc_info=True)
                    summary.failed[relative] = reason
                    print(f"{relative}: FAILED: {reason}", flush=True)
        print(contract.PROGRESS_FORMAT.format(done=summary.total, total=total, name=relative), flush=True)
    write_failures(output_dir, summary, host, work)
    return summary


def write_failures(output_dir: Path, summary: JobSummary, host: tuple[str, int], tmp_dir: Path | None = None) -> Path:
    """``failures.json`` beside the outputs: each failed scene by name with its reason (empty list when none)."""
    path = Path(output_dir) / contract.failures_name(*host)
    rows = [{"scene": name, "reason": reason} for name, reason in sorted(summary.failed.items())]
    atomic_write_bytes(path, json.dumps(rows, indent=1, ensure_ascii=False).encode("utf-8"), tmp_dir)
    return path


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RoadsegError):
        return exc.what + (f". {exc.fix}" if exc.fix else "")
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
