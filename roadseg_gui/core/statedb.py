"""The workspace state database: SQLite in WAL mode under .roadseg/state.sqlite.

Each feature owns its tables and creates them with ``CREATE TABLE IF NOT EXISTS``
through :func:`ensure_schema`; the ``tiles`` table is shared and defined here.
"""

from __future__ import annotations

import contextlib
import enum
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Iterator

from trainer.errors import RoadsegError

from .layout import state_dir

DB_NAME = "state.sqlite"


class TileStatus(str, enum.Enum):
    NEW = "new"              # in the workspace, not yet predicted
    PREDICTED = "predicted"  # the model's mask exists, nobody touched it
    EDITED = "edited"        # a person changed the mask; not accepted yet
    ACCEPTED = "accepted"    # mask written to {split}/masks; not yet on S3
    SYNCED = "synced"        # the accepted pair is on S3 as it is here
    CONFLICT = "conflict"    # someone else changed the remote copy; a person must choose
    ERROR = "error"          # the image cannot be read (reason in tiles.error)


TILES_SCHEMA = """
CREATE TABLE IF NOT EXISTS tiles (
    stem          TEXT PRIMARY KEY,   -- file stem; pairs an image with its mask
    image         TEXT NOT NULL,      -- image path relative to the workspace root (posix)
    split         TEXT,               -- 'train', 'test', or NULL while unlabeled
    status        TEXT NOT NULL DEFAULT 'new',
    uncertainty   REAL,               -- model uncertainty of the last prediction
    model_version TEXT,               -- model that made the last prediction
    edited_at     REAL,
    accepted_at   REAL,
    error         TEXT,
    remote_split  TEXT                -- a pulled unlabeled image's split on S3; accept files it there
);
CREATE INDEX IF NOT EXISTS tiles_status ON tiles(status);
CREATE INDEX IF NOT EXISTS tiles_uncertainty ON tiles(uncertainty);
"""


def connect(root: str | Path) -> sqlite3.Connection:
    """Open (and create) the workspace's state DB. One connection per thread."""
    directory = state_dir(Path(root))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DB_NAME
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        ensure_schema(conn, TILES_SCHEMA)
        add_column(conn, "tiles", "remote_split", "TEXT")  # state DBs made before the column existed
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corrupt(exc):
            raise DamagedStateError(path, exc) from exc
        raise
    return conn


def is_corrupt(exc: BaseException) -> bool:
    """True for 'file is not a database' / 'database disk image is malformed', not for a busy DB."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB)
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


class DamagedStateError(RoadsegError):
    """The workspace state DB cannot be read; the files of the workspace are unharmed."""

    def __init__(self, path: Path, cause: BaseException):
        super().__init__(f"the workspace state database is damaged ({cause})", DAMAGED_FIX, path)


SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26
DAMAGED_FIX = ("Move .roadseg/state.sqlite (with any state.sqlite-wal and -shm beside it) aside and open the "
               "workspace again: it is rescanned from its folders, and autosaved edits in .roadseg/edits survive.")


def ensure_schema(conn: sqlite3.Connection, ddl: str) -> None:
    conn.executescript(ddl)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One explicit transaction on an autocommit connection (``with conn`` does not BEGIN there).

    Nested use joins the outer transaction."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def add_column(conn: sqlite3.Connection, table: str, column: str, decl: str) -> None:
    """Add a column if it is missing (a safe, idempotent migration)."""
    names = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    if column not in names:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


def upsert_tile(conn: sqlite3.Connection, stem: str, image: str, split: str | None,
                status: TileStatus) -> None:
    conn.execute(
        "INSERT INTO tiles(stem, image, split, status) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(stem) DO UPDATE SET image=excluded.image, split=excluded.split, status=excluded.status",
        (stem, image, split, TileStatus(status).value),
    )


def set_status(conn: sqlite3.Connection, stems: Iterable[str], status: TileStatus,
               only_if: Iterable[TileStatus] | None = None) -> None:
    """Set the status of tiles, optionally only those currently in one of ``only_if``."""
    stems = list(stems)
    if not stems:
        return
    now = time.time()
    guard, extra = "", []
    if only_if is not None:
        allowed = [TileStatus(s).value for s in only_if]
        guard = f" AND status IN ({','.join('?' * len(allowed))})"
        extra = allowed
    with transaction(conn):
        for stem in stems:
            conn.execute(
                f"UPDATE tiles SET status=?, accepted_at=CASE WHEN ?='accepted' THEN ? ELSE accepted_at END "
                f"WHERE stem=?{guard}",
                (TileStatus(status).value, TileStatus(status).value, now, stem, *extra),
            )
