"""Review decisions on one tile: accept (annotator), approve or return with notes (reviewer).

Each decision is saved locally as ``dirty``; ``transport`` carries it to S3 with a conditional
write. Approving records the agreement between the annotator's accepted mask (kept as a
snapshot under .roadseg/review/accepted/) and the approved one: road IoU and APLS, computed
with the trainer's own metrics.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from pathlib import Path

from trainer.errors import BadInputError

from ..layout import SPLITS, state_dir
from .store import ACCEPTED, APPROVED, RETURNED, Note, ReviewRecord, get_record, save_record


def mask_path(root: Path, stem: str) -> Path | None:
    for split in SPLITS:
        path = Path(root) / split / "masks" / f"{stem}.png"
        if path.is_file():
            return path
    return None


def snapshot_path(root: Path, stem: str) -> Path:
    return state_dir(Path(root)) / "review" / "accepted" / f"{stem}.png"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _labeled_mask(root: Path, stem: str) -> Path:
    path = mask_path(root, stem)
    if path is None:
        raise BadInputError(f"tile '{stem}' has no accepted mask in train/masks or test/masks",
                            "Give the stem of a labeled tile (roadseg review WORKSPACE --list shows them)",
                            path=Path(root))
    return path


def keep_snapshot(root: Path, stem: str, mask: Path) -> None:
    """Keep the annotator's accepted mask, to measure agreement with the approved one later."""
    target = snapshot_path(root, stem)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(mask, tmp)
    tmp.replace(target)


def accept(conn: sqlite3.Connection, root: Path, stem: str, annotator: str) -> ReviewRecord:
    """The annotator finished the tile (again, after a return): it waits for review."""
    mask = _labeled_mask(root, stem)
    rec = get_record(conn, stem) or ReviewRecord(stem, mask.parent.parent.name, ACCEPTED)
    rec.first_review = rec.first_review and rec.state != RETURNED
    rec.state, rec.annotator, rec.reviewer = ACCEPTED, annotator, ""
    rec.split, rec.accepted_sha, rec.iou, rec.apls = mask.parent.parent.name, sha256_of(mask), None, None
    rec.approved_sha = ""
    rec.updated_at, rec.dirty = time.time(), True
    keep_snapshot(root, stem, mask)
    save_record(conn, rec)
    return rec


def before_review_edit(conn: sqlite3.Connection, root: Path, stem: str) -> None:
    """For the app to call before a reviewer's first edit of a tile: keep the annotator's mask as it
    is now (if it is still what they accepted or S3 last held), so approval can measure agreement."""
    mask = mask_path(root, stem)
    if mask is None or snapshot_path(root, stem).is_file():
        return
    rec = get_record(conn, stem)
    accepted = rec.accepted_sha if rec else last_synced_sha(conn, f"{mask.parent.parent.name}/masks/{stem}.png")
    if accepted and sha256_of(mask) == accepted:
        keep_snapshot(root, stem, mask)


def _reviewable(conn: sqlite3.Connection, root: Path, stem: str) -> tuple[ReviewRecord, Path]:
    mask = _labeled_mask(root, stem)
    rec = get_record(conn, stem)
    if rec is None:   # no record (review not required): what S3 last held is what its annotator accepted
        split, current = mask.parent.parent.name, sha256_of(mask)
        accepted = last_synced_sha(conn, f"{split}/masks/{stem}.png") or current
        rec = ReviewRecord(stem, split, ACCEPTED, accepted_sha=accepted)
        if accepted == current:
            keep_snapshot(root, stem, mask)
    if rec.conflict:
        raise BadInputError(f"the review of '{stem}' is in conflict ({rec.conflict})",
                            f"Look at the other decision with `roadseg review WORKSPACE --list`, then keep yours "
                            f"with --keep-mine {stem} or take theirs with --take-theirs {stem}")
    return rec, mask


def last_synced_sha(conn: sqlite3.Connection, relpath: str) -> str:
    """The content S3 held when this workspace last synced ``relpath``; "" when never synced."""
    try:
        row = conn.execute("SELECT sha256 FROM sync_objects WHERE relpath=? ORDER BY synced_at DESC LIMIT 1",
                           (relpath,)).fetchone()
    except sqlite3.OperationalError:   # no sync table: this workspace never synced
        return ""
    return row[0] if row else ""


def changed_since_approval(root: Path, rec: ReviewRecord) -> bool:
    """An approved tile whose mask was changed here after its approval was sent: it needs review again."""
    mask = mask_path(root, rec.stem)
    return (rec.state == APPROVED and not rec.dirty and bool(rec.approved_sha) and mask is not None
            and sha256_of(mask) != rec.approved_sha)


def approve(conn: sqlite3.Connection, root: Path, stem: str, reviewer: str) -> ReviewRecord:
    rec, mask = _reviewable(conn, root, stem)
    rec.iou, rec.apls = agreement(root, stem, mask, rec.accepted_sha)
    rec.state, rec.reviewer, rec.updated_at, rec.dirty = APPROVED, reviewer, time.time(), True
    rec.approved_sha = sha256_of(mask)
    save_record(conn, rec)
    return rec


def return_tile(conn: sqlite3.Connection, root: Path, stem: str, reviewer: str, text: str,
                x: float = 0.0, y: float = 0.0) -> ReviewRecord:
    if not text.strip():
        raise BadInputError(f"returning '{stem}' needs a note saying what to fix",
                            'Add --note "TEXT" (e.g. --note "the road at the top is missing")')
    rec, _ = _reviewable(conn, root, stem)
    rec.notes.append(Note(float(x), float(y), text.strip(), reviewer))
    rec.state, rec.reviewer, rec.first_review = RETURNED, reviewer, False
    rec.updated_at, rec.dirty = time.time(), True
    save_record(conn, rec)
    return rec


def agreement(root: Path, stem: str, approved: Path, accepted_sha: str) -> tuple[float | None, float | None]:
    """(road IoU, APLS) of the annotator's accepted mask against the approved one; None when the
    accepted mask is not known here."""
    if accepted_sha and sha256_of(approved) == accepted_sha:
        return 1.0, 1.0     # approved as accepted
    snapshot = snapshot_path(root, stem)
    if not snapshot.is_file() or (accepted_sha and sha256_of(snapshot) != accepted_sha):
        return None, None
    from trainer.imageio import read_mask   # numpy, PIL, networkx: only when a measure is taken
    from trainer.metrics import Confusion
    from trainer.roadgraph.metrics import apls_score

    truth, annotated = read_mask(approved), read_mask(snapshot)
    if truth.shape != annotated.shape:
        return 0.0, 0.0
    iou = Confusion().add(annotated, truth).as_dict()["iou"]
    return float(iou), float(apls_score(annotated, truth))
