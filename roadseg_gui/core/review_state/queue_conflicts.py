"""Conflicts on the review queue (require_review): someone else changed a queued pair while it
was changed here too. Recorded so that neither push nor pull is stuck: the person keeps theirs
(``--take-theirs``, our copy kept under .roadseg/review/mine/) or sends ours over it (``--keep-mine``)."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from trainer.errors import BadInputError

from .. import statedb
from ..layout import state_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS review_queue_conflicts (
    stem        TEXT PRIMARY KEY,
    reason      TEXT NOT NULL,
    detected_at REAL NOT NULL
);
"""


def record(conn: sqlite3.Connection, stem: str, reason: str) -> None:
    statedb.ensure_schema(conn, SCHEMA)
    conn.execute("INSERT OR REPLACE INTO review_queue_conflicts(stem, reason, detected_at) VALUES (?, ?, ?)",
                 (stem, reason, time.time()))


def clear(conn: sqlite3.Connection, stem: str) -> None:
    statedb.ensure_schema(conn, SCHEMA)
    conn.execute("DELETE FROM review_queue_conflicts WHERE stem=?", (stem,))


def reasons(conn: sqlite3.Connection) -> dict[str, str]:
    statedb.ensure_schema(conn, SCHEMA)
    return {r[0]: r[1] for r in conn.execute("SELECT stem, reason FROM review_queue_conflicts")}


def resolve(root: Path, conn: sqlite3.Connection, stem: str, keep_mine: bool) -> None:
    """keep_mine: the next sync replaces the queued pair (If-Match its ETag now); else take the queued pair."""
    from ..settings import WorkspaceSettings
    from ..sync import state
    from ..sync.client import destination_of, make_s3_client
    from ..sync.errors import describe
    from ..sync.keys import local_path, object_key
    from ..sync.transfer import download, head
    from .decisions import mask_path
    from .transport import QUEUE

    if stem not in reasons(conn):
        raise BadInputError(f"'{stem}' is not in conflict with the review queue", "Nothing to choose; sync as usual")
    settings = WorkspaceSettings.load(root)
    dest = destination_of(settings.s3)
    mask = mask_path(root, stem)
    images = sorted(mask.parent.parent.joinpath("images").glob(f"{stem}.*")) if mask else []
    if dest is None or not images:
        raise BadInputError(f"'{stem}' has no local pair or the workspace no S3 destination",
                            "Pull the workspace again", path=root)
    client = make_s3_client(settings.s3)
    rows, forget = [], []
    try:
        for rel in (images[0].relative_to(root).as_posix(), mask.relative_to(root).as_posix()):
            key = object_key(dest.prefix, f"{QUEUE}/{rel}")
            found = head(client, dest.bucket, key)
            if keep_mine:
                if found is None:
                    forget.append(f"{QUEUE}/{rel}")            # gone: ours goes up as new
                else:
                    rows.append((f"{QUEUE}/{rel}", "", found["ETag"]))   # "": differs from ours, so it is sent
            elif found is not None:
                mine = state_dir(root) / "review" / "mine" / Path(rel).name
                mine.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / rel, mine)
                sha, etag, _ = download(client, dest.bucket, key, local_path(root, rel))
                rows.append((f"{QUEUE}/{rel}", sha, etag))
    except Exception as exc:
        if isinstance(exc, (BadInputError, OSError)):
            raise
        raise describe(exc, bucket=dest.bucket) from None
    state.record_objects(conn, dest.state_key, rows)
    if forget:
        state.forget_objects(conn, dest.state_key, forget)
    clear(conn, stem)
