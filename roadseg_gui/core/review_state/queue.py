"""``[review] require_review``: a pair reaches {split}/{images,masks} on S3 only once approved.

Until then push sends it to PREFIX/review-queue/{split}/{images,masks}/NAME (same conditional
writes, image before mask, recorded in sync_objects under the ``review-queue/`` relpath), and
pull brings queued pairs to reviewers. A queued pair whose record S3 holds as approved is not
pulled from the queue: its approved version is in {split}/ (the trainer's only input).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..statedb import TileStatus, transaction
from ..sync import state
from ..sync.errors import describe
from ..sync.keys import UnsafeKeyError, local_path, object_key, parse_key
from ..sync.transfer import download, head, remote_holds, upload
from . import queue_conflicts
from .decisions import changed_since_approval
from .store import APPROVED, get_record
from .transport import QUEUE, queue_prefix


@dataclass
class QueuedPair:
    stem: str
    split: str
    image: str
    files: list[tuple[str, str, str | None]]   # (relpath, sha256, ETag last seen), image first


def divert(conn: sqlite3.Connection, root: Path, dest, plan) -> list[QueuedPair]:
    """Take the pairs that are not approved out of ``plan.uploads``; return those the queue lacks."""
    records = state.synced_objects(conn, dest.state_key)
    cache = state.HashCache(conn)
    keep, queued = [], []
    for pair in plan.uploads:
        rec = get_record(conn, pair.stem)
        approved = rec is not None and rec.state == APPROVED and not rec.conflict
        if approved and not changed_since_approval(root, rec):
            keep.append(pair)
            continue
        files = []
        for rel in (pair.image, f"{pair.split}/masks/{pair.stem}.png"):
            sha, _ = cache.sha256(root, rel)
            seen = records.get(f"{QUEUE}/{rel}")
            if seen is None or seen.sha256 != sha:
                files.append((rel, sha, seen.etag if seen else None))
        if files:
            queued.append(QueuedPair(pair.stem, pair.split, pair.image, files))
    cache.save()
    plan.uploads[:] = keep
    return queued


def send(client, conn: sqlite3.Connection, root: Path, dest, queued: list[QueuedPair], report, extra: dict) -> set[str]:
    """Upload queued pairs; returns the stems now fully in the queue."""
    sent = set()
    for pair in queued:
        try:
            for rel, sha, etag in pair.files:
                result = upload(client, dest.bucket, object_key(dest.prefix, f"{QUEUE}/{rel}"), root / rel, sha,
                                etag, extra)
                if result.conflict:
                    report.conflicts += 1
                    report.conflict_stems.append(pair.stem)
                    report.errors.append(f"conflict: {result.conflict} (review queue); choose with `roadseg review "
                                         f"WORKSPACE --keep-mine|--take-theirs {pair.stem}`")
                    queue_conflicts.record(conn, pair.stem, result.conflict)
                    break
                state.record_objects(conn, dest.state_key, [(f"{QUEUE}/{rel}", result.sha256, result.etag)])
            else:
                sent.add(pair.stem)
                queue_conflicts.clear(conn, pair.stem)
                report.uploaded += 1
                report.files += len(pair.files)
        except OSError as exc:
            report.failed += 1
            report.errors.append(f"{pair.stem}: cannot read ({exc.strerror or exc})")
        except Exception as exc:
            report.failed += 1
            report.errors.append(f"{pair.stem}: {describe(exc, bucket=dest.bucket)}")
    state.mark_synced(conn, [(p.stem, p.image, p.split) for p in queued if p.stem in sent])
    return sent


def adopt_approved(conn: sqlite3.Connection, root: Path, dest, remote_states: dict[str, str]) -> None:
    """An approved pair is now in {split}/ on S3, perhaps as the reviewer edited it. Where this
    workspace's copy is still exactly what it sent to (or took from) the queue, it is stale rather
    than a local change: recorded so, pull takes the approved version instead of calling it a conflict."""
    records = state.synced_objects(conn, dest.state_key)
    cache = state.HashCache(conn)
    rows = []
    for stem, remote_state in remote_states.items():
        rec = get_record(conn, stem)
        if remote_state != APPROVED or rec is None:
            continue
        for rel in (f"{rec.split}/masks/{stem}.png", *_images(root, rec.split, stem)):
            queued = records.get(f"{QUEUE}/{rel}")
            if rel in records or queued is None or not (root / rel).is_file():
                continue
            if cache.sha256(root, rel)[0] == queued.sha256:
                rows.append((rel, queued.sha256, ""))   # no ETag: pull downloads S3's version over it
    cache.save()
    if rows:
        state.record_objects(conn, dest.state_key, rows)


def _images(root: Path, split: str, stem: str) -> list[str]:
    folder = root / split / "images"
    return [f"{split}/images/{p.name}" for p in folder.glob(f"{stem}.*")] if folder.is_dir() else []


def pull_queue(client, conn: sqlite3.Connection, root: Path, dest, report, remote_states: dict[str, str]) -> None:
    """Bring queued pairs (not approved on S3) into {split}/; local changes are never overwritten."""
    head_key = queue_prefix(dest.prefix) + "/"
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=dest.bucket, Prefix=head_key)
    pairs: dict[str, dict[str, tuple]] = {}
    for obj in (o for page in pages for o in page.get("Contents", [])):
        try:
            path = parse_key(queue_prefix(dest.prefix), obj["Key"])
            if path is not None:
                local_path(root, path.relpath)
        except UnsafeKeyError as exc:
            report.refused += 1
            report.errors.append(f"refused: {exc.what}")
            continue
        if path is not None:
            pairs.setdefault(path.stem, {})[path.kind] = (path, obj)
    records = state.synced_objects(conn, dest.state_key)
    statuses = state.tile_statuses(conn)
    cache = state.HashCache(conn)
    for stem, kinds in sorted(pairs.items()):
        if remote_states.get(stem) == APPROVED or set(kinds) != {"images", "masks"}:
            continue
        if statuses.get(stem) == TileStatus.CONFLICT.value:
            continue
        _pull_pair(client, conn, root, dest, report, stem, [kinds["images"], kinds["masks"]], records, cache)
    cache.save()


def _pull_pair(client, conn, root, dest, report, stem, files, records, cache) -> None:
    todo = []
    for path, obj in files:
        seen = records.get(f"{QUEUE}/{path.relpath}")
        if seen is not None and seen.etag.strip('"') == obj["ETag"].strip('"'):
            continue
        target = root / path.relpath
        if target.exists() and not (seen is not None and cache.sha256(root, path.relpath)[0] == seen.sha256):
            sha, _ = cache.sha256(root, path.relpath)
            found = head(client, dest.bucket, obj["Key"])
            if found is None or not remote_holds(found, sha, target):
                report.conflicts += 1
                report.conflict_stems.append(stem)
                report.errors.append(f"conflict: {stem}: {path.relpath} has local changes that are not in the "
                                     f"review queue, and the queue has another version; choose with `roadseg "
                                     f"review WORKSPACE --keep-mine|--take-theirs {stem}`")
                queue_conflicts.record(conn, stem, f"{path.relpath} changed here and in the review queue")
                return
            state.record_objects(conn, dest.state_key, [(f"{QUEUE}/{path.relpath}", sha, found["ETag"])])
            continue
        todo.append((path, obj))
    if not todo:
        report.unchanged += 1
        return
    try:
        for path, obj in todo:   # image before mask
            sha, etag, size = download(client, dest.bucket, obj["Key"], local_path(root, path.relpath))
            state.record_objects(conn, dest.state_key, [(f"{QUEUE}/{path.relpath}", sha, etag)])
            report.files += 1
            report.bytes += size
    except Exception as exc:
        report.failed += 1
        report.errors.append(f"{stem}: {describe(exc, bucket=dest.bucket)}")
        return
    image, split = files[0][0].relpath, files[0][0].split
    with transaction(conn):
        conn.execute("INSERT OR IGNORE INTO tiles(stem, image, split, status) VALUES (?, ?, ?, 'synced')",
                     (stem, image, split))
        conn.execute("UPDATE tiles SET image=?, split=?, status='synced' WHERE stem=?", (image, split, stem))
    queue_conflicts.clear(conn, stem)
    report.uploaded += 1
