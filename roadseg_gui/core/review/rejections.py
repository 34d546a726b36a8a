"""Rejected candidates, kept with the tile's state in the workspace state DB so they stay hidden
after a relaunch. A rejection is the road's centre line (sampled), not an edge id: a new threshold or
model draws the network again, and a road rejected once stays rejected wherever it reappears."""

from __future__ import annotations

import json
import sqlite3
import time

import numpy as np

from ..statedb import ensure_schema, transaction

# Additive: state DBs made before review get the table the first time it is used.
REJECTIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_rejections (
    stem        TEXT NOT NULL,    -- the tile (tiles.stem)
    line        TEXT NOT NULL,    -- JSON [[row, col], ...]: the rejected road's centre line
    width_px    REAL NOT NULL,
    rejected_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS review_rejections_stem ON review_rejections(stem);
"""


def _ready(conn: sqlite3.Connection) -> sqlite3.Connection:
    ensure_schema(conn, REJECTIONS_SCHEMA)
    return conn


def save_rejection(conn: sqlite3.Connection, stem: str, line: np.ndarray, width_px: float) -> None:
    points = np.round(np.asarray(line, float).reshape(-1, 2), 1).tolist()
    with transaction(_ready(conn)):
        conn.execute("INSERT INTO review_rejections(stem, line, width_px, rejected_at) VALUES (?, ?, ?, ?)",
                     (stem, json.dumps(points), float(width_px), time.time()))


def load_rejections(conn: sqlite3.Connection, stem: str) -> list[np.ndarray]:
    rows = _ready(conn).execute("SELECT line FROM review_rejections WHERE stem=? ORDER BY rowid", (stem,))
    lines = []
    for (text,) in rows:
        try:
            lines.append(np.asarray(json.loads(text), float).reshape(-1, 2))
        except (ValueError, TypeError):
            continue      # a damaged row hides nothing; the others still count
    return lines


def forget_last_rejection(conn: sqlite3.Connection, stem: str) -> bool:
    """Undo the tile's latest rejection; False when there was none."""
    with transaction(_ready(conn)):
        row = conn.execute("SELECT MAX(rowid) FROM review_rejections WHERE stem=?", (stem,)).fetchone()
        if row is None or row[0] is None:
            return False
        conn.execute("DELETE FROM review_rejections WHERE rowid=?", (row[0],))
    return True
