"""pull(): bring remote pairs into the workspace without overwriting local unsynced edits.

Remote pairs land in ``{split}/{images,masks}/``; remote images without a mask in
``unlabeled/``. Every key is validated first (keys.parse_key): hostile keys are
refused and reported, never written. A local file that differs from what was last
synced, or a tile with an unsaved working edit, is never overwritten: the tile
becomes a conflict. The ETags of what was pulled are recorded so a later push
updates with If-Match. One bad entry (a name no file system or Windows can hold, a
local folder where a file would go) is refused with its reason; the rest is pulled.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from ..layout import STATE_DIR, UNLABELED, ensure_layout
from ..settings import WorkspaceSettings, validate_s3_settings
from ..statedb import TileStatus, transaction
from . import state
from .client import DEFAULT_WORKERS, destination_of, make_s3_client, parse_s3_uri
from .errors import describe, is_fatal
from .keys import LayoutPath, UnsafeKeyError, local_path, object_key, parse_key
from .plan import scan_pairs
from .push import _check_bucket
from .report import ProgressCallback, ProgressMeter, SyncReport
from .transfer import download, head, remote_holds

CLEAN_STATUSES = (TileStatus.NEW.value, TileStatus.PREDICTED.value, TileStatus.SYNCED.value,
                  TileStatus.ACCEPTED.value)


@dataclass
class RemoteFile:
    path: LayoutPath
    key: str
    etag: str
    size: int
    action: str = "same"     # same | download | check (local differs: adopt if equal, else conflict)


@dataclass
class PullTask:
    stem: str
    files: list[RemoteFile]                 # image first
    target: list[str]                       # local relpath of each file
    unlabeled: bool = False
    replaces: str = ""                      # local unlabeled copy to remove once the pair is in
    conflict: str = ""                      # decided locally, before any request


@dataclass
class PullOutcome:
    task: PullTask
    written: list[tuple[str, str, str]] = field(default_factory=list)   # (relpath, sha, etag)
    adopted: list[tuple[str, str, str]] = field(default_factory=list)
    bytes: int = 0
    conflict: str = ""
    error: str = ""
    fatal: bool = False
    skipped: bool = False     # not attempted: cancelled, or S3 became unusable


def pull(uri: str, root, *, profile: str | None = None, endpoint_url: str | None = None,
         region: str | None = None, progress: ProgressCallback | None = None,
         cancel: Callable[[], bool] | None = None, workers: int = DEFAULT_WORKERS, client=None) -> SyncReport:
    root = Path(root)
    started = time.monotonic()
    dest = parse_s3_uri(uri)
    ensure_layout(root)
    settings = WorkspaceSettings.load(root)
    s3 = replace(settings.s3, bucket=dest.bucket, prefix=dest.prefix, profile=profile or settings.s3.profile,
                 endpoint_url=endpoint_url or settings.s3.endpoint_url, region=region or settings.s3.region)
    validate_s3_settings(s3)   # a bad profile is refused before it can be remembered
    report = SyncReport(destination=dest.uri)
    client = client or make_s3_client(s3, max_pool_connections=max(workers, 10))
    probe = WorkspaceSettings(s3=s3)
    _check_bucket(client, dest, probe)
    if destination_of(settings.s3) is None:   # the first pull that S3 answers names where pushes go
        settings.s3 = s3
        settings.save(root)
    conn = state.connect(root)
    try:
        from ..review_state import sync_hooks   # review records and the review queue
        remote_states = sync_hooks.before_pull(client, conn, root, dest, report)
        objects = _list(client, dest, s3)
        tasks = _plan(root, conn, dest, objects, report)
        _run(client, conn, root, dest, tasks, report, progress, cancel, workers)
        sync_hooks.after_pull(client, conn, root, dest, report, remote_states)
    finally:
        conn.close()
    report.seconds = time.monotonic() - started
    return report


def _list(client, dest, s3) -> list[dict]:
    prefix = object_key(dest.prefix, "")
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=dest.bucket, Prefix=prefix)
        return [obj for page in pages for obj in page.get("Contents", [])]
    except Exception as exc:
        raise describe(exc, bucket=dest.bucket, profile=s3.profile, region=s3.region,
                       endpoint=s3.endpoint_url) from None


def _plan(root: Path, conn, dest, objects: list[dict], report: SyncReport) -> list[PullTask]:
    images: dict[str, list[RemoteFile]] = {}
    masks: dict[str, RemoteFile] = {}
    for obj in objects:
        try:
            path = parse_key(dest.prefix, obj["Key"])
            if path is not None:
                local_path(root, path.relpath)
        except UnsafeKeyError as exc:
            report.refused += 1
            report.errors.append(f"refused: {exc.what}")
            continue
        if path is None:
            continue
        remote = RemoteFile(path, obj["Key"], obj["ETag"], int(obj.get("Size", 0)))
        if path.kind == "images":
            images.setdefault(path.stem, []).append(remote)
        elif path.name == path.stem + ".png":
            masks[path.stem] = remote
    local_pairs, _ = scan_pairs(root)
    local_split = {p.stem: p.split for p in local_pairs}
    local_image = {p.stem: p.image for p in local_pairs}
    local_unlabeled = {p.stem: p.name for p in (root / UNLABELED).iterdir() if p.is_file()}
    statuses = state.tile_statuses(conn)
    records = state.synced_objects(conn, dest.state_key)
    cache = state.HashCache(conn)
    tasks = []
    for stem, found in sorted(images.items()):
        if len(found) > 1:
            report.failed += 1
            report.errors.append(f"{stem}: several remote images share this stem "
                                 f"({', '.join(f.key for f in found)}); not pulled")
            continue
        image, mask = found[0], masks.pop(stem, None)
        if mask is None or mask.path.split != image.path.split:
            if mask is not None:
                masks[stem] = mask
            if stem not in local_split and stem not in local_unlabeled and stem not in statuses:
                target = f"{UNLABELED}/{image.path.name}"
                if blocked := _not_a_file(root, [target]):
                    report.failed += 1
                    report.errors.append(f"{blocked}; {stem} not pulled")
                    continue
                tasks.append(PullTask(stem, [replace(image, action="download")], [target], unlabeled=True))
            else:
                report.unchanged += 1
            continue
        task = PullTask(stem, [image, mask], [image.path.relpath, mask.path.relpath])
        status = statuses.get(stem)
        if status == TileStatus.CONFLICT.value:
            task.conflict = "still in conflict; resolve it first"
        elif stem in local_split and local_image[stem] != image.path.relpath:
            task.conflict = f"the tile is {local_image[stem]} here and {image.path.relpath} remotely"
        elif stem in local_unlabeled and stem not in local_split:
            if status not in (None, TileStatus.NEW.value, TileStatus.PREDICTED.value):
                task.conflict = f"the tile has local edits ({status}) and a remote label"
            else:
                task.replaces = f"{UNLABELED}/{local_unlabeled[stem]}"
        try:
            blocked = _not_a_file(root, task.target)
            for remote in task.files if not blocked else ():
                remote.action = _file_action(root, remote, records, cache)
        except OSError as exc:
            blocked = f"cannot read {exc.filename or stem}: {exc.strerror or exc}"
        if blocked:
            report.failed += 1
            report.errors.append(f"{blocked}; {stem} not pulled")
            continue
        edits = root / STATE_DIR / "edits" / f"{stem}.png"
        if not task.conflict and status == TileStatus.EDITED.value and edits.exists() \
                and mask.action != "same":
            task.conflict = "the tile has an unsaved working edit and its remote mask changed"
        tasks.append(task)
    cache.save()
    for stem, mask in sorted(masks.items()):
        report.refused += 1
        report.errors.append(f"refused: {mask.key} is a mask without its image")
    return tasks


def _not_a_file(root: Path, targets: list[str]) -> str:
    """Why a local non-file (a folder named like a mask, a FIFO...) stands where a pulled file would go."""
    for rel in targets:
        try:
            mode = os.stat(root / rel).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:   # a path too long, a permission, a loop: this tile only
            return f"cannot check {rel} here: {exc.strerror or exc}"
        if stat.S_ISDIR(mode):
            return f"{rel} is a folder here; move it aside and pull again"
        if not stat.S_ISREG(mode):
            return f"{rel} is not a regular file here; move it aside and pull again"
    return ""


def _file_action(root: Path, remote: RemoteFile, records, cache) -> str:
    rec = records.get(remote.path.relpath)
    if rec and rec.etag.strip('"') == remote.etag.strip('"'):
        return "same"
    target = root / remote.path.relpath
    if not target.exists():
        return "download"
    sha, _ = cache.sha256(root, remote.path.relpath)
    if rec and rec.sha256 == sha:
        return "download"       # unchanged here since the last sync: take the remote's new version
    return "check"              # changed here (or never synced): equal content is adopted, else conflict


def _run(client, conn, root, dest, tasks, report, progress, cancel, workers) -> None:
    todo = [t for t in tasks if t.conflict or any(f.action != "same" for f in t.files)]
    report.unchanged += len(tasks) - len(todo)
    moving = [f for t in todo if not t.conflict for f in t.files if f.action != "same"]
    meter = ProgressMeter(len(moving), sum(f.size for f in moving), progress)
    abort = threading.Event()

    def work(task: PullTask) -> PullOutcome:
        outcome = PullOutcome(task, conflict=task.conflict)
        if outcome.conflict:
            return outcome
        if abort.is_set() or (cancel and cancel()):
            outcome.skipped = True
            return outcome
        try:
            for remote, rel in zip(task.files, task.target):
                if remote.action != "check":
                    continue
                sha = state.file_sha256(root / rel)
                found = head(client, dest.bucket, remote.key)
                if found is None or not remote_holds(found, sha, root / rel):
                    outcome.conflict = f"{rel} has local changes that are not on S3, and S3 has another version"
                    return outcome
                outcome.adopted.append((rel, sha, found["ETag"]))
            for remote, rel in zip(task.files, task.target):   # image before mask
                if remote.action == "download":
                    sha, etag, size = download(client, dest.bucket, remote.key, local_path(root, rel))
                    outcome.written.append((rel, sha, etag))
                    outcome.bytes += size
        except Exception as exc:
            outcome.fatal = is_fatal(exc)
            if outcome.fatal:
                abort.set()
            outcome.error = f"{task.stem}: {describe(exc, bucket=dest.bucket)}"
        return outcome

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="roadseg-pull") as pool:
        for outcome in pool.map(work, todo):
            _record(conn, root, dest, outcome, report, abort.is_set())
            meter.advance(len(outcome.written) + len(outcome.adopted), outcome.bytes, outcome.task.stem)
    if cancel and cancel():
        report.cancelled = True


def _record(conn, root: Path, dest, outcome: PullOutcome, report: SyncReport, aborted: bool) -> None:
    task = outcome.task
    rows = outcome.written + outcome.adopted
    if rows and not task.unlabeled:
        state.record_objects(conn, dest.state_key, rows)
    report.files += len(outcome.written)
    report.bytes += outcome.bytes
    if outcome.conflict:
        report.conflicts += 1
        report.conflict_stems.append(task.stem)
        report.errors.append(f"conflict: {task.stem}: {outcome.conflict}")
        state.record_conflict(conn, dest.state_key, task.stem, task.target[-1], outcome.conflict,
                              image=task.target[0])
        return
    if outcome.error:
        report.failed += 1
        report.errors.append(outcome.error)
        return
    if outcome.skipped:
        if aborted:
            report.failed += 1
        else:
            report.cancelled = True
        return
    if task.unlabeled:
        with transaction(conn):
            # remote_split: accepting it later must file it in the split S3 already holds it in
            conn.execute("INSERT INTO tiles(stem, image, split, status, remote_split) VALUES (?, ?, NULL, 'new', ?) "
                         "ON CONFLICT(stem) DO UPDATE SET remote_split=excluded.remote_split",
                         (task.stem, task.target[0], task.files[0].path.split))
    else:
        split = task.files[0].path.split
        with transaction(conn):
            conn.execute("INSERT OR IGNORE INTO tiles(stem, image, split, status) VALUES (?, ?, ?, 'synced')",
                         (task.stem, task.target[0], split))
            conn.execute(f"UPDATE tiles SET image=?, split=?, status='synced' WHERE stem=? AND status IN "
                         f"({','.join('?' * len(CLEAN_STATUSES))})", (task.target[0], split, task.stem,
                                                                        *CLEAN_STATUSES))
        if task.replaces:
            (root / task.replaces).unlink(missing_ok=True)
    if outcome.written:
        report.uploaded += 1
    else:
        report.unchanged += 1
