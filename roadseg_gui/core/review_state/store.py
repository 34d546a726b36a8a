"""The review tables of the workspace state DB, and the JSON that carries a record through S3.

review_states   one row per tile: state, who, agreement, and what S3 held when last seen
                (remote_etag; dirty = a local decision not yet on S3; conflict = why S3 refused it,
                with the remote's version kept in theirs_json for the person to look at)
review_notes    the notes of a tile, pinned at a pixel
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field

from .. import statedb

ACCEPTED, APPROVED, RETURNED = "accepted", "approved", "returned"
STATES = (ACCEPTED, APPROVED, RETURNED)
FORMAT = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS review_states (
    stem         TEXT PRIMARY KEY,
    split        TEXT NOT NULL,
    state        TEXT NOT NULL,
    annotator    TEXT NOT NULL DEFAULT '',
    reviewer     TEXT NOT NULL DEFAULT '',
    accepted_sha TEXT NOT NULL DEFAULT '',  -- sha256 of the mask the annotator accepted
    iou          REAL,                      -- agreement of the approved mask with that one
    apls         REAL,
    first_review INTEGER NOT NULL DEFAULT 1, -- 0 once the tile has been returned
    updated_at   REAL NOT NULL,
    remote_etag  TEXT NOT NULL DEFAULT '',
    dirty        INTEGER NOT NULL DEFAULT 0,
    conflict     TEXT NOT NULL DEFAULT '',
    theirs_json  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS review_notes (
    stem       TEXT NOT NULL,
    x          REAL NOT NULL,
    y          REAL NOT NULL,
    text       TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS review_notes_stem ON review_notes(stem);
"""


class BadReviewRecord(ValueError):
    """A review JSON that is not one roadseg wrote (reported and skipped, never applied)."""


@dataclass
class Note:
    x: float
    y: float
    text: str
    author: str
    created_at: float = field(default_factory=time.time)


@dataclass
class ReviewRecord:
    stem: str
    split: str
    state: str
    annotator: str = ""
    reviewer: str = ""
    accepted_sha: str = ""
    iou: float | None = None
    apls: float | None = None
    first_review: bool = True
    updated_at: float = field(default_factory=time.time)
    notes: list[Note] = field(default_factory=list)
    remote_etag: str = ""
    dirty: bool = False
    conflict: str = ""
    theirs_json: str = ""
    approved_sha: str = ""     # sha256 of the mask as approved: a later change needs review again

    def to_json(self) -> str:
        """What travels: the decision and notes, not this workspace's bookkeeping."""
        data = {k: v for k, v in asdict(self).items() if k not in ("remote_etag", "dirty", "conflict",
                                                                   "theirs_json")}
        return json.dumps({"format": FORMAT, **data}, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes, stem: str, split: str) -> "ReviewRecord":
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("state") not in STATES:
                raise BadReviewRecord("it has no valid review state")
            notes = [Note(float(n["x"]), float(n["y"]), str(n["text"]), str(n["author"]),
                          float(n["created_at"])) for n in data.get("notes", [])]
            number = lambda v: None if v is None else float(v)   # noqa: E731
            return cls(stem, split, data["state"], str(data.get("annotator", "")), str(data.get("reviewer", "")),
                       str(data.get("accepted_sha", "")), number(data.get("iou")), number(data.get("apls")),
                       bool(data.get("first_review", True)), float(data.get("updated_at", 0.0)), notes,
                       approved_sha=str(data.get("approved_sha", "")))
        except BadReviewRecord:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BadReviewRecord(f"it is not a review record ({exc})") from None


def connect(root) -> sqlite3.Connection:
    conn = statedb.connect(root)
    ensure(conn)
    return conn


def ensure(conn: sqlite3.Connection) -> sqlite3.Connection:
    statedb.ensure_schema(conn, SCHEMA)
    statedb.add_column(conn, "review_states", "approved_sha", "TEXT NOT NULL DEFAULT ''")
    return conn


def get_record(conn: sqlite3.Connection, stem: str) -> ReviewRecord | None:
    row = ensure(conn).execute("SELECT * FROM review_states WHERE stem=?", (stem,)).fetchone()
    return _record(conn, row) if row else None


def all_records(conn: sqlite3.Connection) -> list[ReviewRecord]:
    rows = ensure(conn).execute("SELECT * FROM review_states ORDER BY stem").fetchall()
    return [_record(conn, row) for row in rows]


def _record(conn: sqlite3.Connection, row: sqlite3.Row) -> ReviewRecord:
    notes = [Note(n["x"], n["y"], n["text"], n["author"], n["created_at"]) for n in conn.execute(
        "SELECT x, y, text, author, created_at FROM review_notes WHERE stem=? ORDER BY created_at, rowid",
        (row["stem"],))]
    return ReviewRecord(row["stem"], row["split"], row["state"], row["annotator"], row["reviewer"],
                        row["accepted_sha"], row["iou"], row["apls"], bool(row["first_review"]),
                        row["updated_at"], notes, row["remote_etag"], bool(row["dirty"]), row["conflict"],
                        row["theirs_json"], row["approved_sha"])


def save_record(conn: sqlite3.Connection, rec: ReviewRecord) -> None:
    """Write the whole record (notes included) in one transaction."""
    ensure(conn)
    with statedb.transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO review_states(stem, split, state, annotator, reviewer, accepted_sha, iou, apls, "
            "first_review, updated_at, remote_etag, dirty, conflict, theirs_json, approved_sha) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rec.stem, rec.split, rec.state, rec.annotator, rec.reviewer, rec.accepted_sha, rec.iou, rec.apls,
             int(rec.first_review), rec.updated_at, rec.remote_etag, int(rec.dirty), rec.conflict,
             rec.theirs_json, rec.approved_sha))
        conn.execute("DELETE FROM review_notes WHERE stem=?", (rec.stem,))
        conn.executemany("INSERT INTO review_notes(stem, x, y, text, author, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                         [(rec.stem, n.x, n.y, n.text, n.author, n.created_at) for n in rec.notes])


def delete_record(conn: sqlite3.Connection, stem: str) -> None:
    with statedb.transaction(ensure(conn)):
        conn.execute("DELETE FROM review_states WHERE stem=?", (stem,))
        conn.execute("DELETE FROM review_notes WHERE stem=?", (stem,))
