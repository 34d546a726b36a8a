"""With ``[review] require_review``, a local retrain trains on approved pairs only, as SageMaker does.

SageMaker reads {train,test}/ on S3, which holds approved pairs alone; a local job reads folders,
so the approved pairs are linked into a folder of their own under .roadseg/ and the job reads that.
A pair counts as approved when its review record says so, is in no conflict, and its mask is the
one approved (an edit since sends it back to review).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..layout import SPLITS, images_dir, masks_dir, state_dir
from .decisions import sha256_of
from .store import APPROVED, connect, get_record

FOLDER = "approved-data"


def _approved(conn, mask: Path) -> bool:
    rec = get_record(conn, mask.stem)   # an edit since the approval, sent or not, needs review again
    return rec is not None and rec.state == APPROVED and not rec.conflict and \
        (not rec.approved_sha or sha256_of(mask) == rec.approved_sha)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)   # no copy of the imagery; a later edit writes a new file, not into this one
    except OSError:
        shutil.copy2(source, target)


def stage_approved(root: str | Path) -> tuple[Path, dict[str, int]]:
    """Link the approved pairs into ``.roadseg/approved-data/{train,test}/{images,masks}``, built anew.

    Returns (that folder, {split: pairs held back awaiting review})."""
    root = Path(root)
    staged = state_dir(root) / FOLDER
    shutil.rmtree(staged, ignore_errors=True)
    held = {}
    conn = connect(root)
    try:
        for split in SPLITS:
            (images_dir(staged, split)).mkdir(parents=True)
            (masks_dir(staged, split)).mkdir(parents=True)
            held[split] = 0
            folder = images_dir(root, split)
            images = {p.stem: p for p in sorted(folder.iterdir()) if p.is_file()} if folder.is_dir() else {}
            for mask in sorted(masks_dir(root, split).glob("*.png")):
                image = images.get(mask.stem)
                if image is None:
                    continue
                if not _approved(conn, mask):
                    held[split] += 1
                    continue
                _link(image, images_dir(staged, split) / image.name)
                _link(mask, masks_dir(staged, split) / mask.name)
    finally:
        conn.close()
    return staged, held
