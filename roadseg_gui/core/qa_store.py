"""Connectivity QA results kept with the tile's state in the workspace state DB, so reopening a tile
or relaunching the app shows its QA at once. Each tile keeps its latest few results, each with the
key it was computed for (core.qa_incremental.result_key: a hash of the mask, the prediction and the
settings: a tile opened before its prediction is shown is checked without it, then with it); a result
is used only for exactly that key, so a changed mask is always checked again."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import asdict
from typing import Callable

from .connectivity_qa import Issue, QAResult
from .statedb import ensure_schema, transaction

log = logging.getLogger(__name__)

# Additive: state DBs made before it get the table the first time it is used.
QA_SCHEMA = """
CREATE TABLE IF NOT EXISTS qa_results (
    stem     TEXT NOT NULL,     -- the tile (tiles.stem)
    key      TEXT NOT NULL,     -- the hash of mask, prediction and settings the result is for
    result   TEXT NOT NULL,     -- JSON {"issues": [...], "specks": n}
    saved_at REAL NOT NULL,
    PRIMARY KEY (stem, key)
);
"""
RESULTS_PER_TILE = 4


def _ready(conn: sqlite3.Connection) -> sqlite3.Connection:
    ensure_schema(conn, QA_SCHEMA)
    return conn


def save_qa_result(conn: sqlite3.Connection, stem: str, key: str, result: QAResult) -> None:
    text = json.dumps({"issues": [asdict(issue) for issue in result.issues], "specks": result.specks})
    with transaction(_ready(conn)):
        conn.execute("INSERT OR REPLACE INTO qa_results(stem, key, result, saved_at) VALUES (?, ?, ?, ?)",
                     (stem, key, text, time.time()))
        conn.execute("DELETE FROM qa_results WHERE stem=? AND rowid NOT IN (SELECT rowid FROM qa_results "
                     "WHERE stem=? ORDER BY saved_at DESC, rowid DESC LIMIT ?)", (stem, stem, RESULTS_PER_TILE))


def load_qa_result(conn: sqlite3.Connection, stem: str, key: str) -> QAResult | None:
    """The tile's stored result when it was computed for ``key``, else None."""
    row = _ready(conn).execute("SELECT result FROM qa_results WHERE stem=? AND key=?", (stem, key)).fetchone()
    if row is None:
        return None
    try:
        stored = json.loads(row[0])
        return QAResult([Issue(**issue) for issue in stored["issues"]], int(stored["specks"]))
    except (ValueError, TypeError, KeyError):
        return None      # a damaged row: the tile is checked again and the row replaced


class TileQAStore:
    """One tile's stored QA result, for ``IncrementalQA(store=...)``. ``connection`` is called on the
    thread that checks (sqlite3 connections must not cross threads): ``lambda: workspace.db``."""

    def __init__(self, connection: Callable[[], sqlite3.Connection], stem: str):
        self.connection, self.stem = connection, stem

    def load(self, key: str) -> QAResult | None:
        try:
            return load_qa_result(self.connection(), self.stem, key)
        except sqlite3.Error as exc:      # QA still runs; it is only not answered from the DB
            log.warning("The stored connectivity check of %s could not be read: %s", self.stem, exc)
            return None

    def save(self, key: str, result: QAResult) -> None:
        try:
            save_qa_result(self.connection(), self.stem, key, result)
        except sqlite3.Error as exc:
            log.warning("The connectivity check of %s could not be stored: %s", self.stem, exc)
