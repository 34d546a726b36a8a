"""SyncPlan: which pairs a push must send, found from local content hashes and the
ETags last seen; no bucket listing is needed.

A pair is ``{split}/images/STEM.ext`` with ``{split}/masks/STEM.png``. A file is
sent when its content hash differs from the one recorded at its last successful
sync to this destination; new-to-us keys carry ``If-None-Match: *`` and updates
``If-Match: <ETag last seen>``. Deletions (--delete) are per pair too, mask before image,
each conditional on the ETag last seen: the mirror of "image before mask".
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..layout import SPLITS, images_dir, masks_dir
from ..settings import WorkspaceSettings
from ..statedb import TileStatus
from . import state
from .client import Destination, destination_of
from .keys import UnsafeKeyError, check_name


# The same pairing rule as trainer.imageio (a test keeps them equal); not imported from
# there because that module pulls in numpy and PIL, a third of a `roadseg sync` start-up.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff"})
MASK_SUFFIX = ".png"


def is_image_file(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


@dataclass(frozen=True)
class FileUpload:
    relpath: str
    sha256: str
    size: int
    etag: str | None          # None: new to us -> If-None-Match: *


@dataclass(frozen=True)
class PairUpload:
    stem: str
    split: str
    image: str                          # image relpath (for the tiles row)
    files: tuple[FileUpload, ...]       # image first when both are sent
    image_check: FileUpload | None = None   # the unsent image, HEADed first: sent again if S3 lost it

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class PairDeletion:
    stem: str
    files: tuple[tuple[str, str], ...]  # (relpath, ETag last seen), mask first


@dataclass
class SyncPlan:
    destination: Destination | None
    uploads: list[PairUpload] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)       # unresolved, not sent
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    deletions: list[PairDeletion] = field(default_factory=list)
    conflict_reasons: dict[str, str] = field(default_factory=dict)    # stem -> why, when recorded
    cleared: list[str] = field(default_factory=list)   # --verify: "deleted remotely" conflicts S3 really lost
    sentinels: list[str] = field(default_factory=list)  # recorded relpaths of unchanged pairs (loss check)

    @property
    def files_total(self) -> int:
        return sum(len(p.files) for p in self.uploads)

    @property
    def bytes_total(self) -> int:
        return sum(p.bytes for p in self.uploads)

    def describe(self) -> list[str]:
        """Human lines for --dry-run."""
        where = self.destination.uri if self.destination else "(no destination)"
        lines = [f"plan for {where}: {len(self.uploads)} pairs to send ({self.files_total} files, "
                 f"{self.bytes_total} bytes), {len(self.unchanged)} unchanged, {len(self.conflicts)} in conflict"]
        for pair in self.uploads:
            for f in pair.files:
                how = f"If-Match {f.etag}" if f.etag else "If-None-Match *"
                lines.append(f"  put {f.relpath} ({f.size} bytes, {how})")
        for pair in self.deletions:
            lines.extend(f"  delete {relpath}" for relpath, _ in pair.files)
        for stem in self.conflicts:
            lines.append(f"  conflict {stem} (resolve it first)")
        for path, reason in self.invalid:
            lines.append(f"  skip {path}: {reason}")
        return lines


@dataclass(frozen=True)
class LocalPair:
    stem: str
    split: str
    image: str    # relpath
    mask: str     # relpath


def scan_pairs(root: Path) -> tuple[list[LocalPair], list[tuple[str, str]]]:
    """Pairs on disk, and (path, reason) for files that cannot become keys."""
    pairs, invalid, seen = [], [], {}
    for split in SPLITS:
        mask_dir = masks_dir(root, split)
        try:
            masks = {e.name for e in os.scandir(mask_dir) if e.is_file()}
        except FileNotFoundError:
            continue
        try:
            images = sorted(e.name for e in os.scandir(images_dir(root, split)) if e.is_file())
        except FileNotFoundError:
            continue
        for name in images:
            if not is_image_file(name):
                continue
            stem = os.path.splitext(name)[0]   # Path(name).stem, without a Path per file
            mask_name = stem + MASK_SUFFIX
            if mask_name not in masks:
                continue
            rel = f"{split}/images/{name}"
            try:
                check_name(name)
            except UnsafeKeyError as exc:
                invalid.append((rel, exc.what))
                continue
            if stem in seen:
                invalid.append((rel, f"another image has the stem '{stem}' ({seen[stem]})"))
                continue
            seen[stem] = rel
            pairs.append(LocalPair(stem, split, rel, f"{split}/masks/{mask_name}"))
    return pairs, invalid


def build_plan(root: Path, conn: sqlite3.Connection, destination: Destination | None, *,
               delete: bool = False, remote: dict[str, str] | None = None) -> SyncPlan:
    """``remote`` (relpath -> ETag from a listing, for --verify): every local file is hashed
    afresh, a recorded object missing there is sent again as new, and a "deleted remotely"
    conflict whose object is still missing there is cleared (sent again as new); without it the recorded state is
    trusted (no listing)."""
    root = Path(root)
    plan = SyncPlan(destination)
    pairs, plan.invalid = scan_pairs(root)
    records = state.synced_objects(conn, destination.state_key) if destination else {}
    if remote is not None:
        records = {rel: rec for rel, rec in records.items() if rel in remote}
    statuses = state.tile_statuses(conn)
    recorded = {c.stem: c for c in state.conflicts(conn, destination.state_key)} if destination else {}
    plan.conflict_reasons = {stem: c.reason for stem, c in recorded.items()}
    cache = state.HashCache(conn, rehash=remote is not None)
    for pair in pairs:
        if statuses.get(pair.stem) == TileStatus.CONFLICT.value:
            if remote is None or not _lost_entirely(recorded.get(pair.stem), remote):
                plan.conflicts.append(pair.stem)
                continue
            plan.cleared.append(pair.stem)
        files, check = [], None
        try:
            for rel in (pair.image, pair.mask):
                sha, size = cache.sha256(root, rel)
                rec = records.get(rel)
                if rec is None or rec.sha256 != sha:
                    files.append(FileUpload(rel, sha, size, rec.etag if rec else None))
                elif rel == pair.image:
                    check = FileUpload(rel, sha, size, rec.etag)
        except OSError as exc:  # vanished or unreadable between listing and hashing
            plan.invalid.append((pair.image, f"cannot read: {exc.strerror or exc}"))
            continue
        if files:
            plan.uploads.append(PairUpload(pair.stem, pair.split, pair.image, tuple(files), check))
        else:
            plan.unchanged.append(pair.stem)
            plan.sentinels.extend(rel for rel in (pair.image, pair.mask) if rel in records)
    cache.save()
    local_stems = {p.stem for p in pairs}
    plan.conflicts += sorted(stem for stem in recorded if stem not in local_stems)   # refused deletions
    if delete and destination:
        blocked = set(plan.conflicts)
        in_use = {p.mask for p in pairs}
        plan.deletions = [d for d in _deletions(root, records, in_use) if d.stem not in blocked]
    return plan


def _lost_entirely(conflict, remote: dict[str, str]) -> bool:
    """A "deleted remotely" conflict whose object the listing still lacks (an emptied or
    recreated bucket, most often): --verify is the person saying "send what S3 lost"."""
    return conflict is not None and "deleted remotely" in conflict.reason and conflict.relpath not in remote


def _deletions(root: Path, records: dict, in_use: set[str]) -> list[PairDeletion]:
    """Synced objects whose local file is gone, grouped per pair, mask first. A pair whose
    local image is gone loses its remote mask too, even if the mask file is still here:
    S3 must never keep a mask without its image. The exception is a mask a local pair still
    uses (``in_use``: its image was saved under another extension and is uploaded as new)."""
    by_pair: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
    for rel, rec in records.items():
        split, kind, _ = rel.split("/", 2)
        by_pair.setdefault((split, PurePosixPath(rel).stem), {})[kind] = (rel, rec.etag)
    deletions = []
    for (_, stem), kinds in sorted(by_pair.items()):
        image, mask = kinds.get("images"), kinds.get("masks")
        image_gone = image is not None and not (root / image[0]).exists()
        files = []
        if mask is not None and mask[0] not in in_use and (image_gone or not (root / mask[0]).exists()):
            files.append(mask)
        if image_gone:
            files.append(image)
        if files:
            deletions.append(PairDeletion(stem, tuple(files)))
    return deletions


def pending_pairs(root: str | Path) -> list[str]:
    """Stems of pairs on disk not yet on the configured destination as they are now."""
    root = Path(root)
    conn = state.connect(root)
    try:
        settings = WorkspaceSettings.load(root)
        dest = destination_of(settings.s3)
        plan = build_plan(root, conn, dest)
        queued = []
        if settings.review.require_review and dest is not None:   # unapproved pairs are pending for the queue
            from ..review_state.queue import divert
            queued = [q.stem for q in divert(conn, root, dest, plan)]
        return sorted([p.stem for p in plan.uploads] + queued)
    finally:
        conn.close()
