"""The sync engine's own tables in the workspace state DB.

sync_hashes     content hash cache keyed by size, mtime_ns, ctime_ns and inode, so unchanged files
                are not re-read (ctime/inode catch an edit whose mtime was put back)
sync_objects    per destination: the content hash and the ETag last seen for each remote object
sync_conflicts  per destination: tiles a person must resolve (keep mine / take theirs)
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .. import statedb

SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_hashes (
    relpath   TEXT PRIMARY KEY,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    sha256    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_objects (
    dest      TEXT NOT NULL,      -- bucket/prefix
    relpath   TEXT NOT NULL,      -- split/kind/name, the key below the prefix
    sha256    TEXT NOT NULL,      -- content we last uploaded or downloaded
    etag      TEXT NOT NULL,      -- the remote ETag that content had
    synced_at REAL NOT NULL,
    PRIMARY KEY (dest, relpath)
);
CREATE TABLE IF NOT EXISTS sync_conflicts (
    dest        TEXT NOT NULL,
    stem        TEXT NOT NULL,
    relpath     TEXT NOT NULL,    -- the file whose conditional write or pull failed
    reason      TEXT NOT NULL,
    detected_at REAL NOT NULL,
    PRIMARY KEY (dest, stem)
);
"""

HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class SyncedObject:
    sha256: str
    etag: str


@dataclass(frozen=True)
class Conflict:
    stem: str
    relpath: str
    reason: str
    detected_at: float


def connect(root: Path) -> sqlite3.Connection:
    conn = statedb.connect(root)
    statedb.ensure_schema(conn, SCHEMA)
    # older DBs: rows without these never match, so each file is hashed once more
    statedb.add_column(conn, "sync_hashes", "ctime_ns", "INTEGER NOT NULL DEFAULT 0")
    statedb.add_column(conn, "sync_hashes", "inode", "INTEGER NOT NULL DEFAULT 0")
    return conn


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HashCache:
    """sha256 of workspace files, re-read when size, mtime_ns, ctime_ns or the inode changed.

    Size + mtime alone miss a same-size edit whose mtime was put back (``touch -r``,
    ``rsync -t``); such a write still moves ctime, and an atomic rewrite changes the inode.
    ``rehash`` (sync --verify) re-reads every file whatever the cache says.
    """

    def __init__(self, conn: sqlite3.Connection, rehash: bool = False):
        self.conn = conn
        self.rehash = rehash
        self._rows = {r[0]: ((r[1], r[2], r[3], r[4]), r[5])
                      for r in conn.execute("SELECT relpath, size, mtime_ns, ctime_ns, inode, sha256 "
                                            "FROM sync_hashes")}
        self._dirty: dict[str, tuple[tuple[int, int, int, int], str]] = {}

    def sha256(self, root: Path, relpath: str, stat: os.stat_result | None = None) -> tuple[str, int]:
        path = os.path.join(root, relpath)   # not root / relpath: pathlib is half the cost of 4000 stats
        stat = stat or os.stat(path)
        key = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        cached = self._rows.get(relpath)
        if cached and cached[0] == key and not self.rehash:
            return cached[1], stat.st_size
        digest = file_sha256(path)
        self._rows[relpath] = self._dirty[relpath] = (key, digest)
        return digest, stat.st_size

    def save(self) -> None:
        if not self._dirty:
            return
        with statedb.transaction(self.conn):
            self.conn.executemany(
                "INSERT OR REPLACE INTO sync_hashes(relpath, size, mtime_ns, ctime_ns, inode, sha256) "
                "VALUES (?, ?, ?, ?, ?, ?)", [(rel, *key, sha) for rel, (key, sha) in self._dirty.items()])
        self._dirty.clear()


def synced_objects(conn: sqlite3.Connection, dest: str) -> dict[str, SyncedObject]:
    return {r[0]: SyncedObject(r[1], r[2])
            for r in conn.execute("SELECT relpath, sha256, etag FROM sync_objects WHERE dest=?", (dest,))}


def record_objects(conn: sqlite3.Connection, dest: str, rows: list[tuple[str, str, str]]) -> None:
    """Remember (relpath, sha256, etag) as what the remote holds now."""
    now = time.time()
    with statedb.transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO sync_objects(dest, relpath, sha256, etag, synced_at) VALUES (?, ?, ?, ?, ?)",
            [(dest, rel, sha, etag, now) for rel, sha, etag in rows])


def forget_objects(conn: sqlite3.Connection, dest: str, relpaths: list[str]) -> None:
    with statedb.transaction(conn):
        conn.executemany("DELETE FROM sync_objects WHERE dest=? AND relpath=?", [(dest, r) for r in relpaths])


def record_conflict(conn: sqlite3.Connection, dest: str, stem: str, relpath: str, reason: str,
                    image: str, mark_tile: bool = True) -> None:
    """Remember the conflict and mark the tile (registering it if the tiles table lacks it).

    ``mark_tile=False`` for a refused deletion: the tile has no local files, and a rescan
    would drop its row anyway; the sync_conflicts row alone carries it."""
    split = image.split("/")[0] if image.split("/")[0] in ("train", "test") else None
    with statedb.transaction(conn):
        conn.execute("INSERT OR REPLACE INTO sync_conflicts(dest, stem, relpath, reason, detected_at) "
                     "VALUES (?, ?, ?, ?, ?)", (dest, stem, relpath, reason, time.time()))
        if mark_tile:
            conn.execute("INSERT OR IGNORE INTO tiles(stem, image, split, status) VALUES (?, ?, ?, 'conflict')",
                         (stem, image, split))
    if mark_tile:
        statedb.set_status(conn, [stem], statedb.TileStatus.CONFLICT)


def clear_conflict(conn: sqlite3.Connection, dest: str, stem: str) -> None:
    clear_conflicts(conn, dest, [stem])


def clear_conflicts(conn: sqlite3.Connection, dest: str, stems: list[str]) -> None:
    if not stems or conn.execute("SELECT 1 FROM sync_conflicts WHERE dest=? LIMIT 1", (dest,)).fetchone() is None:
        return
    with statedb.transaction(conn):
        conn.executemany("DELETE FROM sync_conflicts WHERE dest=? AND stem=?", [(dest, s) for s in stems])


def conflicts(conn: sqlite3.Connection, dest: str) -> list[Conflict]:
    return [Conflict(r["stem"], r["relpath"], r["reason"], r["detected_at"]) for r in conn.execute(
        "SELECT stem, relpath, reason, detected_at FROM sync_conflicts WHERE dest=? ORDER BY stem", (dest,))]


def tile_statuses(conn: sqlite3.Connection) -> dict[str, str]:
    return {r["stem"]: r["status"] for r in conn.execute("SELECT stem, status FROM tiles")}


def mark_synced(conn: sqlite3.Connection, pairs: list[tuple[str, str, str]]) -> None:
    """After a pair upload: tiles row if missing (status synced), accepted -> synced."""
    if not pairs:
        return
    with statedb.transaction(conn):
        conn.executemany("INSERT OR IGNORE INTO tiles(stem, image, split, status) VALUES (?, ?, ?, 'synced')",
                         pairs)
    statedb.set_status(conn, [stem for stem, _, _ in pairs], statedb.TileStatus.SYNCED,
                       only_if=[statedb.TileStatus.ACCEPTED])
