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
    wgs84: bool = False
    tile: int = 512
    overlap: int = 64
    threshold: float | None = None
    device: str = "auto"


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


def list_scenes(input_dir: Path) -> tuple[list[str], dict[str, str]]:
    """(scene files under ``input_dir``, recursively, as sorted POSIX paths relative to it; unreadable
    entries named like scenes - dangling or looping links, pipes - with their reason). Hidden and
    looping folders are reported on stdout and skipped."""
    from ..listing import walk_folder

    input_dir = Path(input_dir)
    listing, notes = walk_folder(input_dir, contract.is_scene_name)
    for folder, reason in notes:
        print(f"{folder.relative_to(input_dir).as_posix()}/: {reason}", flush=True)
    relative = lambda path: Path(path).relative_to(input_dir).as_posix()  # noqa: E731
    return (sorted(relative(p) for p in listing.files),
            {relative(path): reason for path, reason in listing.skipped})


def is_complete(output_dir: Path, relative: str) -> bool:
    marker = Path(output_dir) / contract.marker_name(relative)
    try:
        listed = json.loads(marker.read_text("utf-8"))["files"]
        return all((marker.parent / name).stat().st_size == size for name, size in listed.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def predict_scene_files(predictor, source: Path, relative: str, staging: Path, options: JobOptions) -> list[Path]:
    """Predict one scene into ``staging``; returns the files written (mask, probability, vectors)."""
    stem = contract.output_stem(relative).name
    result = predictor.predict_scene(source, staging, write_mask=True, write_probability=options.probability,
                                     cog=options.cog)
    files = [p for p in (result.mask, result.probability) if p is not None]
    if options.vector:
        from ..roadgraph.vectorize import vectorize_raster

        vectors = vectorize_raster(result.mask, staging, wgs84=options.wgs84, stem=stem)
        files += [vectors.polygons, vectors.lines, vectors.nodes]
    return files


def publish(files: Iterable[Path], output_dir: Path, relative: str) -> Path:
    """Move a scene's files under its relative folder, then write its marker (last)."""
    target_dir = (Path(output_dir) / contract.output_stem(relative)).parent
    target_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for path in files:
        destination = target_dir / Path(path).name
        shutil.move(str(path), destination)
        sizes[destination.name] = destination.stat().st_size
    marker = Path(output_dir) / contract.marker_name(relative)
    record = {"scene": relative, "files": sizes, "finished": time.time()}
    atomic_write_bytes(marker, json.dumps(record, indent=1).encode("utf-8"))
    return marker


def run_scenes(scenes: list[str], fetch: Callable[[str, Path], Path], output_dir: Path, predictor,
               options: JobOptions, *, on_published: Callable[[str, Path], None] | None = None,
               host: tuple[str, int] = ("local", 1), failed: dict[str, str] | None = None) -> JobSummary:
    """Predict each scene (``fetch(relative, folder)`` puts it on local disk and returns its path).

    ``on_published(relative, marker)`` runs after a scene is complete in ``output_dir`` (the S3
    variant uploads it there). Progress lines follow ``contract.PROGRESS_FORMAT``.
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
        elif is_complete(output_dir, relative):
            summary.skipped.append(relative)
            print(f"{relative}: outputs already complete, skipped", flush=True)
        else:
            started = time.monotonic()
            with tempfile.TemporaryDirectory(prefix="roadseg-scene-") as work:
                try:
                    source = fetch(relative, Path(work) / "in")
                    staging = Path(work) / "out"
                    staging.mkdir()
                    marker = publish(predict_scene_files(predictor, source, relative, staging, options),
                                     output_dir, relative)
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
    write_failures(output_dir, summary, host)
    return summary


def write_failures(output_dir: Path, summary: JobSummary, host: tuple[str, int]) -> Path:
    """``failures.json`` beside the outputs: each failed scene by name with its reason (empty list when none)."""
    path = Path(output_dir) / contract.failures_name(*host)
    rows = [{"scene": name, "reason": reason} for name, reason in sorted(summary.failed.items())]
    atomic_write_bytes(path, json.dumps(rows, indent=1, ensure_ascii=False).encode("utf-8"))
    return path


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RoadsegError):
        return exc.what + (f". {exc.fix}" if exc.fix else "")
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
